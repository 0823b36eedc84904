import { PGlite } from '@electric-sql/pglite';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPgliteDatabase } from '../../../src/db/adapters/pglite.js';
import type { PostgresFamilyDatabase } from '../../../src/db/adapters/postgres-family.js';
import { postgresBaseProject } from '../../../src/db/sql/postgres.js';
import { postgresExampleApp } from '../../../src/db/sql/postgres-example.js';
import { itemTypes } from '../../../src/items/index.js';

const alice = 'alice@contoso.test';
const bob = 'bob@contoso.test';

/**
 * The PostgreSQL example application as the generator writes it, in PGlite. Storing changes from Exchange and the
 * triggers' outbox rows are the adapters' contract (test/db/contract.ts); here what it adds besides.
 */
describe('postgresExampleApp', () => {
  let instance: PGlite;
  let db: PostgresFamilyDatabase;
  const outboxRows = async () =>
    (await instance.query<{ n: number }>('SELECT count(*)::int AS n FROM exh_outbox')).rows[0]?.n;

  beforeAll(async () => {
    instance = await PGlite.create();
    await instance.exec(postgresBaseProject(itemTypes));
    await instance.exec(postgresExampleApp(itemTypes));
    db = createPgliteDatabase({ instance });
    await db.connect();
  }, 60_000);
  afterAll(async () => {
    await db?.close();
    await instance?.close();
  });

  it("gives a resynchronisation the user's items in the ranges asked for, from on and until before, as rows", async () => {
    for (const [user, subject, start] of [
      [alice, 'before', '2026-01-31T23:59:59Z'],
      [alice, 'first', '2026-02-01T00:00:00Z'],
      [alice, 'last', '2026-02-28T23:00:00Z'],
      [alice, 'after', '2026-03-01T00:00:00Z'],
      [bob, 'other user', '2026-02-10T00:00:00Z'],
    ]) {
      await instance.query('INSERT INTO calendar_item (exh_user, exh_subject, exh_start) VALUES ($1, $2, $3)', [
        user,
        subject,
        start,
      ]);
    }
    const february = { start: { from: new Date('2026-02-01T00:00:00Z'), until: new Date('2026-03-01T00:00:00Z') } };
    const rows = await db.getItems('calendar', alice, february);
    expect(rows.map((row) => row.subject)).toEqual(['first', 'last']);
    expect(rows[0]).toMatchObject({ user: alice, start: new Date('2026-02-01T00:00:00Z') });
    expect(rows[0]).not.toHaveProperty('id');
    expect((await db.getItems('calendar', alice, {})).map((row) => row.subject)).toEqual([
      'before',
      'first',
      'last',
      'after',
    ]);
  });

  it('sends nothing for an update that changes nothing', async () => {
    await instance.query("INSERT INTO task_item (exh_app_item_id, exh_user, exh_subject) VALUES ('same', $1, 'x')", [
      alice,
    ]);
    const before = await outboxRows();
    await instance.query("UPDATE task_item SET exh_subject = 'x' WHERE exh_app_item_id = 'same'");
    expect(await outboxRows()).toBe(before);
  });

  it('refuses a row that cannot reach Exchange with the reason, and stores none of it', async () => {
    const before = await outboxRows();
    await expect(
      instance.query("INSERT INTO task_item (exh_app_item_id, exh_user, exh_subject) VALUES ('', $1, 'no id')", [
        alice,
      ]),
    ).rejects.toThrow(/task_item: sending the change to Exchange failed \(exit code 1\): exh_app_item_id is required/);
    const stored = await instance.query("SELECT 1 FROM task_item WHERE exh_subject = 'no id'");
    expect(stored.rows).toEqual([]);
    expect(await outboxRows()).toBe(before);
  });

  it("moves a switched user's rows to their items' new ids with the watermark, echoing nothing to Exchange", async () => {
    const carol = 'carol@contoso.test';
    await db.applyChanges({
      user: carol,
      itemType: 'task',
      changes: [
        { action: 'add', fields: { item_id: 'ews-1', app_item_id: 'app-1', subject: 'one' }, changeKey: 'k1' },
        { action: 'add', fields: { item_id: 'ews-2', app_item_id: 'app-2', subject: 'two' }, changeKey: 'k2' },
      ],
      watermark: '{"tasks":"ews-state"}',
    });
    const keys = async () =>
      (
        await instance.query<{ k: string; exh_item_id: string }>(
          'SELECT id::text AS k, exh_item_id FROM task_item WHERE exh_user = $1 ORDER BY id',
          [carol],
        )
      ).rows;
    const before = await keys();
    const queued = await outboxRows();
    await db.applyChanges({
      user: carol,
      itemType: 'task',
      changes: [],
      renames: [
        { from: 'ews-1', to: 'graph-1' },
        { from: 'ews-2', to: 'graph-2' },
      ],
      watermark: '{"compare":true}',
    });
    // The same rows (the application's own key), with the new ids; no change queued for Exchange.
    expect(await keys()).toEqual([
      { k: before[0]?.k, exh_item_id: 'graph-1' },
      { k: before[1]?.k, exh_item_id: 'graph-2' },
    ]);
    expect(await outboxRows()).toBe(queued);
    // What the connector knew of the old ids (their change keys) is forgotten.
    expect([...(await db.itemVersions(['ews-1', 'ews-2', 'graph-1'])).keys()]).toEqual([]);
    const stored = await instance.query<{ w: string }>(
      'SELECT exh_watermark_task AS w FROM exh_watermark WHERE exh_user = $1',
      [carol],
    );
    expect(stored.rows).toEqual([{ w: '{"compare":true}' }]);
  });

  it("takes exh_backend from the application's users into exh_get_users", async () => {
    await instance.query(
      "INSERT INTO app_user (exh_user, exh_backend) VALUES ('dave@contoso.test', 'graph'), ('erin@contoso.test', NULL)",
    );
    const users = await db.getUsers();
    expect(users.find((u) => u.user === 'dave@contoso.test')?.backend).toBe('graph');
    expect(users.find((u) => u.user === 'erin@contoso.test')).not.toHaveProperty('backend');
  });
});
