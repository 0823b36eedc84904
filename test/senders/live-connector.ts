import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { expect, vi } from 'vitest';
import { type RunningEmulator, startEmulator } from '../../emulator/index.js';
import { configSchema } from '../../src/config/schema.js';
import { installBaseProject } from '../../src/db/commands.js';
import { createExchangeBackend, type ExchangeBackend } from '../../src/exchange/create-exchange.js';
import { createLogging } from '../../src/logging/logger.js';
import { type Runtime, startRuntime } from '../../src/runtime.js';
import { testConfig } from '../support/config.js';
import { schemaUrl } from '../support/pg.js';

/**
 * What every sender test needs: a schema of its own on the PostgreSQL server of PG_URL with the base project and the
 * example application (and, when asked, the PL/Python sender), the EWS emulator, and a real connector (the runtime
 * with its database listener) that can be started and stopped, as in test/e2e/sync.test.ts.
 */
export interface LiveConnector {
  admin: pg.Client;
  schema: string;
  emulator: RunningEmulator;
  /** Starts a connector (stopping the one running, if any) and waits until every mailbox is live. */
  start(): Promise<void>;
  stop(): Promise<void>;
  /** exh_set_up as the senders read it (exh_ip_address, exh_ip_address_port, exh_listener_token, …). */
  setUp(): Promise<Record<string, string>>;
  close(): Promise<void>;
}

export async function startLiveConnector(
  pgUrl: string,
  options: { users: string[]; syncSender?: boolean },
): Promise<LiveConnector> {
  const schema = `exh_senders_${randomBytes(4).toString('hex')}`;
  const admin = new pg.Client({ connectionString: pgUrl });
  await admin.connect();
  await admin.query(`create schema ${schema}`);
  // As the application's own sessions: its triggers call exh_to_exh_* unqualified.
  await admin.query(`set search_path to ${schema}`);
  const connectionString = schemaUrl(pgUrl, schema);
  await installBaseProject(
    { type: 'postgres', connectionString },
    { exampleApp: true, syncSender: options.syncSender === true },
  );
  for (const user of options.users) await admin.query('insert into app_user (exh_user) values ($1)', [user]);
  const emulator = await startEmulator({ port: 0, mailboxes: options.users, validateResponses: true });

  let runtime: Runtime | undefined;
  let backend: ExchangeBackend | undefined;
  const records: Array<Record<string, unknown>> = [];

  const stop = async () => {
    await runtime?.stop();
    await backend?.close();
    runtime = undefined;
    backend = undefined;
  };

  const start = async () => {
    await stop();
    const config = configSchema.parse(
      testConfig(emulator, { type: 'postgres', connectionString }, { retry: { permanentFailures: 1 } }),
    );
    records.length = 0;
    const logging = createLogging({
      level: 'debug',
      format: 'json',
      stdout: { write: (line: string) => void records.push(JSON.parse(line)) },
    });
    backend = await createExchangeBackend(config, logging.logger);
    runtime = startRuntime({ config, logging, exchange: backend.port });
    // Live: every mailbox subscribed, and exh_set_up written with the listener's port.
    await vi.waitFor(
      () => {
        const live = new Set(records.filter((r) => r.event === 'mailbox.live').map((r) => r.user));
        for (const user of options.users) expect(live).toContain(user);
      },
      { timeout: 20_000, interval: 50 },
    );
  };

  return {
    admin,
    schema,
    emulator,
    start,
    stop,
    async setUp() {
      const { rows } = await admin.query('select exh_parameter, exh_value from exh_set_up');
      return Object.fromEntries(rows.map((r) => [r.exh_parameter, r.exh_value]));
    },
    async close() {
      await stop();
      await emulator.close();
      await admin.query(`drop schema if exists ${schema} cascade`);
      await admin.end();
    },
  };
}
