import { randomBytes } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { installBaseProject } from '../../src/db/commands.js';
import { createDatabase, type DatabaseConfig } from '../../src/db/create-database.js';
import { notifyChannel } from '../../src/db/sql/routines.js';
import { exhOutput } from '../support/exh-process.js';
import { schemaUrl } from '../support/pg.js';

/**
 * exh outbox list|retry and the DatabasePort methods behind them (listOutbox, retryOutbox, readSetUp), on PGlite
 * with a data directory and on the real PostgreSQL server; SQL Server and DB2 are checked on their SQL text in
 * test/db/outbox-admin.test.ts.
 */

const rows = `
  INSERT INTO exh_outbox (exh_user, exh_item_type, exh_action, exh_payload, exh_state, exh_attempts, exh_exit_code, exh_error_message)
  VALUES ('alice@contoso.test', 'task', 'add', '{}', 'failed', 1, 1, 'The task was refused'),
         ('alice@contoso.test', 'task', 'chg', '{}', 'done', 1, 0, NULL),
         ('bob@contoso.test', 'calendar', 'add', '{}', 'pending', 0, NULL, NULL),
         ('bob@contoso.test', 'contact', 'del', '{}', 'failed', 3, 1, 'Bob''s contact was refused: ErrorAccessDenied. '
           || 'Give the service account ApplicationImpersonation on bob@contoso.test, then exh outbox retry --user bob@contoso.test');
  INSERT INTO exh_set_up (exh_parameter, exh_value) VALUES ('exh_ip_address', '127.0.0.1'),
    ('exh_ip_address_port', '9988'), ('exh_listener_token', 'a-token-of-at-least-16');`;

function configFile(database: DatabaseConfig): string {
  const file = join(mkdtempSync(join(tmpdir(), 'exh-outbox-')), 'exh.config.json');
  writeFileSync(
    file,
    JSON.stringify({ database, exchange: { impersonationUser: 'svc@contoso.test', impersonationPassword: 'pw' } }),
  );
  return file;
}

function outboxScenario(name: string, setUp: () => Promise<DatabaseConfig>) {
  describe(name, () => {
    let database: DatabaseConfig;
    let config: string;
    const ids = { alice: '', done: '', pending: '', bob: '' };

    beforeAll(async () => {
      database = await setUp();
      await installBaseProject(database);
      const db = createDatabase(database);
      await db.connect();
      await db.runScript(rows);
      // The port itself, before the command uses it.
      expect(await db.readSetUp()).toEqual({ ipAddress: '127.0.0.1', port: 9988, token: 'a-token-of-at-least-16' });
      expect((await db.listOutbox({ state: 'failed', limit: 10 })).map((r) => [r.user, r.action])).toEqual([
        ['bob@contoso.test', 'del'],
        ['alice@contoso.test', 'add'],
      ]);
      const all = await db.listOutbox({ limit: 10 });
      [ids.bob, ids.pending, ids.done, ids.alice] = all.map((r) => r.id) as [string, string, string, string];
      await db.close();
      config = configFile(database);
    }, 120_000);

    it('lists rows newest first, filtered by state and user, as a table or JSON lines', {
      timeout: 120_000,
    }, async () => {
      const table = await exhOutput(['outbox', 'list', '--config', config]);
      expect(table.code).toBe(0);
      const lines = table.stdout.trim().split('\n');
      expect(lines[0]).toMatch(/^id\s+state\s+user\s+type\s+action\s+attempts\s+exit\s+created\s+error$/);
      expect(lines).toHaveLength(5);
      // The error whole, however long: its last part says what to do.
      expect(lines[1]).toMatch(
        /failed\s+bob@contoso\.test\s+contact\s+del\s+3\s+1\s+.*Bob's contact was refused: ErrorAccessDenied\. Give the service account ApplicationImpersonation on bob@contoso\.test, then exh outbox retry --user bob@contoso\.test$/,
      );

      const json = await exhOutput([
        'outbox',
        'list',
        '--config',
        config,
        '--state',
        'failed',
        '--user',
        'alice@contoso.test',
        '--json',
      ]);
      expect(json.code).toBe(0);
      const listed = json.stdout
        .trim()
        .split('\n')
        .map((line) => JSON.parse(line));
      expect(listed).toEqual([
        expect.objectContaining({
          user: 'alice@contoso.test',
          itemType: 'task',
          action: 'add',
          state: 'failed',
          attempts: 1,
          exitCode: 1,
          errorMessage: 'The task was refused',
          completedAt: null,
        }),
      ]);
      const limited = await exhOutput(['outbox', 'list', '--config', config, '--limit', '1', '--json']);
      expect(limited.stdout.trim().split('\n')).toHaveLength(1);
    });

    it('retries failed rows by id, by user and all, and never a pending or done row', async () => {
      const notFailed = await exhOutput(['outbox', 'retry', '--config', config, '--id', ids.done]);
      expect(notFailed.code).toBe(0);
      expect(notFailed.stdout).toBe('0\n');
      expect(notFailed.stderr).toContain('No failed row matched');

      const byId = await exhOutput(['outbox', 'retry', '--config', config, '--id', ids.alice]);
      expect([byId.code, byId.stdout]).toEqual([0, '1\n']);
      const byUser = await exhOutput(['outbox', 'retry', '--config', config, '--user', 'bob@contoso.test']);
      expect([byUser.code, byUser.stdout]).toEqual([0, '1\n']);
      const none = await exhOutput(['outbox', 'retry', '--config', config, '--all-failed']);
      expect([none.code, none.stdout]).toEqual([0, '0\n']);

      const listed = (await exhOutput(['outbox', 'list', '--config', config, '--json'])).stdout
        .trim()
        .split('\n')
        .map((line) => JSON.parse(line) as { id: string; state: string });
      expect(listed.map((r) => [r.id, r.state])).toEqual([
        [ids.bob, 'pending'],
        [ids.pending, 'pending'],
        [ids.done, 'done'],
        [ids.alice, 'pending'],
      ]);
      // The last outcome is cleared; the attempts stay.
      expect(listed[0]).toMatchObject({ exitCode: null, errorMessage: null, attempts: 3, completedAt: null });
    }, 120_000);
  });
}

outboxScenario('exh outbox on PGlite (data directory)', async () => ({
  type: 'pglite',
  dataDir: join(mkdtempSync(join(tmpdir(), 'exh-outbox-pglite-')), 'data'),
}));

const pgUrl = process.env.PG_URL;
describe.skipIf(!pgUrl)('on the PostgreSQL server (PG_URL)', () => {
  const schema = `exh_outbox_${randomBytes(4).toString('hex')}`;
  const admin = new pg.Client({ connectionString: pgUrl });
  afterAll(async () => {
    await admin.query(`drop schema if exists ${schema} cascade`);
    await admin.end();
  });
  beforeAll(async () => {
    await admin.connect();
    await admin.query(`create schema ${schema}`);
  });
  outboxScenario('exh outbox on PostgreSQL', async () => ({
    type: 'postgres',
    connectionString: schemaUrl(pgUrl as string, schema),
  }));

  it('a retry wakes a listening connector at once (NOTIFY, as a new row does)', async () => {
    await installBaseProject({ type: 'postgres', connectionString: schemaUrl(pgUrl as string, schema) });
    await admin.query(
      `insert into ${schema}.exh_outbox (exh_user, exh_item_type, exh_action, exh_payload, exh_state)
       values ('carol@contoso.test', 'task', 'del', '{}', 'failed')`,
    );
    const listener = new pg.Client({ connectionString: pgUrl });
    await listener.connect();
    try {
      const woken = new Promise<string>((resolve) => listener.on('notification', (n) => resolve(n.channel)));
      await listener.query(`listen ${notifyChannel}`);
      const config = configFile({ type: 'postgres', connectionString: schemaUrl(pgUrl as string, schema) });
      const retried = await exhOutput(['outbox', 'retry', '--config', config, '--user', 'carol@contoso.test']);
      expect([retried.code, retried.stdout]).toEqual([0, '1\n']);
      expect(await woken).toBe(notifyChannel);
    } finally {
      await listener.end();
    }
  }, 120_000);
});

describe('exh outbox usage errors', () => {
  it('exits 2 naming what is missing or contradictory, and for a missing configuration', async () => {
    const config = configFile({ type: 'pglite', dataDir: join(tmpdir(), 'never-used') });
    const nothing = await exhOutput(['outbox', 'retry', '--config', config]);
    expect(nothing.code).toBe(2);
    expect(nothing.stderr).toContain('name the rows to retry: --id N, --user ADDRESS or --all-failed');
    const both = await exhOutput(['outbox', 'retry', '--config', config, '--all-failed', '--id', '3']);
    expect(both.code).toBe(2);
    expect(both.stderr).toContain('--all-failed retries every failed row; leave out --id and --user');
    const state = await exhOutput(['outbox', 'list', '--config', config, '--state', 'lost']);
    expect(state.code).toBe(2);
    expect(state.stderr).toContain("argument 'lost' is invalid. Allowed choices are pending, failed, done");
    const missing = await exhOutput(['outbox', 'list', '--config', '/nonexistent/exh.config.json']);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain('EXH_CONFIG_NOT_FOUND');
  });

  it('exits 1 with the database error when the database cannot be reached', async () => {
    const config = configFile({ type: 'postgres', connectionString: 'postgres://postgres@127.0.0.1:1/test' });
    const unreachable = await exhOutput(['outbox', 'list', '--config', config]);
    expect(unreachable.code).toBe(1);
    // Port 1: nothing listens there, so the error says so (and what to check), not just "cannot connect".
    expect(unreachable.stderr).toMatch(
      /^EXH_DB_CONNECTION_REFUSED: Nothing accepts connections at postgres:\/\/postgres@127\.0\.0\.1:1\/test: .*ECONNREFUSED/,
    );
  });
});
