import { PGlite } from '@electric-sql/pglite';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { type RunningEmulator, startEmulator } from '../emulator/index.js';
import { createPgliteDatabase } from '../src/db/adapters/pglite.js';
import { installInto } from '../src/db/commands.js';
import { createDemoActivity } from '../src/demo-activity.js';
import { createLogging } from '../src/logging/logger.js';

/**
 * The demo's simulated people against the real example application (PGlite) and the real emulator, with no connector
 * between them: what each action does on its own side — items in the mailboxes, rows and the outbox rows their
 * triggers write — and what it says. That the connector carries them across is test/demo.test.ts.
 */
const users: [string, string, string] = ['alice@contoso.test', 'bob@contoso.test', 'carol@contoso.test'];
const [alice, bob, carol] = users;

let instance: PGlite;
let emulator: RunningEmulator;
let records: { cat: string; msg: string; direction?: string; arrived?: boolean }[];

beforeEach(async () => {
  instance = await PGlite.create();
  const db = createPgliteDatabase({ instance });
  await db.connect();
  await installInto(db, { exampleApp: true });
  await db.close();
  emulator = await startEmulator({ port: 0, mailboxes: users });
  records = [];
}, 30_000);
afterEach(async () => {
  await emulator?.close();
  await instance?.close();
});

function activity() {
  const { logger } = createLogging({
    format: 'json',
    stdout: { write: (line: string) => void records.push(JSON.parse(line)) },
  });
  return createDemoActivity({ db: instance, admin: emulator.admin, users, log: logger, arrivalLimitMs: 300 });
}

const outbox = async () =>
  (
    await instance.query<{ exh_user: string; exh_item_type: string; exh_action: string; exh_payload: string }>(
      'SELECT exh_user, exh_item_type, exh_action, exh_payload FROM exh_outbox ORDER BY exh_outbox_id',
    )
  ).rows.map((row) => ({ ...row, exh_payload: JSON.parse(row.exh_payload) }));

describe('the demo activity', () => {
  it('takes turns: an item in a mailbox, then a row of the application (insert, update, delete) that writes the outbox', async () => {
    const people = activity();
    for (let step = 0; step < 8; step += 1) await people.step();
    // Nothing carries the changes across: each action ends with a warning that it has not arrived.
    const missing = () => records.filter((r) => r.arrived === false);
    await vi.waitFor(() => expect(missing()).toHaveLength(8), { timeout: 10_000 });
    people.stop();

    // Exchange side: made as their owners, in their folders.
    expect(emulator.admin.items(alice, 'calendar').map((i) => i.properties.Subject)).toEqual([
      expect.stringMatching(/^Planning \d\d:\d\d:\d\d$/),
    ]);
    expect(emulator.admin.items(bob, 'tasks').map((i) => i.properties.Subject)).toEqual(['Review the minutes']);
    expect(emulator.admin.items(alice, 'inbox').map((i) => i.properties.Subject)).toEqual([
      expect.stringMatching(/^Lunch at \d\d:\d\d\?$/),
    ]);
    expect(emulator.admin.items(alice, 'contacts').map((i) => i.properties.Surname)).toEqual(['Scully']);

    // Application side: nothing of it in Exchange without a connector, but every change is in the outbox, in order.
    // With no task from Exchange in the table yet, the change falls back to the application's own task.
    expect(emulator.admin.items(carol, 'inbox')).toEqual([]);
    expect((await outbox()).map((row) => [row.exh_user, row.exh_item_type, row.exh_action])).toEqual([
      [bob, 'task', 'add'],
      [bob, 'task', 'chg'],
      [bob, 'task', 'del'],
      [alice, 'email', 'add'],
    ]);
    const [add, chg, del, mail] = await outbox();
    expect(add?.exh_payload).toMatchObject({ exh_app_item_id: 'demo-task-1', exh_subject: 'Call supplier' });
    expect(chg?.exh_payload).toMatchObject({ exh_app_item_id: 'demo-task-1', exh_percent_complete: 50 });
    expect(del?.exh_payload).toMatchObject({ exh_app_item_id: 'demo-task-1' });
    expect(mail?.exh_payload).toMatchObject({
      exh_app_item_id: 'demo-mail-1',
      exh_subject: 'Minutes, round 1',
      exh_to: carol,
    });
    expect((await instance.query('SELECT 1 FROM task_item')).rows).toEqual([]);

    // One line per action, its direction by turns, and the warning for each.
    const actions = records.filter((r) => r.direction !== undefined && r.arrived === undefined);
    expect(actions.map((r) => r.direction)).toEqual([
      'exchange_to_db',
      'db_to_exchange',
      'exchange_to_db',
      'db_to_exchange',
      'exchange_to_db',
      'db_to_exchange',
      'exchange_to_db',
      'db_to_exchange',
    ]);
    expect(actions[3]?.msg).toBe(
      "Demo: app → Exchange: set task 'Call supplier' of bob@contoso.test in progress, 50% complete",
    );
    expect(missing().every((r) => r.cat === 'W' && / not there after 0\.3 s: /.test(r.msg))).toBe(true);
  });

  it("completes the newest open task that came from Exchange, and changes nothing it doesn't have", async () => {
    const people = activity();
    await people.step(); // meeting
    await people.step(); // the application's task
    // A task from Exchange as the connector writes it (its triggers skip the row): an item id, no demo- id.
    await instance.transaction(async (tx) => {
      await tx.query(`SELECT set_config('exh.applying', 'on', true)`);
      await tx.query(
        `INSERT INTO task_item (exh_item_id, exh_user, exh_subject, exh_percent_complete)
         VALUES ('AAMk-older', $1, 'Older', 10), ('AAMk-newer', $1, 'Newer', 25), ('AAMk-done', $1, 'Done', 100)`,
        [bob],
      );
    });
    await people.step(); // bob's task in Exchange
    await people.step(); // the change
    const changed = await instance.query<{ exh_subject: string; exh_percent_complete: number }>(
      'SELECT exh_subject, exh_percent_complete FROM task_item ORDER BY id',
    );
    expect(changed.rows).toEqual([
      { exh_subject: 'Call supplier', exh_percent_complete: 0 },
      { exh_subject: 'Older', exh_percent_complete: 10 },
      { exh_subject: 'Newer', exh_percent_complete: 100 },
      { exh_subject: 'Done', exh_percent_complete: 100 },
    ]);
    expect((await outbox()).at(-1)).toMatchObject({
      exh_action: 'chg',
      exh_payload: { exh_item_id: 'AAMk-newer', exh_percent_complete: 100 },
    });
    expect(records.map((r) => r.msg)).toContain(
      "Demo: app → Exchange: marked task 'Newer' of bob@contoso.test (made in Exchange) completed",
    );

    // The application's own task deleted elsewhere first: the deletion says so and sends nothing.
    await instance.query(`DELETE FROM task_item WHERE exh_app_item_id = 'demo-task-1'`);
    const before = (await outbox()).length;
    await people.step(); // e-mail in Exchange
    await people.step(); // the deletion
    people.stop();
    expect(await outbox()).toHaveLength(before);
    expect(records.map((r) => r.msg)).toContain(
      "Demo: app → Exchange: task 'Call supplier' of bob@contoso.test is gone already: nothing to delete",
    );
  });
});
