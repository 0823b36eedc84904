import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import type pg from 'pg';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { RunningEmulator } from '../../emulator/index.js';
import { sendRequest } from '../../src/protocol/client.js';
import { alice, backends, bob, carol, connectorWorld } from '../support/connector.js';

const pgUrl = process.env.PG_URL;

/**
 * Database → Exchange through every real part (issue 6): the example application's tables and triggers on the
 * PostgreSQL server, the outbox and the database listener, the runtime, the EWS adapter and the emulator. What a
 * person sees is read through the emulator's admin API.
 */
describe.skipIf(!pgUrl).each(backends)(
  'database → Exchange, end to end over %s (PostgreSQL, example application, emulator)',
  (backend) => {
    let world: Awaited<ReturnType<typeof connectorWorld>>;
    let admin: pg.Client;
    let emulator: RunningEmulator;
    let schema: string;

    beforeAll(async () => {
      world = await connectorWorld(pgUrl as string, `write_${backend}`, { backend });
      ({ admin, emulator, schema } = world);
    });
    afterEach(() => world.stopConnector());
    afterAll(() => world?.close());

    const rows = (table: string, user: string) => world.rows(table, user);
    const eventually = (check: () => Promise<void>) => world.eventually(check);
    /** The id the backend under test reports for an item the emulator made (what exh_item_id holds). */
    const rid = (item: Parameters<typeof world.id>[0]) => world.id(item);
    const row = async (table: string, user: string, appItemId: string) => {
      const found = (await rows(table, user)).filter((r) => r.exh_app_item_id === appItemId);
      // Never a second row for the same application item: the echo from Exchange updates the row it came from.
      expect(found.length, `${table} rows of ${appItemId}`).toBeLessThanOrEqual(1);
      return found[0];
    };
    const inExchange = (user: string, itemId: string) => emulator.admin.item(user, itemId).properties;
    /**
     * Microsoft To Do has no percent complete (docs/exchange-online.md, "What Graph does not carry"): the Graph adapter
     * writes none, so the task in the mailbox has none.
     */
    const percent = (value: string) => (backend === 'graph' ? undefined : value);
    /**
     * A body's text as the emulator keeps it: none, or an element with its text ({BodyType, value}). An empty element
     * is a cleared body too (Graph's todoTask always has a body, empty when cleared).
     */
    const bodyText = (body: unknown) =>
      body !== null && typeof body === 'object' ? ((body as { value?: unknown }).value ?? '') : (body ?? '');
    const outboxOf = async (user: string) =>
      (
        await admin.query(
          `select exh_action, exh_state, exh_exit_code, exh_output_value, exh_error_message
         from ${schema}.exh_outbox where exh_user = $1 order by exh_outbox_id`,
          [user],
        )
      ).rows;
    /** Writes rows as the connector does (the triggers skip them): the application's data without an outbox row. */
    const quietly = async (sql: string, params: unknown[]) => {
      await admin.query('begin');
      await admin.query(`select set_config('exh.applying', 'on', true)`);
      await admin.query(sql, params);
      await admin.query('commit');
    };
    const start = async () => {
      await world.startConnector();
      await world.live([alice, bob, carol]);
    };

    it('every type: a row inserted, updated (NULL clears, the rest unchanged) and deleted is followed in the mailbox', async () => {
      await start();
      const tag = randomBytes(3).toString('hex');
      await admin.query(
        `insert into ${schema}.calendar_item (exh_app_item_id, exh_user, exh_subject, exh_location, exh_start, exh_end)
       values ($1, $2, 'Review', 'Room 1', '2027-03-01T10:00:00Z', '2027-03-01T11:00:00Z')`,
        [`cal-${tag}`, alice],
      );
      await admin.query(
        `insert into ${schema}.contact_item (exh_app_item_id, exh_user, exh_given_name, exh_surname, exh_company)
       values ($1, $2, 'Dana', 'Scully', 'FBI')`,
        [`con-${tag}`, alice],
      );
      await admin.query(
        `insert into ${schema}.task_item (exh_app_item_id, exh_user, exh_subject, exh_percent_complete)
       values ($1, $2, 'Write report', 10)`,
        [`task-${tag}`, alice],
      );
      await admin.query(
        `insert into ${schema}.email_item (exh_app_item_id, exh_user, exh_subject, exh_body, exh_to)
       values ($1, $2, 'Minutes', 'See attached.', $3)`,
        [`mail-${tag}`, alice, bob],
      );
      const ids: Record<string, string> = {};
      await eventually(async () => {
        for (const [table, appId] of [
          ['calendar_item', `cal-${tag}`],
          ['contact_item', `con-${tag}`],
          ['task_item', `task-${tag}`],
          ['email_item', `mail-${tag}`],
        ] as const) {
          const found = await row(table, alice, appId);
          expect(found?.exh_item_id, `${table} gets its Exchange item id`).toEqual(expect.any(String));
          ids[table] = found?.exh_item_id;
        }
      });
      expect(inExchange(alice, ids.calendar_item as string)).toMatchObject({ Subject: 'Review', Location: 'Room 1' });
      expect(inExchange(alice, ids.contact_item as string)).toMatchObject({ GivenName: 'Dana', CompanyName: 'FBI' });
      // The emulator keeps values as the XML text Exchange was sent.
      expect(inExchange(alice, ids.task_item as string).Subject).toBe('Write report');
      expect(inExchange(alice, ids.task_item as string).PercentComplete).toBe(percent('10'));
      // Sent (it has a recipient) and saved in Sent Items; bob receives it.
      expect(inExchange(alice, ids.email_item as string)).toMatchObject({ Subject: 'Minutes' });
      expect(emulator.admin.items(bob, 'inbox').some((i) => i.properties.Subject === 'Minutes')).toBe(true);

      // NULL in the application clears the value in Exchange ('' on the wire); what the update leaves alone stays.
      await admin.query(
        `update ${schema}.calendar_item set exh_location = null, exh_subject = 'Review (moved)' where exh_app_item_id = $1`,
        [`cal-${tag}`],
      );
      await admin.query(`update ${schema}.contact_item set exh_company = null where exh_app_item_id = $1`, [
        `con-${tag}`,
      ]);
      await admin.query(`update ${schema}.task_item set exh_percent_complete = 60 where exh_app_item_id = $1`, [
        `task-${tag}`,
      ]);
      await eventually(async () => {
        const calendar = inExchange(alice, ids.calendar_item as string);
        expect(calendar.Subject).toBe('Review (moved)');
        expect(calendar.Location ?? null).toBeNull();
        expect(calendar.Start).toBe('2027-03-01T10:00:00Z');
        const contact = inExchange(alice, ids.contact_item as string);
        expect(contact.CompanyName ?? null).toBeNull();
        expect(contact.Surname).toBe('Scully');
        expect(inExchange(alice, ids.task_item as string).Subject).toBe('Write report');
        expect(inExchange(alice, ids.task_item as string).PercentComplete).toBe(percent('60'));
      });

      await admin.query(`delete from ${schema}.task_item where exh_app_item_id = $1`, [`task-${tag}`]);
      await admin.query(`delete from ${schema}.contact_item where exh_app_item_id = $1`, [`con-${tag}`]);
      await eventually(async () => {
        const tasks = emulator.admin.items(alice, 'tasks').map((i) => rid(i));
        expect(tasks).not.toContain(ids.task_item);
        expect(emulator.admin.items(alice, 'contacts').map((i) => rid(i))).not.toContain(ids.contact_item);
      });
      // Each row is marked done just after Exchange has it: every one of them, none failed or left behind.
      await eventually(async () => expect((await outboxOf(alice)).filter((r) => r.exh_state !== 'done')).toEqual([]));
    });

    it('the listener applies NULL as unchanged and an empty string as cleared', async () => {
      await start();
      const { target, token } = await world.setUp();
      const added = await sendRequest(
        target,
        {
          token,
          type: 'item',
          action: 'add',
          itemType: 'task',
          user: carol,
          fields: { app_item_id: `t-${randomBytes(3).toString('hex')}`, subject: 'Plan', body: 'Step one' },
        },
        { timeoutMs: 10_000 },
      );
      expect(added.exitCode).toBe(0);
      const itemId = added.outputValue as string;
      const changed = await sendRequest(
        target,
        {
          token,
          type: 'item',
          action: 'chg',
          itemType: 'task',
          user: carol,
          fields: { item_id: itemId, subject: null, body: '' },
        },
        { timeoutMs: 10_000 },
      );
      expect(changed).toEqual({ exitCode: 0, outputValue: itemId, errorMessage: null });
      const task = inExchange(carol, itemId);
      expect(task.Subject).toBe('Plan');
      expect(bodyText(task.Body)).toBe('');
    });

    it("a non-organizer's change of a meeting is refused with exit code 1, through the listener and the outbox", async () => {
      await start();
      const meeting = emulator.admin.createItem(alice, {
        kind: 'CalendarItem',
        Subject: 'Alice decides',
        Start: '2027-04-01T09:00:00Z',
        End: '2027-04-01T10:00:00Z',
        RequiredAttendees: [bob],
      });
      let copyId = '';
      await eventually(async () => {
        const copy = (await rows('calendar_item', bob)).find((r) => r.exh_subject === 'Alice decides');
        expect(copy?.exh_item_id).toEqual(expect.any(String));
        copyId = copy?.exh_item_id;
      });
      const { target, token } = await world.setUp();
      const reply = await sendRequest(
        target,
        {
          token,
          type: 'item',
          action: 'chg',
          itemType: 'calendar',
          user: bob,
          fields: { item_id: copyId, subject: 'Bob decides' },
        },
        { timeoutMs: 10_000 },
      );
      expect(reply.exitCode).toBe(1);
      expect(reply.errorMessage).toContain('organizer');
      await admin.query(`update ${schema}.calendar_item set exh_subject = 'Bob decides' where exh_item_id = $1`, [
        copyId,
      ]);
      await eventually(async () => {
        const failed = (await outboxOf(bob)).filter((r) => r.exh_action === 'chg');
        expect(failed).toEqual([expect.objectContaining({ exh_state: 'failed', exh_exit_code: 1 })]);
        expect(failed[0]?.exh_error_message).toContain('organizer');
      });
      expect(inExchange(alice, meeting?.id as string).Subject).toBe('Alice decides');
    });

    it('outbox rows written while the connector is down wait, and are applied once after it starts', async () => {
      const appId = `down-${randomBytes(3).toString('hex')}`;
      await admin.query(
        `insert into ${schema}.task_item (exh_app_item_id, exh_user, exh_subject) values ($1, $2, 'Written while down')`,
        [appId, bob],
      );
      await admin.query(
        `update ${schema}.task_item set exh_subject = 'Changed while down' where exh_app_item_id = $1`,
        [appId],
      );
      expect((await outboxOf(bob)).filter((r) => r.exh_state === 'pending').length).toBeGreaterThanOrEqual(2);
      await start();
      await eventually(async () => {
        const found = await row('task_item', bob, appId);
        expect(found?.exh_item_id).toEqual(expect.any(String));
        expect(found?.exh_subject).toBe('Changed while down');
        // The echo of the create may give the row its id before the change is applied: wait for both rows.
        expect((await outboxOf(bob)).filter((r) => r.exh_state === 'pending')).toEqual([]);
      });
      const made = emulator.admin
        .items(bob, 'tasks')
        .filter((i) => String(i.properties.Subject).endsWith('while down'));
      expect(made.map((i) => i.properties.Subject)).toEqual(['Changed while down']);
    });

    it('exh_sync_item direction 0 (Exchange → database): rows restored, added and removed', async () => {
      await start();
      const kept = emulator.admin.createItem(carol, { kind: 'Contact', GivenName: 'Kept', Surname: 'Right' });
      await eventually(async () =>
        expect((await rows('contact_item', carol)).map((r) => r.exh_item_id)).toContain(rid(kept)),
      );
      // The application's copy drifts: one row changed, one lost, one whose item no longer exists.
      await quietly(`update ${schema}.contact_item set exh_surname = 'Wrong' where exh_item_id = $1`, [rid(kept)]);
      const lost = emulator.admin.createItem(carol, { kind: 'Contact', GivenName: 'Lost', Surname: 'Row' });
      await eventually(async () =>
        expect((await rows('contact_item', carol)).map((r) => r.exh_item_id)).toContain(rid(lost)),
      );
      await quietly(`delete from ${schema}.contact_item where exh_item_id = $1`, [rid(lost)]);
      await quietly(
        `insert into ${schema}.contact_item (exh_item_id, exh_user, exh_surname) values ('AAMk-gone-long-ago', $1, 'Ghost')`,
        [carol],
      );

      await admin.query(
        `select * from ${schema}.exh_sync_item(exh_sync_direction => 0, exh_user => $1, exh_item => 1)`,
        [carol],
      );
      await eventually(async () => {
        const contacts = await rows('contact_item', carol);
        expect(contacts.find((r) => r.exh_item_id === rid(kept))?.exh_surname).toBe('Right');
        expect(contacts.map((r) => r.exh_item_id)).toContain(rid(lost));
        expect(contacts.map((r) => r.exh_item_id)).not.toContain('AAMk-gone-long-ago');
        const command = (await outboxOf(carol)).find((r) => r.exh_action === 'sync_item');
        expect(command?.exh_state).toBe('done');
        expect(JSON.parse(command?.exh_output_value)).toMatchObject({ added: 1, changed: 1, deleted: 1, failed: 0 });
      });
      expect((await rows('contact_item', carol)).filter((r) => r.exh_item_id === rid(kept))).toHaveLength(1);
    });

    it('exh_sync_item direction 1 (database → Exchange) through the listener, with progress: made and removed on request', async () => {
      await start();
      const tag = randomBytes(3).toString('hex');
      // Rows the application holds that Exchange never saw (written without the triggers).
      await quietly(
        `insert into ${schema}.task_item (exh_app_item_id, exh_user, exh_subject) values ($1, $2, 'Only in the database')`,
        [`only-db-${tag}`, alice],
      );
      // An item the connector made for the application whose row is gone since.
      const { target, token } = await world.setUp();
      const orphan = await sendRequest(
        target,
        {
          token,
          type: 'item',
          action: 'add',
          itemType: 'task',
          user: alice,
          fields: { app_item_id: `orphan-${tag}`, subject: 'Row deleted' },
        },
        { timeoutMs: 10_000 },
      );
      expect(orphan.exitCode).toBe(0);
      await eventually(async () => expect(await row('task_item', alice, `orphan-${tag}`)).toBeDefined());
      await quietly(`delete from ${schema}.task_item where exh_app_item_id = $1`, [`orphan-${tag}`]);
      // And an item a person made in Exchange: never deleted by a resync towards Exchange.
      const personal = emulator.admin.createItem(alice, { kind: 'Task', Subject: 'Made in Outlook' });
      await eventually(async () =>
        expect((await rows('task_item', alice)).map((r) => r.exh_item_id)).toContain(rid(personal)),
      );
      await quietly(`delete from ${schema}.task_item where exh_item_id = $1`, [rid(personal)]);

      // Without del nothing is deleted in Exchange: deleting must be asked for in direction 1.
      const careful = await sendRequest(
        target,
        { token, type: 'syncItems', direction: 1, user: alice, item: 3 },
        { timeoutMs: 30_000 },
      );
      expect(JSON.parse(careful.outputValue as string)).toMatchObject({ added: 1, deleted: 0, failed: 0 });
      expect(emulator.admin.items(alice, 'tasks').map((i) => i.properties.Subject)).toContain('Row deleted');
      // The echo of the new item gives the row its item id.
      await eventually(async () =>
        expect((await row('task_item', alice, `only-db-${tag}`))?.exh_item_id).toEqual(expect.any(String)),
      );

      const progress: unknown[] = [];
      const reply = await sendRequest(
        target,
        { token, type: 'syncItems', direction: 1, user: alice, item: 3, del: true, progress: true },
        { timeoutMs: 30_000, onProgress: (p) => progress.push(p) },
      );
      expect(reply.exitCode).toBe(0);
      // The row written before is in Exchange now: nothing to add, nothing differs; the orphan goes.
      expect(JSON.parse(reply.outputValue as string)).toMatchObject({ added: 0, changed: 0, deleted: 1, failed: 0 });
      expect(progress.length).toBeGreaterThan(0);
      expect(progress.at(-1)).toMatchObject({ user: alice, itemType: 'task' });
      const subjects = emulator.admin.items(alice, 'tasks').map((i) => i.properties.Subject);
      expect(subjects).toContain('Only in the database');
      expect(subjects).not.toContain('Row deleted');
      expect(subjects).toContain('Made in Outlook');
      await eventually(async () =>
        expect((await row('task_item', alice, `only-db-${tag}`))?.exh_item_id).toEqual(expect.any(String)),
      );

      // A repeat makes nothing twice.
      const again = await sendRequest(
        target,
        { token, type: 'syncItems', direction: 1, user: alice, item: 3, del: false },
        { timeoutMs: 30_000 },
      );
      expect(JSON.parse(again.outputValue as string)).toMatchObject({ added: 0, failed: 0 });
      expect(
        emulator.admin.items(alice, 'tasks').filter((i) => i.properties.Subject === 'Only in the database'),
      ).toHaveLength(1);
    });

    it('direction 1 deletes nothing when exh_get_item_* returns no rows, and keeps items whose row moved out of the range', async () => {
      await start();
      const { target, token } = await world.setUp();
      const tag = randomBytes(3).toString('hex');
      const made = await sendRequest(
        target,
        {
          token,
          type: 'item',
          action: 'add',
          itemType: 'task',
          user: bob,
          fields: { app_item_id: `moved-${tag}`, subject: 'Starts in March', start: '2027-03-10T09:00:00Z' },
        },
        { timeoutMs: 10_000 },
      );
      expect(made.exitCode).toBe(0);
      await eventually(async () =>
        expect((await row('task_item', bob, `moved-${tag}`))?.exh_item_id).toBe(made.outputValue),
      );
      // The application moved it to April; the change has not reached Exchange (written without the triggers).
      await quietly(`update ${schema}.task_item set exh_start = '2027-04-10T09:00:00Z' where exh_app_item_id = $1`, [
        `moved-${tag}`,
      ]);
      const march = await sendRequest(
        target,
        {
          token,
          type: 'syncItems',
          direction: 1,
          user: bob,
          item: 3,
          del: true,
          startFrom: '2027-03-01',
          startUntil: '2027-04-01',
        },
        { timeoutMs: 30_000 },
      );
      expect(JSON.parse(march.outputValue as string)).toMatchObject({ deleted: 0, failed: 0 });
      expect(emulator.admin.item(bob, made.outputValue as string).properties.Subject).toBe('Starts in March');

      // An application whose template returns nothing (here: bob's rows gone without the triggers) deletes nothing.
      await quietly(`delete from ${schema}.task_item where exh_user = $1`, [bob]);
      const refused = await sendRequest(
        target,
        { token, type: 'syncItems', direction: 1, user: bob, item: 3, del: true },
        { timeoutMs: 30_000 },
      );
      expect(refused.exitCode).toBe(1);
      expect(refused.errorMessage).toContain('nothing was deleted');
      expect(emulator.admin.item(bob, made.outputValue as string).properties.Subject).toBe('Starts in March');
    });

    it('direction 0 keeps the row of an e-mail the application saved as a draft, and skips a mailbox that is not connected', async () => {
      const ghost = 'ghost@contoso.test';
      await admin.query(`insert into ${schema}.app_user (exh_user) values ($1)`, [ghost]);
      try {
        await start();
        const { target, token } = await world.setUp();
        const draft = await sendRequest(
          target,
          {
            token,
            type: 'item',
            action: 'add',
            itemType: 'email',
            user: carol,
            fields: { app_item_id: `draft-${randomBytes(3).toString('hex')}`, subject: 'Not sent yet' },
          },
          { timeoutMs: 10_000 },
        );
        expect(draft.exitCode).toBe(0);
        // As a synchronous sender leaves it: the row holds the draft's id (drafts are not synchronised back).
        await quietly(
          `insert into ${schema}.email_item (exh_item_id, exh_user, exh_subject) values ($1, $2, 'Not sent yet')`,
          [draft.outputValue, carol],
        );
        const reply = await sendRequest(
          target,
          { token, type: 'syncItems', direction: 0, user: null, item: 2 },
          { timeoutMs: 60_000 },
        );
        expect(reply.exitCode).toBe(0);
        // The ghost has no mailbox: skipped and counted; everyone else is done.
        expect(JSON.parse(reply.outputValue as string)).toMatchObject({ deleted: 0, failed: 1 });
        expect((await rows('email_item', carol)).map((r) => r.exh_item_id)).toContain(draft.outputValue);
        const log = await admin.query(`select exh_code from ${schema}.exh_log where exh_user = $1`, [ghost]);
        expect(log.rows.map((r) => r.exh_code)).toContain('EXH_MAILBOX_NOT_CONNECTED');
      } finally {
        await admin.query(`delete from ${schema}.app_user where exh_user = $1`, [ghost]);
      }
    });

    it('an attachment added through the listener downloads byte for byte, by request and by exh_get_attachment', async () => {
      await start();
      const { target, token } = await world.setUp();
      const made = emulator.admin.createItem(bob, { kind: 'Task', Subject: 'With a file' });
      const bytes = randomBytes(70_000);
      bytes[0] = 0;
      bytes[1] = 0xff;
      const added = await sendRequest(
        target,
        {
          token,
          type: 'addAttachment',
          user: bob,
          itemId: rid(made) as string,
          name: 'data.bin',
          contentType: 'application/octet-stream',
          contentBase64: bytes.toString('base64'),
        },
        { timeoutMs: 10_000 },
      );
      expect(added.exitCode).toBe(0);
      const attachmentId = added.outputValue as string;
      expect(emulator.admin.item(bob, made?.id as string).attachments.map((a) => a.name)).toEqual(['data.bin']);

      const got = await sendRequest(
        target,
        { token, type: 'getAttachment', user: bob, itemId: rid(made) as string, attachmentId },
        { timeoutMs: 10_000 },
      );
      expect(got.exitCode).toBe(0);
      expect(Buffer.from(got.outputValue as string, 'base64').equals(bytes)).toBe(true);

      await admin.query(
        `select * from ${schema}.exh_get_attachment(exh_user => $1, exh_item_id => $2, exh_attachment_id => $3)`,
        [bob, rid(made), attachmentId],
      );
      await eventually(async () => {
        const command = (await outboxOf(bob)).find((r) => r.exh_action === 'get_attachment');
        expect(command?.exh_state).toBe('done');
        expect(Buffer.from(command?.exh_output_value, 'base64').equals(bytes)).toBe(true);
      });
    });

    it('retries an item that failed on its way into the database once the cause is gone', async () => {
      await admin.query(`
      create or replace function ${schema}.refuse_poison() returns trigger language plpgsql as $$
      begin
        if new.exh_subject = 'poison' then raise exception 'task_item refuses this row'; end if;
        return new;
      end $$;
      create trigger refuse_poison before insert or update on ${schema}.task_item
        for each row execute function ${schema}.refuse_poison();`);
      const runtime = await world.startConnector();
      await world.live([alice, bob, carol]);
      const poison = emulator.admin.createItem(carol, { kind: 'Task', Subject: 'poison' });
      await eventually(async () => {
        const log = await admin.query(`select exh_message from ${schema}.exh_log where exh_user = $1`, [carol]);
        expect(log.rows.map((r) => r.exh_message).join('\n')).toContain(String(rid(poison)));
      });
      await admin.query(`drop trigger refuse_poison on ${schema}.task_item`);
      const retried = await runtime.control.retryFailed({ user: carol });
      // No outbox row had failed; carol's mailbox is read again after the answer, and the poison item arrives.
      expect(retried).toEqual({ retried: 0, rereading: [carol] });
      await eventually(async () =>
        expect((await rows('task_item', carol)).map((r) => r.exh_item_id)).toContain(rid(poison)),
      );
    });

    it('a create repeated (a sender retrying after a time-out, a crash before the outbox row was completed) makes one item', async () => {
      await start();
      const { target, token } = await world.setUp();
      const request = {
        token,
        type: 'item' as const,
        action: 'add' as const,
        itemType: 'contact' as const,
        user: carol,
        fields: { app_item_id: `once-${randomBytes(3).toString('hex')}`, surname: 'Once' },
      };
      const first = await sendRequest(target, request, { timeoutMs: 10_000 });
      const second = await sendRequest(target, request, { timeoutMs: 10_000 });
      expect(first.exitCode).toBe(0);
      expect(second).toEqual(first);
      expect(emulator.admin.items(carol, 'contacts').filter((i) => i.properties.Surname === 'Once')).toHaveLength(1);
    });

    it('a wrong token or an unknown user changes nothing', async () => {
      await start();
      const { target, token } = await world.setUp();
      const before = emulator.admin.items(alice, 'tasks').length;
      const wrong = await sendRequest(
        target,
        {
          token: 'x'.repeat(32),
          type: 'item',
          action: 'add',
          itemType: 'task',
          user: alice,
          fields: { app_item_id: 'never', subject: 'never' },
        },
        { timeoutMs: 5_000 },
      );
      expect(wrong.exitCode).toBe(1);
      const unknown = await sendRequest(
        target,
        { token, type: 'syncItems', direction: 0, user: 'nobody@contoso.test' },
        { timeoutMs: 5_000 },
      );
      expect(unknown.exitCode).toBe(1);
      expect(unknown.errorMessage).toContain('not a registered user');
      expect(emulator.admin.items(alice, 'tasks')).toHaveLength(before);
    });

    it('speaks TLS when listeners.database.tls names a certificate and key; a plain client gets no answer', async () => {
      const fixtures = fileURLToPath(new URL('../exchange/fixtures/', import.meta.url));
      await world.startConnector(
        'streaming',
        {},
        {
          tls: { certFile: `${fixtures}self-signed.crt`, keyFile: `${fixtures}self-signed.key` },
        },
      );
      await world.live([alice, bob, carol]);
      const { target, token } = await world.setUp();
      const ca = await readFile(`${fixtures}self-signed.crt`);
      const overTls = await sendRequest(
        { ...target, tls: { ca, servername: 'localhost' } },
        { token, type: 'ping' },
        { timeoutMs: 5_000 },
      );
      expect(overTls).toEqual({ exitCode: 0, outputValue: 'pong', errorMessage: null });
      const plain = await sendRequest(target, { token, type: 'ping' }, { timeoutMs: 2_000 });
      expect(plain.exitCode).not.toBe(0);
    });
  },
);
