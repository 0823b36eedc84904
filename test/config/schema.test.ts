import { describe, expect, it } from 'vitest';
import { configSchema, databaseTypes, secretKeys } from '../../src/config/schema.js';

const exchange = { impersonationUser: 'svc@contoso.test', impersonationPassword: 'pw' };

/** The issues of a configuration the schema refuses, as `path: message`. */
function problems(input: unknown): string[] {
  const result = configSchema.safeParse(input);
  if (result.success) return [];
  return result.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`);
}

/** Every leaf key of the schema's output for a full configuration, as dotted paths. */
function leaves(value: unknown, prefix = ''): string[] {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return [prefix];
  return Object.entries(value).flatMap(([key, child]) => leaves(child, prefix ? `${prefix}.${key}` : key));
}

describe('configSchema', () => {
  it('needs a connection string for every database but PGlite, naming the key and an example', () => {
    expect(problems({ database: { type: 'pglite' }, exchange })).toEqual([]);
    for (const type of databaseTypes.filter((t) => t !== 'pglite')) {
      expect(problems({ database: { type }, exchange })).toEqual([
        `database.connectionString: required for database.type "${type}" (for example postgres://user@host:5432/db)`,
      ]);
    }
  });

  it("names the original service's database types when the type is unknown", () => {
    expect(problems({ database: { type: 'SQLServer' }, exchange })).toEqual([
      "database.type: expected one of postgres, pglite, sqlserver, db2 (the original service's DatabaseType: SQLServer → sqlserver, iSeries → db2)",
    ]);
  });

  it('needs the secret of the chosen Exchange authentication, and only that one', () => {
    const database = { type: 'pglite' };
    const user = { impersonationUser: 'svc@contoso.test' };
    expect(problems({ database, exchange: user })).toEqual([
      'exchange.impersonationPassword: required when exchange.auth is "basic"',
    ]);
    expect(problems({ database, exchange: { ...user, auth: 'ntlm' } })).toEqual([
      'exchange.impersonationPassword: required when exchange.auth is "ntlm"',
    ]);
    expect(problems({ database, exchange: { ...user, auth: 'oauth', impersonationPassword: 'pw' } })).toEqual([
      'exchange.oauthToken: required when exchange.auth is "oauth"',
    ]);
    expect(problems({ database, exchange: { ...user, auth: 'oauth', oauthToken: 'eyJ0' } })).toEqual([]);
  });

  it('refuses a misspelt key at any level instead of ignoring it', () => {
    expect(problems({ database: { type: 'pglite' }, exchange, listeners: { htpp: {} } })).toEqual([
      expect.stringMatching(/^listeners: .*htpp/),
    ]);
    expect(problems({ database: { type: 'pglite', dataDirectory: '/x' }, exchange })).toEqual([
      expect.stringMatching(/^database: .*dataDirectory/),
    ]);
    expect(problems({ database: { type: 'pglite' }, exchange, retry: { exchangeBackoff: { first: 1 } } })).toEqual([
      expect.stringMatching(/^retry\.exchangeBackoff: .*first/),
    ]);
  });

  it('keeps a back-off whose first wait is longer than its longest wait out', () => {
    const config = (exchangeBackoff: unknown) => ({
      database: { type: 'pglite' },
      exchange,
      retry: { exchangeBackoff },
    });
    expect(problems(config({ firstMs: 70_000 }))).toEqual([
      'retry.exchangeBackoff.firstMs: firstMs must not be larger than maxMs',
    ]);
    expect(problems(config({ firstMs: 70_000, maxMs: 70_000 }))).toEqual([]);
  });

  it('asks for tokens of at least 16 characters and ports within 0–65535', () => {
    expect(
      problems({
        database: { type: 'pglite' },
        exchange,
        listeners: { database: { token: 'short' }, http: { adminToken: 'short', port: 65_536 } },
      }),
    ).toEqual([
      expect.stringMatching(/^listeners\.database\.token: .*16/),
      expect.stringMatching(/^listeners\.http\.port: .*65535/),
      expect.stringMatching(/^listeners\.http\.adminToken: .*16/),
    ]);
  });

  it('fills every listener with its own port on loopback when none is configured', () => {
    const { listeners } = configSchema.parse({ database: { type: 'pglite' }, exchange });
    expect(
      Object.fromEntries(Object.entries(listeners).map(([name, l]) => [name, `${l.enabled} ${l.host}:${l.port}`])),
    ).toEqual({
      log: 'true 127.0.0.1:8888',
      database: 'true 127.0.0.1:9988',
      exchange: 'true 127.0.0.1:8100',
      graph: 'true 127.0.0.1:8101',
      http: 'true 127.0.0.1:8080',
    });
  });

  it('names as secrets exactly the leaves that hold passwords and tokens', () => {
    const full = configSchema.parse({
      database: { type: 'postgres', connectionString: 'postgres://u:p@h/db' },
      exchange: { ...exchange, oauthToken: 'eyJ0' },
      listeners: { database: { token: 'x'.repeat(16) }, http: { adminToken: 'y'.repeat(16) } },
    });
    const named = leaves(full).filter((path) => secretKeys.has(path.split('.').at(-1) ?? ''));
    expect(named.sort()).toEqual([
      'database.connectionString',
      'exchange.impersonationPassword',
      'exchange.oauthToken',
      'listeners.database.token',
      'listeners.http.adminToken',
    ]);
    const secretLooking = leaves(full).filter((path) => /password|token|connectionstring/i.test(path));
    expect(secretLooking.sort()).toEqual(named.sort());
  });
});
