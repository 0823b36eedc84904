import { describe, expect, it } from 'vitest';
import { type ExhError, errors, isExhError } from '../../../src/errors.js';
import { itemType, itemTypes } from '../../../src/items/index.js';
import { Connections } from '../../../src/mailbox/connections.js';
import { syncMailboxItemType } from '../../../src/mailbox/item-type-sync.js';
import { CommittedWatermarks, SyncLocks } from '../../../src/mailbox/sync-locks.js';
import type { ChangeBatch, DatabasePort, ItemTypeName } from '../../../src/ports/database.port.js';
import type {
  FolderName,
  MailboxConnection,
  SubscriptionEvent,
  SyncFolderOptions,
  SyncPage,
} from '../../../src/ports/exchange.port.js';
import { decodeCompare, decodeWatermark } from '../../../src/sync/decisions/watermark.js';
import { syncItemType } from '../../../src/sync/executors/sync-item-type.js';
import { alice, bob, type MemoryWorld, useMemoryWorld } from '../../support/memory-world.js';

/**
 * syncItemType (catch-up and live sync of one item type) on the in-memory Exchange and PGlite with the example
 * application: every built-in type read into its table, page by page, then kept live; a sync state Exchange no
 * longer takes; recurring series; meeting messages. Nothing here is EWS: the core is driven through the port alone.
 */
let world: MemoryWorld;
useMemoryWorld((made) => {
  world = made;
});

/**
 * The mailbox's item-type service (src/mailbox/item-type-sync.ts) over alice's mailbox: each run syncs a type from its
 * stored watermark; the runs share the service's locks and committed watermarks, as one mailbox's do.
 */
async function mailboxItemTypeService() {
  const connections = new Connections();
  connections.set(alice, await world.connect(alice));
  const service = {
    db: world.db,
    connections,
    settings: world.settings(),
    logger: world.logger,
    locks: new SyncLocks(),
    committed: new CommittedWatermarks(),
  };
  return async (itemType: ItemTypeName) =>
    syncMailboxItemType(service, {
      user: alice,
      itemType,
      watermark: await world.watermark(alice, itemType),
      signal: world.call.signal,
    });
}

const contact = (displayName: string, more: Record<string, string> = {}) =>
  world.admin.makeItem(alice, { itemClass: 'IPM.Contact', folder: 'contacts', properties: { displayName, ...more } });

describe('catch-up of every built-in type', () => {
  it('reads each folder of each type into its table, mapped by the definition, without echoing to the outbox', async () => {
    const meeting = world.admin.makeItem(alice, {
      itemClass: 'IPM.Appointment',
      folder: 'calendar',
      properties: {
        subject: 'Planning',
        location: 'Room 1',
        start: '2026-03-02T09:00:00.000Z',
        end: '2026-03-02T10:00:00.000Z',
        isAllDay: false,
        freeBusy: 'Busy',
        categories: ['Blue', 'Work'],
        requiredAttendees: [bob],
        reminderSet: true,
        reminderMinutes: 15,
      },
    });
    const dana = contact('Dana Scully', {
      givenName: 'Dana',
      surname: 'Scully',
      businessPhone: '+1 202 555 0100',
      'businessAddress.city': 'Washington',
      birthday: '1964-02-23',
    });
    // A distribution list lives in Contacts too, and is no contact.
    world.admin.makeItem(alice, { itemClass: 'IPM.DistList', folder: 'contacts', properties: { displayName: 'Team' } });
    const received = world.admin.makeItem(alice, {
      itemClass: 'IPM.Note',
      folder: 'inbox',
      properties: { subject: 'Hello', from: bob, to: [alice], body: 'Hi Alice', isRead: false },
    });
    const sent = world.admin.makeItem(alice, {
      itemClass: 'IPM.Note',
      folder: 'drafts',
      properties: { subject: 'Re: Hello', to: [bob], body: 'Hi Bob' },
      send: true,
    });
    const task = world.admin.makeItem(alice, {
      itemClass: 'IPM.Task',
      folder: 'tasks',
      properties: {
        subject: 'File report',
        dueDate: '2026-03-06T17:00:00.000Z',
        status: 'InProgress',
        percentComplete: 50,
      },
    });

    for (const definition of itemTypes) {
      const outcome = await world.sync(alice, definition.name);
      expect(outcome, definition.name).toMatchObject({ failed: 0, restarted: false });
    }

    expect(await world.rows('calendar', alice)).toEqual([
      expect.objectContaining({
        exh_item_id: meeting.id,
        exh_subject: 'Planning',
        exh_location: 'Room 1',
        exh_start: new Date('2026-03-02T09:00:00.000Z'),
        exh_end: new Date('2026-03-02T10:00:00.000Z'),
        exh_all_day: false,
        exh_free_busy_status: 'Busy',
        exh_categories: 'Blue; Work',
        exh_required_attendees: bob,
        exh_organizer: alice,
        exh_is_meeting: true,
        exh_reminder: 15,
        exh_is_recurring: null,
      }),
    ]);
    expect(await world.rows('contact', alice)).toEqual([
      expect.objectContaining({
        exh_item_id: dana.id,
        exh_display_name: 'Dana Scully',
        exh_surname: 'Scully',
        exh_business_phone: '+1 202 555 0100',
        exh_business_city: 'Washington',
        exh_home_city: null,
      }),
    ]);
    const emails = await world.rows('email', alice);
    expect(emails).toEqual([
      expect.objectContaining({
        exh_item_id: received.id,
        exh_subject: 'Hello',
        exh_from: bob,
        exh_is_read: false,
        exh_direction: 'incoming',
        exh_folder: 'Inbox',
      }),
      expect.objectContaining({
        exh_item_id: sent.id,
        exh_subject: 'Re: Hello',
        exh_to: bob,
        exh_from: alice,
        exh_direction: 'outgoing',
        exh_folder: 'Sent Items',
      }),
    ]);
    expect(await world.rows('task', alice)).toEqual([
      expect.objectContaining({
        exh_item_id: task.id,
        exh_subject: 'File report',
        exh_due: new Date('2026-03-06T17:00:00.000Z'),
        exh_status: 'InProgress',
        exh_percent_complete: 50,
      }),
    ]);
    // The connector's own writes into the application's tables are not sent back to Exchange.
    expect(await world.outbox()).toEqual([]);
    // Each type's watermark holds a state for each of its folders, e-mail two.
    expect(Object.keys(decodeWatermark(await world.watermark(alice, 'email')))).toEqual(['inbox', 'sentitems']);
    expect(Object.keys(decodeWatermark(await world.watermark(alice, 'contact')))).toEqual(['contacts']);
  });
});

describe('paging', () => {
  it('commits a small page size page by page, and a catch-up cut short resumes after its last page', async () => {
    for (const name of ['Ann', 'Ben', 'Cid', 'Dot', 'Eve']) contact(name);
    const committed: string[] = [];
    const first = await world.sync(alice, 'contact', { pageSize: 2 }, { onCommitted: (w) => committed.push(w) });
    expect(first.applied).toBe(5);
    // Three pages (2, 2, 1), each with a watermark of its own: more was waiting after the first two.
    expect(committed).toHaveLength(3);
    expect(new Set(committed).size).toBe(3);
    expect((await world.rows('contact', alice)).map((row) => row.exh_display_name)).toEqual([
      'Ann',
      'Ben',
      'Cid',
      'Dot',
      'Eve',
    ]);

    // A run that stopped after its first page starts from that page's watermark: only the rest comes again.
    const resumed = await world.sync(alice, 'contact', { pageSize: 2 }, { from: committed[0] as string });
    expect(resumed.applied).toBe(3);
    expect(await world.rows('contact', alice)).toHaveLength(5);
  });
});

describe('live changes', () => {
  it('after catch-up brings only what changed: a change, a new item, a deletion and a read flag', async () => {
    const ann = contact('Ann', { jobTitle: 'Clerk' });
    const ben = contact('Ben');
    const mail = world.admin.makeItem(alice, {
      itemClass: 'IPM.Note',
      folder: 'inbox',
      properties: { subject: 'Lunch?', from: bob, isRead: false },
    });
    await world.sync(alice, 'contact');
    await world.sync(alice, 'email');
    const [annRow] = await world.rows('contact', alice);

    // The subscription only says "look again" for the folder; the sync reads what changed.
    const events: SubscriptionEvent[] = [];
    const connection = await world.connect(alice);
    const subscription = await connection.subscribe(['contacts'], 'streaming', (e) => events.push(e), world.call);
    world.admin.changeItem(alice, ann.id, { jobTitle: 'Manager' });
    world.admin.deleteItem(alice, ben.id);
    const cid = contact('Cid');
    world.admin.markRead(alice, mail.id, true);
    await Promise.resolve();
    expect(events).toContainEqual({ type: 'changed', folders: ['contacts'] });
    await subscription.close();

    expect(await world.sync(alice, 'contact')).toMatchObject({ applied: 3, failed: 0 });
    const rows = await world.rows('contact', alice);
    expect(rows.map((row) => [row.exh_item_id, row.exh_display_name, row.exh_job_title])).toEqual([
      [ann.id, 'Ann', 'Manager'],
      [cid.id, 'Cid', null],
    ]);
    // Changed in place: the same row, the application's id kept.
    expect(rows[0]?.id).toBe(annRow?.id);
    expect(rows[0]?.exh_app_item_id).toBe(annRow?.exh_app_item_id);

    // Only the read flag changed: the row's other values stay as they were.
    expect(await world.sync(alice, 'email')).toMatchObject({ applied: 1 });
    expect(await world.rows('email', alice)).toEqual([
      expect.objectContaining({ exh_item_id: mail.id, exh_is_read: true, exh_subject: 'Lunch?', exh_from: bob }),
    ]);
    // Nothing more: a sync without changes applies nothing.
    expect(await world.sync(alice, 'contact')).toMatchObject({ applied: 0 });
    expect(await world.outbox()).toEqual([]);
  });
});

describe('a sync state Exchange no longer takes', () => {
  it('reads the folder again without duplicates, and the comparison finds what was deleted in the gap', async () => {
    const ann = contact('Ann');
    const ben = contact('Ben');
    await world.sync(alice, 'contact');
    const before = await world.rows('contact', alice);

    // While the state is forgotten, Ben is deleted and Ann changed: a full read cannot report the deletion.
    world.admin.deleteItem(alice, ben.id);
    world.admin.changeItem(alice, ann.id, { jobTitle: 'Manager' });
    world.admin.forgetSyncStates(alice, 'contacts');
    const outcome = await world.sync(alice, 'contact');
    expect(outcome.restarted).toBe(true);
    const reread = await world.rows('contact', alice);
    expect(reread.map((row) => [row.id, row.exh_display_name, row.exh_job_title])).toEqual([
      [before[0]?.id, 'Ann', 'Manager'],
      [before[1]?.id, 'Ben', null],
    ]);
    // The need to compare is kept in the stored watermark, so a stop here does not forget it.
    expect(decodeCompare(await world.watermark(alice, 'contact'))).toBe(true);
    expect((await world.sync(alice, 'contact')).restarted).toBe(true);

    // The mailbox's item-type service finishes the job: it compares, deletes the rows whose item is gone, and only
    // then writes a watermark that no longer asks for the comparison.
    const run = await mailboxItemTypeService();
    expect(await run('contact')).toMatchObject({ applied: 1, failed: 0 });
    expect((await world.rows('contact', alice)).map((row) => row.exh_item_id)).toEqual([ann.id]);
    expect(decodeCompare(await world.watermark(alice, 'contact'))).toBe(false);
    expect(await run('contact')).toMatchObject({ applied: 0 });
  });
});

describe('a backend that reads the calendar within a window (the shape of Microsoft Graph)', () => {
  const appointment = (subject: string, day: string) =>
    world.admin.makeItem(alice, {
      itemClass: 'IPM.Appointment',
      folder: 'calendar',
      properties: { subject, start: `${day}T09:00:00.000Z`, end: `${day}T10:00:00.000Z` },
    });

  it('a rolled window starts the folder over, and the comparison deletes only rows inside it', async () => {
    const old = appointment('Kick-off', '2025-01-10');
    const kept = appointment('Review', '2026-06-10');
    const gone = appointment('Retro', '2026-06-11');
    await world.sync(alice, 'calendar');
    expect((await world.rows('calendar', alice)).map((row) => row.exh_subject).sort()).toEqual([
      'Kick-off',
      'Retro',
      'Review',
    ]);

    // While the window rolls, Retro is deleted: the fresh round cannot report it, the comparison must.
    world.admin.deleteItem(alice, gone.id);
    world.admin.readWithin(alice, 'calendar', { from: '2026-01-01T00:00:00.000Z', until: '2027-01-01T00:00:00.000Z' });
    const outcome = await world.sync(alice, 'calendar');
    expect(outcome.restarted).toBe(true);
    expect(decodeCompare(await world.watermark(alice, 'calendar'))).toBe(true);

    const run = await mailboxItemTypeService();
    await run('calendar');
    // Kick-off lies before the window: the backend said nothing about it, so its row stays.
    expect((await world.rows('calendar', alice)).map((row) => row.exh_item_id).sort()).toEqual(
      [old.id, kept.id].sort(),
    );
    expect(decodeCompare(await world.watermark(alice, 'calendar'))).toBe(false);
  });

  it('within an unchanged window nothing starts over, and items outside it are neither reported nor deleted', async () => {
    world.admin.readWithin(alice, 'calendar', { from: '2026-01-01T00:00:00.000Z', until: '2027-01-01T00:00:00.000Z' });
    appointment('Review', '2026-06-10');
    const first = await world.sync(alice, 'calendar');
    expect(first.restarted).toBe(false);
    appointment('Kick-off', '2025-01-10');
    const second = await world.sync(alice, 'calendar');
    expect(second).toMatchObject({ restarted: false, applied: 0 });
    expect((await world.rows('calendar', alice)).map((row) => row.exh_subject)).toEqual(['Review']);
  });
});

describe('recurring series', () => {
  it('synchronises each occurrence as a row, and follows an occurrence deleted and the series changed and deleted', async () => {
    const at = (day: number, time: string) => `2026-04-0${day}T${time}:00.000Z`;
    const series = world.admin.makeItem(alice, {
      itemClass: 'IPM.Appointment',
      folder: 'calendar',
      properties: { subject: 'Standup', start: at(6, '09:00'), end: at(6, '09:15'), recurrence: 'Daily, 3 times' },
      occurrences: [6, 7, 8].map((day) => ({ start: at(day, '09:00'), end: at(day, '09:15') })),
    });
    const settings = { maxSyncedRecurrences: 10 };
    await world.sync(alice, 'calendar', settings);
    const rows = await world.rows('calendar', alice);
    expect(rows.map((row) => [row.exh_subject, row.exh_is_recurring, row.exh_occurrence_original_start])).toEqual([
      ['Standup', true, null],
      ['Standup', true, new Date(at(6, '09:00'))],
      ['Standup', true, new Date(at(7, '09:00'))],
      ['Standup', true, new Date(at(8, '09:00'))],
    ]);
    // The occurrence ids reported per series travel in the adapter's continuation, not beside it.
    const occurrenceIds = rows.slice(1).map((row) => row.exh_item_id);
    expect(Object.keys(JSON.parse((await world.watermark(alice, 'calendar')) as string))).toEqual(['calendar']);

    // Exchange reports a deleted occurrence only as a change of its series.
    world.admin.deleteItem(alice, occurrenceIds[1] as string);
    world.admin.changeItem(alice, series.id, { subject: 'Standup (room 2)' });
    await world.sync(alice, 'calendar', settings);
    expect((await world.rows('calendar', alice)).map((row) => [row.exh_item_id, row.exh_subject])).toEqual([
      [series.id, 'Standup (room 2)'],
      [occurrenceIds[0], 'Standup (room 2)'],
      [occurrenceIds[2], 'Standup (room 2)'],
    ]);

    // The series deleted takes its occurrences' rows with it.
    world.admin.deleteItem(alice, series.id);
    await world.sync(alice, 'calendar', settings);
    expect(await world.rows('calendar', alice)).toEqual([]);
  });

  it('keeps the occurrence rows of a series Exchange would not expand this time, records why, and catches up later', async () => {
    const at = (day: number) => `2026-04-0${day}T09:00:00.000Z`;
    const series = world.admin.makeItem(alice, {
      itemClass: 'IPM.Appointment',
      folder: 'calendar',
      properties: { subject: 'Standup', start: at(6), end: at(6) },
      occurrences: [6, 7, 8].map((day) => ({ start: at(day), end: at(day) })),
    });
    const settings = { maxSyncedRecurrences: 10 };
    await world.sync(alice, 'calendar', settings);
    const occurrenceIds = (await world.rows('calendar', alice)).slice(1).map((row) => row.exh_item_id);

    world.admin.deleteItem(alice, occurrenceIds[0] as string);
    world.admin.failOccurrences(alice, series.id, errors.exchangeRequestFailed('memory://', 'refused', 'too many'));
    expect(await world.sync(alice, 'calendar', settings)).toMatchObject({ applied: 1, failed: 1 });
    expect((await world.rows('calendar', alice)).map((row) => row.exh_item_id)).toEqual([series.id, ...occurrenceIds]);
    expect(await world.log()).toEqual([
      {
        exh_code: 'EXH_EXCHANGE_REQUEST_FAILED',
        exh_message: expect.stringContaining(`${series.id} could not be read: its occurrences could not be read`),
      },
    ]);
    // The next change of the series reads its occurrences again: the one deleted meanwhile goes.
    world.admin.changeItem(alice, series.id, { subject: 'Standup (room 2)' });
    await world.sync(alice, 'calendar', settings);
    expect((await world.rows('calendar', alice)).map((row) => [row.exh_item_id, row.exh_subject])).toEqual([
      [series.id, 'Standup (room 2)'],
      [occurrenceIds[1], 'Standup (room 2)'],
      [occurrenceIds[2], 'Standup (room 2)'],
    ]);
  });

  it('hands the series of a watermark of the earlier format to the adapter with the first call only, and never stores them again', async () => {
    world.admin.makeItem(alice, { itemClass: 'IPM.Appointment', folder: 'calendar', properties: { subject: 'One' } });
    await world.sync(alice, 'calendar');
    const stored = JSON.parse((await world.watermark(alice, 'calendar')) as string) as Record<string, string>;
    const earlier = JSON.stringify({ ...stored, series: { 'master-id': ['occurrence-id'] } });
    for (const subject of ['Two', 'Three']) {
      world.admin.makeItem(alice, { itemClass: 'IPM.Appointment', folder: 'calendar', properties: { subject } });
    }
    const known: unknown[] = [];
    const connection = await world.connect(alice);
    const spy = new Proxy(connection, {
      get: (target, property, receiver) =>
        property === 'syncFolder'
          ? (folder: FolderName, from: string | null, options: SyncFolderOptions) => {
              known.push(options.knownOccurrences);
              return target.syncFolder(folder, from, options);
            }
          : Reflect.get(target, property, receiver),
    });
    const run = (watermark: string) =>
      syncItemType(
        {
          db: world.db,
          connection: spy,
          definition: itemType('calendar'),
          settings: world.settings({ pageSize: 1 }),
          logger: world.logger,
        },
        { user: alice, watermark, signal: world.call.signal },
      );
    const { watermark } = await run(earlier);
    expect(known).toEqual([{ 'master-id': ['occurrence-id'] }, undefined]);
    expect(JSON.parse(watermark)).toEqual({ calendar: expect.any(String) });
    expect(await world.watermark(alice, 'calendar')).toBe(watermark);
    known.length = 0;
    await run(watermark);
    expect(known).toEqual([undefined]);
  });

  it('with sync.maxSyncedRecurrences 0 asks for no occurrences, and only types with series ever ask', async () => {
    const asked: Array<[string, number | undefined]> = [];
    const connection = await world.connect(alice);
    const spy = new Proxy(connection, {
      get: (target, property, receiver) =>
        property === 'syncFolder'
          ? (folder: FolderName, from: string | null, options: SyncFolderOptions) => {
              asked.push([folder, options.occurrences]);
              return target.syncFolder(folder, from, options);
            }
          : Reflect.get(target, property, receiver),
    });
    const run = (type: 'calendar' | 'task', maxSyncedRecurrences: number) =>
      syncItemType(
        {
          db: world.db,
          connection: spy,
          definition: itemType(type),
          settings: world.settings({ maxSyncedRecurrences }),
          logger: world.logger,
        },
        { user: alice, watermark: null, signal: world.call.signal },
      );
    await run('calendar', 0);
    await run('calendar', 5);
    await run('task', 5);
    expect(asked).toEqual([
      ['calendar', undefined],
      ['calendar', 5],
      ['tasks', undefined],
    ]);
  });
});

describe('meeting messages in the Inbox', () => {
  // Alice invites Bob: his calendar gets the meeting, his Inbox the request.
  const inviteBob = () =>
    world.admin.makeItem(alice, {
      itemClass: 'IPM.Appointment',
      folder: 'calendar',
      properties: {
        subject: 'Review',
        start: '2026-05-04T13:00:00.000Z',
        end: '2026-05-04T14:00:00.000Z',
        requiredAttendees: [bob],
      },
    });

  it('are skipped unless sync.meetingRequestsResponses', async () => {
    inviteBob();
    world.admin.makeItem(bob, {
      itemClass: 'IPM.Note',
      folder: 'inbox',
      properties: { subject: 'Coffee', from: alice },
    });
    expect(world.admin.listFolder(bob, 'inbox').map((item) => item.itemClass)).toEqual([
      'IPM.Schedule.Meeting.Request',
      'IPM.Note',
    ]);

    await world.sync(bob, 'email');
    expect((await world.rows('email', bob)).map((row) => row.exh_subject)).toEqual(['Coffee']);

    await world.sync(bob, 'email', { meetingRequestsResponses: true }, { from: null });
    expect((await world.rows('email', bob)).map((row) => row.exh_subject).sort()).toEqual(['Coffee', 'Review']);
  });

  // Found by this adapter: a read flag reported without the item made a row of is_read alone for an item the type
  // skips; the port now reports every change of an item as the whole item (SyncChange).
  it('a read flag on a skipped meeting request makes no row', async () => {
    inviteBob();
    await world.sync(bob, 'email');
    const [request] = world.admin.listFolder(bob, 'inbox');
    world.admin.markRead(bob, request?.id as string, true);
    await world.sync(bob, 'email');
    expect(await world.rows('email', bob)).toEqual([]);
  });
});

describe('pages read ahead (pipelined: page n + 1 is read while page n is applied)', () => {
  /** Alice's connection with each syncFolder call seen (or answered) by `around`, and the page's continuation. */
  async function connectionWith(
    around: (
      call: { n: number; from: string | null; options: SyncFolderOptions },
      read: () => Promise<SyncPage>,
    ) => Promise<SyncPage>,
  ): Promise<MailboxConnection> {
    const connection = await world.connect(alice);
    let n = 0;
    return new Proxy(connection, {
      get(target, name, receiver) {
        const value = Reflect.get(target, name, receiver);
        if (name !== 'syncFolder') return typeof value === 'function' ? value.bind(target) : value;
        return (folder: FolderName, from: string | null, options: SyncFolderOptions) => {
          n += 1;
          return around({ n, from, options }, () => target.syncFolder(folder, from, options));
        };
      },
    });
  }

  /** The database with applyChanges seen (or replaced) by `around`. */
  function dbWith(around: (batch: ChangeBatch, apply: () => Promise<void>) => Promise<void>): DatabasePort {
    return new Proxy(world.db, {
      get(target, name, receiver) {
        const value = Reflect.get(target, name, receiver);
        if (name !== 'applyChanges') return typeof value === 'function' ? value.bind(target) : value;
        return (batch: ChangeBatch) => around(batch, () => target.applyChanges(batch));
      },
    });
  }

  const run = (db: DatabasePort, connection: MailboxConnection, signal = world.call.signal) =>
    syncItemType(
      {
        db,
        connection,
        definition: itemType('contact'),
        settings: world.settings({ pageSize: 2 }),
        logger: world.logger,
      },
      { user: alice, watermark: null, signal },
    );

  /** A syncFolder answer that never comes; it fails with the signal's reason once its signal is aborted. */
  const hanging = (signal: AbortSignal) =>
    new Promise<SyncPage>((_, reject) => signal.addEventListener('abort', () => reject(signal.reason), { once: true }));

  it('asks for the next page before the one before it is committed, one page ahead at most, and commits in order', async () => {
    for (const name of ['Ann', 'Ben', 'Cid', 'Dot', 'Eve']) contact(name);
    const events: string[] = [];
    let committed = 0;
    const continuations: Array<string | null> = [];
    const connection = await connectionWith(async ({ n, from }, read) => {
      events.push(`read ${n}`);
      continuations.push(from);
      return read();
    });
    const db = dbWith(async (batch, apply) => {
      await apply();
      committed += 1;
      events.push(`commit ${committed}: ${batch.changes.length}`);
    });
    const outcome = await run(db, connection);
    expect(outcome.applied).toBe(5);
    // Read 2 asked for before commit 1, read 3 before commit 2; never two pages ahead.
    expect(events).toEqual(['read 1', 'read 2', 'commit 1: 2', 'read 3', 'commit 2: 2', 'commit 3: 1']);
    // Each read from the page before's continuation; the stored watermark is the last page's.
    expect(continuations[0]).toBeNull();
    expect(new Set(continuations).size).toBe(3);
    expect(decodeWatermark(await world.watermark(alice, 'contact'))).toEqual(decodeWatermark(outcome.watermark));
    expect((await world.rows('contact', alice)).map((row) => row.exh_display_name)).toEqual([
      'Ann',
      'Ben',
      'Cid',
      'Dot',
      'Eve',
    ]);
  });

  it('abandons the page read ahead when the page before fails to apply: nothing of it committed, no stray failure', async () => {
    for (const name of ['Ann', 'Ben', 'Cid']) contact(name);
    const signals: AbortSignal[] = [];
    const connection = await connectionWith(async ({ n, options }, read) => {
      signals.push(options.signal);
      return n === 1 ? read() : hanging(options.signal);
    });
    const lost = errors.databaseConnectionLost('pglite', new Error('gone'));
    const db = dbWith(async () => {
      throw lost;
    });
    await expect(run(db, connection)).rejects.toBe(lost);
    expect(signals).toHaveLength(2);
    // The request ahead is cancelled: its continuation was never committed, so the next run reads it again.
    expect(signals[1]?.aborted).toBe(true);
    expect(await world.watermark(alice, 'contact')).toBeNull();
    expect(await world.rows('contact', alice)).toEqual([]);
  });

  it('a stop while a page is read ahead ends the run with the stop, and the request ahead with it', async () => {
    for (const name of ['Ann', 'Ben', 'Cid']) contact(name);
    const controller = new AbortController();
    const signals: AbortSignal[] = [];
    const connection = await connectionWith(async ({ n, options }, read) => {
      signals.push(options.signal);
      return n === 1 ? read() : hanging(options.signal);
    });
    const db = dbWith(async (_batch, apply) => {
      await apply();
      controller.abort(new Error('stopped'));
    });
    await expect(run(db, connection, controller.signal)).rejects.toThrow('stopped');
    expect(signals[1]?.aborted).toBe(true);
    // The first page was committed before the stop; the rest comes with the next run.
    expect(await world.rows('contact', alice)).toHaveLength(2);
  });

  it('a sync state refused for the page read ahead starts the folder over, without duplicates', async () => {
    for (const name of ['Ann', 'Ben', 'Cid']) contact(name);
    const froms: Array<string | null> = [];
    const connection = await connectionWith(async ({ n, from }, read) => {
      froms.push(from);
      // Exchange forgets the state between answering page 1 and being asked for page 2.
      if (n === 2) world.admin.forgetSyncStates(alice, 'contacts');
      return read();
    });
    const outcome = await run(world.db, connection);
    expect(outcome.restarted).toBe(true);
    expect(froms[0]).toBeNull();
    expect(froms[1]).not.toBeNull();
    expect(froms[2]).toBeNull();
    expect((await world.rows('contact', alice)).map((row) => row.exh_display_name)).toEqual(['Ann', 'Ben', 'Cid']);
    expect(decodeCompare(await world.watermark(alice, 'contact'))).toBe(true);
  });
});

describe('a notification that names its folder', () => {
  it('reads only that folder of the type, and still catches up a folder never read', async () => {
    world.admin.makeItem(alice, {
      itemClass: 'IPM.Note',
      folder: 'inbox',
      properties: { subject: 'Hello', from: bob },
    });
    const connection = await world.connect(alice);
    const read: FolderName[] = [];
    const counting = new Proxy(connection, {
      get(target, name, receiver) {
        const value = Reflect.get(target, name, receiver);
        if (name !== 'syncFolder') return typeof value === 'function' ? value.bind(target) : value;
        return (folder: FolderName, from: string | null, options: SyncFolderOptions) => {
          read.push(folder);
          return target.syncFolder(folder, from, options);
        };
      },
    });
    const run = async (folders?: FolderName[]) =>
      syncItemType(
        {
          db: world.db,
          connection: counting,
          definition: itemType('email'),
          settings: world.settings(),
          logger: world.logger,
        },
        {
          user: alice,
          watermark: await world.watermark(alice, 'email'),
          signal: world.call.signal,
          ...(folders ? { folders } : {}),
        },
      );
    // The first sync has no continuation for Sent Items: it is read whatever the notification named.
    await run(['inbox']);
    expect(read).toEqual(['inbox', 'sentitems']);
    read.length = 0;
    world.admin.makeItem(alice, {
      itemClass: 'IPM.Note',
      folder: 'inbox',
      properties: { subject: 'Again', from: bob },
    });
    expect(await run(['inbox'])).toMatchObject({ applied: 1 });
    expect(read).toEqual(['inbox']);
    // Sent Items keeps its continuation: nothing in it was read again, nothing lost.
    expect(Object.keys(decodeWatermark(await world.watermark(alice, 'email')))).toEqual(['inbox', 'sentitems']);
    read.length = 0;
    await run();
    expect(read).toEqual(['inbox', 'sentitems']);
  });
});

describe('an application change written while a page is on its way (docs/reliability.md, "Conflicts")', () => {
  /**
   * The race the convergence property found under load: the application changes a row right after the sync read the
   * pending outbox rows and before the page is written. The port is the real PGlite one; only the moment is arranged:
   * the application's UPDATE (a real one, whose trigger writes the outbox row) runs as the first read of the pending
   * rows returns.
   */
  /**
   * The real port, watched: every batch it is given, and `afterPendingRead` run as each read of the pending rows
   * returns (the moment an application's change can slip in).
   */
  function watched(afterPendingRead?: (reads: number) => Promise<void>) {
    const batches: ChangeBatch[] = [];
    let reads = 0;
    const db = new Proxy(world.db, {
      get(target, property) {
        if (property === 'pendingItemChanges') {
          return async (user: string, type: ItemTypeName) => {
            const pending = await target.pendingItemChanges(user, type);
            reads += 1;
            await afterPendingRead?.(reads);
            return pending;
          };
        }
        if (property === 'applyChanges') {
          return (batch: ChangeBatch) => {
            batches.push(batch);
            return target.applyChanges(batch);
          };
        }
        const value = Reflect.get(target, property, target);
        return typeof value === 'function' ? value.bind(target) : value;
      },
    }) as DatabasePort;
    return { db, batches, reads: () => reads };
  }

  /** One run of alice's contacts through the watched port; a thrown error is returned. */
  async function syncContacts(db: DatabasePort, rule: 'exchange-wins' | 'database-wins') {
    return syncItemType(
      {
        db,
        connection: await world.connect(alice),
        definition: itemType('contact'),
        settings: world.settings({ conflicts: rule }),
        logger: world.logger,
      },
      { user: alice, watermark: await world.watermark(alice, 'contact'), signal: world.call.signal },
    ).catch((error: unknown) => error as ExhError);
  }

  async function raced(rule: 'exchange-wins' | 'database-wins', everyRead = false) {
    const made = world.admin.makeItem(alice, {
      itemClass: 'IPM.Contact',
      folder: 'contacts',
      properties: { displayName: 'Ann', surname: 'Base' },
    });
    await world.sync(alice, 'contact');
    world.admin.changeItem(alice, made.id, { surname: 'Person' });
    const {
      db,
      batches,
      reads: readsOf,
    } = watched(async (read) => {
      if (read === 1 || everyRead) {
        await world.instance.query('UPDATE contact_item SET exh_surname = $1 WHERE exh_item_id = $2', [
          `App ${read}`,
          made.id,
        ]);
      }
    });
    const watermarkBefore = await world.watermark(alice, 'contact');
    const outcome = await syncContacts(db, rule);
    const reads = readsOf();
    const [row] = await world.rows('contact', alice);
    const outbox = (await world.outbox()).filter((r) => r.exh_action === 'chg');
    const version = (
      await world.instance.query<{ until: string | null }>(
        'SELECT exh_superseded_until::text AS until FROM exh_item_version WHERE exh_item_id = $1',
        [made.id],
      )
    ).rows[0];
    const watermarkAfter = await world.watermark(alice, 'contact');
    return {
      made,
      outcome,
      batches,
      reads,
      row,
      outbox,
      version,
      log: await world.log(),
      watermarkBefore,
      watermarkAfter,
    };
  }

  it('the page is rolled back and weighed again with that change: exchange-wins decides against it', async () => {
    const { outcome, batches, reads, row, outbox, version, log } = await raced('exchange-wins');
    expect(outcome).toMatchObject({ applied: 1 });
    // Tried twice: the first try was weighed against no pending row and met the application's.
    expect(reads).toBe(2);
    expect(batches.map((b) => b.reconciledWith?.pendingIds.length)).toEqual([0, 1]);
    expect(outbox).toHaveLength(1);
    // Exchange won: its value in the row, and the application's row decided against (the outbox fails it).
    expect(row?.exh_surname).toBe('Person');
    expect(version?.until).toBe(String(outbox[0]?.exh_outbox_id));
    expect(log.filter((l) => l.exh_code === 'EXH_SYNC_CONFLICT')).toHaveLength(1);
  });

  it("database-wins: the row keeps the application's value for the outbox to write", async () => {
    const { batches, row, outbox, version } = await raced('database-wins');
    expect(batches).toHaveLength(2);
    expect(row?.exh_surname).toBe('App 1');
    expect(outbox.map((r) => r.exh_state)).toEqual(['pending']);
    expect(version?.until ?? null).toBeNull();
  });

  it('an application that changes the items at every try: ten tries, then EXH_SYNC_PAGE_OVERTAKEN, nothing of the page kept', async () => {
    const { outcome, batches, row, log, watermarkBefore, watermarkAfter } = await raced('database-wins', true);
    expect(isExhError(outcome, 'EXH_SYNC_PAGE_OVERTAKEN'), String(outcome)).toBe(true);
    expect((outcome as ExhError).details).toMatchObject({ user: alice, itemType: 'contact', attempts: 10 });
    expect(batches).toHaveLength(10);
    expect(row?.exh_surname).toBe('App 10');
    expect(watermarkAfter).toBe(watermarkBefore);
    expect(batches[0]?.watermark).not.toBe(watermarkBefore);
    // Decided the same way at every try, recorded once.
    expect(log.filter((l) => l.exh_code === 'EXH_SYNC_CONFLICT')).toHaveLength(1);
  });

  it('without such a change the page is written at once, weighed against the pending rows it read', async () => {
    const made = contact('Cid', { surname: 'Base' });
    await world.sync(alice, 'contact');
    await world.instance.query("UPDATE contact_item SET exh_company = 'Acme' WHERE exh_item_id = $1", [made.id]);
    world.admin.changeItem(alice, made.id, { jobTitle: 'Boss' });
    const { db, batches } = watched();
    await syncContacts(db, 'database-wins');
    const pending = (await world.outbox()).map((r) => String(r.exh_outbox_id));
    expect(batches.map((b) => b.reconciledWith?.pendingIds)).toEqual([pending]);
    const [row] = await world.rows('contact', alice);
    expect([row?.exh_company, row?.exh_job_title]).toEqual(['Acme', 'Boss']);
  });
});
