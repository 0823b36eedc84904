import { describe, expect, it } from 'vitest';
import { MemoryMailbox, type StoredItem } from '../../../src/exchange/memory/store.js';
import {
  attendeesOf,
  deleteItem,
  isAppointment,
  isClass,
  isEmail,
  isOrganizer,
  itemChanged,
  type Mailboxes,
  makeItem,
} from '../../../src/exchange/memory/writes.js';

/**
 * What happens in the in-memory Exchange when an item is made, changed or deleted (src/exchange/memory/writes.ts):
 * mail is sent and delivered, meetings reach their attendees and follow their organizer, deleting goes through
 * Deleted Items.
 */
const now = new Date('2026-03-01T08:00:00.000Z');
function exchange(...addresses: string[]) {
  const byAddress = new Map(addresses.map((a) => [a.toLowerCase(), new MemoryMailbox(a, { now: () => now })]));
  const mailboxes: Mailboxes = { find: (address) => byAddress.get(address.toLowerCase()) };
  const get = (address: string) => byAddress.get(address) as MemoryMailbox;
  return { mailboxes, get };
}
const alice = 'alice@x.test';
const bob = 'bob@x.test';
const carol = 'carol@x.test';
const meeting = {
  itemClass: 'IPM.Appointment',
  folder: 'calendar' as const,
  properties: {
    subject: 'Planning',
    start: '2026-03-02T09:00:00.000Z',
    end: '2026-03-02T10:00:00.000Z',
    requiredAttendees: [bob, 'nobody@elsewhere.test'],
    appItemId: 'app-7',
  },
};

describe('message classes', () => {
  it('knows a class and its subclasses, case-blind, and nothing that only starts alike', () => {
    expect(isClass('IPM.Note.SMIME', 'IPM.Note')).toBe(true);
    expect(isClass('ipm.note', 'IPM.Note')).toBe(true);
    expect(isClass('IPM.NoteBook', 'IPM.Note')).toBe(false);
    expect(isEmail('IPM.Note')).toBe(true);
    expect(isEmail('IPM.Schedule.Meeting.Request')).toBe(false);
    expect(isAppointment('IPM.Appointment.Occurrence')).toBe(true);
    expect(isAppointment('IPM.Task')).toBe(false);
    expect(attendeesOf({ requiredAttendees: ['a'], optionalAttendees: ['b'], resources: ['r'], to: ['t'] })).toEqual([
      'a',
      'b',
      'r',
    ]);
  });
});

describe('makeItem', () => {
  it('files an item where asked, an e-mail with a message id and a conversation', () => {
    const { mailboxes, get } = exchange(alice);
    const saved = makeItem(mailboxes, get(alice), {
      itemClass: 'IPM.Note',
      folder: 'drafts',
      properties: { subject: 'Draft', to: [bob] },
    });
    expect(saved.folder).toBe('drafts');
    expect(saved.properties.internetMessageId).toMatch(/^<.+@memory\.exchange>$/);
    expect(saved.properties.conversationId).toEqual(expect.any(String));
    const contact = makeItem(mailboxes, get(alice), { itemClass: 'IPM.Contact', folder: 'contacts', properties: {} });
    expect(contact.properties).not.toHaveProperty('internetMessageId');
    expect(contact.uid).toBeUndefined();
  });

  it('sends an e-mail: kept read in Sent Items, delivered unread to each recipient it has a mailbox for, once, without Bcc or the app’s id', () => {
    const { mailboxes, get } = exchange(alice, bob, carol);
    const sent = makeItem(mailboxes, get(alice), {
      itemClass: 'IPM.Note',
      folder: 'drafts',
      properties: {
        subject: 'Hello',
        to: [bob, 'BOB@x.test', 'someone@elsewhere.test'],
        cc: [alice],
        bcc: [carol],
        appItemId: 'app-1',
      },
      send: true,
    });
    expect(sent.folder).toBe('sentitems');
    expect(sent.properties).toMatchObject({
      from: alice,
      sender: alice,
      sent: now.toISOString(),
      isRead: true,
      appItemId: 'app-1',
    });
    expect(get(alice).inFolder('inbox')).toEqual([]);
    for (const recipient of [bob, carol]) {
      const inbox = get(recipient).inFolder('inbox');
      expect(inbox).toHaveLength(1);
      expect(inbox[0]?.properties).toMatchObject({ subject: 'Hello', isRead: false, received: now.toISOString() });
      expect(inbox[0]?.properties).not.toHaveProperty('bcc');
      expect(inbox[0]?.properties).not.toHaveProperty('appItemId');
    }
  });

  it('does not send an e-mail without recipients, nor anything that is not an e-mail', () => {
    const { mailboxes, get } = exchange(alice, bob);
    expect(
      makeItem(mailboxes, get(alice), { itemClass: 'IPM.Note', folder: 'drafts', properties: {}, send: true }).folder,
    ).toBe('drafts');
    expect(
      makeItem(mailboxes, get(alice), {
        itemClass: 'IPM.Task',
        folder: 'tasks',
        properties: { to: [bob] },
        send: true,
      }).folder,
    ).toBe('tasks');
    expect(get(bob).inFolder('inbox')).toEqual([]);
  });

  it('gives an appointment a UID and its organizer; a meeting reaches each attendee as a copy and a request', () => {
    const { mailboxes, get } = exchange(alice, bob);
    const single = makeItem(mailboxes, get(alice), {
      itemClass: 'IPM.Appointment',
      folder: 'calendar',
      properties: {},
    });
    expect(single.uid).toEqual(expect.any(String));
    expect(single.properties).toMatchObject({ organizer: alice, isMeeting: false, isCancelled: false });
    expect(makeItem(mailboxes, get(alice), { ...meeting, uid: 'given-uid', properties: {} }).uid).toBe('given-uid');

    const organized = makeItem(mailboxes, get(alice), meeting);
    expect(organized.properties).toMatchObject({ isMeeting: true, organizer: alice });
    const [copy] = get(bob).inFolder('calendar');
    expect(copy).toMatchObject({ uid: organized.uid, properties: { subject: 'Planning', organizer: alice } });
    expect(copy?.properties).not.toHaveProperty('appItemId');
    expect(get(bob).inFolder('inbox')).toEqual([
      expect.objectContaining({
        itemClass: 'IPM.Schedule.Meeting.Request',
        uid: organized.uid,
        properties: expect.objectContaining({ subject: 'Planning', from: alice, to: [bob], isRead: false }),
      }),
    ]);
  });

  it('makes a series of the occurrences given: recurring, each with its original start', () => {
    const { mailboxes, get } = exchange(alice);
    const series = makeItem(mailboxes, get(alice), {
      itemClass: 'IPM.Appointment',
      folder: 'calendar',
      properties: { start: '2026-03-02T09:00:00.000Z' },
      occurrences: [
        { start: '2026-03-02T09:00:00.000Z', end: '2026-03-02T10:00:00.000Z' },
        { start: '2026-03-09T11:00:00.000Z', originalStart: '2026-03-09T09:00:00.000Z', subject: 'Moved' },
      ],
    });
    expect(series.properties.isRecurring).toBe(true);
    expect(series.occurrences.map((o) => [o.originalStart, o.properties])).toEqual([
      ['2026-03-02T09:00:00.000Z', { start: '2026-03-02T09:00:00.000Z', end: '2026-03-02T10:00:00.000Z' }],
      ['2026-03-09T09:00:00.000Z', { start: '2026-03-09T11:00:00.000Z', subject: 'Moved' }],
    ]);
    expect(new Set(series.occurrences.map((o) => o.id)).size).toBe(2);
  });
});

describe('itemChanged', () => {
  it('journals a read flag apart from an update', () => {
    const { mailboxes, get } = exchange(alice);
    const item = makeItem(mailboxes, get(alice), { itemClass: 'IPM.Note', folder: 'inbox', properties: {} });
    itemChanged(mailboxes, get(alice), item, true);
    itemChanged(mailboxes, get(alice), item, false);
    expect(
      get(alice)
        .folders.get('inbox')
        ?.journal.map((entry) => entry.kind),
    ).toEqual(['create', 'readFlag', 'update']);
  });

  it('brings the attendees’ copies along with the organizer’s change (keeping their own app id), not an attendee’s', () => {
    const { mailboxes, get } = exchange(alice, bob, carol);
    const organized = makeItem(mailboxes, get(alice), meeting);
    const copy = get(bob).inFolder('calendar')[0] as StoredItem;
    copy.properties.appItemId = 'bobs-row';
    organized.properties.subject = 'Planning, moved';
    organized.properties.requiredAttendees = [bob, carol];
    itemChanged(mailboxes, get(alice), organized, false);
    expect(copy.properties).toMatchObject({ subject: 'Planning, moved', appItemId: 'bobs-row' });
    // Carol, added, gets a copy and a request; Bob gets no second request.
    expect(get(carol).inFolder('calendar')).toHaveLength(1);
    expect(get(bob).inFolder('inbox')).toHaveLength(1);

    // An attendee's change stays in the attendee's copy: the other attendees keep the organizer's.
    copy.properties.subject = 'Bob’s own note';
    itemChanged(mailboxes, get(bob), copy, false);
    expect(organized.properties.subject).toBe('Planning, moved');
    expect(get(carol).inFolder('calendar')[0]?.properties.subject).toBe('Planning, moved');
    expect(get(carol).inFolder('inbox')).toHaveLength(1);
  });

  it('knows the organizer by the organizer property, case-blind; an item without one is its mailbox’s own', () => {
    const { mailboxes, get } = exchange(alice, bob);
    const organized = makeItem(mailboxes, get(alice), meeting);
    expect(isOrganizer(get(alice), { ...organized, properties: { organizer: 'ALICE@x.test' } })).toBe(true);
    expect(isOrganizer(get(bob), get(bob).inFolder('calendar')[0] as StoredItem)).toBe(false);
    expect(isOrganizer(get(bob), { ...organized, properties: {} })).toBe(true);
  });
});

describe('deleteItem', () => {
  it('moves an item to Deleted Items under a new id, and deletes it there for good', () => {
    const { mailboxes, get } = exchange(alice);
    const item = makeItem(mailboxes, get(alice), {
      itemClass: 'IPM.Task',
      folder: 'tasks',
      properties: { subject: 'A' },
    });
    deleteItem(mailboxes, get(alice), item);
    expect(get(alice).inFolder('tasks')).toEqual([]);
    const [moved] = get(alice).inFolder('deleteditems');
    expect(moved).toMatchObject({ itemClass: 'IPM.Task', properties: { subject: 'A' } });
    expect(moved?.id).not.toBe(item.id);
    deleteItem(mailboxes, get(alice), moved as StoredItem);
    expect(get(alice).inFolder('deleteditems')).toEqual([]);
  });

  it('cancels the meeting for its attendees when the organizer deletes it, not when an attendee does', () => {
    const { mailboxes, get } = exchange(alice, bob);
    const organized = makeItem(mailboxes, get(alice), meeting);
    const copy = get(bob).inFolder('calendar')[0] as StoredItem;
    deleteItem(mailboxes, get(bob), copy);
    expect(organized.properties.isCancelled).toBe(false);

    const second = makeItem(mailboxes, get(alice), {
      ...meeting,
      properties: { ...meeting.properties, subject: 'Two' },
    });
    const secondCopy = get(bob)
      .inFolder('calendar')
      .find((item) => item.uid === second.uid) as StoredItem;
    deleteItem(mailboxes, get(alice), second);
    expect(secondCopy.properties.isCancelled).toBe(true);
    expect(
      get(bob)
        .inFolder('inbox')
        .map((item) => item.itemClass),
    ).toEqual(['IPM.Schedule.Meeting.Request', 'IPM.Schedule.Meeting.Request', 'IPM.Schedule.Meeting.Canceled']);
  });
});
