import { randomBytes } from 'node:crypto';
import type pg from 'pg';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { RunningEmulator } from '../../emulator/index.js';
import { alice, backends, connectorWorld } from '../support/connector.js';

const pgUrl = process.env.PG_URL;

/**
 * The echo of the connector's own writes (src/sync/decisions/echo.ts), end to end on every backend: the application
 * changes and deletes a contact, the outbox writes it to the emulator, the notification brings the sync, and the sync
 * skips the echo (no exh_from_exh_* call); a person's change in Exchange afterwards is applied as always. Calls are
 * counted by a statement trigger on the application's table that counts what the connector writes (exh.applying).
 */
describe.skipIf(!pgUrl).each(backends)('the echo of the connector’s own writes, end to end over %s', (backend) => {
  let world: Awaited<ReturnType<typeof connectorWorld>>;
  let admin: pg.Client;
  let emulator: RunningEmulator;
  let schema: string;

  beforeAll(async () => {
    world = await connectorWorld(pgUrl as string, `echo_${backend}`, { backend });
    ({ admin, emulator, schema } = world);
    // Every statement the connector's exh_from_exh_*_contact runs on the table (a deletion of no row included).
    await admin.query(`
      create table ${schema}.connector_writes (op text not null);
      create function ${schema}.count_connector_writes() returns trigger language plpgsql as $$
      begin
        if coalesce(current_setting('exh.applying', true), '') = 'on' then
          insert into ${schema}.connector_writes (op) values (tg_op);
        end if;
        return null;
      end $$;
      create trigger count_connector_writes after insert or update or delete on ${schema}.contact_item
        for each statement execute function ${schema}.count_connector_writes();`);
  });
  afterEach(() => world.stopConnector());
  afterAll(() => world?.close());

  const writes = async () =>
    (await admin.query<{ op: string }>(`select op from ${schema}.connector_writes`)).rows.map((r) => r.op);
  const contact = async (appItemId: string) =>
    (await world.rows('contact_item', alice)).find((r) => r.exh_app_item_id === appItemId);
  const outboxDone = async () =>
    expect((await admin.query(`select exh_state from ${schema}.exh_outbox where exh_state <> 'done'`)).rows).toEqual(
      [],
    );
  /** A page of the contacts folder was synchronised after record `from`: a change applied or an echo skipped. */
  const contactsSynced = (from: number) =>
    world.eventually(async () =>
      expect(
        world.records
          .slice(from)
          .some((r) => r.folder === 'contacts' && (Number(r.applied ?? 0) > 0 || Number(r.echoes ?? 0) > 0)),
      ).toBe(true),
    );

  it('an update and a deletion written by the outbox come back without a procedure call; a change in Exchange is applied', async () => {
    await world.startConnector();
    await world.live([alice]);
    const appItemId = `con-${randomBytes(3).toString('hex')}`;
    await admin.query(
      `insert into ${schema}.contact_item (exh_app_item_id, exh_user, exh_given_name, exh_surname, exh_company)
       values ($1, $2, 'Dana', 'Scully', 'FBI')`,
      [appItemId, alice],
    );
    // The create's echo is applied: it gives the row its item id.
    await world.eventually(async () => expect((await contact(appItemId))?.exh_item_id).toEqual(expect.any(String)));
    await world.eventually(outboxDone);
    const itemId = (await contact(appItemId))?.exh_item_id as string;
    const ewsId = emulator.admin.items(alice, 'contacts').find((i) => world.id(i) === itemId)?.id as string;
    expect(await writes()).not.toEqual([]);
    await admin.query(`delete from ${schema}.connector_writes`);

    // The application changes the row: written to Exchange, its echo skipped.
    let from = world.records.length;
    await admin.query(`update ${schema}.contact_item set exh_company = 'Bureau' where exh_app_item_id = $1`, [
      appItemId,
    ]);
    await world.eventually(async () => expect(emulator.admin.item(alice, ewsId).properties.CompanyName).toBe('Bureau'));
    await world.eventually(outboxDone);
    await contactsSynced(from);
    expect(await writes()).toEqual([]);
    // exh_item_version holds the version Exchange has now, the one the connector wrote.
    const version = await admin.query<{ exh_change_key: string }>(
      `select exh_change_key from ${schema}.exh_item_version where exh_item_id = $1`,
      [itemId],
    );
    expect(version.rows[0]?.exh_change_key).toBeTruthy();
    expect((await contact(appItemId))?.exh_company).toBe('Bureau');

    // A person changes the contact in Exchange: applied, one call.
    from = world.records.length;
    emulator.admin.updateItem(alice, ewsId, { JobTitle: 'Agent' });
    await world.eventually(async () => expect((await contact(appItemId))?.exh_job_title).toBe('Agent'));
    await contactsSynced(from);
    expect(await writes()).toEqual(['UPDATE']);
    expect((await contact(appItemId))?.exh_company).toBe('Bureau');
    await admin.query(`delete from ${schema}.connector_writes`);

    // The application deletes the row: deleted in Exchange, the deletion's echo skipped.
    from = world.records.length;
    await admin.query(`delete from ${schema}.contact_item where exh_app_item_id = $1`, [appItemId]);
    await world.eventually(async () =>
      expect(emulator.admin.items(alice, 'contacts').map((i) => i.id)).not.toContain(ewsId),
    );
    await world.eventually(outboxDone);
    await contactsSynced(from);
    expect(await writes()).toEqual([]);
  });
});
