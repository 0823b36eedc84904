import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { installBaseProject } from '../../src/db/commands.js';
import { isExhError } from '../../src/errors.js';
import { runExh } from '../support/exh-process.js';
import { schemaUrl } from '../support/pg.js';
import { type LiveConnector, startLiveConnector } from './live-connector.js';
import { closedPort } from './tools.js';

const pgUrl = process.env.PG_URL;
const alice = 'alice@contoso.test';
const bob = 'bob@contoso.test';

/** Whether the server of PG_URL has PL/Python at all (Debian postgresql-plpython3-NN). */
async function hasPlPython(url: string): Promise<boolean> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const { rows } = await client.query("select 1 from pg_available_extensions where name = 'plpython3u'");
    return rows.length > 0;
  } finally {
    await client.end();
  }
}

const plPython = pgUrl ? await hasPlPython(pgUrl) : false;
if (!pgUrl) console.warn('test/senders/plpython.test.ts skipped: PG_URL is not set');
else if (!plPython)
  console.warn('test/senders/plpython.test.ts skipped: the server has no plpython3u (postgresql-plpython3-NN)');

/**
 * The PL/Python sender (sql/postgres/sync-sender.sql) on the real PostgreSQL server, with the example application in
 * synchronous mode against a real connector and the emulator: the original's trigger behaviour (docs/senders.md), a
 * change in Exchange or a rollback.
 */
describe.skipIf(!plPython)('PostgreSQL PL/Python sender (exh_send) in synchronous mode', () => {
  let live: LiveConnector;
  const q = (text: string, values: unknown[] = []) => live.admin.query(text, values);
  const setMode = (mode: 'sync' | 'outbox') =>
    q("update exh_set_up set exh_value = $1 where exh_parameter = 'exh_send_mode'", [mode]);

  beforeAll(async () => {
    live = await startLiveConnector(pgUrl as string, { users: [alice, bob], syncSender: true });
  });
  afterAll(async () => {
    await live?.close();
  });

  it('installs idempotently and leaves the outbox mode on until the application switches', async () => {
    const connectionString = new URL(pgUrl as string);
    connectionString.searchParams.set('options', `-c search_path=${live.schema}`);
    const again = await installBaseProject(
      { type: 'postgres', connectionString: connectionString.toString() },
      { exampleApp: true, syncSender: true },
    );
    expect(again.applied).toEqual([
      'sql/postgres/base-project.sql',
      'sql/postgres/example-app.sql',
      'sql/postgres/sync-sender.sql',
    ]);
    expect((await live.setUp()).exh_send_mode).toBe('outbox');
    // Without a connector's set-up the sender is offline, not broken.
    const { rows } = await q(`select * from exh_send('{"type": "ping"}')`);
    expect(rows).toEqual([{ exit_code: 521, output_value: null, error_message: expect.stringMatching(/offline/) }]);
  });

  it('an inserted row reaches the mailbox at once and gets its item id; changes and deletes follow', async () => {
    await live.start();
    await setMode('sync');
    expect((await q(`select * from exh_send('{"type": "ping"}')`)).rows[0]).toMatchObject({
      exit_code: 0,
      output_value: 'pong',
    });

    await q(
      `insert into task_item (exh_app_item_id, exh_user, exh_subject, exh_percent_complete, exh_due)
       values ('sync-task-1', $1, 'Sent synchronously', 20, '2026-12-24T17:00:00Z')`,
      [alice],
    );
    const [row] = (await q("select * from task_item where exh_app_item_id = 'sync-task-1'")).rows;
    expect(row?.exh_item_id).toEqual(expect.any(String));
    const made = live.emulator.admin.item(alice, row?.exh_item_id);
    expect(made.properties).toMatchObject({ Subject: 'Sent synchronously', PercentComplete: '20' });
    // Nothing went through the outbox.
    expect((await q('select count(*)::int as n from exh_outbox')).rows[0]?.n).toBe(0);

    await q("update task_item set exh_subject = 'Changed synchronously' where exh_app_item_id = 'sync-task-1'");
    expect(live.emulator.admin.item(alice, row?.exh_item_id).properties).toMatchObject({
      Subject: 'Changed synchronously',
      PercentComplete: '20',
    });

    // The echo from Exchange finds the same row: never a second one.
    await vi.waitFor(
      async () => {
        const { rows } = await q('select exh_subject, exh_item_id from task_item where exh_user = $1', [alice]);
        expect(rows).toEqual([{ exh_subject: 'Changed synchronously', exh_item_id: row?.exh_item_id }]);
      },
      { timeout: 5_000, interval: 100 },
    );

    await q("delete from task_item where exh_app_item_id = 'sync-task-1'");
    expect(live.emulator.admin.items(alice, 'tasks').filter((i) => i.id === row?.exh_item_id)).toEqual([]);
  });

  it('an appointment with times travels as ISO 8601 and comes back with its item id', async () => {
    await live.start();
    await setMode('sync');
    await q(
      `insert into calendar_item (exh_app_item_id, exh_user, exh_subject, exh_start, exh_end, exh_location)
       values ('sync-meeting-1', $1, 'Planning', '2026-12-01T09:00:00+01:00', '2026-12-01T10:00:00+01:00', 'Room 2')`,
      [bob],
    );
    const [row] = (await q("select exh_item_id from calendar_item where exh_app_item_id = 'sync-meeting-1'")).rows;
    const made = live.emulator.admin.item(bob, row?.exh_item_id);
    expect(made.properties).toMatchObject({ Subject: 'Planning', Location: 'Room 2' });
    expect(new Date(String(made.properties.Start)).toISOString()).toBe('2026-12-01T08:00:00.000Z');
  });

  it("exh_send_get_attachment returns the attachment's bytes unchanged", async () => {
    await live.start();
    const bytes = randomBytes(7000);
    const item = live.emulator.admin.createItem(bob, {
      kind: 'Task',
      Subject: 'With a file',
      Attachments: [{ Name: 'data.bin', Content: bytes.toString('base64') }],
    });
    const { rows } = await q('select * from exh_send_get_attachment($1, $2, $3)', [
      bob,
      item?.id,
      item?.attachments[0]?.id,
    ]);
    expect(rows[0]?.exit_code).toBe(0);
    expect(Buffer.isBuffer(rows[0]?.content) && rows[0].content.equals(bytes)).toBe(true);
    const missing = await q('select * from exh_send_get_attachment($1, $2, $3)', [bob, item?.id, 'no-such-id']);
    expect(missing.rows[0]).toMatchObject({ exit_code: 1, content: null });
  });

  it('a connector that is not running: the insert fails with 521 and the row is rolled back', async () => {
    await live.start();
    await setMode('sync');
    await live.stop();
    const insert = q(
      `insert into task_item (exh_app_item_id, exh_user, exh_subject) values ('sync-task-offline', $1, 'Never')`,
      [alice],
    );
    await expect(insert).rejects.toThrow(/exit code 521\): The Exchange Connector is offline/);
    expect((await q("select * from task_item where exh_app_item_id = 'sync-task-offline'")).rows).toEqual([]);
    expect((await q('select count(*)::int as n from exh_outbox')).rows[0]?.n).toBe(0);
    expect(live.emulator.admin.items(alice, 'tasks').filter((i) => i.properties.Subject === 'Never')).toEqual([]);
  });

  it('several instances: when exh_ip_address does not accept the connection, the next of exh_ip_addresses is tried', async () => {
    await live.start();
    const setUp = await live.setUp();
    const [deadA, deadB] = [await closedPort(), await closedPort()];
    const ping = async () => (await q(`select * from exh_send('{"type": "ping"}')`)).rows[0];
    try {
      await q("update exh_set_up set exh_value = $1 where exh_parameter = 'exh_ip_address_port'", [String(deadA)]);
      await q(
        "insert into exh_set_up (exh_parameter, exh_value) values ('exh_ip_addresses', $1) on conflict (exh_parameter) do update set exh_value = excluded.exh_value",
        [`127.0.0.1:${deadA}, [::1]:${deadB},${setUp.exh_ip_address}:${setUp.exh_ip_address_port}`],
      );
      expect(await ping()).toEqual({ exit_code: 0, output_value: 'pong', error_message: null });

      // None accepts: 521, naming each.
      await q("update exh_set_up set exh_value = $1 where exh_parameter = 'exh_ip_addresses'", [
        `127.0.0.1:${deadA},127.0.0.1:${deadB}`,
      ]);
      const offline = await ping();
      expect(offline).toMatchObject({ exit_code: 521, output_value: null });
      expect(offline?.error_message).toMatch(
        new RegExp(
          `^The Exchange Connector is offline: no instance accepted the connection: cannot connect to 127\\.0\\.0\\.1:${deadA} \\(.*\\); cannot connect to 127\\.0\\.0\\.1:${deadB} \\(.*\\)\\.$`,
        ),
      );
    } finally {
      await q("delete from exh_set_up where exh_parameter = 'exh_ip_addresses'");
      await live.stop();
    }
  });

  it('a wrong token is refused with exit code 1 and changes nothing', async () => {
    await live.start();
    await setMode('sync');
    await q("update exh_set_up set exh_value = 'not-the-token' where exh_parameter = 'exh_listener_token'");
    const insert = q(
      `insert into task_item (exh_app_item_id, exh_user, exh_subject) values ('sync-task-token', $1, 'Refused')`,
      [alice],
    );
    await expect(insert).rejects.toThrow(/exit code 1\): Request refused: unauthenticated/);
    expect((await q("select * from task_item where exh_app_item_id = 'sync-task-token'")).rows).toEqual([]);
    expect(live.emulator.admin.items(alice, 'tasks').filter((i) => i.properties.Subject === 'Refused')).toEqual([]);
    await live.stop();
  });

  it('the echo of an item made in a still open transaction waits for it and updates that row, never adds one', async () => {
    const application = new pg.Client({ connectionString: pgUrl });
    const connector = new pg.Client({ connectionString: pgUrl });
    await application.connect();
    await connector.connect();
    try {
      await application.query(`set search_path to ${live.schema}`);
      await connector.query(`set search_path to ${live.schema}`);
      // The application's transaction as the synchronous trigger leaves it: the row with its new item id, not committed.
      await application.query('begin');
      await application.query("select set_config('exh.applying', 'on', true)");
      await application.query(
        `insert into task_item (exh_app_item_id, exh_item_id, exh_user, exh_subject)
         values ('race-1', 'AAMk-race-1', $1, 'From the application')`,
        [alice],
      );
      const { rows: pid } = await connector.query('select pg_backend_pid() as pid');
      // The connector applies the echo meanwhile, in its own transaction with its flag set (as src/sync/executors/apply.ts
      // does): the insert has to wait for the application's.
      await connector.query('begin');
      await connector.query("select set_config('exh.applying', 'on', true)");
      const echo = connector.query(
        `select exh_from_exh_add_task(exh_app_item_id => 'race-1', exh_item_id => 'AAMk-race-1', exh_user => $1,
           exh_subject => 'Echo from Exchange')`,
        [alice],
      );
      await vi.waitFor(
        async () => {
          const { rows } = await q('select wait_event_type from pg_stat_activity where pid = $1', [pid[0]?.pid]);
          expect(rows[0]?.wait_event_type).toBe('Lock');
        },
        { timeout: 5_000, interval: 20 },
      );
      await application.query('commit');
      await echo;
      await connector.query('commit');
      const { rows } = await q("select exh_subject from task_item where exh_item_id = 'AAMk-race-1'");
      expect(rows).toEqual([{ exh_subject: 'Echo from Exchange' }]);
    } finally {
      await application.end();
      await connector.end();
    }
  });

  it('an echo that made its own row before the trigger stored the item id: that row goes, the application keeps its', async () => {
    await setMode('sync');
    // The connector's reply is fixed here so that its echo can be applied first; the real sender is put back below.
    await q(`create or replace function exh_send_item(exh_action text, exh_item_type text, exh_user text,
               exh_payload jsonb, out exit_code integer,
               out output_value text, out error_message text)
             language sql as $$ select 0, 'AAMk-echo-first'::text, null::text $$`);
    try {
      await q("select set_config('exh.applying', 'on', false)");
      await q(
        `insert into task_item (exh_app_item_id, exh_item_id, exh_user, exh_subject)
         values ('echo-first', 'AAMk-echo-first', $1, 'Echo')`,
        [alice],
      );
      await q("select set_config('exh.applying', '', false)");
      await q(`insert into task_item (exh_app_item_id, exh_user, exh_subject) values ('echo-first', $1, 'Mine')`, [
        alice,
      ]);
      const { rows } = await q("select exh_item_id, exh_subject from task_item where exh_app_item_id = 'echo-first'");
      expect(rows).toEqual([{ exh_item_id: 'AAMk-echo-first', exh_subject: 'Mine' }]);
    } finally {
      await installBaseProject(
        { type: 'postgres', connectionString: schemaUrl(pgUrl as string, live.schema) },
        {
          syncSender: true,
        },
      );
    }
  });

  it('outbox mode stays as it was: the insert writes an outbox row and returns', async () => {
    await setMode('outbox');
    await q(`insert into task_item (exh_app_item_id, exh_user, exh_subject) values ('outbox-task', $1, 'Queued')`, [
      bob,
    ]);
    const { rows } = await q('select exh_action, exh_state from exh_outbox where exh_user = $1', [bob]);
    expect(rows).toEqual([{ exh_action: 'add', exh_state: 'pending' }]);
  });
});

describe.skipIf(!plPython)('exh db install --sync-sender on the command line', () => {
  it('installs the base project and the sender into a fresh schema, and says so', async () => {
    const schema = `exh_cli_${randomBytes(4).toString('hex')}`;
    const admin = new pg.Client({ connectionString: pgUrl });
    await admin.connect();
    const dir = await mkdtemp(join(tmpdir(), 'exh-cli-'));
    try {
      await admin.query(`create schema ${schema}`);
      const config = join(dir, 'exh.config.json');
      await writeFile(
        config,
        JSON.stringify({
          database: { type: 'postgres', connectionString: schemaUrl(pgUrl as string, schema) },
          exchange: { impersonationUser: 'exh-service@contoso.test', impersonationPassword: 'exh' },
        }),
      );
      const exh = runExh(['db', 'install', '--config', config, '--sync-sender']);
      expect((await exh.exited).code, exh.stderr()).toBe(0);
      expect(exh.stderr()).toContain('sql/postgres/base-project.sql, sql/postgres/sync-sender.sql');
      const { rows } = await admin.query(
        `select p.proname from pg_proc p join pg_namespace n on n.oid = p.pronamespace
         where n.nspname = $1 and p.proname like 'exh_send%' order by 1`,
        [schema],
      );
      expect(rows.map((r) => r.proname)).toEqual(['exh_send', 'exh_send_get_attachment', 'exh_send_item']);
    } finally {
      await admin.query(`drop schema if exists ${schema} cascade`);
      await admin.end();
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe.skipIf(!plPython)('exh db install --sync-sender without the privilege to create plpython3u', () => {
  const suffix = randomBytes(4).toString('hex');
  const role = `exh_plain_${suffix}`;
  const database = `exh_senders_${suffix}`;
  let admin: pg.Client;

  beforeAll(async () => {
    admin = new pg.Client({ connectionString: pgUrl });
    await admin.connect();
    await admin.query(`create role ${role} login`);
    await admin.query(`create database ${database} owner ${role}`);
  });
  afterAll(async () => {
    await admin?.query(`drop database if exists ${database}`);
    await admin?.query(`drop role if exists ${role}`);
    await admin?.end();
  });

  it('fails with a message naming the privilege and the Debian package', async () => {
    const url = new URL(pgUrl as string);
    url.username = role;
    url.pathname = `/${database}`;
    const config = { type: 'postgres' as const, connectionString: url.toString() };
    const error = await installBaseProject(config, { syncSender: true }).catch((e: unknown) => e);
    expect(isExhError(error) && error.code).toBe('EXH_DB_UNSUPPORTED');
    expect(String((error as Error).message)).toMatch(/superuser/);
    expect(String((error as Error).message)).toMatch(/CREATE EXTENSION plpython3u/);
    expect(String((error as Error).message)).toMatch(/postgresql-plpython3-15/);
    // The base project itself was installed; only the sender is missing.
    expect(await installBaseProject(config)).toEqual({ applied: ['sql/postgres/base-project.sql'] });
  });
});
