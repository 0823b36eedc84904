import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { defaultGraphApp, graphLoginPrefix } from '../../emulator/graph/token.js';
import { type RunningEmulator, startEmulator } from '../../emulator/index.js';
import { configSchema } from '../../src/config/schema.js';
import { installBaseProject } from '../../src/db/commands.js';
import { createExchangeBackend, type ExchangeBackend } from '../../src/exchange/create-exchange.js';
import { createLogging } from '../../src/logging/logger.js';
import { type Runtime, startRuntime } from '../../src/runtime.js';
import { testConfig } from '../support/config.js';
import { testSecret } from '../support/log-scan.js';
import { schemaUrl } from '../support/pg.js';

const pgUrl = process.env.PG_URL;
const alice = 'alice@contoso.test';
const bob = 'bob@contoso.test';

/**
 * One database with an EWS user and a Graph user side by side (issue 14, "Done when"), through every real part: the
 * PostgreSQL server with the base project and the example application, whose app_user.exh_backend sends bob to
 * Microsoft Graph while exchange.backend leaves alice on EWS; the runtime with the configured routing; the emulator
 * serving EWS and Graph over one mailbox store. Then alice is switched to Graph by her row, and keeps her rows.
 */
describe.skipIf(!pgUrl)('EWS and Graph users in one database, end to end (PostgreSQL, emulator)', () => {
  const schema = `exh_routing_${randomBytes(4).toString('hex')}`;
  let admin: pg.Client;
  let emulator: RunningEmulator;
  let runtime: Runtime | undefined;
  let backend: ExchangeBackend | undefined;
  const records: Array<Record<string, unknown>> = [];

  beforeAll(async () => {
    admin = new pg.Client({ connectionString: pgUrl });
    await admin.connect();
    await admin.query(`create schema ${schema}`);
    // The example application's triggers call the base project's routines by their names, unqualified.
    await admin.query(`set search_path to ${schema}`);
    await installBaseProject(
      { type: 'postgres', connectionString: schemaUrl(pgUrl as string, schema) },
      { exampleApp: true },
    );
    await admin.query(`insert into ${schema}.app_user (exh_user, exh_backend) values ($1, NULL), ($2, 'graph')`, [
      alice,
      bob,
    ]);
    emulator = await startEmulator({
      port: 0,
      graph: true,
      mailboxes: [alice, bob],
      password: testSecret('exchange.impersonationPassword'),
    });
  });
  afterEach(async () => {
    await runtime?.stop();
    await backend?.close();
    runtime = undefined;
    backend = undefined;
  });
  afterAll(async () => {
    await emulator?.close();
    await admin?.query(`drop schema if exists ${schema} cascade`);
    await admin?.end();
  });

  async function startConnector(): Promise<void> {
    const config = configSchema.parse(
      testConfig(
        emulator,
        { type: 'postgres', connectionString: schemaUrl(pgUrl as string, schema) },
        {
          exchange: {
            backend: 'ews',
            notifications: 'streaming',
            graph: {
              baseUrl: emulator.graphUrl,
              authority: `${new URL(emulator.graphUrl).origin}${graphLoginPrefix}`,
              tenant: defaultGraphApp.tenant,
              clientId: defaultGraphApp.clientId,
              clientSecret: defaultGraphApp.clientSecret,
              notifications: 'poll',
              pollIntervalMs: 200,
            },
          },
          sync: { usersRefreshMs: 60_000 },
          retry: { permanentFailures: 1 },
        },
      ),
    );
    records.length = 0;
    const logging = createLogging({
      level: 'debug',
      format: 'json',
      stdout: { write: (line: string) => void records.push(JSON.parse(line)) },
    });
    backend = await createExchangeBackend(config, logging.logger);
    runtime = startRuntime({ config, logging, exchange: backend.port });
  }

  const eventually = (check: () => Promise<void> | void) => vi.waitFor(check, { timeout: 20_000, interval: 100 });
  const live = (users: string[]) =>
    eventually(() => {
      const liveUsers = new Set(records.filter((r) => r.event === 'mailbox.live').map((r) => r.user));
      for (const user of users) expect(liveUsers).toContain(user);
    });
  const rows = async (table: string, user: string) =>
    (await admin.query(`select * from ${schema}.${table} where exh_user = $1 order by id`, [user])).rows;
  const subscribed = (user: string) =>
    records.findLast((r) => r.user === user && String(r.msg).startsWith('Subscribed ('))?.kind as string | undefined;

  it('syncs each user through its own backend, both ways, with its own ids and notification kind', async () => {
    await startConnector();
    await live([alice, bob]);
    expect(subscribed(alice)).toBe('streaming');
    expect(subscribed(bob)).toBe('poll');

    // Exchange → database: each row carries the id its user's backend reports.
    const aliceTask = emulator.admin.createItem(alice, { kind: 'Task', Subject: 'Alice on EWS' });
    const bobTask = emulator.admin.createItem(bob, { kind: 'Task', Subject: 'Bob on Graph' });
    await eventually(async () => {
      expect(await rows('task_item', alice)).toEqual([
        expect.objectContaining({ exh_item_id: aliceTask?.id, exh_subject: 'Alice on EWS' }),
      ]);
      expect(await rows('task_item', bob)).toEqual([
        expect.objectContaining({ exh_item_id: bobTask?.graphId, exh_subject: 'Bob on Graph' }),
      ]);
    });
    expect(aliceTask?.id).not.toBe(aliceTask?.graphId);

    // Database → Exchange: a row of each user reaches that user's mailbox and gets its backend's id back.
    await admin.query(
      `insert into ${schema}.contact_item (exh_user, exh_app_item_id, exh_given_name, exh_surname)
       values ($1, 'app-alice-1', 'Dana', 'Scully'), ($2, 'app-bob-1', 'Fox', 'Mulder')`,
      [alice, bob],
    );
    await eventually(async () => {
      const [aliceRow] = await rows('contact_item', alice);
      const [bobRow] = await rows('contact_item', bob);
      expect(aliceRow?.exh_item_id).toBeTruthy();
      expect(bobRow?.exh_item_id).toBeTruthy();
      const aliceItem = emulator.admin.items(alice, 'contacts').find((item) => item.id === aliceRow?.exh_item_id);
      const bobItem = emulator.admin.items(bob, 'contacts').find((item) => item.graphId === bobRow?.exh_item_id);
      expect(aliceItem).toBeDefined();
      expect(bobItem).toBeDefined();
    });
  });

  it('switches a user to Graph by its exh_backend: the mailbox restarts there and keeps its rows', async () => {
    await startConnector();
    await live([alice, bob]);
    const before = await rows('task_item', alice);
    const contactsBefore = await rows('contact_item', alice);
    expect(before).toHaveLength(1);
    await admin.query(`update ${schema}.app_user set exh_backend = 'GRAPH' where exh_user = $1`, [alice]);
    await admin.query(`select * from ${schema}.exh_sync_users()`);
    await eventually(() => expect(subscribed(alice)).toBe('poll'));
    await eventually(async () => {
      const after = await rows('task_item', alice);
      expect(after).toEqual([expect.objectContaining({ id: before[0]?.id, exh_subject: 'Alice on EWS' })]);
      expect(after[0]?.exh_item_id).not.toBe(before[0]?.exh_item_id);
      const item = emulator.admin.items(alice, 'tasks').find((task) => task.graphId === after[0]?.exh_item_id);
      expect(item?.id).toBe(before[0]?.exh_item_id);
      expect((await rows('contact_item', alice)).map((row) => row.id)).toEqual(contactsBefore.map((row) => row.id));
    });
    // Graph carries on: a change in Exchange reaches the same row.
    const task = emulator.admin.items(alice, 'tasks')[0];
    emulator.admin.updateItem(alice, task?.id as string, { Subject: 'Alice on Graph' });
    await eventually(async () => {
      expect(await rows('task_item', alice)).toEqual([
        expect.objectContaining({ id: before[0]?.id, exh_subject: 'Alice on Graph' }),
      ]);
    });
  });
});
