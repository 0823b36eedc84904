import { secretKeys } from './schema.js';

export const mask = '***';

/**
 * A copy of the configuration fit to print: secrets replaced by ***; in a connection string only the password part
 * is masked, so that host, port and database stay visible for troubleshooting.
 */
export function maskSecrets<T>(value: T): T {
  return walk(value, '') as T;
}

function walk(value: unknown, key: string): unknown {
  if (Array.isArray(value)) return value.map((item) => walk(item, key));
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, walk(v, k)]));
  }
  if (typeof value !== 'string' || !secretKeys.has(key)) return value;
  return key === 'connectionString' ? maskConnectionString(value) : mask;
}

export function maskConnectionString(text: string): string {
  // URL form: scheme://user:password@host/...
  const url = text.replace(/^([a-z][a-z0-9+.-]*:\/\/[^:/@]*):[^@]*@/i, `$1:${mask}@`);
  // Keyword form (SQL Server, DB2): Password=...; Pwd=...
  return url.replace(/\b(password|pwd)\s*=\s*("[^"]*"|'[^']*'|\{[^}]*\}|[^;]*)/gi, `$1=${mask}`);
}
