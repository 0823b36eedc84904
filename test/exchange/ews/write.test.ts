import { describe, expect, it } from 'vitest';
import { isExhError } from '../../../src/errors.js';
import type { EwsConnection } from '../../../src/exchange/ews/connection.js';
import { appItemIdProperty } from '../../../src/exchange/ews/index.js';
import { getItems } from '../../../src/exchange/ews/items.js';
import { createXml, updateXml } from '../../../src/exchange/ews/write-fields.js';
import type { ExchangeItem, MailboxConnection, MailboxWriter } from '../../../src/ports/exchange.port.js';
import { alice, bob, janVanDijk, live, startTestEmulator, testAdapter } from './support.js';

const carol = 'carol@contoso.test';
const emulator = await startTestEmulator({ mailboxes: [alice, bob, carol] });
const adapter = testAdapter(emulator);

type Connection = MailboxConnection & MailboxWriter;

async function connect(user = alice): Promise<Connection> {
  return (await adapter.exchange.connect(user, live())) as Connection;
}

/** The item as the adapter's reading side gives it (GetItem, every property). */
async function readBack(connection: Connection, id: string, bodyType: 'html' | 'text' = 'html'): Promise<ExchangeItem> {
  const ews = connection as unknown as EwsConnection;
  const [result] = await getItems(ews.transport, ews.target, [{ id }], bodyType, new AbortController().signal);
  if (!result || !('item' in result)) throw new Error(`item ${id} cannot be read: ${JSON.stringify(result)}`);
  return result.item;
}

function appItemIdOf(user: string, id: string): unknown {
  const stored = emulator.admin.item(user, id);
  return stored.extendedProperties.find((p) => p.uri.PropertyName === appItemIdProperty.name)?.value;
}

async function rejection(promise: Promise<unknown>): Promise<{ code: string; message: string }> {
  try {
    await promise;
  } catch (error) {
    if (isExhError(error)) return { code: error.code, message: error.message };
    throw error;
  }
  throw new Error('expected a rejection');
}

describe('createItem: every writable field, read back in the definitions’ terms', () => {
  it('calendar: a meeting with attendees, its UID, the stamp, and invitations with the same UID', async () => {
    const connection = await connect(alice);
    const uid = '040000008200E00074C5B7101A82E008000000001111222233334444';
    const made = await connection.createItem(
      {
        itemType: 'calendar',
        appItemId: 'APP-CAL-1',
        uid,
        fields: {
          subject: 'Planning',
          body: '<p>Agenda</p>',
          body_type: 'HTML',
          location: 'Room 1',
          start: '2026-02-02T09:00:00Z',
          end: new Date('2026-02-02T10:30:00Z'),
          all_day: false,
          time_zone: 'W. Europe Standard Time',
          required_attendees: `${bob}; `,
          optional_attendees: carol,
          resources: 'room1@contoso.test',
          categories: 'Red; Blue',
          importance: 'high',
          sensitivity: 'Private',
          free_busy_status: 'OOF',
          reminder_set: true,
          reminder: 20,
          // Read-only: ignored, not refused.
          organizer: 'someone@else.test',
          is_recurring: true,
          created: '2000-01-01T00:00:00Z',
          user: carol,
        },
      },
      live(),
    );
    expect(made.uid).toBe(uid);
    expect(made.changeKey).not.toBe('');
    const item = await readBack(connection, made.itemId);
    expect(item.uid).toBe(uid);
    expect(item.properties).toMatchObject({
      'exh:AppItemId': 'APP-CAL-1',
      Subject: 'Planning',
      Body: '<p>Agenda</p>',
      'Body.BodyType': 'HTML',
      Location: 'Room 1',
      Start: '2026-02-02T09:00:00.000Z',
      End: '2026-02-02T10:30:00.000Z',
      IsAllDayEvent: false,
      StartTimeZone: 'W. Europe Standard Time',
      Organizer: alice,
      RequiredAttendees: [bob],
      OptionalAttendees: [carol],
      Resources: ['room1@contoso.test'],
      Categories: ['Red', 'Blue'],
      Importance: 'High',
      Sensitivity: 'Private',
      LegacyFreeBusyStatus: 'OOF',
      IsReminderSet: true,
      ReminderMinutesBeforeStart: 20,
      IsRecurring: false,
      IsMeeting: true,
    });
    expect(appItemIdOf(alice, made.itemId)).toBe('APP-CAL-1');
    for (const attendee of [bob, carol]) {
      const copy = emulator.admin.items(attendee, 'calendar').find((i) => i.properties.UID === uid);
      expect(copy?.properties.Subject, attendee).toBe('Planning');
    }
  });

  it('calendar: an all-day appointment is stored from midnight to midnight of its time zone', async () => {
    const connection = await connect(alice);
    const made = await connection.createItem(
      {
        itemType: 'calendar',
        appItemId: 'APP-CAL-DAY',
        fields: {
          subject: 'Holiday',
          all_day: true,
          time_zone: 'W. Europe Standard Time',
          // Summer time begins on 29 March 2026 in Amsterdam.
          start: '2026-03-28T00:00:00.000Z',
          end: '2026-03-30T00:00:00.000Z',
        },
      },
      live(),
    );
    expect(emulator.admin.item(alice, made.itemId).properties).toMatchObject({
      Start: '2026-03-27T23:00:00Z',
      End: '2026-03-29T22:00:00Z',
    });
    expect((await readBack(connection, made.itemId)).properties).toMatchObject({
      IsAllDayEvent: true,
      Start: '2026-03-28T00:00:00.000Z',
      End: '2026-03-30T00:00:00.000Z',
    });
  });

  it('calendar: without attendees no invitation goes out, and the UID is Exchange’s', async () => {
    const connection = await connect(alice);
    const before = emulator.admin.items(bob).length;
    const made = await connection.createItem(
      { itemType: 'calendar', appItemId: 'APP-CAL-2', fields: { subject: 'Alone', required_attendees: '' } },
      live(),
    );
    expect(made.uid).toMatch(/^[0-9A-F]{40,}$/);
    expect(emulator.admin.item(alice, made.itemId).properties.UID).toBe(made.uid);
    expect(emulator.admin.items(bob)).toHaveLength(before);
  });

  it('contact: every field, indexed ones included', async () => {
    const connection = await connect(alice);
    const made = await connection.createItem(
      {
        itemType: 'contact',
        appItemId: 'APP-CON-1',
        fields: {
          display_name: 'Jan van Dijk',
          given_name: 'Jan',
          middle_name: 'van',
          surname: 'Dijk',
          initials: 'J.v.D.',
          nickname: 'Jantje',
          company: 'Thinkwise',
          department: 'R&D',
          job_title: 'Developer',
          email_1: 'jan@work.test',
          email_2: 'jan@home.test',
          email_3: 'jan@club.test',
          business_phone: '+31 55 1',
          home_phone: '+31 55 2',
          mobile_phone: '+31 6 3',
          business_fax: '+31 55 9',
          business_street: 'Street 1',
          business_city: 'Apeldoorn',
          business_state: 'GD',
          business_postal_code: '7300 AA',
          business_country: 'NL',
          home_street: 'Home 2',
          home_city: 'Deventer',
          home_state: 'OV',
          home_postal_code: '7400 BB',
          home_country: 'NL',
          birthday: '1980-05-17',
          notes: 'Met at the conference.',
          categories: 'VIP',
          file_as: 'Dijk, Jan',
        },
      },
      live(),
    );
    expect(made.uid).toBeUndefined();
    const item = await readBack(connection, made.itemId, 'text');
    expect(item.kind).toBe('Contact');
    expect(item.properties).toEqual(
      expect.objectContaining({
        'exh:AppItemId': 'APP-CON-1',
        ...janVanDijk,
        'Body.BodyType': 'Text',
      }),
    );
  });

  it('task: every field', async () => {
    const connection = await connect(alice);
    const made = await connection.createItem(
      {
        itemType: 'task',
        appItemId: 'APP-TASK-1',
        fields: {
          subject: 'Write report',
          body: 'Plain notes',
          body_type: 'Text',
          start: '2026-03-01T00:00:00Z',
          due: '2026-03-05T00:00:00Z',
          status: 'InProgress',
          percent_complete: '40',
          importance: 'Low',
          completed: '2026-03-04T12:00:00Z',
          reminder_set: 'true',
          reminder: '2026-03-04T08:00:00Z',
          categories: 'Work',
          owner: 'someone else',
        },
      },
      live(),
    );
    const item = await readBack(connection, made.itemId, 'text');
    expect(item.kind).toBe('Task');
    expect(item.properties).toMatchObject({
      'exh:AppItemId': 'APP-TASK-1',
      Subject: 'Write report',
      Body: 'Plain notes',
      'Body.BodyType': 'Text',
      StartDate: '2026-03-01T00:00:00.000Z',
      DueDate: '2026-03-05T00:00:00.000Z',
      Status: 'InProgress',
      PercentComplete: 40,
      Importance: 'Low',
      CompleteDate: '2026-03-04T12:00:00.000Z',
      IsReminderSet: true,
      ReminderDueBy: '2026-03-04T08:00:00.000Z',
      Categories: ['Work'],
    });
  });

  it('email: with recipients it is sent and saved in Sent Items; without, it is a draft', async () => {
    const connection = await connect(alice);
    const sent = await connection.createItem(
      {
        itemType: 'email',
        appItemId: 'APP-MAIL-1',
        fields: {
          subject: 'Offer',
          body: '<p>See attached</p>',
          to: bob,
          cc: carol,
          bcc: 'dave@elsewhere.test',
          reply_to: 'sales@contoso.test',
          importance: 'High',
          categories: 'Sales',
          in_reply_to: '<abc@contoso.test>',
          from: 'spoofed@elsewhere.test',
        },
      },
      live(),
    );
    const stored = emulator.admin.item(alice, sent.itemId);
    expect(stored.folder).toBe('sentitems');
    expect(appItemIdOf(alice, sent.itemId)).toBe('APP-MAIL-1');
    const item = await readBack(connection, sent.itemId);
    expect(item.properties).toMatchObject({
      Subject: 'Offer',
      Body: '<p>See attached</p>',
      'Body.BodyType': 'HTML',
      ToRecipients: [bob],
      CcRecipients: [carol],
      BccRecipients: ['dave@elsewhere.test'],
      ReplyTo: ['sales@contoso.test'],
      Importance: 'High',
      Categories: ['Sales'],
      InReplyTo: '<abc@contoso.test>',
    });
    for (const recipient of [bob, carol]) {
      const received = emulator.admin.items(recipient, 'inbox').find((i) => i.properties.Subject === 'Offer');
      expect(received?.properties.From, recipient).toBe(alice);
    }
    const draft = await connection.createItem(
      { itemType: 'email', appItemId: 'APP-MAIL-2', fields: { subject: 'Not yet', to: '' } },
      live(),
    );
    expect(emulator.admin.item(alice, draft.itemId).folder).toBe('drafts');
  });
});

describe('updateItem', () => {
  it('null leaves a field unchanged, an empty string clears it', async () => {
    const connection = await connect(alice);
    const made = await connection.createItem(
      {
        itemType: 'contact',
        appItemId: 'APP-CON-2',
        fields: {
          display_name: 'Piet',
          company: 'Acme',
          job_title: 'Boss',
          mobile_phone: '06',
          home_city: 'Ede',
          business_street: 'Laan 3',
        },
      },
      live(),
    );
    const updated = await connection.updateItem(
      made.itemId,
      {
        itemType: 'contact',
        fields: {
          display_name: 'Piet Jansen',
          company: null,
          job_title: '',
          mobile_phone: '',
          home_city: null,
          business_city: 'Zwolle',
          item_id: 'ignored',
        },
      },
      live(),
    );
    expect(updated.itemId).toBe(made.itemId);
    expect(updated.changeKey).not.toBe(made.changeKey);
    const item = await readBack(connection, made.itemId);
    expect(item.properties).toMatchObject({
      DisplayName: 'Piet Jansen',
      CompanyName: 'Acme',
      JobTitle: null,
      'PhoneNumbers[MobilePhone]': null,
      'PhysicalAddresses[Home].City': 'Ede',
      'PhysicalAddresses[Business].Street': 'Laan 3',
      'PhysicalAddresses[Business].City': 'Zwolle',
    });
  });

  it('all fields null changes nothing', async () => {
    const connection = await connect(alice);
    const made = await connection.createItem(
      { itemType: 'task', appItemId: 'APP-TASK-2', fields: { subject: 'Keep' } },
      live(),
    );
    const result = await connection.updateItem(
      made.itemId,
      { itemType: 'task', fields: { subject: null, body: null } },
      live(),
    );
    expect(result).toEqual({ itemId: made.itemId, changeKey: made.changeKey });
    expect(emulator.admin.item(alice, made.itemId).changeKey).toBe(made.changeKey);
  });

  it('escapes & and < in subjects and bodies, on create and on update', async () => {
    const connection = await connect(alice);
    const subject = 'R&D <draft> "quotes" & \'apostrophes\'';
    const body = '<p>a &amp; b < c & d</p>';
    const made = await connection.createItem(
      { itemType: 'calendar', appItemId: 'APP&<1>', fields: { subject, body, body_type: 'HTML', location: 'A&B' } },
      live(),
    );
    let item = await readBack(connection, made.itemId);
    expect(item.properties).toMatchObject({
      Subject: subject,
      Body: body,
      Location: 'A&B',
      'exh:AppItemId': 'APP&<1>',
    });
    await connection.updateItem(
      made.itemId,
      { itemType: 'calendar', fields: { subject: `${subject} 2`, body: 'x < y && z', body_type: 'Text' } },
      live(),
    );
    item = await readBack(connection, made.itemId, 'text');
    expect(item.properties).toMatchObject({ Subject: `${subject} 2`, Body: 'x < y && z' });
    expect(await connection.findByAppItemId('calendar', 'APP&<1>', live())).toBe(made.itemId);
  });

  it('only the organizer may change a meeting; the organizer’s change reaches the attendees', async () => {
    const organizer = await connect(alice);
    const made = await organizer.createItem(
      { itemType: 'calendar', appItemId: 'APP-CAL-3', fields: { subject: 'Review', required_attendees: bob } },
      live(),
    );
    const copy = emulator.admin.items(bob, 'calendar').find((i) => i.properties.UID === made.uid);
    if (!copy) throw new Error('no copy in the attendee’s calendar');
    const attendee = await connect(bob);
    const refused = await rejection(
      attendee.updateItem(copy.id, { itemType: 'calendar', fields: { subject: 'Hijacked' } }, live()),
    );
    expect(refused.code).toBe('EXH_EXCHANGE_NOT_ORGANIZER');
    expect(refused.message).toContain(bob);
    expect(refused.message).toContain(alice);
    expect(refused.message).toContain('only the organizer may change an appointment');
    const after = emulator.admin.item(bob, copy.id);
    expect(after.changeKey).toBe(copy.changeKey);
    expect(after.properties.Subject).toBe('Review');

    const result = await organizer.updateItem(
      made.itemId,
      { itemType: 'calendar', fields: { subject: 'Review (moved)', location: 'Room 2' } },
      live(),
    );
    expect(result.uid).toBe(made.uid);
    const updatedCopy = emulator.admin.items(bob, 'calendar').find((i) => i.properties.UID === made.uid);
    expect(updatedCopy?.properties).toMatchObject({ Subject: 'Review (moved)', Location: 'Room 2' });
  });

  it('with a change key, writes only over that version: a stale one is EXH_EXCHANGE_CONFLICT and changes nothing', async () => {
    const connection = await connect(alice);
    const made = await connection.createItem(
      { itemType: 'task', appItemId: 'APP-TASK-CK', fields: { subject: 'Base', owner: 'Ann' } },
      live(),
    );
    const written = await connection.updateItem(
      made.itemId,
      { itemType: 'task', fields: { subject: 'Ours' } },
      { ...live(), changeKey: made.changeKey },
    );
    expect(written.changeKey).not.toBe(made.changeKey);
    // A person changes the item in Outlook meanwhile.
    emulator.admin.updateItem(alice, made.itemId, { Owner: 'Bea' });
    const theirs = emulator.admin.item(alice, made.itemId);
    const refused = await rejection(
      connection.updateItem(
        made.itemId,
        { itemType: 'task', fields: { subject: 'Ours again' } },
        { ...live(), changeKey: written.changeKey },
      ),
    );
    expect(refused.code).toBe('EXH_EXCHANGE_CONFLICT');
    expect(refused.message).toContain(made.itemId);
    expect(emulator.admin.item(alice, made.itemId)).toMatchObject({
      changeKey: theirs.changeKey,
      properties: { Subject: 'Ours', Owner: 'Bea' },
    });
    // Nothing to write is refused the same way when the version moved on, and fine when it did not.
    const empty = { itemType: 'task' as const, fields: { subject: null } };
    const stale = await rejection(
      connection.updateItem(made.itemId, empty, { ...live(), changeKey: written.changeKey }),
    );
    expect(stale.code).toBe('EXH_EXCHANGE_CONFLICT');
    expect(await connection.updateItem(made.itemId, empty, { ...live(), changeKey: theirs.changeKey })).toEqual({
      itemId: made.itemId,
      changeKey: theirs.changeKey,
    });
  });

  it('readItem: the item as it is now, with its change key and LastModifiedTime; null once it is gone', async () => {
    const connection = await connect(alice);
    const made = await connection.createItem(
      { itemType: 'contact', appItemId: 'APP-CON-VERSION', fields: { display_name: 'Versioned' } },
      live(),
    );
    const before = await connection.readItem(made.itemId, live());
    expect(before).toMatchObject({ id: made.itemId, changeKey: made.changeKey, kind: 'Contact' });
    expect(before?.properties).toMatchObject({ DisplayName: 'Versioned', 'exh:AppItemId': 'APP-CON-VERSION' });
    emulator.admin.updateItem(alice, made.itemId, { CompanyName: 'Acme' });
    const after = await connection.readItem(made.itemId, live());
    expect(after?.changeKey).toBe(emulator.admin.item(alice, made.itemId).changeKey);
    expect(after?.changeKey).not.toBe(made.changeKey);
    expect(after?.properties.CompanyName).toBe('Acme');
    expect(Date.parse(String(after?.properties.LastModifiedTime))).toBeGreaterThanOrEqual(
      Date.parse(String(before?.properties.LastModifiedTime)),
    );
    await connection.deleteItem(made.itemId, live());
    expect(await connection.readItem(made.itemId, live())).toBeNull();
  });

  it('a bad value is refused before anything is sent, naming the field', async () => {
    const connection = await connect(alice);
    const made = await connection.createItem(
      { itemType: 'task', appItemId: 'APP-TASK-3', fields: { subject: 'Bad' } },
      live(),
    );
    const refused = await rejection(
      connection.updateItem(made.itemId, { itemType: 'task', fields: { subject: 'x', due: 'next week' } }, live()),
    );
    expect(refused.code).toBe('EXH_EXCHANGE_REQUEST_FAILED');
    expect(refused.message).toContain('exh_due');
    expect(emulator.admin.item(alice, made.itemId).properties.Subject).toBe('Bad');
  });
});

describe('deleteItem, findByAppItemId, syncFolder of a written item', () => {
  it('the stamp is read back by syncFolder as exh:AppItemId', async () => {
    const connection = await connect(alice);
    const made = await connection.createItem(
      { itemType: 'task', appItemId: 'APP-TASK-SYNC', fields: { subject: 'Synced' } },
      live(),
    );
    let state: string | null = null;
    const items: ExchangeItem[] = [];
    for (;;) {
      const page = await connection.syncFolder('tasks', state, { ...live(), maxChanges: 512 });
      for (const change of page.changes) if ('item' in change) items.push(change.item);
      state = page.syncState;
      if (page.done) break;
    }
    expect(items.find((i) => i.id === made.itemId)?.properties['exh:AppItemId']).toBe('APP-TASK-SYNC');
  });

  it('findByAppItemId finds the item of the type and misses otherwise', async () => {
    const connection = await connect(alice);
    const made = await connection.createItem(
      { itemType: 'contact', appItemId: 'APP-FIND-1', fields: { display_name: 'Findable' } },
      live(),
    );
    expect(await connection.findByAppItemId('contact', 'APP-FIND-1', live())).toBe(made.itemId);
    expect(await connection.findByAppItemId('contact', 'APP-FIND-2', live())).toBeNull();
    expect(await connection.findByAppItemId('task', 'APP-FIND-1', live())).toBeNull();
    const mail = await connection.findByAppItemId('email', 'APP-MAIL-1', live());
    expect(mail === null ? null : emulator.admin.item(alice, mail).properties.Subject).toBe('Offer');
    const draft = await connection.findByAppItemId('email', 'APP-MAIL-2', live());
    expect(draft === null ? null : emulator.admin.item(alice, draft).folder).toBe('drafts');
  });

  it('deleting twice is fine; a meeting’s deletion cancels it for the attendees', async () => {
    const connection = await connect(alice);
    const made = await connection.createItem(
      { itemType: 'calendar', appItemId: 'APP-DEL-1', fields: { subject: 'Doomed', required_attendees: bob } },
      live(),
    );
    await connection.deleteItem(made.itemId, live());
    expect(await connection.findByAppItemId('calendar', 'APP-DEL-1', live())).toBeNull();
    const copy = emulator.admin.items(bob, 'calendar').find((i) => i.properties.UID === made.uid);
    expect(copy?.properties.IsCancelled).toBe('true');
    await connection.deleteItem(made.itemId, live());
    await connection.deleteItem(made.itemId, live());
  });
});

describe('getAttachment and the pool', () => {
  it('returns the bytes, and refuses an attachment over the limit', async () => {
    const bytes = Buffer.from([0, 1, 2, 250, 251, 252, 10, 13, 38, 60]);
    const made = emulator.admin.createItem(alice, {
      kind: 'Task',
      Subject: 'With a file',
      Attachments: [{ Name: 'data.bin', ContentType: 'application/x-test', Content: bytes.toString('base64') }],
    });
    const attachmentId = made?.attachments[0]?.id ?? '';
    const connection = await connect(alice);
    const got = await connection.getAttachment(made?.id ?? '', attachmentId, { ...live(), maxBytes: 10 });
    expect(got.name).toBe('data.bin');
    expect(got.contentType).toBe('application/x-test');
    expect(Buffer.compare(got.content, bytes)).toBe(0);
    const refused = await rejection(connection.getAttachment(made?.id ?? '', attachmentId, { ...live(), maxBytes: 9 }));
    expect(refused.code).toBe('EXH_EXCHANGE_ATTACHMENT_TOO_LARGE');
  });

  it('a stopped caller’s create is cancelled and creates nothing', async () => {
    const connection = await connect(alice);
    const controller = new AbortController();
    controller.abort();
    const refused = await rejection(
      connection.createItem(
        { itemType: 'task', appItemId: 'APP-ABORT', fields: { subject: 'Never' } },
        live(controller.signal),
      ),
    );
    expect(refused.code).toBe('EXH_POOL_ABORTED');
    expect(emulator.admin.items(alice, 'tasks').some((i) => i.properties.Subject === 'Never')).toBe(false);
  });
});

describe('write-fields: the XML of a change (pure)', () => {
  it('create lists the elements in schema order, escaped, and leaves out null and empty values', () => {
    const xml = createXml('contact', {
      surname: 'Dijk & Zn',
      display_name: 'Jan <Dijk>',
      home_city: 'Ede',
      business_street: 'Laan 1',
      home_street: 'Weg 2',
      email_2: 'b@x.test',
      email_1: 'a@x.test',
      job_title: '',
      company: null,
      created: '2026-01-01T00:00:00Z',
    });
    expect(xml).toBe(
      '<t:Contact><t:DisplayName>Jan &lt;Dijk&gt;</t:DisplayName>' +
        '<t:EmailAddresses><t:Entry Key="EmailAddress1">a@x.test</t:Entry>' +
        '<t:Entry Key="EmailAddress2">b@x.test</t:Entry></t:EmailAddresses>' +
        '<t:PhysicalAddresses><t:Entry Key="Business"><t:Street>Laan 1</t:Street></t:Entry>' +
        '<t:Entry Key="Home"><t:Street>Weg 2</t:Street><t:City>Ede</t:City></t:Entry></t:PhysicalAddresses>' +
        '<t:Surname>Dijk &amp; Zn</t:Surname></t:Contact>',
    );
  });

  it("update: a value is set, '' is deleted, null is left alone; Start cannot be cleared", () => {
    expect(
      updateXml('calendar', {
        subject: 'A&B',
        location: '',
        body: null,
        categories: ';',
        start: '',
        required_attendees: 'x@y.test',
        is_cancelled: true,
      }),
    ).toEqual([
      '<t:SetItemField><t:FieldURI FieldURI="item:Subject"/><t:CalendarItem><t:Subject>A&amp;B</t:Subject>' +
        '</t:CalendarItem></t:SetItemField>',
      '<t:DeleteItemField><t:FieldURI FieldURI="item:Categories"/></t:DeleteItemField>',
      '<t:DeleteItemField><t:FieldURI FieldURI="calendar:Location"/></t:DeleteItemField>',
      '<t:SetItemField><t:FieldURI FieldURI="calendar:RequiredAttendees"/><t:CalendarItem><t:RequiredAttendees>' +
        '<t:Attendee><t:Mailbox><t:EmailAddress>x@y.test</t:EmailAddress></t:Mailbox></t:Attendee>' +
        '</t:RequiredAttendees></t:CalendarItem></t:SetItemField>',
    ]);
    // Schema order: PhysicalAddresses before PhoneNumbers.
    expect(updateXml('contact', { mobile_phone: '', home_city: 'Ede' })).toEqual([
      '<t:SetItemField><t:IndexedFieldURI FieldURI="contacts:PhysicalAddress:City" FieldIndex="Home"/><t:Contact>' +
        '<t:PhysicalAddresses><t:Entry Key="Home"><t:City>Ede</t:City></t:Entry></t:PhysicalAddresses>' +
        '</t:Contact></t:SetItemField>',
      '<t:DeleteItemField><t:IndexedFieldURI FieldURI="contacts:PhoneNumber" FieldIndex="MobilePhone"/>' +
        '</t:DeleteItemField>',
    ]);
  });
});
