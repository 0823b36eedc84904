import { describe, expect, it } from 'vitest';
import { isExhError } from '../../../src/errors.js';
import type { EwsConnection } from '../../../src/exchange/ews/connection.js';
import { appItemIdProperty } from '../../../src/exchange/ews/index.js';
import { getItems } from '../../../src/exchange/ews/items.js';
import { itemType } from '../../../src/items/index.js';
import type { FieldValue, ItemTypeName } from '../../../src/ports/database.port.js';
import type { ExchangeItem, ItemWrite, MailboxConnection, MailboxWriter } from '../../../src/ports/exchange.port.js';
import { writeOf } from '../../../src/sync/decisions/map-item.js';
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

/**
 * A change in the application's terms (the definitions' fields, src/items) as the core hands it to the adapter:
 * neutral properties, read-only fields left out, each labelled with its column for error messages.
 */
function write<Extra extends object = Record<never, never>>(
  type: ItemTypeName,
  fields: Record<string, FieldValue>,
  extra?: Extra,
): ItemWrite & Extra {
  return { ...writeOf(itemType(type), fields), ...(extra as Extra) };
}

/** Where the core looks for an item made for an application id (the type's definition, src/items). */
const createdIn = (type: ItemTypeName) => itemType(type).createdIn;

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
      write(
        'calendar',
        {
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
        { appItemId: 'APP-CAL-1', uid },
      ),
      live(),
    );
    expect(made.uid).toBe(uid);
    expect(made.changeKey).not.toBe('');
    const item = await readBack(connection, made.itemId);
    expect(item.uid).toBe(uid);
    expect(item.properties).toMatchObject({
      appItemId: 'APP-CAL-1',
      subject: 'Planning',
      body: '<p>Agenda</p>',
      bodyType: 'HTML',
      location: 'Room 1',
      start: '2026-02-02T09:00:00.000Z',
      end: '2026-02-02T10:30:00.000Z',
      isAllDay: false,
      timeZone: 'W. Europe Standard Time',
      organizer: alice,
      requiredAttendees: [bob],
      optionalAttendees: [carol],
      resources: ['room1@contoso.test'],
      categories: ['Red', 'Blue'],
      importance: 'High',
      sensitivity: 'Private',
      freeBusy: 'OOF',
      reminderSet: true,
      reminderMinutes: 20,
      isRecurring: false,
      isMeeting: true,
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
      write(
        'calendar',
        {
          subject: 'Holiday',
          all_day: true,
          time_zone: 'W. Europe Standard Time',
          // Summer time begins on 29 March 2026 in Amsterdam.
          start: '2026-03-28T00:00:00.000Z',
          end: '2026-03-30T00:00:00.000Z',
        },
        { appItemId: 'APP-CAL-DAY' },
      ),
      live(),
    );
    expect(emulator.admin.item(alice, made.itemId).properties).toMatchObject({
      Start: '2026-03-27T23:00:00Z',
      End: '2026-03-29T22:00:00Z',
    });
    expect((await readBack(connection, made.itemId)).properties).toMatchObject({
      isAllDay: true,
      start: '2026-03-28T00:00:00.000Z',
      end: '2026-03-30T00:00:00.000Z',
    });
  });

  it('calendar: without attendees no invitation goes out, and the UID is Exchange’s', async () => {
    const connection = await connect(alice);
    const before = emulator.admin.items(bob).length;
    const made = await connection.createItem(
      write('calendar', { subject: 'Alone', required_attendees: '' }, { appItemId: 'APP-CAL-2' }),
      live(),
    );
    expect(made.uid).toMatch(/^[0-9A-F]{40,}$/);
    expect(emulator.admin.item(alice, made.itemId).properties.UID).toBe(made.uid);
    expect(emulator.admin.items(bob)).toHaveLength(before);
  });

  it('contact: every field, indexed ones included', async () => {
    const connection = await connect(alice);
    const made = await connection.createItem(
      write(
        'contact',
        {
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
        { appItemId: 'APP-CON-1' },
      ),
      live(),
    );
    expect(made.uid).toBeUndefined();
    const item = await readBack(connection, made.itemId, 'text');
    expect(item.itemClass).toBe('IPM.Contact');
    expect(item.properties).toEqual(
      expect.objectContaining({
        appItemId: 'APP-CON-1',
        ...janVanDijk,
        bodyType: 'Text',
      }),
    );
  });

  it('task: every field', async () => {
    const connection = await connect(alice);
    const made = await connection.createItem(
      write(
        'task',
        {
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
        { appItemId: 'APP-TASK-1' },
      ),
      live(),
    );
    const item = await readBack(connection, made.itemId, 'text');
    expect(item.itemClass).toBe('IPM.Task');
    expect(item.properties).toMatchObject({
      appItemId: 'APP-TASK-1',
      subject: 'Write report',
      body: 'Plain notes',
      bodyType: 'Text',
      startDate: '2026-03-01T00:00:00.000Z',
      dueDate: '2026-03-05T00:00:00.000Z',
      status: 'InProgress',
      percentComplete: 40,
      importance: 'Low',
      completeDate: '2026-03-04T12:00:00.000Z',
      reminderSet: true,
      reminderDueBy: '2026-03-04T08:00:00.000Z',
      categories: ['Work'],
    });
  });

  it('email: with recipients it is sent and saved in Sent Items; without, it is a draft', async () => {
    const connection = await connect(alice);
    const sent = await connection.createItem(
      write(
        'email',
        {
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
        { appItemId: 'APP-MAIL-1' },
      ),
      live(),
    );
    const stored = emulator.admin.item(alice, sent.itemId);
    expect(stored.folder).toBe('sentitems');
    expect(appItemIdOf(alice, sent.itemId)).toBe('APP-MAIL-1');
    const item = await readBack(connection, sent.itemId);
    expect(item.properties).toMatchObject({
      subject: 'Offer',
      body: '<p>See attached</p>',
      bodyType: 'HTML',
      to: [bob],
      cc: [carol],
      bcc: ['dave@elsewhere.test'],
      replyTo: ['sales@contoso.test'],
      importance: 'High',
      categories: ['Sales'],
      inReplyTo: '<abc@contoso.test>',
    });
    for (const recipient of [bob, carol]) {
      const received = emulator.admin.items(recipient, 'inbox').find((i) => i.properties.Subject === 'Offer');
      expect(received?.properties.From, recipient).toBe(alice);
    }
    const draft = await connection.createItem(
      write('email', { subject: 'Not yet', to: '' }, { appItemId: 'APP-MAIL-2' }),
      live(),
    );
    expect(emulator.admin.item(alice, draft.itemId).folder).toBe('drafts');
  });
});

describe('updateItem', () => {
  it('null leaves a field unchanged, an empty string clears it', async () => {
    const connection = await connect(alice);
    const made = await connection.createItem(
      write(
        'contact',
        {
          display_name: 'Piet',
          company: 'Acme',
          job_title: 'Boss',
          mobile_phone: '06',
          home_city: 'Ede',
          business_street: 'Laan 3',
        },
        { appItemId: 'APP-CON-2' },
      ),
      live(),
    );
    const updated = await connection.updateItem(
      made.itemId,
      write('contact', {
        display_name: 'Piet Jansen',
        company: null,
        job_title: '',
        mobile_phone: '',
        home_city: null,
        business_city: 'Zwolle',
        item_id: 'ignored',
      }),
      live(),
    );
    expect(updated.itemId).toBe(made.itemId);
    expect(updated.changeKey).not.toBe(made.changeKey);
    const item = await readBack(connection, made.itemId);
    expect(item.properties).toMatchObject({
      displayName: 'Piet Jansen',
      company: 'Acme',
      jobTitle: null,
      mobilePhone: null,
      'homeAddress.city': 'Ede',
      'businessAddress.street': 'Laan 3',
      'businessAddress.city': 'Zwolle',
    });
  });

  it('all fields null changes nothing', async () => {
    const connection = await connect(alice);
    const made = await connection.createItem(write('task', { subject: 'Keep' }, { appItemId: 'APP-TASK-2' }), live());
    const result = await connection.updateItem(made.itemId, write('task', { subject: null, body: null }), live());
    expect(result).toEqual({ itemId: made.itemId, changeKey: made.changeKey });
    expect(emulator.admin.item(alice, made.itemId).changeKey).toBe(made.changeKey);
  });

  it('escapes & and < in subjects and bodies, on create and on update', async () => {
    const connection = await connect(alice);
    const subject = 'R&D <draft> "quotes" & \'apostrophes\'';
    const body = '<p>a &amp; b < c & d</p>';
    const made = await connection.createItem(
      write('calendar', { subject, body, body_type: 'HTML', location: 'A&B' }, { appItemId: 'APP&<1>' }),
      live(),
    );
    let item = await readBack(connection, made.itemId);
    expect(item.properties).toMatchObject({
      subject,
      body,
      location: 'A&B',
      appItemId: 'APP&<1>',
    });
    await connection.updateItem(
      made.itemId,
      write('calendar', { subject: `${subject} 2`, body: 'x < y && z', body_type: 'Text' }),
      live(),
    );
    item = await readBack(connection, made.itemId, 'text');
    expect(item.properties).toMatchObject({ subject: `${subject} 2`, body: 'x < y && z' });
    expect(await connection.findByAppItemId(createdIn('calendar'), 'APP&<1>', live())).toBe(made.itemId);
  });

  it('only the organizer may change a meeting; the organizer’s change reaches the attendees', async () => {
    const organizer = await connect(alice);
    const made = await organizer.createItem(
      write('calendar', { subject: 'Review', required_attendees: bob }, { appItemId: 'APP-CAL-3' }),
      live(),
    );
    const copy = emulator.admin.items(bob, 'calendar').find((i) => i.properties.UID === made.uid);
    if (!copy) throw new Error('no copy in the attendee’s calendar');
    const attendee = await connect(bob);
    const refused = await rejection(attendee.updateItem(copy.id, write('calendar', { subject: 'Hijacked' }), live()));
    expect(refused.code).toBe('EXH_EXCHANGE_NOT_ORGANIZER');
    expect(refused.message).toContain(bob);
    expect(refused.message).toContain(alice);
    expect(refused.message).toContain('only the organizer may change an appointment');
    const after = emulator.admin.item(bob, copy.id);
    expect(after.changeKey).toBe(copy.changeKey);
    expect(after.properties.Subject).toBe('Review');

    const result = await organizer.updateItem(
      made.itemId,
      write('calendar', { subject: 'Review (moved)', location: 'Room 2' }),
      live(),
    );
    expect(result.uid).toBe(made.uid);
    const updatedCopy = emulator.admin.items(bob, 'calendar').find((i) => i.properties.UID === made.uid);
    expect(updatedCopy?.properties).toMatchObject({ Subject: 'Review (moved)', Location: 'Room 2' });
  });

  it('with a change key, writes only over that version: a stale one is EXH_EXCHANGE_CONFLICT and changes nothing', async () => {
    const connection = await connect(alice);
    const made = await connection.createItem(
      write('task', { subject: 'Base', owner: 'Ann' }, { appItemId: 'APP-TASK-CK' }),
      live(),
    );
    const written = await connection.updateItem(made.itemId, write('task', { subject: 'Ours' }), {
      ...live(),
      changeKey: made.changeKey,
    });
    expect(written.changeKey).not.toBe(made.changeKey);
    // A person changes the item in Outlook meanwhile.
    emulator.admin.updateItem(alice, made.itemId, { Owner: 'Bea' });
    const theirs = emulator.admin.item(alice, made.itemId);
    const refused = await rejection(
      connection.updateItem(made.itemId, write('task', { subject: 'Ours again' }), {
        ...live(),
        changeKey: written.changeKey,
      }),
    );
    expect(refused.code).toBe('EXH_EXCHANGE_CONFLICT');
    expect(refused.message).toContain(made.itemId);
    expect(emulator.admin.item(alice, made.itemId)).toMatchObject({
      changeKey: theirs.changeKey,
      properties: { Subject: 'Ours', Owner: 'Bea' },
    });
    // Nothing to write is refused the same way when the version moved on, and fine when it did not.
    const empty = write('task', { subject: null });
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
      write('contact', { display_name: 'Versioned' }, { appItemId: 'APP-CON-VERSION' }),
      live(),
    );
    const before = await connection.readItem(made.itemId, live());
    expect(before).toMatchObject({ id: made.itemId, changeKey: made.changeKey, itemClass: 'IPM.Contact' });
    expect(before?.properties).toMatchObject({ displayName: 'Versioned', appItemId: 'APP-CON-VERSION' });
    emulator.admin.updateItem(alice, made.itemId, { CompanyName: 'Acme' });
    const after = await connection.readItem(made.itemId, live());
    expect(after?.changeKey).toBe(emulator.admin.item(alice, made.itemId).changeKey);
    expect(after?.changeKey).not.toBe(made.changeKey);
    expect(after?.properties.company).toBe('Acme');
    expect(Date.parse(String(after?.properties.lastModified))).toBeGreaterThanOrEqual(
      Date.parse(String(before?.properties.lastModified)),
    );
    await connection.deleteItem(made.itemId, live());
    expect(await connection.readItem(made.itemId, live())).toBeNull();
  });

  it('a bad value is refused before anything is sent, naming the field', async () => {
    const connection = await connect(alice);
    const made = await connection.createItem(write('task', { subject: 'Bad' }, { appItemId: 'APP-TASK-3' }), live());
    const refused = await rejection(
      connection.updateItem(made.itemId, write('task', { subject: 'x', due: 'next week' }), live()),
    );
    expect(refused.code).toBe('EXH_EXCHANGE_REQUEST_FAILED');
    expect(refused.message).toContain('exh_due');
    expect(emulator.admin.item(alice, made.itemId).properties.Subject).toBe('Bad');
  });
});

describe('deleteItem, findByAppItemId, syncFolder of a written item', () => {
  it('the stamp is read back by syncFolder as appItemId', async () => {
    const connection = await connect(alice);
    const made = await connection.createItem(
      write('task', { subject: 'Synced' }, { appItemId: 'APP-TASK-SYNC' }),
      live(),
    );
    let state: string | null = null;
    const items: ExchangeItem[] = [];
    for (;;) {
      const page = await connection.syncFolder('tasks', state, { ...live(), maxChanges: 512 });
      for (const change of page.changes) if ('item' in change) items.push(change.item);
      state = page.continuation;
      if (page.done) break;
    }
    expect(items.find((i) => i.id === made.itemId)?.properties.appItemId).toBe('APP-TASK-SYNC');
  });

  it('findByAppItemId finds the item of the type and misses otherwise', async () => {
    const connection = await connect(alice);
    const made = await connection.createItem(
      write('contact', { display_name: 'Findable' }, { appItemId: 'APP-FIND-1' }),
      live(),
    );
    expect(await connection.findByAppItemId(createdIn('contact'), 'APP-FIND-1', live())).toBe(made.itemId);
    expect(await connection.findByAppItemId(createdIn('contact'), 'APP-FIND-2', live())).toBeNull();
    expect(await connection.findByAppItemId(createdIn('task'), 'APP-FIND-1', live())).toBeNull();
    const mail = await connection.findByAppItemId(createdIn('email'), 'APP-MAIL-1', live());
    expect(mail === null ? null : emulator.admin.item(alice, mail).properties.Subject).toBe('Offer');
    const draft = await connection.findByAppItemId(createdIn('email'), 'APP-MAIL-2', live());
    expect(draft === null ? null : emulator.admin.item(alice, draft).folder).toBe('drafts');
  });

  it('deleting twice is fine; a meeting’s deletion cancels it for the attendees', async () => {
    const connection = await connect(alice);
    const made = await connection.createItem(
      write('calendar', { subject: 'Doomed', required_attendees: bob }, { appItemId: 'APP-DEL-1' }),
      live(),
    );
    await connection.deleteItem(made.itemId, live());
    expect(await connection.findByAppItemId(createdIn('calendar'), 'APP-DEL-1', live())).toBeNull();
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

  it('asks mayStart before the write only: the reads after a create (its UID, a sent copy) do not undo it', async () => {
    const connection = await connect(alice);
    // Allowed once, for the write itself; a second ask (a read after it) would throw as an ended lease does.
    const once = () => {
      let asked = 0;
      return () => {
        asked += 1;
        if (asked > 1) throw new Error(`asked ${asked} times`);
      };
    };
    const meeting = await connection.createItem(
      write('calendar', { subject: 'Checked once', required_attendees: '' }, { appItemId: 'APP-ONCE-1' }),
      { ...live(), mayStart: once() },
    );
    expect(meeting.uid).toMatch(/^[0-9A-F]{40,}$/);
    const sent = await connection.createItem(
      write('email', { subject: 'Sent once', body: 'hi', to: bob }, { appItemId: 'APP-ONCE-2' }),
      { ...live(), mayStart: once() },
    );
    expect(emulator.admin.item(alice, sent.itemId).folder).toBe('sentitems');
    // Refused at once: nothing is made.
    const refused = connection.createItem(write('task', { subject: 'Not made' }, { appItemId: 'APP-ONCE-3' }), {
      ...live(),
      mayStart: () => {
        throw new Error('the lease ended');
      },
    });
    await expect(refused).rejects.toThrow('the lease ended');
    expect(emulator.admin.items(alice, 'tasks').some((i) => i.properties.Subject === 'Not made')).toBe(false);
  });

  it('a stopped caller’s create is cancelled and creates nothing', async () => {
    const connection = await connect(alice);
    const controller = new AbortController();
    controller.abort();
    const refused = await rejection(
      connection.createItem(write('task', { subject: 'Never' }, { appItemId: 'APP-ABORT' }), live(controller.signal)),
    );
    expect(refused.code).toBe('EXH_POOL_ABORTED');
    expect(emulator.admin.items(alice, 'tasks').some((i) => i.properties.Subject === 'Never')).toBe(false);
  });
});
