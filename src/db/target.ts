/**
 * Printable database targets: where the database is (host, port, database, user), never a password, for log lines,
 * error messages and the dashboard (DatabasePort.target).
 */

/** postgres://user:secret@host:5432/db?options=... → postgres://user@host:5432/db */
export function postgresTarget(connectionString: string): string {
  try {
    const url = new URL(connectionString);
    const user = url.username ? `${decodeURIComponent(url.username)}@` : '';
    const host = url.hostname || url.searchParams.get('host') || 'localhost';
    return `postgres://${user}${host}:${url.port || '5432'}${url.pathname || '/'}`;
  } catch {
    return 'postgres (unparsable connection string)';
  }
}

export function pgliteTarget(dataDir: string | undefined): string {
  return dataDir ? `pglite:${dataDir}` : 'pglite:memory';
}

/** Key=value;Key=value connection strings (SQL Server ADO.NET, DB2 CLI), keys case-insensitive, values maybe quoted. */
export function parseKeyValueString(connectionString: string): Map<string, string> {
  const result = new Map<string, string>();
  const pattern = /\s*([^=;]+?)\s*=\s*("(?:[^"]|"")*"|'(?:[^']|'')*'|\{(?:[^}]|\}\})*\}|[^;]*)\s*(?:;|$)/gy;
  for (let match = pattern.exec(connectionString); match && match[0] !== ''; match = pattern.exec(connectionString)) {
    const key = (match[1] ?? '').toLowerCase();
    let value = (match[2] ?? '').trim();
    const quote = value[0];
    if (quote === '"' || quote === "'") value = value.slice(1, -1).replaceAll(quote + quote, quote);
    else if (quote === '{') value = value.slice(1, -1).replaceAll('}}', '}');
    result.set(key, value);
  }
  return result;
}

const first = (values: Map<string, string>, ...keys: string[]) =>
  keys.map((k) => values.get(k)).find((v) => v !== undefined && v !== '');

/** SQL Server: mssql:// URLs or ADO.NET strings (Server=host,port;Database=db;User Id=u;Password=...). */
export function sqlServerTarget(connectionString: string): string {
  if (/^mssql:\/\//i.test(connectionString)) {
    try {
      const url = new URL(connectionString);
      const user = url.username ? `${decodeURIComponent(url.username)}@` : '';
      return `mssql://${user}${url.hostname}:${url.port || '1433'}${url.pathname || '/'}`;
    } catch {
      return 'sqlserver (unparsable connection string)';
    }
  }
  const values = parseKeyValueString(connectionString);
  const server = (first(values, 'server', 'data source', 'address', 'addr', 'network address') ?? 'localhost').replace(
    /^tcp:/i,
    '',
  );
  const [host, port] = server.split(',');
  const database = first(values, 'database', 'initial catalog') ?? '';
  const user = first(values, 'user id', 'uid', 'user');
  return `mssql://${user ? `${user}@` : ''}${host?.trim()}:${port?.trim() || '1433'}/${database}`;
}

/** DB2 CLI strings: DATABASE=db;HOSTNAME=host;PORT=50000;PROTOCOL=TCPIP;UID=u;PWD=... */
export function db2Target(connectionString: string): string {
  const values = parseKeyValueString(connectionString);
  const user = first(values, 'uid', 'user');
  const host = first(values, 'hostname', 'host', 'system') ?? 'localhost';
  return `db2://${user ? `${user}@` : ''}${host}:${first(values, 'port') ?? '50000'}/${first(values, 'database', 'dbname') ?? ''}`;
}
