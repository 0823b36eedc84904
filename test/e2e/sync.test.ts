import { randomBytes } from 'node:crypto';
import type pg from 'pg';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { RunningEmulator } from '../../emulator/index.js';
import { appItemIdProperty } from '../../src/exchange/ews/index.js';
import { sendRequest } from '../../src/protocol/client.js';
import { alice, backends, bob, carol, connectorWorld } from '../support/connector.js';

const pgUrl = process.env.PG_URL;

/**
 * Exchange → database through every real part: the emulator speaking EWS over HTTP, the EWS adapter, the actor tree,
 * the PostgreSQL server and the example application's from_exh templates. A person's changes are made through the
 * emulator's admin API, as Outlook would make them.
 */
describe.skipIf(!pgUrl).each(backends)(
  'Exchange → database, end to end over %s (emulator, PostgreSQL, example application)',
  (backend) => {
    let world: Awaited<ReturnType<typeof connectorWorld>>;
    let admin: pg.Client;
    let emulator: RunningEmulator;
    let schema: string;
    let records: Array<Record<string, unknown>>;

    beforeAll(async () => {
      world = await connectorWorld(pgUrl as string, `sync_${backend}`, { backend });
      ({ admin, emulator, schema, records } = world);
    });
    afterEach(() => world.stopConnector());
    afterAll(() => world?.close());

    const startConnector = (...args: Parameters<typeof world.startConnector>) => world.startConnector(...args);
    const stopConnector = () => world.stopConnector();
    const live = (users: string[]) => world.live(users);
    const rows = (table: string, user: string) => world.rows(table, user);
    const eventually = (check: () => Promise<void>) => world.eventually(check);
    /** The id the backend under test reports for an item the emulator made (what exh_item_id holds). */
    const rid = (item: Parameters<typeof world.id>[0]) => world.id(item);
    /** Microsoft To Do has no percent complete (docs/exchange-online.md, "What Graph does not carry"): NULL there. */
    const percent = (value: number) => (backend === 'graph' ? null : value);

    it('an appointment created, changed and deleted in Exchange appears, changes and disappears in calendar_item', async () => {
      await startConnector();
      await live([alice, bob, carol]);
      const created = emulator.admin.createItem(alice, {
        kind: 'CalendarItem',
        Subject: 'Sprint review',
        Location: 'Room 1',
        Start: '2026-12-01T09:00:00Z',
        End: '2026-12-01T10:00:00Z',
      });
      const id = created?.id as string;
      await eventually(async () => {
        expect(await rows('calendar_item', alice)).toEqual([
          expect.objectContaining({ exh_item_id: rid(created), exh_subject: 'Sprint review', exh_location: 'Room 1' }),
        ]);
      });
      // Location removed in Exchange: '' reaches the template, and the example application stores a cleared column as NULL.
      emulator.admin.updateItem(alice, id, { Subject: 'Sprint review (moved)', Location: null });
      await eventually(async () => {
        expect(await rows('calendar_item', alice)).toEqual([
          expect.objectContaining({
            exh_item_id: rid(created),
            exh_subject: 'Sprint review (moved)',
            exh_location: null,
          }),
        ]);
      });
      emulator.admin.deleteItem(alice, id);
      await eventually(async () => expect(await rows('calendar_item', alice)).toEqual([]));
    });

    it('contacts, tasks and e-mail (incoming and outgoing) reach their tables', async () => {
      await startConnector();
      await live([alice, bob, carol]);
      const contact = emulator.admin.createItem(bob, {
        kind: 'Contact',
        GivenName: 'Dana',
        Surname: 'Scully',
        CompanyName: 'FBI',
        EmailAddresses: { EmailAddress1: 'dana@fbi.test' },
        PhoneNumbers: { MobilePhone: '+1 555 0100' },
      });
      const task = emulator.admin.createItem(bob, { kind: 'Task', Subject: 'File report', PercentComplete: 50 });
      emulator.admin.createItem(alice, {
        kind: 'Message',
        send: true,
        Subject: 'Hello Bob',
        Body: 'See you at 10.',
        ToRecipients: [bob],
      });
      await eventually(async () => {
        expect(await rows('contact_item', bob)).toEqual([
          expect.objectContaining({
            exh_item_id: rid(contact),
            exh_given_name: 'Dana',
            exh_surname: 'Scully',
            exh_company: 'FBI',
            exh_email_1: 'dana@fbi.test',
            exh_mobile_phone: '+1 555 0100',
          }),
        ]);
        expect(await rows('task_item', bob)).toEqual([
          expect.objectContaining({
            exh_item_id: rid(task),
            exh_subject: 'File report',
            exh_percent_complete: percent(50),
          }),
        ]);
        expect(await rows('email_item', alice)).toEqual([
          expect.objectContaining({ exh_subject: 'Hello Bob', exh_direction: 'outgoing', exh_folder: 'Sent Items' }),
        ]);
        expect(await rows('email_item', bob)).toEqual([
          expect.objectContaining({ exh_subject: 'Hello Bob', exh_direction: 'incoming', exh_folder: 'Inbox' }),
        ]);
      });

      // Changed in Exchange: the same rows change; read in Outlook: only is_read moves.
      const incoming = (await rows('email_item', bob))[0]?.exh_item_id as string;
      emulator.admin.updateItem(bob, contact?.id as string, { CompanyName: 'Bureau' });
      emulator.admin.updateItem(bob, task?.id as string, { PercentComplete: 100, Status: 'Completed' });
      emulator.admin.updateItem(bob, incoming, { IsRead: true });
      await eventually(async () => {
        expect(await rows('contact_item', bob)).toEqual([expect.objectContaining({ exh_company: 'Bureau' })]);
        expect(await rows('task_item', bob)).toEqual([
          expect.objectContaining({ exh_percent_complete: percent(100), exh_status: 'Completed' }),
        ]);
        expect(await rows('email_item', bob)).toEqual([
          expect.objectContaining({ exh_is_read: true, exh_subject: 'Hello Bob' }),
        ]);
      });

      // Deleted in Exchange: the rows go.
      emulator.admin.deleteItem(bob, contact?.id as string);
      emulator.admin.deleteItem(bob, task?.id as string);
      emulator.admin.deleteItem(bob, incoming);
      await eventually(async () => {
        expect(await rows('contact_item', bob)).toEqual([]);
        expect(await rows('task_item', bob)).toEqual([]);
        expect(await rows('email_item', bob)).toEqual([]);
      });
    });

    it('keeps HTML bodies as HTML by default', async () => {
      await startConnector();
      await live([alice, bob, carol]);
      const made = emulator.admin.createItem(carol, {
        kind: 'CalendarItem',
        Subject: 'Styled',
        Start: '2026-12-03T09:00:00Z',
        End: '2026-12-03T10:00:00Z',
        Body: { BodyType: 'HTML', value: '<p>Agenda: <b>budget</b></p>' },
      });
      await eventually(async () => {
        const row = (await rows('calendar_item', carol)).find((r) => r.exh_item_id === rid(made));
        expect(row?.exh_body_type).toBe('HTML');
        expect(String(row?.exh_body)).toContain('<b>budget</b>');
      });
    });

    it('a meeting lands in the organizer’s and both attendees’ rows, each under its own exh_user', async () => {
      await startConnector();
      await live([alice, bob, carol]);
      emulator.admin.createItem(alice, {
        kind: 'CalendarItem',
        Subject: 'Architecture board',
        Start: '2026-12-02T13:00:00Z',
        End: '2026-12-02T14:00:00Z',
        RequiredAttendees: [bob],
        OptionalAttendees: [carol],
      });
      await eventually(async () => {
        for (const user of [alice, bob, carol]) {
          expect((await rows('calendar_item', user)).map((r) => r.exh_subject)).toContain('Architecture board');
        }
      });
    });

    it('catches up after the connector was stopped: nothing made, changed or deleted meanwhile is lost or doubled', async () => {
      await startConnector();
      await live([alice, bob, carol]);
      const contact = emulator.admin.createItem(carol, { kind: 'Contact', GivenName: 'Kept', Surname: 'Before' });
      const doomed = emulator.admin.createItem(carol, { kind: 'Task', Subject: 'Deleted while down' });
      await eventually(async () => {
        expect((await rows('contact_item', carol)).map((r) => r.exh_item_id)).toContain(rid(contact));
        expect((await rows('task_item', carol)).map((r) => r.exh_item_id)).toContain(rid(doomed));
      });
      await stopConnector();
      const made = emulator.admin.createItem(carol, { kind: 'Task', Subject: 'While nobody watched' });
      emulator.admin.updateItem(carol, contact?.id as string, { Surname: 'Changed while down' });
      emulator.admin.deleteItem(carol, doomed?.id as string);
      const appointment = emulator.admin.createItem(carol, {
        kind: 'CalendarItem',
        Subject: 'Booked while down',
        Start: '2026-12-07T08:00:00Z',
        End: '2026-12-07T09:00:00Z',
      });
      await startConnector();
      await eventually(async () => {
        const tasks = await rows('task_item', carol);
        expect(tasks.filter((r) => r.exh_item_id === rid(made))).toHaveLength(1);
        expect(tasks.map((r) => r.exh_item_id)).not.toContain(rid(doomed));
        expect((await rows('contact_item', carol)).filter((r) => r.exh_item_id === rid(contact))).toEqual([
          expect.objectContaining({ exh_surname: 'Changed while down' }),
        ]);
        expect((await rows('calendar_item', carol)).filter((r) => r.exh_item_id === rid(appointment))).toHaveLength(1);
      });
    });

    it.each(['pull', 'push'] as const)('carries changes live with %s notifications too', async (kind) => {
      await startConnector(kind);
      await live([alice, bob, carol]);
      const made = emulator.admin.createItem(bob, {
        kind: 'Contact',
        GivenName: `Via ${kind}`,
        Surname: 'Notification',
      });
      await eventually(async () => {
        expect((await rows('contact_item', bob)).find((r) => r.exh_item_id === rid(made))).toMatchObject({
          exh_given_name: `Via ${kind}`,
        });
      });
    });

    it('keeps two items whose ids differ only in case apart', async () => {
      await startConnector();
      await live([alice, bob, carol]);
      const upper = emulator.admin.createItem(carol, {
        kind: 'Task',
        Subject: 'upper',
        id: 'AAMkACASEDIFFERSE2E0000==',
      });
      const lower = emulator.admin.createItem(carol, {
        kind: 'Task',
        Subject: 'lower',
        id: 'AAMkAcaseDiffersE2E0000==',
      });
      await eventually(async () => {
        const byId = new Map((await rows('task_item', carol)).map((r) => [r.exh_item_id, r.exh_subject]));
        expect(byId.get(rid(upper))).toBe('upper');
        expect(byId.get(rid(lower))).toBe('lower');
      });
    });

    it('text bodies and sync.maxBodyLength: a long body arrives cut, and the log says so', async () => {
      await startConnector('streaming', { htmlBody: false, maxBodyLength: 20 });
      await live([alice, bob, carol]);
      const made = emulator.admin.createItem(alice, {
        kind: 'Task',
        Subject: 'Long notes',
        Body: { BodyType: 'HTML', value: '<p>This body is <b>much</b> longer than twenty characters.</p>' },
      });
      await eventually(async () => {
        const row = (await rows('task_item', alice)).find((r) => r.exh_item_id === rid(made));
        expect(row?.exh_body_type).toBe('Text');
        expect(row?.exh_body).toHaveLength(20);
        expect(String(row?.exh_body)).not.toContain('<');
      });
      expect(records.some((r) => r.itemId === rid(made) && String(r.msg).includes('sync.maxBodyLength'))).toBe(true);
    });

    it('records a poison item in exh_log and synchronises the rest of the mailbox', async () => {
      await admin.query(`
      create or replace function ${schema}.refuse_poison() returns trigger language plpgsql as $$
      begin
        if new.exh_subject = 'poison' then raise exception 'task_item refuses this row'; end if;
        return new;
      end $$;
      create trigger refuse_poison before insert or update on ${schema}.task_item
        for each row execute function ${schema}.refuse_poison();`);
      try {
        await startConnector();
        await live([alice, bob, carol]);
        const poison = emulator.admin.createItem(alice, { kind: 'Task', Subject: 'poison' });
        const good = emulator.admin.createItem(alice, { kind: 'Task', Subject: 'good' });
        await eventually(async () => {
          const ids = (await rows('task_item', alice)).map((r) => r.exh_item_id);
          expect(ids).toContain(rid(good));
          expect(ids).not.toContain(rid(poison));
          const log = await admin.query(`select exh_message from ${schema}.exh_log where exh_user = $1`, [alice]);
          expect(log.rows.map((r) => r.exh_message).join('\n')).toContain(String(rid(poison)));
        });
      } finally {
        await admin.query(`drop trigger refuse_poison on ${schema}.task_item`);
      }
    });

    it('a recurring series: the master and its occurrences up to sync.maxSyncedRecurrences, each with its original start', async () => {
      await startConnector('streaming', { maxSyncedRecurrences: 3 });
      await live([alice, bob, carol]);
      const series = emulator.admin.createItem(bob, {
        kind: 'CalendarItem',
        Subject: 'Stand-up',
        Start: '2027-01-04T09:00:00Z',
        End: '2027-01-04T09:15:00Z',
        Recurrence: {
          WeeklyRecurrence: { Interval: 1, DaysOfWeek: 'Monday' },
          NumberedRecurrence: { StartDate: '2027-01-04', NumberOfOccurrences: 5 },
        },
      });
      await eventually(async () => {
        const standUps = (await rows('calendar_item', bob)).filter((r) => String(r.exh_subject).startsWith('Stand-up'));
        // The master and three occurrences, each with its original start.
        expect(standUps).toHaveLength(4);
        expect(standUps.filter((r) => r.exh_occurrence_original_start !== null)).toHaveLength(3);
        expect(standUps.find((r) => r.exh_item_id === rid(series))?.exh_is_recurring).toBe(true);
      });
    });

    it('disables a user without a mailbox, says why in exh_log, and keeps the others running', async () => {
      const ghost = 'ghost@contoso.test';
      await admin.query(`insert into ${schema}.app_user (exh_user) values ($1)`, [ghost]);
      try {
        await startConnector();
        await live([alice, bob, carol]);
        await eventually(async () => {
          expect(records.some((r) => r.event === 'mailbox.disabled' && r.user === ghost)).toBe(true);
          const log = await admin.query(`select exh_code from ${schema}.exh_log where exh_user = $1`, [ghost]);
          expect(log.rows.map((r) => r.exh_code)).toContain('EXH_EXCHANGE_MAILBOX_NOT_FOUND');
        });
      } finally {
        await admin.query(`delete from ${schema}.app_user where exh_user = $1`, [ghost]);
      }
    });

    it('starts a folder again from the beginning when Exchange rejects its sync state, without duplicating a row', async () => {
      await startConnector();
      await live([alice, bob, carol]);
      const first = emulator.admin.createItem(carol, { kind: 'Contact', GivenName: 'Before', Surname: 'Reset' });
      await eventually(async () =>
        expect((await rows('contact_item', carol)).map((r) => r.exh_item_id)).toContain(rid(first)),
      );
      world.rejectSyncState(carol);
      const second = emulator.admin.createItem(carol, { kind: 'Contact', GivenName: 'After', Surname: 'Reset' });
      await eventually(async () => {
        const ids = (await rows('contact_item', carol)).map((r) => r.exh_item_id);
        expect(ids).toContain(rid(second));
        expect(ids.filter((id) => id === rid(first))).toHaveLength(1);
      });
      expect(records.some((r) => r.user === carol && String(r.msg).includes('rejected the sync state'))).toBe(true);
    });

    it('after a rejected sync state, rows of items deleted in the gap go too (compared with exh_get_item_*)', async () => {
      await startConnector();
      await live([alice, bob, carol]);
      const doomed = emulator.admin.createItem(bob, { kind: 'Contact', GivenName: 'Deleted', Surname: 'InTheGap' });
      const staying = emulator.admin.createItem(bob, { kind: 'Contact', GivenName: 'Still', Surname: 'Here' });
      await eventually(async () => {
        const ids = (await rows('contact_item', bob)).map((r) => r.exh_item_id);
        expect(ids).toEqual(expect.arrayContaining([rid(doomed), rid(staying)]));
      });
      await stopConnector();
      emulator.admin.deleteItem(bob, doomed?.id as string);
      // Exchange has forgotten the contacts folder's sync state (bob synchronises only contacts now, so the one
      // SyncFolderItems the fault hits is the contacts folder's): the deletion can never come as a deletion.
      await admin.query(
        `update ${schema}.app_user set sync_calendar = false, sync_email = false, sync_task = false where exh_user = $1`,
        [bob],
      );
      world.rejectSyncState(bob);
      try {
        await startConnector();
        await live([alice, bob, carol]);
        await eventually(async () => {
          expect(records.some((r) => r.user === bob && String(r.msg).includes('rejected the sync state'))).toBe(true);
          const ids = (await rows('contact_item', bob)).map((r) => r.exh_item_id);
          expect(ids).not.toContain(rid(doomed));
          expect(ids.filter((id) => id === rid(staying))).toHaveLength(1);
        });
      } finally {
        await admin.query(
          `update ${schema}.app_user set sync_calendar = true, sync_email = true, sync_task = true where exh_user = $1`,
          [bob],
        );
      }
    });

    it('a recurring series with an exception and a deleted occurrence: the row changes, and the deleted one goes', async () => {
      await startConnector('streaming', { maxSyncedRecurrences: 4 });
      await live([alice, bob, carol]);
      const series = emulator.admin.createItem(carol, {
        kind: 'CalendarItem',
        Subject: 'Weekly 1:1',
        Start: '2027-02-01T10:00:00Z',
        End: '2027-02-01T10:30:00Z',
        Recurrence: {
          WeeklyRecurrence: { Interval: 1, DaysOfWeek: 'Monday' },
          NumberedRecurrence: { StartDate: '2027-02-01', NumberOfOccurrences: 4 },
        },
      });
      const oneOnOnes = async () =>
        (await rows('calendar_item', carol)).filter((r) => String(r.exh_subject).startsWith('Weekly 1:1'));
      await eventually(async () => expect(await oneOnOnes()).toHaveLength(5));
      const [first, second] = emulator.admin.occurrences(
        carol,
        series?.id as string,
        '2027-01-01T00:00:00Z',
        '2027-03-01T00:00:00Z',
      );
      emulator.admin.updateItem(carol, first?.id as string, { Subject: 'Weekly 1:1 (moved to the terrace)' });
      emulator.admin.deleteItem(carol, second?.id as string);
      await eventually(async () => {
        const now = await oneOnOnes();
        expect(now).toHaveLength(4);
        expect(now.map((r) => r.exh_subject)).toContain('Weekly 1:1 (moved to the terrace)');
        expect(now.map((r) => r.exh_item_id)).not.toContain(rid(second));
      });
    });

    it("gives attendees' copies of a meeting the application created the organizer's exh_app_item_id, found by UID", async () => {
      await startConnector();
      await live([alice, bob, carol]);
      // As the connector writes a meeting for the application (database → Exchange): the link UID → application id
      // first, then the meeting with that UID and the id in the connector's extended property, which Exchange keeps on
      // the organizer's copy only. The attendees' copies get the same UID and nothing else.
      const uid = `exh-${randomBytes(6).toString('hex')}`;
      await admin.query(`insert into ${schema}.exh_meeting (exh_uid, exh_app_item_id) values ($1, 'budget-2027')`, [
        uid,
      ]);
      emulator.admin.createItem(alice, {
        kind: 'CalendarItem',
        UID: uid,
        Subject: 'Budget 2027',
        Start: '2026-12-10T14:00:00Z',
        End: '2026-12-10T15:00:00Z',
        RequiredAttendees: [bob],
        OptionalAttendees: [carol],
        ExtendedProperties: [
          {
            PropertySetId: appItemIdProperty.propertySetId,
            PropertyName: appItemIdProperty.name,
            Value: 'budget-2027',
          },
        ],
      });
      await eventually(async () => {
        for (const user of [alice, bob, carol]) {
          const copy = (await rows('calendar_item', user)).find((r) => r.exh_subject === 'Budget 2027');
          expect(copy?.exh_app_item_id, user).toBe('budget-2027');
        }
      });
    });

    it('database → Exchange through the outbox: a row the application adds appears in the mailbox and gets its item id back', async () => {
      await startConnector();
      await live([alice, bob, carol]);
      await admin.query(
        `insert into ${schema}.task_item (exh_app_item_id, exh_user, exh_subject, exh_percent_complete)
       values ('app-task-1', $1, 'Written by the application', 10)`,
        [carol],
      );
      await eventually(async () => {
        const outbox = await admin.query(
          `select exh_state, exh_output_value from ${schema}.exh_outbox where exh_user = $1`,
          [carol],
        );
        expect(outbox.rows).toEqual([{ exh_state: 'done', exh_output_value: expect.any(String) }]);
        const row = (await rows('task_item', carol)).find((r) => r.exh_app_item_id === 'app-task-1');
        // The echo from Exchange finds the row by its application id and gives it the Exchange item id.
        expect(row?.exh_item_id).toBe(outbox.rows[0]?.exh_output_value);
        expect(emulator.admin.item(carol, row?.exh_item_id as string).properties.Subject).toBe(
          'Written by the application',
        );
      });
      expect((await rows('task_item', carol)).filter((r) => r.exh_app_item_id === 'app-task-1')).toHaveLength(1);
    });

    it('database → Exchange through the listener: a sender gets the new item id back, a wrong token changes nothing', async () => {
      await startConnector();
      await live([alice, bob, carol]);
      const setUp = Object.fromEntries(
        (await admin.query(`select exh_parameter, exh_value from ${schema}.exh_set_up`)).rows.map((r) => [
          r.exh_parameter,
          r.exh_value,
        ]),
      );
      const target = { host: setUp.exh_ip_address as string, port: Number(setUp.exh_ip_address_port) };
      const request = {
        type: 'item' as const,
        action: 'add' as const,
        itemType: 'contact' as const,
        user: bob,
        fields: { app_item_id: 'app-contact-7', given_name: 'Fox', surname: 'Mulder', company: 'FBI & Co <X-Files>' },
      };
      const refused = await sendRequest(
        target,
        { ...request, token: 'not-the-token-0123456789' },
        { timeoutMs: 10_000 },
      );
      expect(refused.exitCode).toBe(1);
      expect(emulator.admin.items(bob, 'contacts').filter((i) => i.properties.Surname === 'Mulder')).toEqual([]);

      const reply = await sendRequest(
        target,
        { ...request, token: setUp.exh_listener_token as string },
        { timeoutMs: 10_000 },
      );
      expect(reply).toEqual({ exitCode: 0, outputValue: expect.any(String), errorMessage: null });
      const made = emulator.admin.item(bob, reply.outputValue as string);
      expect(made.properties).toMatchObject({ GivenName: 'Fox', Surname: 'Mulder', CompanyName: 'FBI & Co <X-Files>' });
      // The echo comes back as a row of its own with the application's id.
      await eventually(async () => {
        expect((await rows('contact_item', bob)).filter((r) => r.exh_app_item_id === 'app-contact-7')).toEqual([
          expect.objectContaining({ exh_item_id: reply.outputValue, exh_surname: 'Mulder' }),
        ]);
      });
      expect(
        (await sendRequest(target, { type: 'ping', token: setUp.exh_listener_token as string }, { timeoutMs: 5_000 }))
          .outputValue,
      ).toBe('pong');
    });
  },
);
