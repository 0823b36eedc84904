import type { ExchangeValue, FolderName } from '../../ports/exchange.port.js';
import { type MemoryMailbox, newId, type Properties, type StoredItem } from './store.js';

/**
 * What happens in the in-memory Exchange when an item is made, changed or deleted, whoever does it (the connector
 * through MailboxWriter, a person through MemoryAdmin): an e-mail with recipients is sent (its copy kept in Sent
 * Items, a copy delivered to the Inbox of each recipient this Exchange has); an appointment gets a UID and its
 * organizer, and one with attendees is a meeting whose copies (and a request message) reach the attendees'
 * mailboxes; the organizer's changes reach the copies, and the organizer's deletion cancels them. Deleting moves an
 * item to Deleted Items (with a new id, as a move does); deleting it there removes it for good.
 */

/** The mailboxes of one in-memory Exchange, by address (case-blind). */
export interface Mailboxes {
  find(address: string): MemoryMailbox | undefined;
}

const lower = (value: string) => value.toLowerCase();
/** Whether `itemClass` is `base` or one of its subclasses (`IPM.Note.SMIME` is an e-mail). */
export const isClass = (itemClass: string, base: string) =>
  lower(itemClass) === lower(base) || lower(itemClass).startsWith(`${lower(base)}.`);
export const isEmail = (itemClass: string) => isClass(itemClass, 'IPM.Note');
export const isAppointment = (itemClass: string) => isClass(itemClass, 'IPM.Appointment');

const addresses = (properties: Properties, names: readonly string[]): string[] =>
  names.flatMap((name) => {
    const value = properties[name as keyof Properties];
    return Array.isArray(value) ? (value as string[]) : [];
  });
const recipientsOf = (properties: Properties) => addresses(properties, ['to', 'cc', 'bcc']);
export const attendeesOf = (properties: Properties) =>
  addresses(properties, ['requiredAttendees', 'optionalAttendees', 'resources']);

export interface NewItem {
  itemClass: string;
  folder: FolderName;
  properties: Properties;
  uid?: string;
  /** Occurrences of a recurring series: what each changes (at least its start); see MemoryAdmin.makeItem. */
  occurrences?: Properties[];
  /** An e-mail with recipients is sent rather than filed in `folder`. */
  send?: boolean;
}

/**
 * Makes an item in `mailbox`. An e-mail sent goes to Sent Items (and its recipients), anything else to the folder
 * asked for; appointments get a UID (the one given, else a new one) and their organizer; the invited are told.
 */
export function makeItem(mailboxes: Mailboxes, mailbox: MemoryMailbox, input: NewItem): StoredItem {
  const properties: Properties = { ...input.properties };
  let folder = input.folder;
  let uid = input.uid;
  const email = isEmail(input.itemClass);
  const send = input.send === true && email && recipientsOf(properties).length > 0;
  if (email) {
    properties.internetMessageId ??= `<${newId()}@memory.exchange>`;
    properties.conversationId ??= newId();
  }
  if (send) {
    folder = 'sentitems';
    properties.from ??= mailbox.address;
    properties.sender ??= mailbox.address;
    properties.sent ??= mailbox.now();
    properties.isRead ??= true;
  }
  if (isAppointment(input.itemClass)) {
    uid ??= newId();
    properties.organizer ??= mailbox.address;
    properties.isMeeting ??= attendeesOf(properties).length > 0;
    properties.isCancelled ??= false;
  }
  const occurrences = (input.occurrences ?? []).map((own) => {
    const originalStart = String(own.originalStart ?? own.start ?? properties.start ?? '');
    const { originalStart: _, ...rest } = own;
    return { id: newId(), changeKey: newId(), originalStart, properties: rest };
  });
  if (occurrences.length > 0) properties.isRecurring = true;
  const item = mailbox.add({
    folder,
    itemClass: input.itemClass,
    ...(uid ? { uid } : {}),
    properties,
    attachments: [],
    occurrences,
  });
  if (send) deliverMail(mailboxes, mailbox, item);
  if (isAppointment(item.itemClass)) inviteAttendees(mailboxes, mailbox, item);
  return item;
}

/** After `item` changed in place: records it and, for the organizer's meeting, brings the attendees' copies along. */
export function itemChanged(mailboxes: Mailboxes, mailbox: MemoryMailbox, item: StoredItem, readOnly: boolean): void {
  mailbox.touch(item, readOnly ? 'readFlag' : 'update');
  if (isAppointment(item.itemClass) && isOrganizer(mailbox, item)) inviteAttendees(mailboxes, mailbox, item);
}

export function isOrganizer(mailbox: MemoryMailbox, item: StoredItem): boolean {
  const organizer = item.properties.organizer;
  return typeof organizer !== 'string' || organizer === '' || lower(organizer) === lower(mailbox.address);
}

/** Deletes as Outlook does: to Deleted Items, and from there for good; an organizer's deletion cancels the meeting. */
export function deleteItem(mailboxes: Mailboxes, mailbox: MemoryMailbox, item: StoredItem): void {
  mailbox.remove(item);
  if (item.folder !== 'deleteditems') {
    const { id: _, changeKey: __, createdSeq: ___, deletedSeq: ____, ...rest } = item;
    mailbox.add({ ...rest, folder: 'deleteditems', properties: { ...item.properties } });
  }
  if (isAppointment(item.itemClass) && item.uid && isOrganizer(mailbox, item)) {
    for (const [attendee, copy] of copiesOf(mailboxes, mailbox, item)) {
      copy.properties.isCancelled = true;
      attendee.touch(copy);
      message(attendee, 'IPM.Schedule.Meeting.Canceled', item, mailbox);
    }
  }
}

function deliverMail(mailboxes: Mailboxes, from: MemoryMailbox, item: StoredItem): void {
  const delivered = new Set<string>();
  for (const address of recipientsOf(item.properties)) {
    const recipient = mailboxes.find(address);
    if (!recipient || delivered.has(recipient.address) || recipient === from) continue;
    delivered.add(recipient.address);
    const { appItemId: _, bcc: __, ...properties } = item.properties;
    recipient.add({
      folder: 'inbox',
      itemClass: item.itemClass,
      properties: { ...properties, isRead: false, received: recipient.now() },
      attachments: item.attachments.map((a) => ({ ...a, id: newId() })),
      occurrences: [],
    });
  }
}

/** The attendees' copies of a meeting (same UID), by mailbox. */
function copiesOf(
  mailboxes: Mailboxes,
  organizer: MemoryMailbox,
  item: StoredItem,
): Array<[MemoryMailbox, StoredItem]> {
  const found: Array<[MemoryMailbox, StoredItem]> = [];
  const seen = new Set<string>();
  for (const address of attendeesOf(item.properties)) {
    const attendee = mailboxes.find(address);
    if (!attendee || attendee === organizer || seen.has(attendee.address)) continue;
    seen.add(attendee.address);
    const copy = attendee.inFolder('calendar').find((candidate) => candidate.uid === item.uid);
    if (copy) found.push([attendee, copy]);
  }
  return found;
}

/**
 * Sends the meeting to every attendee this Exchange has: a new copy and a request for those who have none, the
 * organizer's values for those who have one. Attendees taken off the meeting keep their copy.
 */
function inviteAttendees(mailboxes: Mailboxes, organizer: MemoryMailbox, item: StoredItem): void {
  if (!item.uid) return;
  const { appItemId: _, ...shared } = item.properties;
  const have = new Map(copiesOf(mailboxes, organizer, item).map(([mailbox, copy]) => [mailbox.address, copy]));
  const invited = new Set<string>();
  for (const address of attendeesOf(item.properties)) {
    const attendee = mailboxes.find(address);
    if (!attendee || attendee === organizer || invited.has(attendee.address)) continue;
    invited.add(attendee.address);
    const copy = have.get(attendee.address);
    if (copy) {
      copy.properties = { ...shared, ...(copy.properties.appItemId ? { appItemId: copy.properties.appItemId } : {}) };
      attendee.touch(copy);
      continue;
    }
    attendee.add({
      folder: 'calendar',
      itemClass: item.itemClass,
      uid: item.uid,
      properties: { ...shared },
      attachments: [],
      occurrences: item.occurrences.map((o) => ({ ...o, id: newId(), properties: { ...o.properties } })),
    });
    message(attendee, 'IPM.Schedule.Meeting.Request', item, organizer);
  }
}

/** A meeting message in the attendee's Inbox (a request, a cancellation). */
function message(to: MemoryMailbox, itemClass: string, meeting: StoredItem, from: MemoryMailbox): void {
  const properties: Properties = {
    subject: meeting.properties.subject ?? null,
    from: from.address,
    sender: from.address,
    to: [to.address] as ExchangeValue,
    received: to.now(),
    isRead: false,
  };
  to.add({
    folder: 'inbox',
    itemClass,
    ...(meeting.uid ? { uid: meeting.uid } : {}),
    properties,
    attachments: [],
    occurrences: [],
  });
}
