import { Task, WellKnownFolderName } from 'ews-javascript-api';
import { describe, expect, it } from 'vitest';
import { errors } from '../../../src/errors.js';
import type { EwsConnection, EwsMailbox } from '../../../src/exchange/ews/connection.js';
import { appItemIdDefinition, appItemIdProperty } from '../../../src/exchange/ews/index.js';
import { syncFolder } from '../../../src/exchange/ews/sync.js';
import { calendar, contact, email, type ItemTypeDefinition, task } from '../../../src/items/index.js';
import type {
  ExchangeItem,
  FolderName,
  MailboxConnection,
  SyncChange,
  SyncFolderOptions,
  SyncPage,
} from '../../../src/ports/exchange.port.js';
import { derivedProperties, type ItemProperty } from '../../../src/ports/item-properties.js';
import { aliceTarget, scriptedServer, soapAnswer, testTransport } from './scripted-server.js';
import { alice, bob, janVanDijk, live, startTestEmulator, testAdapter, weeklySeries } from './support.js';

const emulator = await startTestEmulator({
  mailboxes: [alice, bob, 'paging@contoso.test', 'case@contoso.test', 'series@contoso.test'],
});
const adapter = testAdapter(emulator);
const appItemId = [
  { PropertySetId: appItemIdProperty.propertySetId, PropertyName: appItemIdProperty.name, Value: 'A-42' },
];

/** Keys the sync core derives itself (src/sync/decisions/map-item.ts), not read from Exchange. */
const derived = new Set<string>(derivedProperties);

async function syncAll(connection: MailboxConnection, folder: FolderName, bodyType?: 'html' | 'text') {
  const changes: SyncChange[] = [];
  let state: string | null = null;
  for (;;) {
    const page = await connection.syncFolder(folder, state, { ...live(), maxChanges: 512, bodyType });
    changes.push(...page.changes);
    state = page.continuation;
    if (page.done) return { changes, state };
  }
}

function created(changes: SyncChange[], subject: string): ExchangeItem {
  const found = changes.find(
    (c): c is Extract<SyncChange, { item: ExchangeItem }> => 'item' in c && c.item.properties.subject === subject,
  );
  if (!found) throw new Error(`no created item "${subject}"`);
  return found.item;
}

/** Every property the definition reads is there, with the expected value. */
function expectEveryField(definition: ItemTypeDefinition, item: ExchangeItem, expected: Record<string, unknown>) {
  const read = definition.fields.map((f) => f.property).filter((p): p is ItemProperty => !derived.has(p));
  expect(Object.keys(expected).sort()).toEqual([...new Set(read)].sort());
  for (const property of read) expect.soft(item.properties[property], property).toEqual(expected[property]);
}

describe('syncFolder: every field of every item type', () => {
  it('calendar: an appointment with every property set', async () => {
    const made = emulator.admin.createItem(alice, {
      kind: 'CalendarItem',
      Subject: 'Sprint & review',
      Body: { BodyType: 'HTML', value: '<p>Agenda</p>' },
      Start: '2026-01-05T09:00:00Z',
      End: '2026-01-05T10:00:00Z',
      StartTimeZone: 'W. Europe Standard Time',
      Location: 'Room 1',
      RequiredAttendees: [bob],
      OptionalAttendees: ['carol@elsewhere.test'],
      Resources: ['room1@contoso.test'],
      Categories: ['Red', 'Blue'],
      Importance: 'High',
      Sensitivity: 'Private',
      LegacyFreeBusyStatus: 'OOF',
      ReminderIsSet: true,
      ReminderMinutesBeforeStart: 30,
      Recurrence: {
        WeeklyRecurrence: { Interval: 1, DaysOfWeek: 'Monday Wednesday' },
        EndDateRecurrence: { StartDate: '2026-01-05', EndDate: '2026-06-30' },
      },
      ExtendedProperties: appItemId,
      Attachments: [{ Name: 'agenda.txt', Content: 'QWdlbmRh' }],
    });
    const connection = await adapter.connect(alice);
    const { changes } = await syncAll(connection, 'calendar');
    const item = created(changes, 'Sprint & review');
    const stored = emulator.admin.item(alice, made?.id ?? '');
    expect(item).toMatchObject({ id: made?.id, changeKey: stored.changeKey, itemClass: 'IPM.Appointment' });
    expect(item.uid).toBe(stored.properties.UID);
    expectEveryField(calendar, item, {
      appItemId: 'A-42',
      subject: 'Sprint & review',
      body: '<p>Agenda</p>',
      bodyType: 'HTML',
      location: 'Room 1',
      start: '2026-01-05T09:00:00.000Z',
      end: '2026-01-05T10:00:00.000Z',
      isAllDay: false,
      timeZone: 'W. Europe Standard Time',
      organizer: alice,
      requiredAttendees: [bob],
      optionalAttendees: ['carol@elsewhere.test'],
      resources: ['room1@contoso.test'],
      categories: ['Red', 'Blue'],
      importance: 'High',
      sensitivity: 'Private',
      freeBusy: 'OOF',
      reminderSet: true,
      reminderMinutes: 30,
      isRecurring: true,
      recurrence: 'Weekly every 1 week on Monday, Wednesday from 2026-01-05 until 2026-06-30',
      originalStart: null,
      isCancelled: false,
      isMeeting: true,
      created: new Date(stored.created).toISOString(),
      lastModified: new Date(stored.modified).toISOString(),
      attachments: [{ name: 'agenda.txt', id: stored.attachments[0]?.id }],
    });
  });

  it('calendar: an all-day appointment keeps its dates, as midnight UTC', async () => {
    // All day on 10 March in Amsterdam is 9 March 23:00 to 10 March 23:00 UTC.
    emulator.admin.createItem(alice, {
      kind: 'CalendarItem',
      Subject: 'Holiday',
      Start: '2026-03-09T23:00:00Z',
      End: '2026-03-10T23:00:00Z',
      IsAllDayEvent: true,
      StartTimeZone: 'W. Europe Standard Time',
    });
    const { changes } = await syncAll(await adapter.connect(alice), 'calendar');
    expect(created(changes, 'Holiday').properties).toMatchObject({
      isAllDay: true,
      start: '2026-03-10T00:00:00.000Z',
      end: '2026-03-11T00:00:00.000Z',
      isRecurring: false,
      recurrence: null,
      attachments: null,
      appItemId: null,
    });
  });

  it('contacts: a contact with every property set', async () => {
    const made = emulator.admin.createItem(alice, {
      kind: 'Contact',
      GivenName: 'Jan',
      MiddleName: 'van',
      Surname: 'Dijk',
      DisplayName: 'Jan van Dijk',
      Initials: 'J.v.D.',
      Nickname: 'Jantje',
      CompanyName: 'Thinkwise',
      Department: 'R&D',
      JobTitle: 'Developer',
      EmailAddresses: {
        EmailAddress1: 'jan@work.test',
        EmailAddress2: 'jan@home.test',
        EmailAddress3: 'jan@club.test',
      },
      PhoneNumbers: {
        BusinessPhone: '+31 55 1',
        HomePhone: '+31 55 2',
        MobilePhone: '+31 6 3',
        BusinessFax: '+31 55 9',
      },
      PhysicalAddresses: {
        Business: { Street: 'Street 1', City: 'Apeldoorn', State: 'GD', CountryOrRegion: 'NL', PostalCode: '7300 AA' },
        Home: { Street: 'Home 2', City: 'Deventer', State: 'OV', CountryOrRegion: 'NL', PostalCode: '7400 BB' },
      },
      // Midnight of 17 May in Amsterdam, as Outlook stores a birthday.
      Birthday: '1980-05-16T22:00:00Z',
      Body: 'Met at the conference.',
      Categories: ['VIP'],
      FileAs: 'Dijk, Jan',
      ExtendedProperties: appItemId,
    });
    const { changes } = await syncAll(await adapter.connect(alice), 'contacts', 'text');
    const item = changes.flatMap((c) => ('item' in c && c.item.id === made?.id ? [c.item] : []))[0];
    expect(item?.itemClass).toBe('IPM.Contact');
    const stored = emulator.admin.item(alice, made?.id ?? '');
    expectEveryField(contact, item as ExchangeItem, {
      appItemId: 'A-42',
      ...janVanDijk,
    });
    expect(item?.properties.bodyType).toBe('Text');
    expect(stored.kind).toBe('Contact');
  });

  it('tasks: a task with every property set', async () => {
    const made = emulator.admin.createItem(alice, {
      kind: 'Task',
      Subject: 'Write the report',
      Body: { BodyType: 'HTML', value: '<p>Chapters 1-3</p>' },
      StartDate: '2026-02-01T00:00:00Z',
      DueDate: '2026-02-10T00:00:00Z',
      Status: 'InProgress',
      PercentComplete: 50,
      Importance: 'Low',
      CompleteDate: '2026-02-09T00:00:00Z',
      ReminderIsSet: true,
      ReminderDueBy: '2026-02-09T08:00:00Z',
      Owner: 'Alice',
      Categories: ['Work', 'Q1'],
      ExtendedProperties: appItemId,
      Attachments: [{ Name: 'outline.txt', Content: 'T3V0bGluZQ==' }],
    });
    const { changes } = await syncAll(await adapter.connect(alice), 'tasks');
    const item = created(changes, 'Write the report');
    const stored = emulator.admin.item(alice, made?.id ?? '');
    expect(item.itemClass).toBe('IPM.Task');
    expectEveryField(task, item, {
      appItemId: 'A-42',
      subject: 'Write the report',
      body: '<p>Chapters 1-3</p>',
      bodyType: 'HTML',
      startDate: '2026-02-01T00:00:00.000Z',
      dueDate: '2026-02-10T00:00:00.000Z',
      status: 'InProgress',
      percentComplete: 50,
      importance: 'Low',
      completeDate: '2026-02-09T00:00:00.000Z',
      reminderSet: true,
      reminderDueBy: '2026-02-09T08:00:00.000Z',
      owner: 'Alice',
      categories: ['Work', 'Q1'],
      attachments: [{ name: 'outline.txt', id: stored.attachments[0]?.id }],
    });
  });

  it('e-mail: incoming (Inbox) and outgoing (Sent Items) with every property set', async () => {
    emulator.admin.createItem(bob, {
      kind: 'Message',
      send: true,
      Subject: 'Quarterly figures',
      Body: { BodyType: 'HTML', value: '<b>See attached</b>' },
      ToRecipients: [alice],
      CcRecipients: ['carol@elsewhere.test'],
      BccRecipients: ['dave@elsewhere.test'],
      ReplyTo: ['finance@contoso.test'],
      Importance: 'High',
      Categories: ['Finance'],
      InReplyTo: '<earlier@contoso.test>',
      ExtendedProperties: appItemId,
      Attachments: [{ Name: 'q1.csv', Content: 'YSxi' }],
    });
    const incoming = created((await syncAll(await adapter.connect(alice), 'inbox')).changes, 'Quarterly figures');
    const inboxCopy = emulator.admin.item(alice, incoming.id);
    expect(incoming.itemClass).toBe('IPM.Note');
    expectEveryField(email, incoming, {
      // Custom extended properties stay with the sender's copy, as on Exchange.
      appItemId: null,
      subject: 'Quarterly figures',
      body: '<b>See attached</b>',
      bodyType: 'HTML',
      from: bob,
      sender: bob,
      to: [alice],
      cc: ['carol@elsewhere.test'],
      // Exchange does not deliver the Bcc line to recipients.
      bcc: null,
      replyTo: ['finance@contoso.test'],
      received: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.000Z$/),
      sent: expect.stringMatching(/Z$/),
      isRead: false,
      importance: 'High',
      internetMessageId: expect.stringMatching(/^<.+@.+>$/),
      // Exchange sends item:ConversationId with AllProperties; both copies of a message are one conversation.
      conversationId: expect.stringMatching(/^[A-Za-z0-9+/]+=*$/),
      inReplyTo: '<earlier@contoso.test>',
      hasAttachments: true,
      categories: ['Finance'],
      attachments: [{ name: 'q1.csv', id: inboxCopy.attachments[0]?.id }],
    });
    const outgoing = created(
      (await syncAll(await adapter.connect(bob), 'sentitems', 'text')).changes,
      'Quarterly figures',
    );
    expect(outgoing.properties).toMatchObject({
      appItemId: 'A-42',
      body: 'See attached',
      bodyType: 'Text',
      bcc: ['dave@elsewhere.test'],
      isRead: true,
      internetMessageId: incoming.properties.internetMessageId,
      conversationId: incoming.properties.conversationId,
    });
  });
});

describe('the application id', () => {
  it('reads back what the connector stamps with appItemIdDefinition through the library', async () => {
    const connection = (await adapter.connect(alice)) as EwsConnection;
    const stamped = new Task(connection.service);
    stamped.Subject = 'Stamped';
    stamped.SetExtendedProperty(appItemIdDefinition(), 'A-9');
    await stamped.Save(WellKnownFolderName.Tasks);
    const { changes } = await syncAll(connection, 'tasks');
    expect(created(changes, 'Stamped').properties.appItemId).toBe('A-9');
  });
});

describe('syncFolder: paging, ids, read flags, deletions', () => {
  it('pages through more than 512 items, each page with a new sync state, the last one done', async () => {
    const user = 'paging@contoso.test';
    emulator.admin.seed(user, 'Contact', 1100);
    const connection = await adapter.connect(user);
    const sizes: number[] = [];
    const done: boolean[] = [];
    const ids = new Set<string>();
    let state: string | null = null;
    for (let i = 0; i < 4; i++) {
      const page = await connection.syncFolder('contacts', state, { ...live(), maxChanges: 512 });
      sizes.push(page.changes.length);
      done.push(page.done);
      for (const change of page.changes) if ('item' in change) ids.add(change.item.id);
      expect(page.continuation).not.toBe(state);
      state = page.continuation;
      if (page.done) break;
    }
    expect(sizes).toEqual([512, 512, 76]);
    expect(done).toEqual([false, false, true]);
    expect(ids.size).toBe(1100);
    const again = await connection.syncFolder('contacts', state, { ...live(), maxChanges: 512 });
    expect(again).toMatchObject({ changes: [], done: true });
  });

  it('keeps ids that differ only in case apart', async () => {
    const user = 'case@contoso.test';
    const lower = 'AAMkAcaseidentity0000000000';
    const upper = 'AAMkACASEIDENTITY0000000000';
    emulator.admin.createItem(user, { kind: 'Task', id: lower, Subject: 'lower' });
    emulator.admin.createItem(user, { kind: 'Task', id: upper, Subject: 'upper' });
    const { changes } = await syncAll(await adapter.connect(user), 'tasks');
    const byId = new Map(changes.flatMap((c) => ('item' in c ? [[c.item.id, c.item.properties.subject]] : [])));
    expect(byId.get(lower)).toBe('lower');
    expect(byId.get(upper)).toBe('upper');
  });

  it('reports a read flag change as an update of the whole item, then an update and a deletion', async () => {
    const mail = emulator.admin.createItem(alice, {
      kind: 'Message',
      folder: 'inbox',
      Subject: 'Read me',
      IsRead: false,
    });
    const note = emulator.admin.createItem(alice, { kind: 'Message', folder: 'inbox', Subject: 'Change me' });
    const gone = emulator.admin.createItem(alice, { kind: 'Message', folder: 'inbox', Subject: 'Delete me' });
    const connection = await adapter.connect(alice);
    const { state } = await syncAll(connection, 'inbox');
    emulator.admin.updateItem(alice, mail?.id ?? '', { IsRead: true });
    emulator.admin.updateItem(alice, note?.id ?? '', { Subject: 'Changed' });
    emulator.admin.deleteItem(alice, gone?.id ?? '', { hard: true });
    const page = await connection.syncFolder('inbox', state, { ...live(), maxChanges: 512 });
    expect(page.done).toBe(true);
    expect(page.changes).toEqual([
      // Read in full so that the core knows its item class and maps every field (no half-empty rows).
      {
        type: 'update',
        item: expect.objectContaining({
          id: mail?.id,
          itemClass: 'IPM.Note',
          properties: expect.objectContaining({ subject: 'Read me', isRead: true }),
        }),
      },
      {
        type: 'update',
        item: expect.objectContaining({ id: note?.id, properties: expect.objectContaining({ subject: 'Changed' }) }),
      },
      { type: 'delete', itemId: gone?.id },
    ]);
  });

  it('answers an invalid sync state with EXH_EXCHANGE_INVALID_SYNC_STATE, and a resync from null works', async () => {
    const connection = await adapter.connect(alice);
    const { state } = await syncAll(connection, 'tasks');
    emulator.admin.faults.add({ kind: 'invalidSyncState', calls: 1 });
    const error = await connection.syncFolder('tasks', state, { ...live(), maxChanges: 10 }).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'EXH_EXCHANGE_INVALID_SYNC_STATE', retryable: false });
    expect((error as Error).message).toContain('tasks');
    const fresh = await connection.syncFolder('tasks', null, { ...live(), maxChanges: 512 });
    expect(fresh.changes.length).toBeGreaterThan(0);
  });
});

describe('syncFolder: recurring series (SyncFolderOptions.occurrences)', () => {
  const user = 'series@contoso.test';
  let weeks = 0;
  /** Weekly on Monday at 09:00 UTC, four times, each series in weeks of its own. */
  function series(subject: string) {
    const monday = new Date(Date.UTC(2027, 0, 4 + 7 * 4 * weeks++));
    return weeklySeries(emulator, user, subject, monday.toISOString().slice(0, 10));
  }
  const options = (more: Partial<SyncFolderOptions> = {}): SyncFolderOptions => ({
    ...live(),
    maxChanges: 512,
    occurrences: 10,
    ...more,
  });
  const ids = (page: SyncPage) => page.changes.map((c) => [c.type, 'item' in c ? c.item.id : c.itemId]);
  /** The calendar read up to now, as the core would, and the continuation to go on from. */
  async function upToNow(connection: MailboxConnection, more: Partial<SyncFolderOptions> = {}) {
    const changes: SyncChange[] = [];
    let continuation: string | null = null;
    for (;;) {
      const page: SyncPage = await connection.syncFolder('calendar', continuation, options(more));
      changes.push(...page.changes);
      continuation = page.continuation;
      if (page.done) return { changes, continuation };
    }
  }

  it('reports each occurrence after its master with its original start, then an exception as an update and a deleted occurrence as a delete', async () => {
    const connection = await adapter.connect(user);
    const { master, occurrences } = series('Stand-up');
    const first = await upToNow(connection);
    const created = first.changes.filter((c) => c.type === 'create').map((c) => (c.type === 'create' ? c.item : null));
    expect(created.map((item) => [item?.id, item?.properties.originalStart ?? null])).toEqual([
      [master.id, null],
      ...occurrences.map((o) => [o.id, expect.stringMatching(/T09:00:00.000Z$/)]),
    ]);

    const [kept, moved, deleted, last] = occurrences;
    emulator.admin.updateItem(user, moved?.id as string, { Subject: 'Stand-up (on the terrace)' });
    emulator.admin.deleteItem(user, deleted?.id as string);
    const next = await connection.syncFolder('calendar', first.continuation, options());
    expect(ids(next)).toEqual([
      ['update', master.id],
      ['delete', deleted?.id],
      ['update', kept?.id],
      ['update', moved?.id],
      ['update', last?.id],
    ]);
    expect(next.changes.find((c) => c.type === 'update' && c.item.id === moved?.id)).toMatchObject({
      item: { properties: { subject: 'Stand-up (on the terrace)' } },
    });
    expect(next.incomplete).toBeUndefined();
    expect((await connection.syncFolder('calendar', next.continuation, options())).changes).toEqual([]);
  });

  it('deletes the occurrences it reported with their series, and those of a series that no longer recurs', async () => {
    const connection = await adapter.connect(user);
    const { continuation } = await upToNow(connection);
    const gone = series('Retro');
    const single = series('Planning');
    const first = await connection.syncFolder('calendar', continuation, options());
    emulator.admin.deleteItem(user, gone.master.id);
    emulator.admin.updateItem(user, single.master.id, { Recurrence: null });
    const next = await connection.syncFolder('calendar', first.continuation, options());
    const changes = ids(next);
    expect(changes).toEqual(
      expect.arrayContaining([
        ['delete', gone.master.id],
        ...gone.occurrences.map((o) => ['delete', o.id]),
        ['update', single.master.id],
        ...single.occurrences.map((o) => ['delete', o.id]),
      ]),
    );
    expect(changes).toHaveLength(10);
  });

  it('keeps the occurrences of a series it could not read this time, names the series, and compares them the next time', async () => {
    const connection = (await adapter.connect(user)) as EwsConnection;
    const { continuation } = await upToNow(connection);
    const { master, occurrences } = series('Refused');
    const first = await connection.syncFolder('calendar', continuation, options());
    // Exchange refuses to expand this series (the occurrences are read one master at a time, by its id).
    const refusing = new Proxy(connection, {
      get: (target, property) =>
        property === 'request'
          ? (call: SyncFolderOptions, extra: { itemId?: string }, task: (signal: AbortSignal) => Promise<unknown>) =>
              extra.itemId === master.id
                ? Promise.reject(errors.exchangeRequestFailed(emulator.url, 'ErrorInternalServerError', 'refused'))
                : target.request(call, extra, task)
          : Reflect.get(target, property, target),
    }) as EwsMailbox;
    emulator.admin.deleteItem(user, occurrences[0]?.id as string);
    const refused = await syncFolder(refusing, 'calendar', first.continuation, options());
    expect(refused.changes).toEqual([
      expect.objectContaining({ type: 'update', item: expect.objectContaining({ id: master.id }) }),
      {
        type: 'unreadable',
        itemId: master.id,
        error: {
          code: 'EXH_EXCHANGE_REQUEST_FAILED',
          message: expect.stringContaining('its occurrences could not be read'),
        },
      },
    ]);
    expect(refused.incomplete).toEqual([master.id]);

    emulator.admin.updateItem(user, master.id, { Location: 'Room 2' });
    const next = await connection.syncFolder('calendar', refused.continuation, options());
    expect(ids(next)).toEqual([
      ['update', master.id],
      ['delete', occurrences[0]?.id],
      ...occurrences.slice(1).map((o) => ['update', o.id]),
    ]);
  });

  it('fails the page when reading a series fails in a way worth retrying', async () => {
    const connection = (await adapter.connect(user)) as EwsConnection;
    const { continuation } = await upToNow(connection);
    const { master } = series('Busy');
    const busy = new Proxy(connection, {
      get: (target, property) =>
        property === 'request'
          ? (call: SyncFolderOptions, extra: { itemId?: string }, task: (signal: AbortSignal) => Promise<unknown>) =>
              extra.itemId === master.id
                ? Promise.reject(errors.exchangeUnavailable(emulator.url, 'down'))
                : target.request(call, extra, task)
          : Reflect.get(target, property, target),
    }) as EwsMailbox;
    await expect(syncFolder(busy, 'calendar', continuation, options())).rejects.toMatchObject({
      code: 'EXH_EXCHANGE_UNAVAILABLE',
    });
    expect(ids(await connection.syncFolder('calendar', continuation, options()))).toHaveLength(5);
  });

  it('keeps the bare sync state as its continuation while it holds no series, as before series moved behind the port', async () => {
    const connection = await adapter.connect(user);
    const { continuation } = await upToNow(connection, { occurrences: 0 });
    expect(continuation.startsWith('{')).toBe(false);
    const masters = await connection.syncFolder('tasks', null, { ...live(), maxChanges: 512, occurrences: 10 });
    expect(masters.continuation.startsWith('{')).toBe(false);
  });

  it('takes the occurrence ids a watermark of the earlier format held with a bare sync state (knownOccurrences), once', async () => {
    const connection = await adapter.connect(user);
    const { master, occurrences } = series('Before the upgrade');
    const { continuation: own } = await upToNow(connection);
    // As the connector stored it before the upgrade: the bare sync state, the series' ids beside it in the watermark.
    const { continuation: bare } = await upToNow(connection, { occurrences: 0 });
    const known = { [master.id]: occurrences.map((o) => o.id) };
    emulator.admin.deleteItem(user, master.id);

    const upgraded = await connection.syncFolder('calendar', bare, options({ knownOccurrences: known }));
    expect(ids(upgraded)).toEqual([['delete', master.id], ...occurrences.map((o) => ['delete', o.id])]);
    expect(upgraded.continuation.startsWith('{')).toBe(false);
    // Without them, a bare sync state knows no series: the occurrence rows would stay.
    expect(ids(await connection.syncFolder('calendar', bare, options()))).toEqual([['delete', master.id]]);
    // A continuation of its own carries its series: what the caller says is not taken.
    const ownPage = await connection.syncFolder(
      'calendar',
      own,
      options({ knownOccurrences: { [master.id]: ['not-reported-by-this-continuation'] } }),
    );
    expect(ids(ownPage)).toEqual([['delete', master.id], ...occurrences.map((o) => ['delete', o.id])]);
  });
});

describe('syncFolder: the SyncFolderItems request the adapter writes itself', async () => {
  // Shaped like Microsoft's example response (SyncFolderItems operation, "Successful SyncFolderItems response").
  const syncAnswer = soapAnswer(
    '<m:SyncFolderItemsResponse><m:ResponseMessages><m:SyncFolderItemsResponseMessage ResponseClass="Success">' +
      '<m:ResponseCode>NoError</m:ResponseCode><m:SyncState>H4sIAAA&amp;next</m:SyncState>' +
      '<m:IncludesLastItemInRange>false</m:IncludesLastItemInRange><m:Changes>\n' +
      '<t:Create><t:Message><t:ItemId Id="AAA=new" ChangeKey="CQAA"/></t:Message></t:Create>\n' +
      '<t:Update><t:Message><t:ItemId Id="AAA=changed" ChangeKey="CQAB"/></t:Message></t:Update>\n' +
      '<t:Delete><t:ItemId Id="AAA=gone" ChangeKey="CQAC"/></t:Delete>\n' +
      '<t:ReadFlagChange><t:ItemId Id="AAA=read" ChangeKey="CQAD"/><t:IsRead>true</t:IsRead></t:ReadFlagChange>\n' +
      '</m:Changes></m:SyncFolderItemsResponseMessage></m:ResponseMessages></m:SyncFolderItemsResponse>',
  );
  const itemAnswer = (id: string) =>
    '<m:GetItemResponseMessage ResponseClass="Success"><m:ResponseCode>NoError</m:ResponseCode><m:Items>' +
    `<t:Message><t:ItemId Id="${id}" ChangeKey="CK"/><t:ItemClass>IPM.Note</t:ItemClass><t:Subject>${id}</t:Subject>` +
    '</t:Message></m:Items></m:GetItemResponseMessage>';
  const server = await scriptedServer(({ body }) => {
    if (body.includes('<m:SyncFolderItems>')) return { body: syncAnswer };
    const ids = [...body.matchAll(/<t:ItemId Id="([^"]+)"/g)].map((m) => m[1] ?? '');
    return {
      body: soapAnswer(
        `<m:GetItemResponse><m:ResponseMessages>${ids.map(itemAnswer).join('')}</m:ResponseMessages></m:GetItemResponse>`,
      ),
    };
  });
  const mailbox = {
    user: 'alice@contoso.test',
    target: aliceTarget(server.base),
    transport: testTransport(),
    request: (_options: unknown, _extra: unknown, task: (signal: AbortSignal) => Promise<unknown>) =>
      task(new AbortController().signal),
  } as unknown as EwsMailbox;

  it('asks for ids only from the state given, and reads every kind of change of the answer', async () => {
    const page = await syncFolder(mailbox, 'inbox', 'S<1>&', { ...live(), maxChanges: 7 });
    const request = server.received[0]?.body ?? '';
    expect(request).toContain(
      '<m:SyncFolderItems><m:ItemShape><t:BaseShape>IdOnly</t:BaseShape></m:ItemShape>' +
        '<m:SyncFolderId><t:DistinguishedFolderId Id="inbox"/></m:SyncFolderId><m:SyncState>S&lt;1&gt;&amp;</m:SyncState>' +
        '<m:MaxChangesReturned>7</m:MaxChangesReturned><m:SyncScope>NormalItems</m:SyncScope></m:SyncFolderItems>',
    );
    expect(page.done).toBe(false);
    expect(page.changes.map((c) => ('item' in c ? `${c.type} ${c.item.id}` : `${c.type} ${c.itemId}`)).sort()).toEqual(
      ['create AAA=new', 'update AAA=changed', 'update AAA=read', 'delete AAA=gone'].sort(),
    );
    expect(page.continuation).toBe('H4sIAAA&next');
  });
});
