import { describe, expect, it } from 'vitest';
import {
  calendar,
  contact,
  email,
  type ItemTypeDefinition,
  synchronisesItemClass,
  task,
} from '../../../src/items/index.js';
import type { ExchangeItem, SyncChange } from '../../../src/ports/exchange.port.js';
import { derivedProperties, type ItemProperty } from '../../../src/ports/item-properties.js';
import { alice, bob, graphAdapter, live, startGraphEmulator, syncAll } from './adapter-support.js';

const emulator = await startGraphEmulator({
  mailboxes: [alice, bob, 'paging@contoso.test', 'gone@contoso.test', 'tasks@contoso.test'],
});
// The calendar window (365 days back, 730 ahead) around a fixed day.
const adapter = graphAdapter(emulator, { now: () => new Date('2026-01-02T08:00:00Z') });
const appItemId = [
  { PropertySetId: 'c11ff724-aa03-4555-9952-8fa248a11c3e', PropertyName: 'exh_app_item_id', Value: 'A-42' },
];

const derived = new Set<string>(derivedProperties);

function created(changes: SyncChange[], subject: string): ExchangeItem {
  const found = changes.find(
    (c): c is Extract<SyncChange, { item: ExchangeItem }> => 'item' in c && c.item.properties.subject === subject,
  );
  if (!found) throw new Error(`no item "${subject}" in ${JSON.stringify(changes.map((c) => c.type))}`);
  return found.item;
}

/** Every property the definition reads is there, with the expected value. */
function expectEveryField(definition: ItemTypeDefinition, item: ExchangeItem, expected: Record<string, unknown>) {
  const read = definition.fields.map((f) => f.property).filter((p): p is ItemProperty => !derived.has(p));
  expect(Object.keys(expected).sort()).toEqual([...new Set(read)].sort());
  for (const property of read) {
    // undefined: a property the backend does not carry is left out of the item, not read as empty.
    if (expected[property] === undefined) expect.soft(property in item.properties, property).toBe(false);
    else expect.soft(item.properties[property], property).toEqual(expected[property]);
  }
}

describe('syncFolder through Graph: every field of every item type', () => {
  it('calendar: an appointment with every property set (the series master of its occurrences)', async () => {
    emulator.admin.createItem(alice, {
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
    const { changes, pages } = await syncAll(connection, 'calendar');
    expect(pages.every((p) => p.window?.from === '2025-01-02T00:00:00.000Z')).toBe(true);
    const master = changes.find(
      (c): c is Extract<SyncChange, { item: ExchangeItem }> =>
        'item' in c && c.item.properties.subject === 'Sprint & review' && c.item.properties.originalStart === null,
    )?.item as ExchangeItem;
    expect(master).toBeDefined();
    expect(master.itemClass).toBe('IPM.Appointment');
    expect(master.uid).toEqual(expect.any(String));
    expectEveryField(calendar, master, {
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
      created: expect.stringMatching(/Z$/),
      lastModified: expect.stringMatching(/Z$/),
      attachments: [{ name: 'agenda.txt', id: expect.any(String) }],
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

  it('contacts: a contact with every property set (no fax in Graph)', async () => {
    emulator.admin.createItem(alice, {
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
      Birthday: '1980-05-16T22:00:00Z',
      Body: 'Met at the conference.',
      Categories: ['VIP'],
      FileAs: 'Dijk, Jan',
      ExtendedProperties: appItemId,
    });
    const { changes } = await syncAll(await adapter.connect(alice), 'contacts', null, { bodyType: 'text' });
    const item = changes.flatMap((c) => ('item' in c && c.item.properties.surname === 'Dijk' ? [c.item] : []))[0];
    expect(item?.itemClass).toBe('IPM.Contact');
    expectEveryField(contact, item as ExchangeItem, {
      appItemId: 'A-42',
      displayName: 'Jan van Dijk',
      givenName: 'Jan',
      middleName: 'van',
      surname: 'Dijk',
      initials: 'J.v.D.',
      nickname: 'Jantje',
      company: 'Thinkwise',
      department: 'R&D',
      jobTitle: 'Developer',
      email1: 'jan@work.test',
      email2: 'jan@home.test',
      email3: 'jan@club.test',
      businessPhone: '+31 55 1',
      homePhone: '+31 55 2',
      mobilePhone: '+31 6 3',
      businessFax: undefined,
      'businessAddress.street': 'Street 1',
      'businessAddress.city': 'Apeldoorn',
      'businessAddress.state': 'GD',
      'businessAddress.postalCode': '7300 AA',
      'businessAddress.country': 'NL',
      'homeAddress.street': 'Home 2',
      'homeAddress.city': 'Deventer',
      'homeAddress.state': 'OV',
      'homeAddress.postalCode': '7400 BB',
      'homeAddress.country': 'NL',
      birthday: '1980-05-17',
      body: 'Met at the conference.',
      categories: ['VIP'],
      fileAs: 'Dijk, Jan',
    });
  });

  it('tasks: a To Do task with every property To Do has (no percent complete, no owner)', async () => {
    const user = 'tasks@contoso.test';
    const connection = await adapter.connect(user);
    const made = await connection.createItem(
      {
        itemClass: 'IPM.Task',
        folder: 'tasks',
        appItemId: 'T-7',
        properties: {
          subject: 'Write the report',
          body: '<p>Chapters 1-3</p>',
          startDate: '2026-02-01T00:00:00Z',
          dueDate: '2026-02-10T00:00:00Z',
          status: 'InProgress',
          percentComplete: 50,
          importance: 'Low',
          completeDate: '2026-02-09T00:00:00Z',
          reminderSet: true,
          reminderDueBy: '2026-02-09T08:00:00Z',
          categories: 'Work; Q1',
        },
      },
      live(),
    );
    const { changes } = await syncAll(connection, 'tasks');
    const item = created(changes, 'Write the report');
    expect(item).toMatchObject({ id: made.itemId, itemClass: 'IPM.Task' });
    expectEveryField(task, item, {
      appItemId: 'T-7',
      subject: 'Write the report',
      body: '<p>Chapters 1-3</p>',
      bodyType: 'HTML',
      startDate: '2026-02-01T00:00:00.000Z',
      dueDate: '2026-02-10T00:00:00.000Z',
      status: 'InProgress',
      percentComplete: undefined,
      importance: 'Low',
      completeDate: '2026-02-09T00:00:00.000Z',
      reminderSet: true,
      reminderDueBy: '2026-02-09T08:00:00.000Z',
      owner: undefined,
      categories: ['Work', 'Q1'],
      attachments: null,
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
    expect(incoming.itemClass).toBe('IPM.Note');
    expectEveryField(email, incoming, {
      appItemId: null,
      subject: 'Quarterly figures',
      body: '<b>See attached</b>',
      bodyType: 'HTML',
      from: bob,
      sender: bob,
      to: [alice],
      cc: ['carol@elsewhere.test'],
      bcc: null,
      replyTo: ['finance@contoso.test'],
      received: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.000Z$/),
      sent: expect.stringMatching(/Z$/),
      isRead: false,
      importance: 'High',
      internetMessageId: expect.stringMatching(/^<.+@.+>$/),
      conversationId: expect.any(String),
      inReplyTo: '<earlier@contoso.test>',
      hasAttachments: true,
      categories: ['Finance'],
      attachments: [{ name: 'q1.csv', id: expect.any(String) }],
    });
    const outgoing = created(
      (await syncAll(await adapter.connect(bob), 'sentitems', null, { bodyType: 'text' })).changes,
      'Quarterly figures',
    );
    expect(outgoing.properties).toMatchObject({
      appItemId: 'A-42',
      body: 'See attached',
      bodyType: 'Text',
      bcc: ['dave@elsewhere.test'],
      inReplyTo: '<earlier@contoso.test>',
      isRead: true,
      internetMessageId: incoming.properties.internetMessageId,
    });
  });
});

describe('syncFolder through Graph: rounds, paging, deletions', () => {
  it('pages by exchange.graph.pageSize, the last page done; the next round has only what changed', async () => {
    const user = 'paging@contoso.test';
    emulator.admin.seed(user, 'Contact', 250);
    const connection = await adapter.connect(user);
    const { pages, continuation, changes } = await syncAll(connection, 'contacts');
    expect(pages.map((p) => p.changes.length)).toEqual([100, 100, 50]);
    expect(pages.map((p) => p.done)).toEqual([false, false, true]);
    expect(changes.every((c) => c.type === 'create')).toBe(true);
    expect(new Set(changes.map((c) => ('item' in c ? c.item.id : ''))).size).toBe(250);
    expect(JSON.parse(continuation)).toMatchObject({ backend: 'graph', v: 1, folder: 'contacts', at: 'delta' });
    const quiet = await connection.syncFolder('contacts', continuation, { ...live(), maxChanges: 512 });
    expect(quiet).toMatchObject({ changes: [], done: true });
  });

  it('reports a deletion as delete and a change as update', async () => {
    const user = 'gone@contoso.test';
    const connection = await adapter.connect(user);
    const keep = await connection.createItem(
      { itemClass: 'IPM.Contact', folder: 'contacts', appItemId: 'K', properties: { displayName: 'Keep' } },
      live(),
    );
    const drop = await connection.createItem(
      { itemClass: 'IPM.Contact', folder: 'contacts', appItemId: 'D', properties: { displayName: 'Drop' } },
      live(),
    );
    const first = await syncAll(connection, 'contacts');
    await connection.updateItem(
      keep.itemId,
      { itemClass: 'IPM.Contact', folder: 'contacts', properties: { jobTitle: 'Boss' } },
      live(),
    );
    await connection.deleteItem(drop.itemId, live());
    const { changes } = await syncAll(connection, 'contacts', first.continuation);
    expect(changes).toEqual(
      expect.arrayContaining([
        { type: 'delete', itemId: drop.itemId },
        expect.objectContaining({ type: 'update', item: expect.objectContaining({ id: keep.itemId }) }),
      ]),
    );
    expect(changes).toHaveLength(2);
  });

  it("refuses a continuation that is not Graph's (an EWS sync state) as an invalid sync state", async () => {
    const connection = await adapter.connect(alice);
    await expect(
      connection.syncFolder('inbox', 'H4sIAAAAAAAEAO29B2AcSZYlJi9tynt', { ...live(), maxChanges: 10 }),
    ).rejects.toMatchObject({ code: 'EXH_EXCHANGE_INVALID_SYNC_STATE' });
    const contacts = (await syncAll(connection, 'contacts')).continuation;
    await expect(connection.syncFolder('inbox', contacts, { ...live(), maxChanges: 10 })).rejects.toMatchObject({
      code: 'EXH_EXCHANGE_INVALID_SYNC_STATE',
    });
  });

  it('a 410 or syncStateNotFound on a delta link is EXH_EXCHANGE_INVALID_SYNC_STATE (the core starts over)', async () => {
    const connection = await adapter.connect(alice);
    const { continuation } = await syncAll(connection, 'inbox');
    for (const kind of ['graphDeltaGone', 'graphSyncStateNotFound'] as const) {
      emulator.admin.faults.add({ kind, calls: 1, mailbox: alice });
      await expect(connection.syncFolder('inbox', continuation, { ...live(), maxChanges: 10 })).rejects.toMatchObject({
        code: 'EXH_EXCHANGE_INVALID_SYNC_STATE',
      });
    }
  });
});

describe('meeting messages in the inbox', () => {
  it('come with a meeting class, so the core skips them as for EWS', async () => {
    const organizer = await adapter.connect(alice);
    await organizer.createItem(
      {
        itemClass: 'IPM.Appointment',
        folder: 'calendar',
        appItemId: 'invite-1',
        properties: {
          subject: 'Invitation',
          start: '2026-01-09T09:00:00Z',
          end: '2026-01-09T10:00:00Z',
          requiredAttendees: bob,
        },
      },
      live(),
    );
    const { changes } = await syncAll(await adapter.connect(bob), 'inbox');
    expect(created(changes, 'Invitation').itemClass).toMatch(/^IPM\.Schedule\.Meeting(\.|$)/);
    expect(
      synchronisesItemClass(email, created(changes, 'Invitation').itemClass, { meetingRequestsResponses: false }),
    ).toBe(false);
  });
});
