import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PostgresFamilyDatabase } from '../../src/db/adapters/postgres-family.js';
import { encodeAttachmentInfo } from '../../src/db/attachment-info.js';
import { installInto } from '../../src/db/commands.js';
import { procedureArguments } from '../../src/db/field-values.js';
import { type ErrorCode, isExhError } from '../../src/errors.js';
import { itemType, itemTypes } from '../../src/items/index.js';
import { type ChangeBatch, type ItemChange, isOutboxItem } from '../../src/ports/database.port.js';

/**
 * The DatabasePort contract for databases that speak PostgreSQL's SQL, run against a PostgreSQL server and PGlite
 * (test/db/adapters/*.test.ts). Every test uses its own mailbox name, so tests share one installed database.
 */

export interface FreshDatabase {
  db: PostgresFamilyDatabase;
  /** Raw SQL on the same database, for what the port does not expose (the application's tables). */
  sql<T = Record<string, unknown>>(text: string, params?: unknown[]): Promise<T[]>;
  dispose(): Promise<void>;
}

export interface ContractTarget {
  /** A new, empty database (its own schema or instance), connected. */
  fresh(): Promise<FreshDatabase>;
  /** An adapter for a database that cannot be reached (not connected yet). */
  unreachable(): PostgresFamilyDatabase;
  /** The code connect() gives for it; EXH_DB_UNREACHABLE unless the cause is known (nothing listens: refused). */
  unreachableCode?: ErrorCode;
}

const calendarType = itemType('calendar');
const add = (fields: ItemChange['fields']): ItemChange => ({ action: 'add', fields });
const chg = (fields: ItemChange['fields']): ItemChange => ({ action: 'chg', fields });
const del = (fields: ItemChange['fields']): ItemChange => ({ action: 'del', fields });
const batch = (user: string, changes: ItemChange[], watermark: string): ChangeBatch => ({
  user,
  itemType: 'calendar',
  changes,
  watermark,
});

async function rejection(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    () => {
      throw new Error('expected a rejection');
    },
    (error: unknown) => error,
  );
}

/** Every exh_ routine's source and every exh_/example table's columns: what an install could change. */
async function fingerprint(database: FreshDatabase): Promise<string> {
  const routines = await database.sql<{ f: string }>(
    `SELECT string_agg(p.proname || md5(p.prosrc), ',' ORDER BY p.proname, md5(p.prosrc)) AS f
     FROM pg_proc p WHERE p.pronamespace = (SELECT oid FROM pg_namespace WHERE nspname = current_schema())`,
  );
  const columns = await database.sql<{ f: string }>(
    `SELECT string_agg(table_name || '.' || column_name, ',' ORDER BY table_name, column_name) AS f
     FROM information_schema.columns WHERE table_schema = current_schema()`,
  );
  return `${routines[0]?.f}|${columns[0]?.f}`;
}

export function databaseContract(name: string, target: ContractTarget): void {
  describe(`DatabasePort contract: ${name}`, () => {
    let database: FreshDatabase;
    let db: PostgresFamilyDatabase;
    let firstInstall: string;

    beforeAll(async () => {
      database = await target.fresh();
      db = database.db;
      expect(await installInto(db, { exampleApp: true })).toEqual({
        applied: ['sql/postgres/base-project.sql', 'sql/postgres/example-app.sql'],
      });
      firstInstall = await fingerprint(database);
    });

    afterAll(async () => {
      await database?.dispose();
    });

    it('installs the base project and the example application a second time without changing anything', async () => {
      await installInto(db, { exampleApp: true });
      expect(await fingerprint(database)).toBe(firstInstall);
      // Installing the base project alone keeps the application's filled-in templates (the example's upsert).
      await installInto(db);
      await db.applyChanges(batch('install@example.com', [add({ item_id: 'I1', subject: 'kept' })], 'w'));
      const rows = await database.sql('SELECT exh_subject FROM calendar_item WHERE exh_user = $1', [
        'install@example.com',
      ]);
      expect(rows).toEqual([{ exh_subject: 'kept' }]);
    });

    it('returns the application users with their watermarks and sync flags', async () => {
      await database.sql(
        `INSERT INTO app_user (exh_user, sync_calendar, sync_contact, sync_email, sync_task)
         VALUES ('ann@example.com', true, false, true, false), ('bob@example.com', false, true, false, true)`,
      );
      await db.applyChanges(batch('ann@example.com', [], 'calendar-state-1'));
      await db.applyChanges({ user: 'ann@example.com', itemType: 'email', changes: [], watermark: 'email-state-1' });

      const users = (await db.getUsers()).filter((u) => ['ann@example.com', 'bob@example.com'].includes(u.user));
      expect(users.sort((a, b) => a.user.localeCompare(b.user))).toEqual([
        {
          user: 'ann@example.com',
          watermarks: { calendar: 'calendar-state-1', contact: null, email: 'email-state-1', task: null },
          sync: { calendar: true, contact: false, email: true, task: false },
        },
        {
          user: 'bob@example.com',
          watermarks: { calendar: null, contact: null, email: null, task: null },
          sync: { calendar: false, contact: true, email: false, task: true },
        },
      ]);
    });

    it('applies a batch and its watermark in one transaction: a failure half-way keeps neither', async () => {
      const user = 'half@example.com';
      await db.applyChanges(batch(user, [add({ item_id: 'H0', subject: 'before' })], 'w1'));
      await database.sql(`ALTER TABLE calendar_item ADD CONSTRAINT refuse_boom CHECK (exh_subject <> 'boom')`);
      try {
        const error = await rejection(
          db.applyChanges(
            batch(user, [add({ item_id: 'H1', subject: 'first' }), add({ item_id: 'H2', subject: 'boom' })], 'w2'),
          ),
        );
        expect(isExhError(error, 'EXH_DB_PROCEDURE_FAILED')).toBe(true);
        expect((error as Error).message).toContain('exh_from_exh_add_calendar');
        expect((error as Error).message).toContain('refuse_boom');
      } finally {
        await database.sql('ALTER TABLE calendar_item DROP CONSTRAINT refuse_boom');
      }
      const rows = await database.sql('SELECT exh_item_id FROM calendar_item WHERE exh_user = $1', [user]);
      expect(rows).toEqual([{ exh_item_id: 'H0' }]);
      const [registration] = await database.sql(
        'SELECT exh_watermark_calendar FROM exh_watermark WHERE exh_user = $1',
        [user],
      );
      expect(registration).toEqual({ exh_watermark_calendar: 'w1' });
    });

    it('writes every value as the call with parameters did, whatever the text holds (quotes, backslashes, $$, unicode, 1 MB)', async () => {
      const user = 'values@example.com';
      const nasty = "O'Brien \\ \\' $$ $x$ '); DROP TABLE calendar_item; -- 😀 é ‮ \t tab";
      const fields = {
        subject: nasty,
        body: `${"$$ \\ ' 😀 ".repeat(100_000)}end`,
        location: '',
        start: new Date('2026-03-01T10:20:30.456Z'),
        end: new Date('2026-03-01T11:00:00Z'),
        all_day: true,
        reminder_set: false,
        reminder: 15,
        sensitivity: null,
        categories: 'Red; Blue',
      };
      await db.applyChanges(batch(user, [add({ item_id: 'V-batched', ...fields })], 'w'));
      // The statement the adapter ran before pages went as one script: the procedure with bound parameters.
      const args = procedureArguments(calendarType, 'add', { item_id: 'V-bound', ...fields }, user);
      const list = args.map((a, i) => `${a.parameter} => $${i + 1}`).join(', ');
      await database.sql(
        `SELECT exh_from_exh_add_calendar(${list})`,
        args.map((a) => a.value),
      );
      const rows = await database.sql<Record<string, unknown>>(
        'SELECT * FROM calendar_item WHERE exh_user = $1 ORDER BY exh_item_id',
        [user],
      );
      const comparable = rows.map(({ id, exh_app_item_id, exh_item_id, ...row }) => row);
      expect(comparable).toHaveLength(2);
      expect(comparable[0]).toEqual(comparable[1]);
      expect(comparable[0]).toMatchObject({
        exh_subject: nasty,
        exh_location: null, // '' on an add: nothing to clear
        exh_all_day: true,
        exh_reminder: 15,
      });
      expect(String(comparable[0]?.exh_body)).toHaveLength(fields.body.length);
      expect(new Date(comparable[0]?.exh_start as Date).toISOString()).toBe('2026-03-01T10:20:30.456Z');
      expect(await database.sql('SELECT count(*)::int AS n FROM calendar_item WHERE exh_user = $1', [user])).toEqual([
        { n: 2 },
      ]);
    });

    it('names the procedure or table that failed in a page, and refuses a NUL character as the procedure failing', async () => {
      const user = 'names@example.com';
      const notADate = await rejection(
        db.applyChanges(
          batch(user, [add({ item_id: 'N1' }), { action: 'chg', fields: { item_id: 'N2', start: 'not a date' } }], 'w'),
        ),
      );
      expect(isExhError(notADate, 'EXH_DB_PROCEDURE_FAILED')).toBe(true);
      expect((notADate as Error).message).toContain('exh_from_exh_chg_calendar failed');
      const nul = await rejection(db.applyChanges(batch(user, [add({ item_id: 'N3', subject: 'a\0b' })], 'w')));
      expect(isExhError(nul, 'EXH_DB_PROCEDURE_FAILED')).toBe(true);
      expect((nul as Error).message).toContain('exh_from_exh_add_calendar failed');
      await database.sql(`ALTER TABLE exh_item_version ADD CONSTRAINT refuse_key CHECK (exh_change_key <> 'bad')`);
      try {
        const version = await rejection(
          db.applyChanges(batch(user, [{ action: 'add', fields: { item_id: 'N4' }, changeKey: 'bad' }], 'w')),
        );
        expect(isExhError(version, 'EXH_DB_PROCEDURE_FAILED')).toBe(true);
        expect((version as Error).message).toContain('exh_item_version failed');
      } finally {
        await database.sql('ALTER TABLE exh_item_version DROP CONSTRAINT refuse_key');
      }
      expect(await database.sql('SELECT exh_item_id FROM calendar_item WHERE exh_user = $1', [user])).toEqual([]);
      // The connection is still usable after the refusals.
      await db.applyChanges(batch(user, [add({ item_id: 'N5' })], 'w'));
      expect(await database.sql('SELECT exh_item_id FROM calendar_item WHERE exh_user = $1', [user])).toEqual([
        { exh_item_id: 'N5' },
      ]);
    });

    it("plans the procedures' statements for their values during a page, as a first call would be", async () => {
      // A pooled session's generic plans, made while the table was small, scan it whole: a page asks for custom ones.
      await database.sql('CREATE TABLE plan_seen (mode text)');
      await database.sql(`CREATE FUNCTION plan_seen() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN INSERT INTO plan_seen VALUES (current_setting('plan_cache_mode')); RETURN NEW; END $$`);
      await database.sql(
        'CREATE TRIGGER plan_seen BEFORE INSERT ON calendar_item FOR EACH ROW EXECUTE FUNCTION plan_seen()',
      );
      try {
        await db.applyChanges(batch('plans@example.com', [add({ item_id: 'P1' })], 'w'));
        expect(await database.sql('SELECT mode FROM plan_seen')).toEqual([{ mode: 'force_custom_plan' }]);
      } finally {
        await database.sql('DROP TRIGGER plan_seen ON calendar_item');
        await database.sql('DROP FUNCTION plan_seen()');
        await database.sql('DROP TABLE plan_seen');
      }
    });

    it('treats item ids that differ only in case as two items', async () => {
      const user = 'case@example.com';
      await db.applyChanges(
        batch(
          user,
          [add({ item_id: 'AAMkAD=', subject: 'upper' }), add({ item_id: 'aamkad=', subject: 'lower' })],
          'w',
        ),
      );
      await db.applyChanges(batch(user, [del({ item_id: 'aamkad=' })], 'w'));
      const rows = await database.sql('SELECT exh_item_id, exh_subject FROM calendar_item WHERE exh_user = $1', [user]);
      expect(rows).toEqual([{ exh_item_id: 'AAMkAD=', exh_subject: 'upper' }]);
    });

    it('remembers meeting UIDs with their application id in the batch transaction, compared case-sensitively', async () => {
      const user = 'meeting@example.com';
      await db.applyChanges({ ...batch(user, [], 'w1'), meetings: [{ uid: 'UID-Meeting-1', appItemId: 'app-42' }] });
      const found = await db.meetingAppItemIds(['UID-Meeting-1', 'uid-meeting-1', 'UID-unknown']);
      expect([...found]).toEqual([['UID-Meeting-1', 'app-42']]);
      // A batch that fails half-way remembers nothing either.
      await rejection(
        db.applyChanges({
          ...batch(
            user,
            [add({ item_id: 'M1=' }), { action: 'add', fields: { item_id: 'M2=', start: 'not a date' } }],
            'w2',
          ),
          meetings: [{ uid: 'UID-Meeting-2', appItemId: 'app-43' }],
        }),
      );
      expect((await db.meetingAppItemIds(['UID-Meeting-2'])).size).toBe(0);
      expect(await db.meetingAppItemIds([])).toEqual(new Map());
      // Ahead of creating a meeting (database → Exchange), and again: the newest id wins.
      await db.rememberMeetings([{ uid: 'UID-Meeting-3', appItemId: 'app-44' }]);
      await db.rememberMeetings([{ uid: 'UID-Meeting-3', appItemId: 'app-45' }]);
      expect([...(await db.meetingAppItemIds(['UID-Meeting-3']))]).toEqual([['UID-Meeting-3', 'app-45']]);
      // A run of creates, linked at once: new and known UIDs, the last link of a UID winning.
      await db.rememberMeetings([
        { uid: 'UID-Meeting-3', appItemId: 'app-46' },
        { uid: 'UID-Meeting-4', appItemId: 'app-47' },
        { uid: 'UID-Meeting-4', appItemId: 'app-48' },
        { uid: 'UID-Meeting-5', appItemId: 'app-49' },
      ]);
      expect([...(await db.meetingAppItemIds(['UID-Meeting-3', 'UID-Meeting-4', 'UID-Meeting-5']))].sort()).toEqual([
        ['UID-Meeting-3', 'app-46'],
        ['UID-Meeting-4', 'app-48'],
        ['UID-Meeting-5', 'app-49'],
      ]);
      await db.rememberMeetings([]);
    });

    it('keeps the change key each change carries in the batch transaction; forgets deleted items', async () => {
      const user = 'Versions@Example.com';
      const ck = (item_id: string, changeKey: string | null, supersedes?: string): ItemChange => ({
        action: 'add',
        fields: { item_id, subject: 's' },
        changeKey,
        ...(supersedes ? { supersedes } : {}),
      });
      await db.applyChanges(batch(user, [ck('V1', 'K1'), ck('v1', 'k1', '7'), add({ item_id: 'V2' })], 'w'));
      expect([...(await db.itemVersions(['V1', 'v1', 'V2', 'unknown']))].sort()).toEqual([
        ['V1', { changeKey: 'K1', supersededUntil: null }],
        ['v1', { changeKey: 'k1', supersededUntil: '7' }],
      ]);
      // A newer key replaces the older; the superseded row only ever rises; '' (a key Exchange did not say) keeps it.
      await db.applyChanges(batch(user, [ck('v1', 'k2', '5'), ck('V1', 'K2', '9')], 'w'));
      await db.applyChanges(
        batch(user, [{ action: 'chg', fields: { item_id: 'v1', subject: null }, changeKey: '' }], 'w'),
      );
      expect((await db.itemVersions(['V1', 'v1'])).get('v1')).toEqual({ changeKey: '', supersededUntil: '7' });
      expect((await db.itemVersions(['V1'])).get('V1')).toEqual({ changeKey: 'K2', supersededUntil: '9' });
      // A batch that fails half-way keeps no key either.
      await database.sql(`ALTER TABLE calendar_item ADD CONSTRAINT refuse_boom2 CHECK (exh_subject <> 'boom')`);
      try {
        const boom: ItemChange = { action: 'add', fields: { item_id: 'V3', subject: 'boom' }, changeKey: 'K3' };
        await rejection(db.applyChanges(batch(user, [ck('V4', 'K4'), boom], 'w')));
      } finally {
        await database.sql('ALTER TABLE calendar_item DROP CONSTRAINT refuse_boom2');
      }
      expect((await db.itemVersions(['V3', 'V4'])).size).toBe(0);
      // Deleted in Exchange, or written by the connector.
      await db.applyChanges(batch(user, [{ action: 'del', fields: { item_id: 'V1' }, changeKey: null }], 'w'));
      await db.rememberItemVersion({ user, itemType: 'calendar', itemId: 'V5', changeKey: 'K5' });
      await db.rememberItemVersion({ user, itemType: 'calendar', itemId: 'v1', changeKey: 'k3' });
      expect([...(await db.itemVersions(['V1', 'v1', 'V5']))].sort()).toEqual([
        ['V5', { changeKey: 'K5', supersededUntil: null }],
        ['v1', { changeKey: 'k3', supersededUntil: '7' }],
      ]);
      await db.rememberItemVersion({ user, itemType: 'calendar', itemId: 'V5', changeKey: null });
      expect((await db.itemVersions(['V5'])).size).toBe(0);
      const [row] = await database.sql<{ exh_user: string; exh_item_type: string }>(
        `SELECT exh_user, exh_item_type FROM exh_item_version WHERE exh_item_id = 'v1'`,
      );
      expect(row).toEqual({ exh_user: 'versions@example.com', exh_item_type: 'calendar' });
    });

    it("lists one user's pending item changes of one type, oldest first, whatever the case of the address", async () => {
      const user = 'pending@example.com';
      await database.sql(`INSERT INTO task_item (exh_app_item_id, exh_user, exh_subject) VALUES ('p-1', $1, 'One')`, [
        user,
      ]);
      await database.sql(`UPDATE task_item SET exh_subject = 'Two' WHERE exh_app_item_id = 'p-1'`);
      await database.sql(
        `INSERT INTO contact_item (exh_app_item_id, exh_user, exh_given_name) VALUES ('p-2', $1, 'Not a task')`,
        [user.toUpperCase()],
      );
      await database.sql(`INSERT INTO task_item (exh_app_item_id, exh_user, exh_subject) VALUES ('p-3', $1, 'Three')`, [
        user.toUpperCase(),
      ]);
      await database.sql(`DELETE FROM task_item WHERE exh_app_item_id = 'p-3'`);
      await database.sql(`SELECT * FROM exh_sync_item(exh_sync_direction => 0, exh_user => $1, exh_item => 3)`, [user]);
      const before = await db.pendingItemChanges('Pending@Example.com', 'task');
      expect(before.map((e) => [e.action, e.fields.app_item_id])).toEqual([
        ['add', 'p-1'],
        ['chg', 'p-1'],
        ['add', 'p-3'],
        ['del', 'p-3'],
      ]);
      expect(before[1]).toMatchObject({ itemType: 'task', fields: { subject: 'Two' }, createdAt: expect.any(Date) });
      await db.completeOutbox(before[0]?.id ?? '', { exitCode: 0, outputValue: 'T-1', errorMessage: null });
      expect((await db.pendingItemChanges(user, 'task')).map((e) => e.id)).toEqual(before.slice(1).map((e) => e.id));
      expect((await db.pendingItemChanges(user, 'contact')).map((e) => e.fields.app_item_id)).toEqual(['p-2']);
      expect(await db.pendingItemChanges('nobody@example.com', 'task')).toEqual([]);
    });

    it('rolls a page back when a pending change names one of its items and was not weighed (EXH_SYNC_PAGE_OVERTAKEN)', async () => {
      const user = 'overtaken@example.com';
      const page = (changes: ItemChange[], watermark: string, pendingIds?: string[]): ChangeBatch => ({
        user,
        itemType: 'task',
        changes,
        watermark,
        ...(pendingIds ? { reconciledWith: { pendingIds } } : {}),
      });
      const subjects = async () =>
        (
          await database.sql<{ exh_item_id: string | null; exh_subject: string }>(
            'SELECT exh_item_id, exh_subject FROM task_item WHERE exh_user = $1 ORDER BY exh_app_item_id',
            [user],
          )
        ).map((row) => `${row.exh_item_id}=${row.exh_subject}`);
      const watermark = async () =>
        (
          await database.sql<{ w: string }>('SELECT exh_watermark_task AS w FROM exh_watermark WHERE exh_user = $1', [
            user,
          ])
        )[0]?.w;
      await db.applyChanges(
        page(
          [
            add({ item_id: 'OVT/1+a', app_item_id: 'ovt-1', subject: 'E1' }),
            add({ item_id: 'OVT-2', app_item_id: 'ovt-2', subject: 'E2' }),
          ],
          'w1',
          [],
        ),
      );
      // The application changes item OVT/1+a: its trigger writes the outbox row (the payload is JSON text).
      await database.sql("UPDATE task_item SET exh_subject = 'App' WHERE exh_item_id = 'OVT/1+a'");
      const [row] = await db.pendingItemChanges(user, 'task');
      expect(row?.fields.item_id).toBe('OVT/1+a');
      const error = await rejection(
        db.applyChanges(page([chg({ item_id: 'OVT/1+a', subject: 'Exchange' })], 'w2', [])),
      );
      expect(isExhError(error, 'EXH_SYNC_PAGE_OVERTAKEN'), String(error)).toBe(true);
      expect(String((error as Error).message)).toContain(user);
      // Nothing of the page was kept: the application's value, the old watermark.
      expect(await subjects()).toEqual(['OVT/1+a=App', 'OVT-2=E2']);
      expect(await watermark()).toBe('w1');
      // A page of another item is not held back by it; weighed with it, the page goes through.
      await db.applyChanges(page([chg({ item_id: 'OVT-2', subject: 'E2b' })], 'w3', []));
      await db.applyChanges(page([chg({ item_id: 'OVT/1+a', subject: 'Exchange' })], 'w4', [row?.id ?? '']));
      expect(await subjects()).toEqual(['OVT/1+a=Exchange', 'OVT-2=E2b']);
      expect(await watermark()).toBe('w4');
      // Without reconciledWith (exh_sync_item towards the database overwrites by design) nothing is checked.
      await db.applyChanges(page([chg({ item_id: 'OVT/1+a', subject: 'Resync' })], 'w5'));
      // A row no longer pending does not count.
      await db.completeOutbox(row?.id ?? '', { exitCode: 0, outputValue: 'OVT/1+a', errorMessage: null });
      await db.applyChanges(page([chg({ item_id: 'OVT/1+a', subject: 'E1c' })], 'w6', []));
      // A row the application made and changed before its create's echo names the item by its application id only.
      await database.sql("INSERT INTO task_item (exh_app_item_id, exh_user, exh_subject) VALUES ('ovt-3', $1, 'New')", [
        user,
      ]);
      await database.sql("UPDATE task_item SET exh_subject = 'Newer' WHERE exh_app_item_id = 'ovt-3'");
      const byAppId = await rejection(
        db.applyChanges(page([chg({ item_id: 'OVT-3', app_item_id: 'ovt-3', subject: 'Echo' })], 'w7', [])),
      );
      expect(isExhError(byAppId, 'EXH_SYNC_PAGE_OVERTAKEN'), String(byAppId)).toBe(true);
      expect(await watermark()).toBe('w6');
    });

    it('completes an outbox row and keeps the change key its write left together, or neither', async () => {
      const user = 'written@example.com';
      await database.sql(
        `INSERT INTO task_item (exh_app_item_id, exh_user, exh_subject) VALUES ('w-1', $1, 'One'), ('w-2', $1, 'Two')`,
        [user],
      );
      const [first, second] = await db.pendingItemChanges(user, 'task');
      const version = { user: 'Written@Example.com', itemType: 'task' as const, itemId: 'W-1', changeKey: 'K1' };
      await db.completeOutbox(first?.id ?? '', { exitCode: 0, outputValue: 'W-1', errorMessage: null }, version);
      expect((await db.itemVersions(['W-1'])).get('W-1')).toEqual({ changeKey: 'K1', supersededUntil: null });
      const [row] = await database.sql<{ exh_user: string }>(
        `SELECT exh_user FROM exh_item_version WHERE exh_item_id = 'W-1'`,
      );
      expect(row?.exh_user).toBe('written@example.com');
      // A deletion's outcome forgets the item.
      await db.completeOutbox(
        second?.id ?? '',
        { exitCode: 0, outputValue: 'W-1', errorMessage: null },
        {
          ...version,
          changeKey: null,
        },
      );
      expect((await db.itemVersions(['W-1'])).size).toBe(0);
      expect((await db.pendingItemChanges(user, 'task')).length).toBe(0);
      // One that fails keeps neither: the row stays pending and the key is not taken.
      await database.sql(`INSERT INTO task_item (exh_app_item_id, exh_user, exh_subject) VALUES ('w-3', $1, 'Three')`, [
        user,
      ]);
      const [third] = await db.pendingItemChanges(user, 'task');
      await database.sql(`ALTER TABLE exh_item_version ADD CONSTRAINT refuse_boom3 CHECK (exh_change_key <> 'boom')`);
      try {
        const outcome = { exitCode: 0, outputValue: 'W-3', errorMessage: null };
        await rejection(db.completeOutbox(third?.id ?? '', outcome, { ...version, itemId: 'W-3', changeKey: 'boom' }));
      } finally {
        await database.sql('ALTER TABLE exh_item_version DROP CONSTRAINT refuse_boom3');
      }
      expect((await db.itemVersions(['W-3'])).size).toBe(0);
      expect((await db.pendingItemChanges(user, 'task')).map((e) => e.id)).toEqual([third?.id]);
    });

    it("leaves a value unchanged for NULL and clears it for ''", async () => {
      const user = 'nulls@example.com';
      const start = new Date('2024-03-01T09:00:00Z');
      await db.applyChanges(
        batch(user, [add({ item_id: 'N1', subject: 'Plan', location: 'Room 1', body: 'Agenda', start })], 'w'),
      );
      await db.applyChanges(batch(user, [chg({ item_id: 'N1', subject: null, location: '', start: null })], 'w'));
      const rows = await database.sql(
        'SELECT exh_subject, exh_location, exh_body, exh_start FROM calendar_item WHERE exh_user = $1',
        [user],
      );
      expect(rows).toEqual([{ exh_subject: 'Plan', exh_location: null, exh_body: 'Agenda', exh_start: start }]);
    });

    it('matches on the application id while the item id is still null, always within the user', async () => {
      // The application's meeting: one row per attendee, all with the same application id (docs/database.md,
      // "Matching items").
      await database.sql(
        `INSERT INTO calendar_item (exh_app_item_id, exh_user, exh_subject)
         VALUES ('app-7', 'org@example.com', 'Meeting'), ('app-7', 'att@example.com', 'Meeting')`,
      );
      // The echo of the item the connector created for the organizer carries the application's id.
      await db.applyChanges(
        batch('org@example.com', [chg({ item_id: 'EX-7', app_item_id: 'app-7', subject: 'Meeting (moved)' })], 'w'),
      );
      const rows = await database.sql(
        `SELECT exh_user, exh_item_id, exh_subject FROM calendar_item WHERE exh_app_item_id = 'app-7' ORDER BY exh_user`,
      );
      expect(rows).toEqual([
        { exh_user: 'att@example.com', exh_item_id: null, exh_subject: 'Meeting' },
        { exh_user: 'org@example.com', exh_item_id: 'EX-7', exh_subject: 'Meeting (moved)' },
      ]);
    });

    it('splits attachment info written by the TypeScript encoder, whatever the names contain', async () => {
      const attachments = [
        { name: 'report: Q1; final.pdf', id: 'AAMkAGI2=' },
        { name: '100% done %3A.txt', id: 'BBB/+=' },
        { name: ' leading and trailing ', id: 'C C' },
        { name: '', id: 'no-name' },
        { name: 'tab\tand\nnewline ü€😀', id: ';:%' },
        { name: 'plain.png', id: 'DDD' },
      ];
      const info = encodeAttachmentInfo(attachments);
      const rows = await database.sql<{ n: number; name: string; id: string }>(
        `SELECT exh_attachment_position AS n, exh_attachment_name AS name, exh_attachment_id AS id
         FROM exh_split_attachment_info($1)`,
        [info],
      );
      expect(rows).toEqual(attachments.map((a, i) => ({ n: i + 1, ...a })));
      // The original service's own format, without anything to escape, splits as before (docs/database.md,
      // "Attachment info").
      const seed = await database.sql(
        'SELECT exh_attachment_name, exh_attachment_id FROM exh_split_attachment_info($1)',
        ['a.txt: id1; b.txt: id2;'],
      );
      expect(seed).toEqual([
        { exh_attachment_name: 'a.txt', exh_attachment_id: 'id1' },
        { exh_attachment_name: 'b.txt', exh_attachment_id: 'id2' },
      ]);
    });

    it.each(itemTypes.map((t) => [t.name, t] as const))(
      '%s: the example application stores, changes and deletes items, and sends its own rows to the outbox',
      async (name, definition) => {
        const user = `every-${name}@example.com`;
        const value = (kind: string) =>
          ({ boolean: true, integer: 7, timestamp: new Date('2024-01-02T03:04:05Z'), date: '2024-01-02' })[kind] ??
          `${kind} value`;
        const fields = Object.fromEntries(
          definition.fields.filter((f) => f.name !== 'user').map((f) => [f.name, value(f.kind)]),
        );
        await db.applyChanges({ user, itemType: name, changes: [add({ ...fields, item_id: 'X1' })], watermark: 'w' });
        await db.applyChanges({
          user,
          itemType: name,
          changes: [chg({ item_id: 'X1', app_item_id: null })],
          watermark: 'w',
        });
        const [stored] = await database.sql(`SELECT * FROM ${name}_item WHERE exh_user = $1`, [user]);
        for (const f of definition.fields.filter((f) => f.kind !== 'date' && f.name !== 'user')) {
          expect(stored?.[`exh_${f.name}`], f.name).toEqual(f.name === 'item_id' ? 'X1' : value(f.kind));
        }
        await db.applyChanges({ user, itemType: name, changes: [del({ item_id: 'X1' })], watermark: 'w' });
        expect(await database.sql(`SELECT 1 FROM ${name}_item WHERE exh_user = $1`, [user])).toEqual([]);

        await database.sql(`INSERT INTO ${name}_item (exh_app_item_id, exh_user) VALUES ('app', $1)`, [user]);
        await database.sql(`UPDATE ${name}_item SET exh_item_id = 'X2' WHERE exh_user = $1`, [user]);
        await database.sql(`DELETE FROM ${name}_item WHERE exh_user = $1`, [user]);
        const entries = (await db.readOutbox(1000)).filter(isOutboxItem).filter((e) => e.user === user);
        expect(entries.map((e) => `${e.itemType}:${e.action}:${e.fields.item_id ?? ''}`)).toEqual([
          `${name}:add:`,
          `${name}:chg:X2`,
          `${name}:del:X2`,
        ]);
      },
    );

    it("sends the application's changes to the outbox through the triggers, but not the connector's own", async () => {
      const user = 'outbox@example.com';
      let wake: (user: string) => void = () => undefined;
      const notified = new Promise<string>((resolve) => {
        wake = resolve;
      });
      const stopWatching = await db.watchOutbox((u) => {
        if (u === user) wake(u);
      });
      const start = new Date('2024-05-01T08:30:00Z');
      try {
        await db.applyChanges(batch(user, [add({ item_id: 'FROM-EXCHANGE', subject: 'echo?' })], 'w'));
        expect((await db.readOutbox(100)).filter(isOutboxItem).filter((e) => e.user === user)).toEqual([]);

        await database.sql(
          `INSERT INTO calendar_item (exh_app_item_id, exh_user, exh_subject, exh_start, exh_all_day)
           VALUES ('app-1', $1, 'Dentist', $2, false)`,
          [user, start],
        );
        await expect(notified).resolves.toBe(user);
      } finally {
        await stopWatching();
      }
      await database.sql(
        `UPDATE calendar_item SET exh_location = 'Town', exh_subject = NULL WHERE exh_app_item_id = 'app-1'`,
      );
      await database.sql(`DELETE FROM calendar_item WHERE exh_app_item_id = 'app-1'`);

      const entries = (await db.readOutbox(100)).filter(isOutboxItem).filter((e) => e.user === user);
      expect(entries.map((e) => [e.itemType, e.action])).toEqual([
        ['calendar', 'add'],
        ['calendar', 'chg'],
        ['calendar', 'del'],
      ]);
      const [added, changed, deleted] = entries;
      expect(added?.fields).toMatchObject({ app_item_id: 'app-1', user, subject: 'Dentist', start, all_day: false });
      expect(added?.attempts).toBe(0);
      // An update sends what changed: '' for a cleared value, NULL (unchanged) for the rest.
      expect(changed?.fields).toMatchObject({ app_item_id: 'app-1', location: 'Town', subject: '', start: null });
      expect(deleted?.fields).toEqual({ item_id: null, app_item_id: 'app-1', user });

      await db.completeOutbox(added?.id ?? '', { exitCode: 0, outputValue: 'EX-1', errorMessage: null });
      await db.completeOutbox(changed?.id ?? '', { exitCode: 522, outputValue: null, errorMessage: 'Exchange down' });
      await db.completeOutbox(deleted?.id ?? '', { exitCode: 1, outputValue: null, errorMessage: 'Not found' });
      const pending = (await db.readOutbox(100)).filter(isOutboxItem).filter((e) => e.user === user);
      expect(pending.map((e) => [e.action, e.attempts])).toEqual([['chg', 1]]);
      const states = await database.sql(
        `SELECT exh_action, exh_state, exh_exit_code, exh_output_value, exh_error_message FROM exh_outbox
         WHERE exh_user = $1 ORDER BY exh_outbox_id`,
        [user],
      );
      expect(states).toEqual([
        { exh_action: 'add', exh_state: 'done', exh_exit_code: 0, exh_output_value: 'EX-1', exh_error_message: null },
        {
          exh_action: 'chg',
          exh_state: 'pending',
          exh_exit_code: 522,
          exh_output_value: null,
          exh_error_message: 'Exchange down',
        },
        {
          exh_action: 'del',
          exh_state: 'failed',
          exh_exit_code: 1,
          exh_output_value: null,
          exh_error_message: 'Not found',
        },
      ]);
    });

    it('records the commands (exh_sync_users, exh_sync_item, exh_get_attachment) in the outbox apart from item changes', async () => {
      const user = 'commands@example.com';
      const [syncItem] = await database.sql(
        `SELECT * FROM exh_sync_item(exh_sync_direction => 0, exh_user => $1, exh_item => 3, exh_add => true,
           exh_chg => true, exh_del => false, exh_created_from => '2014-10-20')`,
        [user],
      );
      expect(syncItem).toEqual({ exit_code: 0, output_value: null, error_message: null });
      const [wrongType] = await database.sql(
        'SELECT * FROM exh_sync_item(exh_sync_direction => 0, exh_user => $1, exh_item => 9)',
        [user],
      );
      expect(wrongType).toMatchObject({ exit_code: 1, error_message: expect.stringContaining('exh_item') });
      const [attachment] = await database.sql('SELECT * FROM exh_get_attachment($1, $2, $3)', [user, 'ITEM', 'ATT']);
      expect(attachment).toMatchObject({ exit_code: 0 });

      const rows = await database.sql(
        'SELECT exh_item_type, exh_action, exh_payload FROM exh_outbox WHERE exh_user = $1 ORDER BY exh_outbox_id',
        [user],
      );
      expect(rows.map((r) => [r.exh_item_type, r.exh_action])).toEqual([
        ['task', 'sync_item'],
        [null, 'get_attachment'],
      ]);
      expect(JSON.parse(String(rows[0]?.exh_payload))).toMatchObject({ exh_item: 3, exh_del: false, exh_user: user });
      // readOutbox hands out item changes only; the commands wait for the connector's command handling.
      expect((await db.readOutbox(100)).filter(isOutboxItem).filter((e) => e.user === user)).toEqual([]);
    });

    it('queues exh_sync_item without a user as a sync_item row for every registered user (exh_user NULL)', async () => {
      const [everyUser] = await database.sql('SELECT * FROM exh_sync_item(exh_sync_direction => 0)');
      expect(everyUser).toEqual({ exit_code: 0, output_value: null, error_message: null });
      const rows = await database.sql(
        `SELECT exh_user, exh_item_type, exh_payload FROM exh_outbox
         WHERE exh_action = 'sync_item' AND exh_user IS NULL ORDER BY exh_outbox_id`,
      );
      expect(rows.map((r) => [r.exh_user, r.exh_item_type])).toEqual([[null, null]]);
      expect(JSON.parse(String(rows[0]?.exh_payload))).toMatchObject({ exh_sync_direction: 0, exh_user: null });
      // An empty address is neither a user nor "every user"; the direction is still checked.
      const [empty] = await database.sql("SELECT * FROM exh_sync_item(exh_sync_direction => 0, exh_user => '')");
      expect(empty).toMatchObject({ exit_code: 1, error_message: expect.stringContaining('exh_user') });
      const [noDirection] = await database.sql('SELECT * FROM exh_sync_item()');
      expect(noDirection).toMatchObject({ exit_code: 1, error_message: expect.stringContaining('exh_sync_direction') });
    });

    it('writes the set-up rows idempotently and logs errors for the application', async () => {
      await db.writeSetUp({ ipAddress: '10.0.0.1', port: 9988, token: 'first' });
      await db.writeSetUp({ ipAddress: '10.0.0.2', port: 9989, token: 'second' });
      expect(await database.sql('SELECT exh_parameter, exh_value FROM exh_set_up ORDER BY exh_parameter')).toEqual([
        { exh_parameter: 'exh_ip_address', exh_value: '10.0.0.2' },
        { exh_parameter: 'exh_ip_address_port', exh_value: '9989' },
        { exh_parameter: 'exh_listener_token', exh_value: 'second' },
      ]);
      await db.logError({ user: 'log@example.com', itemType: 'task', code: 'EXH_X', message: 'went wrong' });
      expect(await database.sql('SELECT exh_user, exh_item_type, exh_code, exh_message FROM exh_log')).toEqual([
        { exh_user: 'log@example.com', exh_item_type: 'task', exh_code: 'EXH_X', exh_message: 'went wrong' },
      ]);
    });

    it('writes exh_ip_addresses only when given (several instances) and reads it back, IPv6 in brackets', async () => {
      await db.writeSetUp({ ipAddress: '10.0.0.3', port: 9990, token: 'third' });
      expect(await db.readSetUp()).toEqual({ ipAddress: '10.0.0.3', port: 9990, token: 'third' });
      const addresses = ['10.0.0.3:9990', '10.0.0.4:9988', '[fd00::5]:9988'];
      await db.writeSetUp({ ipAddress: '10.0.0.3', port: 9990, token: 'third', addresses });
      expect(await database.sql("SELECT exh_value FROM exh_set_up WHERE exh_parameter = 'exh_ip_addresses'")).toEqual([
        { exh_value: '10.0.0.3:9990,10.0.0.4:9988,[fd00::5]:9988' },
      ]);
      expect(await db.readSetUp()).toEqual({ ipAddress: '10.0.0.3', port: 9990, token: 'third', addresses });
    });

    it('names the missing object when the base project is not installed', async () => {
      const empty = await target.fresh();
      try {
        const users = await rejection(empty.db.getUsers());
        expect(isExhError(users, 'EXH_DB_BASE_PROJECT_MISSING')).toBe(true);
        expect((users as Error).message).toContain('exh_get_users');
        expect((users as Error).message).toContain('exh db install');
        const apply = await rejection(empty.db.applyChanges(batch('x@example.com', [add({ item_id: 'A' })], 'w')));
        expect(isExhError(apply, 'EXH_DB_BASE_PROJECT_MISSING')).toBe(true);
        expect((apply as Error).message).toContain('exh_from_exh_add_calendar');
        const setUp = await rejection(empty.db.writeSetUp({ ipAddress: '127.0.0.1', port: 1, token: 't' }));
        expect((setUp as Error).message).toContain('exh_set_up is missing');
      } finally {
        await empty.dispose();
      }
    });

    it('reports a database it cannot reach, and a closed connection as lost', async () => {
      const unreachable = target.unreachable();
      const error = await rejection(unreachable.connect());
      expect(isExhError(error, target.unreachableCode ?? 'EXH_DB_UNREACHABLE')).toBe(true);
      expect((error as Error).message).toContain(unreachable.target);

      const other = await target.fresh();
      await other.db.probe();
      await other.db.close();
      const lost = await rejection(other.db.probe());
      expect(isExhError(lost, 'EXH_DB_CONNECTION_LOST')).toBe(true);
      await other.dispose();
    });
  });
}
