import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { type RunningEmulator, startEmulator } from '../../emulator/index.js';
import { ownerOf } from '../../src/cluster/rendezvous.js';
import { configSchema } from '../../src/config/schema.js';
import { installBaseProject } from '../../src/db/commands.js';
import { createExchangeBackend, type ExchangeBackend } from '../../src/exchange/create-exchange.js';
import { createLogging } from '../../src/logging/logger.js';
import { type Runtime, startRuntime } from '../../src/runtime.js';
import { testConfig } from '../support/config.js';
import { testSecret } from '../support/log-scan.js';
import { schemaUrl } from '../support/pg.js';

const pgUrl = process.env.PG_URL;

const user = 'handover@contoso.test';

interface Instance {
  runtime: Runtime;
  backend: ExchangeBackend;
  records: Array<Record<string, unknown>>;
}

/**
 * A mailbox that changes hands starts from what its previous holder committed up to the change, not from the
 * watermark the new holder read at its own start-up (docs/architecture.md, "Several instances"). Found by
 * test/faults/cluster-kill.test.ts: B started, A then synchronised an item a person made, A crashed, the person
 * deleted the item, B took the lease and caught up from its start-up's watermark (where the item never was), so the
 * deletion was never reported and the row stayed.
 */
describe.skipIf(!pgUrl)('a mailbox changing hands (emulator, PostgreSQL)', () => {
  let admin: pg.Client;
  let emulator: RunningEmulator;
  let schema: string;
  const instances: Instance[] = [];
  const token = testSecret('listeners.database.token');

  beforeAll(async () => {
    schema = `exh_handover_${randomBytes(4).toString('hex')}`;
    admin = new pg.Client({ connectionString: pgUrl });
    await admin.connect();
    await admin.query(`create schema ${schema}`);
    await installBaseProject(
      { type: 'postgres', connectionString: schemaUrl(pgUrl as string, schema) },
      { exampleApp: true },
    );
    await admin.query(`insert into ${schema}.app_user (exh_user) values ($1)`, [user]);
    emulator = await startEmulator({ port: 0, mailboxes: [user] });
  });

  afterAll(async () => {
    for (const instance of instances) {
      instance.runtime.actor.stop();
      await instance.backend.close();
    }
    await emulator?.close();
    await admin?.query(`drop schema if exists ${schema} cascade`);
    await admin?.end();
  });

  async function start(instanceId: string): Promise<Instance> {
    const config = configSchema.parse(
      testConfig(
        emulator,
        { type: 'postgres', connectionString: schemaUrl(pgUrl as string, schema) },
        {
          listeners: { database: { token } },
          cluster: { instanceId, leaseSeconds: 4, heartbeatSeconds: 1 },
          // No periodic users read: the start-up's registrations are all B has before it takes the lease.
          sync: { usersRefreshMs: 0 },
        },
      ),
    );
    const records: Array<Record<string, unknown>> = [];
    const logging = createLogging({
      level: 'info',
      format: 'json',
      stdout: { write: (line: string) => void records.push(JSON.parse(line)) },
    });
    const backend = await createExchangeBackend(config, logging.logger);
    const instance = { runtime: startRuntime({ config, logging, exchange: backend.port }), backend, records };
    instances.push(instance);
    return instance;
  }

  const live = (instance: Instance) =>
    vi.waitFor(() => expect(instance.records.some((r) => r.event === 'mailbox.live' && r.user === user)).toBe(true), {
      timeout: 30_000,
      interval: 100,
    });
  const taskRows = async (subject: string) =>
    (await admin.query(`select exh_item_id from ${schema}.task_item where exh_subject = $1`, [subject])).rows;

  it("takes over from the previous holder's last watermark: a deletion made meanwhile arrives", async () => {
    // Rendezvous keeps the mailbox with A while both live.
    const a = 'exh-a';
    const b = ['exh-b', 'exh-c', 'exh-d', 'exh-e', 'exh-f'].find((id) => ownerOf(user, [a, id]) === a) as string;
    const first = await start(a);
    await live(first);
    const second = await start(b);
    await vi.waitFor(() => expect(second.records.some((r) => r.event === 'cluster.joined')).toBe(true), {
      timeout: 30_000,
    });

    // After B's start-up read the users: an item A synchronises, so the watermark moves past what B read.
    const item = emulator.admin.createItem(user, { kind: 'Task', Subject: 'made after B started' });
    await vi.waitFor(async () => expect(await taskRows('made after B started')).toHaveLength(1), {
      timeout: 30_000,
      interval: 100,
    });

    // A crashes (no leave: its lease runs out), the owner deletes the item, B takes the mailbox.
    first.runtime.actor.stop();
    await first.backend.close();
    emulator.admin.deleteItem(user, item?.id as string);
    await live(second);
    await vi.waitFor(async () => expect(await taskRows('made after B started')).toHaveLength(0), {
      timeout: 20_000,
      interval: 200,
    });
  });
});
