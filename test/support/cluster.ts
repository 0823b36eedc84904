import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { type RunningEmulator, startEmulator } from '../../emulator/index.js';
import { configSchema } from '../../src/config/schema.js';
import { installBaseProject } from '../../src/db/commands.js';
import { createExchangeBackend, type ExchangeBackend } from '../../src/exchange/create-exchange.js';
import { createLogging } from '../../src/logging/logger.js';
import { type Runtime, startRuntime } from '../../src/runtime.js';
import { testConfig } from './config.js';
import { testSecret } from './log-scan.js';
import { schemaUrl } from './pg.js';

export interface ClusterInstance {
  id: string;
  runtime: Runtime;
  backend: ExchangeBackend;
  /** Its log records, as JSON. */
  records: Array<Record<string, unknown>>;
}

/** Settings of every instance unless a test names others: a short lease, so that a test need not wait long. */
export const testLease = { leaseSeconds: 4, heartbeatSeconds: 1 };

/**
 * Several connectors in this process, each with a `cluster` configuration (docs/scale-out.md), on one fresh schema of
 * the PostgreSQL server at `pgUrl` (base project, example application, `users` registered) and one emulator with
 * their mailboxes: what test/cluster and test/http's cluster tests start. Every instance has the same listener token.
 */
export async function clusterWorld(
  pgUrl: string,
  name: string,
  options: { users: string[]; mailboxes?: string[]; validateResponses?: boolean },
) {
  const schema = `exh_${name}_${randomBytes(4).toString('hex')}`;
  const admin = new pg.Client({ connectionString: pgUrl });
  await admin.connect();
  await admin.query(`create schema ${schema}`);
  const database = { type: 'postgres', connectionString: schemaUrl(pgUrl, schema) } as const;
  await installBaseProject(database, { exampleApp: true });
  for (const user of options.users) await admin.query(`insert into ${schema}.app_user (exh_user) values ($1)`, [user]);
  const emulator: RunningEmulator = await startEmulator({
    port: 0,
    mailboxes: options.mailboxes ?? options.users,
    validateResponses: options.validateResponses ?? true,
    password: testSecret('exchange.impersonationPassword'),
  });
  const token = testSecret('listeners.database.token');
  const instances = new Map<string, ClusterInstance>();

  return {
    schema,
    admin,
    emulator,
    token,
    instances,
    database,
    /**
     * Starts an instance: `cluster` and `listeners` are merged over the test's defaults (testLease, the shared token);
     * users are read at start and on exh_sync_users only (sync.usersRefreshMs 0) unless `sync` says otherwise.
     */
    async start(
      id: string,
      overrides: {
        cluster?: Record<string, unknown>;
        listeners?: Record<string, Record<string, unknown>>;
        sync?: Record<string, unknown>;
        /** Another way to the same schema (a fault proxy's port): the instance's own database.connectionString. */
        databasePort?: number;
      } = {},
    ): Promise<ClusterInstance> {
      const { database: listener = {}, ...listeners } = overrides.listeners ?? {};
      const config = configSchema.parse(
        testConfig(
          emulator,
          overrides.databasePort === undefined
            ? database
            : { ...database, connectionString: schemaUrl(pgUrl, schema, { port: overrides.databasePort }) },
          {
            listeners: { ...listeners, database: { ...listener, token } },
            cluster: { instanceId: id, ...testLease, ...overrides.cluster },
            sync: { usersRefreshMs: 0, ...overrides.sync },
          },
        ),
      );
      const records: Array<Record<string, unknown>> = [];
      const logging = createLogging({
        level: 'debug',
        format: 'json',
        stdout: { write: (line: string) => void records.push(JSON.parse(line)) },
      });
      const backend = await createExchangeBackend(config, logging.logger);
      const instance = { id, runtime: startRuntime({ config, logging, exchange: backend.port }), backend, records };
      instances.set(id, instance);
      return instance;
    },
    /** A clean stop: mailboxes stopped, the cluster left (its leases end at once). */
    async stop(id: string): Promise<void> {
      const instance = instances.get(id);
      if (!instance) return;
      instances.delete(id);
      await instance.runtime.stop();
      await instance.backend.close();
    },
    /**
     * A crash as the database sees it: the instance's actors stop where they are (no leave, no release), so its
     * leases run out by themselves.
     */
    async crash(id: string): Promise<void> {
      const instance = instances.get(id);
      if (!instance) return;
      instances.delete(id);
      instance.runtime.actor.stop();
      await instance.backend.close();
    },
    /** Each unexpired lease: user → holder, fence, and whether it is still live by the database's clock. */
    async leases(): Promise<Map<string, { instance: string; fence: string; live: boolean; expiresAt: Date }>> {
      const { rows } = await admin.query(
        `select exh_user, exh_instance_id, exh_fence::text as fence, exh_expires_at, exh_expires_at > now() as live
         from ${schema}.exh_lease`,
      );
      return new Map(
        rows.map((r) => [
          r.exh_user,
          { instance: r.exh_instance_id, fence: r.fence, live: r.live, expiresAt: new Date(r.exh_expires_at) },
        ]),
      );
    },
    async close(): Promise<void> {
      for (const id of [...instances.keys()]) {
        const instance = instances.get(id);
        instances.delete(id);
        await instance?.runtime.stop();
        await instance?.backend.close();
      }
      await emulator.close();
      await admin.query(`drop schema if exists ${schema} cascade`);
      await admin.end();
    },
  };
}

export type ClusterWorld = Awaited<ReturnType<typeof clusterWorld>>;
