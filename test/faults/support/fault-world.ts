import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { type RunningEmulator, startEmulator } from '../../../emulator/index.js';
import { configSchema } from '../../../src/config/schema.js';
import { installBaseProject } from '../../../src/db/commands.js';
import { createExchangeBackend, type ExchangeBackend } from '../../../src/exchange/create-exchange.js';
import { createLogging } from '../../../src/logging/logger.js';
import type { DatabasePort } from '../../../src/ports/database.port.js';
import { type Runtime, startRuntime } from '../../../src/runtime.js';
import { testConfig } from '../../support/config.js';
import { freePort } from '../../support/net.js';
import { schemaUrl } from '../../support/pg.js';
import { FaultProxy } from './fault-proxy.js';
import { type ItemTable, itemTables, type Tally, tally } from './tally.js';

export type LogRecord = Record<string, unknown> & { event?: string; msg?: string; time?: string };

/**
 * One world for a fault file: a schema of its own on the PostgreSQL server with the base project and the example
 * application, `users` in app_user, the emulator over HTTP with their mailboxes, a proxy in front of the server
 * (FaultProxy: cut, refuse, stall), and in-process connectors (the real runtime, EWS adapter and pg pool) reaching the
 * database through the proxy. One world serves every case of a file: each case checks every item of every user, so
 * what an earlier case left behind is checked again, never in the way.
 */
export async function faultWorld(pgUrl: string, name: string, users: readonly string[]) {
  const schema = `exh_${name}_${randomBytes(4).toString('hex')}`;
  const admin = new pg.Client({ connectionString: pgUrl });
  await admin.connect();
  await admin.query(`create schema ${schema}`);
  await installBaseProject({ type: 'postgres', connectionString: schemaUrl(pgUrl, schema) }, { exampleApp: true });
  await admin.query(`insert into ${schema}.app_user (exh_user) select unnest($1::text[])`, [users]);
  // Thousands of items pass through it: no recording of every answer for schema validation.
  const emulator: RunningEmulator = await startEmulator({ port: 0, mailboxes: [...users] });
  const server = new URL(pgUrl);
  const proxy = new FaultProxy(await freePort(), { host: server.hostname, port: Number(server.port || 5432) });
  await proxy.open();
  const records: LogRecord[] = [];
  let runtime: Runtime | undefined;
  let backend: ExchangeBackend | undefined;

  const world = {
    schema,
    admin,
    emulator,
    proxy,
    records,
    /** The database as the connector reaches it: through the proxy. */
    connectionString: schemaUrl(pgUrl, schema, { port: proxy.port }),
    /**
     * Starts a connector; `config` is merged over the test configuration (database through the proxy, listeners off
     * but the one exh_set_up needs, JSON records kept in `records`, which start empty for each connector).
     */
    async startConnector(
      config: { database?: Record<string, unknown>; retry?: Record<string, unknown>; [key: string]: unknown } = {},
      db?: DatabasePort,
    ): Promise<Runtime> {
      const { database = {}, retry = {}, ...rest } = config;
      const parsed = configSchema.parse(
        testConfig(
          emulator,
          { type: 'postgres', connectionString: world.connectionString, ...database },
          { retry: { permanentFailures: 1, ...retry }, ...rest },
        ),
      );
      records.length = 0;
      const logging = createLogging({
        level: 'debug',
        format: 'json',
        stdout: { write: (line: string) => void records.push(JSON.parse(line)) },
      });
      backend = await createExchangeBackend(parsed, logging.logger);
      runtime = startRuntime({ config: parsed, logging, exchange: backend.port, ...(db ? { db } : {}) });
      return runtime;
    },
    async stopConnector(): Promise<void> {
      await runtime?.stop();
      await backend?.close();
      runtime = undefined;
      backend = undefined;
    },
    /** Records of an event, in order. */
    events: (event: string) => records.filter((r) => r.event === event),
    /** Users whose mailbox logged mailbox.live after record number `from`. */
    liveSince(from: number): Set<unknown> {
      return new Set(
        records
          .slice(from)
          .filter((r) => r.event === 'mailbox.live')
          .map((r) => r.user),
      );
    },
    /** Each user's rows against each user's Exchange items, table by table (every table unless named). */
    tally: (tables: readonly ItemTable[] = itemTables): Promise<Tally> => tally(admin, schema, emulator, users, tables),
    async close(): Promise<void> {
      await world.stopConnector();
      await proxy.close();
      await emulator.close();
      await admin.query(`drop schema if exists ${schema} cascade`);
      await admin.end();
    },
  };
  return world;
}

export type FaultWorld = Awaited<ReturnType<typeof faultWorld>>;
