import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { expect, vi } from 'vitest';
import type { ItemSummary } from '../../emulator/admin/api.js';
import { defaultGraphApp, graphLoginPrefix } from '../../emulator/graph/token.js';
import { type RunningEmulator, startEmulator } from '../../emulator/index.js';
import { configSchema } from '../../src/config/schema.js';
import { installBaseProject } from '../../src/db/commands.js';
import { createExchangeBackend, type ExchangeBackend } from '../../src/exchange/create-exchange.js';
import { redirectedMsal } from '../../src/exchange/graph/token.js';
import { createLogging } from '../../src/logging/logger.js';
import type { ListenerTarget } from '../../src/protocol/client.js';
import { type Runtime, startRuntime } from '../../src/runtime.js';
import { testConfig } from './config.js';
import { testSecret } from './log-scan.js';
import { freePort } from './net.js';
import { schemaUrl } from './pg.js';

/** The Exchange backends the scenario suites run on, from the same files: EWS and Microsoft Graph (issue 14). */
export const backends = ['ews', 'graph'] as const;
export type Backend = (typeof backends)[number];

/** How each backend is told of changes for the EWS kinds a scenario names: Graph polls, or takes webhooks for push. */
const graphNotifications = { streaming: 'poll', pull: 'poll', push: 'webhook' } as const;

export const alice = 'alice@contoso.test';
export const bob = 'bob@contoso.test';
export const carol = 'carol@contoso.test';

/**
 * Every real part for an end-to-end test: a schema of its own on the PostgreSQL server with the base project and the
 * example application (users alice, bob and carol), the emulator speaking EWS over HTTP with their mailboxes, and
 * connectors started and stopped in-process on them (the real runtime, EWS adapter and listeners).
 */
export async function connectorWorld(pgUrl: string, name: string, options: { backend?: Backend } = {}) {
  const backendName: Backend = options.backend ?? 'ews';
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
      const graph = backendName === 'graph' ? await graphSettings(emulator, graphNotifications[notifications]) : {};
      const config = configSchema.parse(
        testConfig(
          emulator,
          { type: 'postgres', connectionString: schemaUrl(pgUrl, schema) },
          {
            exchange: { notifications, ...graph },
            listeners: { database: databaseListener, ...graphListener(graph) },
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
      backend = await createExchangeBackend(config, logging.logger, {
        // msal speaks to Entra only over HTTPS: its requests go to the emulator's token endpoint instead.
        msal: redirectedMsal(`${new URL(emulator.graphUrl).origin}${graphLoginPrefix}`, defaultGraphApp.tenant),
      });
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
    backend: backendName,
    /** The id this backend reports (and the rows carry) for an item the emulator made: EWS's, or Graph's immutable id. */
    id(item: ItemSummary | undefined): string | undefined {
      if (!item) return undefined;
      return backendName === 'graph' ? item.graphId : item.id;
    },
    /** The backend no longer takes the mailbox's next stored sync state (EWS: SyncFolderItems; Graph: 410 on delta). */
    rejectSyncState(user: string) {
      if (backendName === 'graph') emulator.admin.faults.add({ kind: 'graphDeltaGone', calls: 1, mailbox: user });
      else
        emulator.admin.faults.add({
          kind: 'invalidSyncState',
          calls: 1,
          mailbox: user,
          operations: ['SyncFolderItems'],
        });
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

/**
 * exchange.* for a connector on the emulator's Microsoft Graph with its default app registration: polling every
 * 200 ms, or webhooks to a listener on a free port of this machine (the emulator takes http on 127.0.0.1).
 */
async function graphSettings(emulator: RunningEmulator, notifications: 'poll' | 'webhook') {
  const webhookPort = notifications === 'webhook' ? await freePort() : undefined;
  return {
    backend: 'graph',
    graph: {
      baseUrl: emulator.graphUrl,
      tenant: defaultGraphApp.tenant,
      clientId: defaultGraphApp.clientId,
      clientSecret: defaultGraphApp.clientSecret,
      notifications,
      pollIntervalMs: 200,
      ...(webhookPort ? { notificationUrl: `http://127.0.0.1:${webhookPort}/exh/graph` } : {}),
    },
  };
}

/** listeners.graph on the webhook's port, when the settings name one. */
function graphListener(exchange: { graph?: { notificationUrl?: string } }): Record<string, Record<string, unknown>> {
  const url = exchange.graph?.notificationUrl;
  return url ? { graph: { host: '127.0.0.1', port: Number(new URL(url).port) } } : {};
}
