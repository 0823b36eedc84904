import { PGlite } from '@electric-sql/pglite';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { postgresBaseProject } from '../../../src/db/sql/postgres.js';
import { itemTypes } from '../../../src/items/index.js';

/** The PostgreSQL base project as the generator writes it, run in PGlite (the adapters' contract: test/db/contract.ts). */
describe('postgresBaseProject', () => {
  let db: PGlite;
  const install = () => db.exec(postgresBaseProject(itemTypes));
  const status = async (call: string, params: unknown[] = []) =>
    (await db.query<{ exit_code: number; error_message: string | null }>(`SELECT * FROM ${call}`, params)).rows[0];
  const outboxRows = async () =>
    (await db.query<{ n: number }>('SELECT count(*)::int AS n FROM exh_outbox')).rows[0]?.n;

  beforeAll(async () => {
    db = await PGlite.create();
    await install();
  }, 60_000);
  afterAll(() => db?.close());

  it("installs again over itself, keeping the application's templates and view, replacing the connector's functions", async () => {
    // The application fills in a template (same signature, its own body) and defines its users; something changes
    // a function of the connector's.
    await db.exec(`
      DO $do$
      DECLARE definition text;
      BEGIN
        SELECT pg_get_functiondef('exh_from_exh_add_task'::regproc) INTO definition;
        EXECUTE replace(definition, 'NULL;', 'RAISE NOTICE ''filled in by the application'';');
      END
      $do$;
      CREATE OR REPLACE VIEW exh_user_source AS SELECT 'alice@contoso.test'::text AS exh_user,
        true AS sync_calendar, false AS sync_contact, false AS sync_email, true AS sync_task;
      CREATE OR REPLACE FUNCTION exh_sync_users(OUT exit_code integer, OUT output_value text, OUT error_message text)
        LANGUAGE sql AS $$ SELECT 9, NULL::text, 'tampered'::text $$;`);
    const template = async () =>
      (await db.query<{ d: string }>("SELECT pg_get_functiondef('exh_from_exh_add_task'::regproc) AS d")).rows[0]?.d;
    expect(await template()).toContain('filled in by the application');
    await install();
    expect(await template()).toContain('filled in by the application');
    const users = await db.query<{ exh_user: string; sync_task: boolean }>(
      'SELECT exh_user, sync_task FROM exh_get_users()',
    );
    expect(users.rows).toEqual([{ exh_user: 'alice@contoso.test', sync_task: true }]);
    expect(await status('exh_sync_users()')).toMatchObject({ exit_code: 0, error_message: null });
  });

  it("passes exh_user_source's optional exh_backend through exh_get_users, and NULL for a view without it", async () => {
    await db.exec(`CREATE OR REPLACE VIEW exh_user_source AS SELECT 'alice@contoso.test'::text AS exh_user,
        true AS sync_calendar, false AS sync_contact, false AS sync_email, true AS sync_task`);
    const backends = async () =>
      (await db.query<{ exh_backend: string | null }>('SELECT exh_backend FROM exh_get_users()')).rows;
    expect(await backends()).toEqual([{ exh_backend: null }]);
    await db.exec(`CREATE OR REPLACE VIEW exh_user_source AS SELECT 'alice@contoso.test'::text AS exh_user,
        true AS sync_calendar, false AS sync_contact, false AS sync_email, true AS sync_task, 'graph'::text AS exh_backend`);
    expect(await backends()).toEqual([{ exh_backend: 'graph' }]);
  });

  it('refuses to move a row to a new item id until the application fills in exh_from_exh_new_id_*', async () => {
    await expect(
      db.query(
        "SELECT exh_from_exh_new_id_calendar(exh_user => 'a@b.test', exh_item_id => 'old', exh_new_item_id => 'new')",
      ),
    ).rejects.toThrow(/exh_from_exh_new_id_calendar is not filled in.*Switching backends/);
  });

  it('refuses a resynchronisation it cannot carry out, saying what is wrong, and queues nothing for it', async () => {
    const before = await outboxRows();
    const refusal = async (direction: number | null, user: string | null, item: number | null) =>
      (await status('exh_sync_item(exh_sync_direction => $1, exh_user => $2, exh_item => $3)', [direction, user, item]))
        ?.error_message;
    expect(await refusal(2, 'alice@contoso.test', null)).toBe(
      'exh_sync_direction must be 0 (Exchange to database) or 1 (database to Exchange)',
    );
    expect(await refusal(null, 'alice@contoso.test', null)).toMatch(/^exh_sync_direction must be 0/);
    expect(await refusal(0, '', null)).toBe('exh_user must be a user or NULL (every registered user), not empty');
    expect(await refusal(0, 'alice@contoso.test', 9)).toBe(
      'exh_item must be 0 (calendar), 1 (contact), 2 (email), 3 (task) or null (every type)',
    );
    expect(await outboxRows()).toBe(before);
  });

  it('refuses a change for Exchange without the ids it needs, with exit code 1, and queues nothing', async () => {
    const before = await outboxRows();
    expect(await status("exh_to_exh_add_task(exh_user => 'alice@contoso.test', exh_subject => 'x')")).toEqual({
      exit_code: 1,
      output_value: null,
      error_message: 'exh_app_item_id is required: the Exchange item carries it so that its echo finds the row',
    });
    expect(await status("exh_to_exh_chg_task(exh_user => 'alice@contoso.test')")).toMatchObject({
      exit_code: 1,
      error_message: 'exh_item_id or exh_app_item_id is required',
    });
    expect(await status("exh_to_exh_del_task(exh_item_id => 'AAMk-1')")).toMatchObject({
      exit_code: 1,
      error_message: 'exh_user is required',
    });
    expect(await status("exh_get_attachment(exh_user => 'alice@contoso.test', exh_item_id => 'AAMk-1')")).toMatchObject(
      {
        exit_code: 1,
        error_message: 'exh_user, exh_item_id and exh_attachment_id are required',
      },
    );
    expect(await outboxRows()).toBe(before);
  });

  it('queues a change with its fields keyed by column and wakes the connector for its user', async () => {
    const heard: string[] = [];
    const stop = await db.listen('exh_outbox', (payload) => heard.push(payload));
    try {
      expect(
        await status(
          "exh_to_exh_add_task(exh_app_item_id => 'app-1', exh_user => 'alice@contoso.test', exh_subject => 'Report')",
        ),
      ).toMatchObject({ exit_code: 0 });
      const { rows } = await db.query<{ exh_action: string; exh_item_type: string; exh_payload: string }>(
        'SELECT exh_action, exh_item_type, exh_payload FROM exh_outbox ORDER BY exh_outbox_id DESC LIMIT 1',
      );
      expect(rows[0]).toMatchObject({ exh_action: 'add', exh_item_type: 'task' });
      expect(JSON.parse(rows[0]?.exh_payload ?? '{}')).toMatchObject({
        exh_app_item_id: 'app-1',
        exh_user: 'alice@contoso.test',
        exh_subject: 'Report',
        exh_body: null,
      });
      expect(heard).toEqual(['alice@contoso.test']);
    } finally {
      await stop();
    }
  });
});
