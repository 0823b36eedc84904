import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { type RunningEmulator, startEmulator } from '../../emulator/index.js';
import { configSchema } from '../../src/config/schema.js';
import { createPostgresDatabase } from '../../src/db/adapters/postgres.js';
import { installBaseProject } from '../../src/db/commands.js';
import { createExchangeBackend } from '../../src/exchange/create-exchange.js';
import { createLogging } from '../../src/logging/logger.js';
import { startRuntime } from '../../src/runtime.js';
import { testConfig } from '../support/config.js';
import { schemaUrl } from '../support/pg.js';

const pgUrl = process.env.PG_URL;

/**
 * Issue 12, finding 2: many mailboxes catching up at once on a small pool. Waiting for a pooled connection is
 * back-pressure: the mailboxes that waited too long back off and try again, and the database is never declared lost
 * (which would stop every mailbox until the next attempt). The real runtime, EWS adapter, emulator and PostgreSQL
 * server; the pool has one connection, and the application holds exh_watermark so that the catch-up's first
 * transaction keeps it.
 */
describe.skipIf(!pgUrl)('many mailboxes catching up on a pool of one (PG_URL)', () => {
  const schema = `exh_load_${randomBytes(4).toString('hex')}`;
  const users = Array.from({ length: 6 }, (_, i) => `user${i}@contoso.test`);
  let admin: pg.Client;
  let emulator: RunningEmulator;

  beforeAll(async () => {
    admin = new pg.Client({ connectionString: pgUrl });
    await admin.connect();
    await admin.query(`create schema ${schema}`);
    await installBaseProject(
      { type: 'postgres', connectionString: schemaUrl(pgUrl as string, schema) },
      { exampleApp: true },
    );
    await admin.query(`insert into ${schema}.app_user (exh_user) select unnest($1::text[])`, [users]);
    emulator = await startEmulator({ port: 0, mailboxes: users });
  });

  afterAll(async () => {
    await emulator?.close();
    await admin?.query(`drop schema if exists ${schema} cascade`);
    await admin?.end();
  });

  it('backs the waiting mailboxes off with EXH_DB_POOL_EXHAUSTED and never declares the database lost', async () => {
    const connectionString = schemaUrl(pgUrl as string, schema);
    const holder = new pg.Client({ connectionString: pgUrl });
    await holder.connect();
    await holder.query('BEGIN');
    await holder.query(`LOCK TABLE ${schema}.exh_watermark IN EXCLUSIVE MODE`);
    const records: Array<Record<string, unknown>> = [];
    const logging = createLogging({
      level: 'debug',
      format: 'json',
      stdout: { write: (line: string) => void records.push(JSON.parse(line)) },
    });
    const config = configSchema.parse(
      testConfig(
        emulator,
        // A probe every 100 ms: each one must find the database although the pool is busy all along.
        { type: 'postgres', connectionString, poolSize: 1, probeIntervalMs: 100, probeTimeoutMs: 2_000 },
        { listeners: { database: { enabled: false } } },
      ),
    );
    const backend = await createExchangeBackend(config, logging.logger);
    const runtime = startRuntime({
      config,
      logging,
      exchange: backend.port,
      // The configured pool of one, with a short wait for a connection (10 s otherwise).
      db: createPostgresDatabase(connectionString, { poolSize: 1, connectionTimeoutMs: 200 }),
    });
    const lost = () => records.filter((r) => r.event === 'database.lost').map((r) => r.msg);
    const waited = () =>
      records.filter((r) => r.event === 'mailbox.backingOff' && JSON.stringify(r).includes('EXH_DB_POOL_EXHAUSTED'));
    try {
      // Three mailboxes have waited in vain, or the database was declared lost (how it was before).
      await vi.waitFor(() => expect(waited().length >= 3 || lost().length > 0).toBe(true), {
        timeout: 20_000,
        interval: 50,
      });
      expect(lost()).toEqual([]);

      await holder.query('COMMIT');
      await vi.waitFor(
        () => {
          const live = new Set(records.filter((r) => r.event === 'mailbox.live').map((r) => r.user));
          for (const user of users) expect(live).toContain(user);
        },
        { timeout: 30_000, interval: 100 },
      );
      expect(lost()).toEqual([]);
      const watermarks = await admin.query(`select count(*)::int as n from ${schema}.exh_watermark`);
      expect(watermarks.rows[0].n).toBe(users.length);
    } finally {
      await holder.end().catch(() => undefined);
      await runtime.stop();
      await backend.close();
    }
  });
});
