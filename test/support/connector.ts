import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { expect, vi } from 'vitest';
import { type RunningEmulator, startEmulator } from '../../emulator/index.js';
import { configSchema } from '../../src/config/schema.js';
import { installBaseProject } from '../../src/db/commands.js';
import { createExchangeBackend, type ExchangeBackend } from '../../src/exchange/create-exchange.js';
import { createLogging } from '../../src/logging/logger.js';
import type { ListenerTarget } from '../../src/protocol/client.js';
import { type Runtime, startRuntime } from '../../src/runtime.js';
import { testConfig } from './config.js';
import { testSecret } from './log-scan.js';
import { schemaUrl } from './pg.js';

export const alice = 'alice@contoso.test';
export const bob = 'bob@contoso.test';
export const carol = 'carol@contoso.test';

/**
 * Every real part for an end-to-end test: a schema of its own on the PostgreSQL server with the base project and the
 * example application (users alice, bob and carol), the emulator speaking EWS over HTTP with their mailboxes, and
 * connectors started and stopped in-process on them (the real runtime, EWS adapter and listeners).
 */
export async function connectorWorld(pgUrl: string, name: string) {
  const schema = `exh_${name}_${randomBytes(4).toString('hex')}`;
  const admin = new pg.Client({ connectionString: pgUrl });
  await admin.connect();
  await admin.query(`create schema ${schema}`);
  // As the application's own sessions: its triggers call exh_to_exh_* unqualified.
  await admin.query(`set search_path to ${schema}`);
  await installBaseProject({ type: 'postgres', connectionString: schemaUrl(pgUrl, schema) }, { exampleApp: true });
  await admin.query(`insert into ${schema}.app_user (exh_user) values ($1), ($2), ($3)`, [alice, bob, carol]);
  const emulator: RunningEmulator = await startEmulator({
    port: 0,
    mailboxes: [alice, bob, carol],
    validateResponses: true,
    // Distinctive, so that the end of the run can tell it never reached a log (test/support/log-scan.ts).
    password: testSecret('exchange.impersonationPassword'),
  });
  const records: Array<Record<string, unknown>> = [];
  let runtime: Runtime | undefined;
  let backend: ExchangeBackend | undefined;

  const world = {
    schema,
    admin,
    emulator,
    records,
    get runtime() {
      return runtime;
    },
    async startConnector(
      notifications: 'streaming' | 'pull' | 'push' = 'streaming',
      sync: Record<string, unknown> = {},
      databaseListener: Record<string, unknown> = {},
    ): Promise<Runtime> {
      const config = configSchema.parse(
        testConfig(
          emulator,
          { type: 'postgres', connectionString: schemaUrl(pgUrl, schema) },
          {
            exchange: { notifications },
            listeners: { database: databaseListener },
            sync,
            retry: { permanentFailures: 1 },
          },
        ),
      );
      // Each connector's own records: `live` must not be satisfied by an earlier connector's.
      records.length = 0;
      const logging = createLogging({
        level: 'debug',
        format: 'json',
        stdout: { write: (line: string) => void records.push(JSON.parse(line)) },
      });
      backend = await createExchangeBackend(config, logging.logger);
      runtime = startRuntime({ config, logging, exchange: backend.port });
      return runtime;
    },
    async stopConnector() {
      await runtime?.stop();
      await backend?.close();
      runtime = undefined;
      backend = undefined;
    },
    async live(users: string[]) {
      await vi.waitFor(
        () => {
          const liveUsers = new Set(records.filter((r) => r.event === 'mailbox.live').map((r) => r.user));
          for (const user of users) expect(liveUsers).toContain(user);
        },
        { timeout: 20_000, interval: 50 },
      );
    },
    rows: async (table: string, user: string) =>
      (await admin.query(`select * from ${schema}.${table} where exh_user = $1 order by exh_item_id`, [user])).rows,
    eventually: (check: () => Promise<void>) => vi.waitFor(check, { timeout: 15_000, interval: 100 }),
    /** Where the senders reach the connector, and its token, as exh_set_up tells them. */
    async setUp(): Promise<{ target: ListenerTarget; token: string }> {
      const setUp = Object.fromEntries(
        (await admin.query(`select exh_parameter, exh_value from ${schema}.exh_set_up`)).rows.map((r) => [
          r.exh_parameter,
          r.exh_value,
        ]),
      );
      return {
        target: { host: setUp.exh_ip_address as string, port: Number(setUp.exh_ip_address_port) },
        token: setUp.exh_listener_token as string,
      };
    },
    async close() {
      await world.stopConnector();
      await emulator.close();
      await admin.query(`drop schema if exists ${schema} cascade`);
      await admin.end();
    },
  };
  return world;
}
