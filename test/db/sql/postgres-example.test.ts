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
});
