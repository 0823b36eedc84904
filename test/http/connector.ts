import { PGlite } from '@electric-sql/pglite';
import { vi } from 'vitest';
import { type RunningEmulator, startEmulator } from '../../emulator/index.js';
import { configSchema } from '../../src/config/schema.js';
import { createPgliteDatabase } from '../../src/db/adapters/pglite.js';
import { installInto } from '../../src/db/commands.js';
import { createExchangeBackend } from '../../src/exchange/create-exchange.js';
import { createLogging } from '../../src/logging/logger.js';
import { type Runtime, startRuntime } from '../../src/runtime.js';
import { testConfig } from '../support/config.js';
import { testSecret } from '../support/log-scan.js';

export const users = ['alice@contoso.test', 'bob@contoso.test', 'carol@contoso.test'];

export interface RunningConnector {
  runtime: Runtime;
  emulator: RunningEmulator;
  instance: PGlite;
  /** http://127.0.0.1:<port> of the dashboard and the API. */
  url: string;
  records: Array<Record<string, unknown>>;
  stop(): Promise<void>;
}

/**
 * A real connector for the HTTP tests: the emulator with three mailboxes, an embedded PGlite database with the base
 * project and the example application, the actor tree, and the HTTP listener on a free port.
 */
export async function startConnector(
  http: { adminToken?: string; allowedHosts?: string[] },
  options: { inspect?: boolean } = {},
) {
  // A distinctive password, so that the end of the run can tell it never reached a log (test/support/log-scan.ts).
  const emulator = await startEmulator({
    port: 0,
    mailboxes: users,
    password: testSecret('exchange.impersonationPassword'),
  });
  const instance = await PGlite.create();
  const db = createPgliteDatabase({ instance });
  await db.connect();
  await installInto(db, { exampleApp: true });
  await db.runScript(`INSERT INTO app_user (exh_user) VALUES ${users.map((user) => `('${user}')`).join(', ')};`);
  await db.close();
  const config = configSchema.parse(
    testConfig(emulator, { type: 'pglite' }, { listeners: { http: { enabled: true, port: 0, ...http } } }),
  );
  const records: Array<Record<string, unknown>> = [];
  const logging = createLogging({
    level: 'debug',
    format: 'json',
    stdout: { write: (line: string) => void records.push(JSON.parse(line)) },
  });
  const backend = await createExchangeBackend(config, logging.logger);
  const runtime = startRuntime({ config, logging, db, exchange: backend.port, inspect: options.inspect === true });
  const listening = await vi.waitFor(
    () => {
      const record = records.find((candidate) => candidate.event === 'http.listening');
      if (!record) throw new Error('the HTTP listener has not said where it listens');
      return record;
    },
    { timeout: 15_000, interval: 20 },
  );
  return {
    runtime,
    emulator,
    instance,
    url: `http://127.0.0.1:${listening.port}`,
    records,
    stop: async () => {
      await runtime.stop();
      await backend.close();
      await emulator.close();
      await instance.close();
    },
  } satisfies RunningConnector;
}

/** Waits until every mailbox says it is live. */
export async function allLive(connector: RunningConnector): Promise<void> {
  await vi.waitFor(
    () => {
      const live = new Set(connector.records.filter((r) => r.event === 'mailbox.live').map((r) => r.user));
      for (const user of users) if (!live.has(user)) throw new Error(`${user} is not live yet`);
    },
    { timeout: 40_000, interval: 50 },
  );
}
