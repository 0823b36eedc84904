import { ExtendedPropertyDefinition, Guid, MapiPropertyType } from 'ews-javascript-api';
import { findIana } from 'windows-iana';
import type { AttachmentRef, ExchangeItem, ExchangeValue, ItemProperty } from '../../ports/exchange.port.js';
import { formatRecurrence, parseRecurrence } from './recurrence.js';
import { all, at, attr, entries, idAttr, textOf, type XmlValue } from './xml.js';

/**
 * An EWS item (GetItem, AllProperties) as ExchangeItem.properties, keyed by the neutral names of
 * src/ports/item-properties.ts, which also gives the value conventions. Every property of the item's element gets a
 * key: null when Exchange has no value, so that "absent" keeps meaning "not read". What EWS adds:
 *
 * - An all-day appointment is stored from midnight to midnight in its StartTimeZone; its local dates are given as
 *   midnight UTC (`2026-03-10T00:00:00.000Z` to `2026-03-11T00:00:00.000Z`), whatever zone it was made in.
 * - A birthday is kept at midnight of the client's zone, so the nearest UTC midnight is the day.
 * - `isRecurring` is true for the master too (Exchange's own IsRecurring is false on the master).
 * - `appItemId` is the connector's one extended property (`appItemIdProperty`).
 */

/** The extended property that carries the application's id on items the connector writes. */
export const appItemIdProperty = {
  propertySetId: 'c11ff724-aa03-4555-9952-8fa248a11c3e',
  name: 'exh_app_item_id',
  type: 'String',
} as const;

/** appItemIdProperty for ews-javascript-api (Item.SetExtendedProperty, PropertySet), for the writing side. */
export function appItemIdDefinition(): ExtendedPropertyDefinition {
  return new ExtendedPropertyDefinition(
    new Guid(appItemIdProperty.propertySetId),
    appItemIdProperty.name,
    MapiPropertyType.String,
  );
}

/** The ExtendedFieldURI of appItemIdProperty, for ItemShape and for writing it. */
export const appItemIdFieldUri =
  `<t:ExtendedFieldURI PropertySetId="${appItemIdProperty.propertySetId}" ` +
  `PropertyName="${appItemIdProperty.name}" PropertyType="${appItemIdProperty.type}"/>`;

type Properties = Partial<Record<ItemProperty, ExchangeValue>>;

function text(node: XmlValue | undefined, name: string): string | null {
  const value = textOf(node, name);
  return value === undefined || value === '' ? null : value;
}

function iso(value: string | undefined | null): string | null {
  if (!value) return null;
  const ms = Date.parse(value);
  return Number.isNaN(ms) ? null : new Date(ms).toISOString();
}

function bool(node: XmlValue | undefined, name: string): boolean | null {
  const value = textOf(node, name);
  return value === undefined ? null : value.trim() === 'true';
}

function int(node: XmlValue | undefined, name: string): number | null {
  const value = textOf(node, name);
  if (value === undefined || value.trim() === '') return null;
  const number = Math.round(Number(value));
  return Number.isFinite(number) ? number : null;
}

/** The SMTP address of a Mailbox element (or of the Mailbox inside `node`). */
function address(mailbox: XmlValue | undefined): string | null {
  return text(mailbox, 'EmailAddress');
}

function single(node: XmlValue | undefined, name: string): string | null {
  return address(at(node, name, 'Mailbox'));
}

function mailboxes(node: XmlValue | undefined, name: string): string[] | null {
  const list = all(at(node, name), 'Mailbox')
    .map(address)
    .filter((a): a is string => a !== null);
  return list.length > 0 ? list : null;
}

function attendees(node: XmlValue | undefined, name: string): string[] | null {
  const list = all(at(node, name), 'Attendee')
    .map((a) => address(at(a, 'Mailbox')))
    .filter((a): a is string => a !== null);
  return list.length > 0 ? list : null;
}

function strings(node: XmlValue | undefined, name: string): string[] | null {
  const list = all(at(node, name), 'String')
    .map((s) => textOf(s) ?? '')
    .filter(Boolean);
  return list.length > 0 ? list : null;
}

function attachments(node: XmlValue | undefined): AttachmentRef[] | null {
  const list: AttachmentRef[] = [];
  for (const [, attachment] of entries(at(node, 'Attachments'))) {
    const id = idAttr(at(attachment, 'AttachmentId'));
    if (id) list.push({ name: textOf(attachment, 'Name') ?? '', id });
  }
  return list.length > 0 ? list : null;
}

function appItemId(node: XmlValue | undefined): string | null {
  for (const property of all(node, 'ExtendedProperty')) {
    const uri = at(property, 'ExtendedFieldURI');
    const set = attr(uri, 'PropertySetId')?.toLowerCase();
    if (set === appItemIdProperty.propertySetId && attr(uri, 'PropertyName') === appItemIdProperty.name) {
      return text(property, 'Value');
    }
  }
  return null;
}

function body(node: XmlValue | undefined, into: Properties): void {
  const element = at(node, 'Body');
  const value = textOf(element);
  into.body = value === undefined || value === '' ? null : value;
  const type = attr(element, 'BodyType');
  into.bodyType = element === undefined ? null : type === 'Text' ? 'Text' : 'HTML';
}

function common(node: XmlValue | undefined): Properties {
  const properties: Properties = {
    subject: text(node, 'Subject'),
    categories: strings(node, 'Categories'),
    importance: text(node, 'Importance'),
    sensitivity: text(node, 'Sensitivity'),
    created: iso(textOf(node, 'DateTimeCreated')),
    lastModified: iso(textOf(node, 'LastModifiedTime')),
    attachments: attachments(node),
    appItemId: appItemId(node),
  };
  body(node, properties);
  return properties;
}

const ianaCache = new Map<string, string>();

export function ianaOf(windowsId: string): string {
  let zone = ianaCache.get(windowsId);
  if (zone === undefined) {
    zone = findIana(windowsId)[0] ?? 'UTC';
    try {
      new Intl.DateTimeFormat('en-US', { timeZone: zone });
    } catch {
      zone = 'UTC';
    }
    ianaCache.set(windowsId, zone);
  }
  return zone;
}

/** The local date (YYYY-MM-DD) of an instant in a Windows time zone. */
export function localDate(instant: string, windowsId: string | null): string {
  const zone = windowsId ? ianaOf(windowsId) : 'UTC';
  // en-CA writes dates as YYYY-MM-DD.
  return new Intl.DateTimeFormat('en-CA', { timeZone: zone, year: 'numeric', month: '2-digit', day: '2-digit' }).format(
    new Date(instant),
  );
}

/** A date stored as a time (a birthday): the nearest UTC midnight. */
export function nearestDate(value: string | null): string | null {
  const ms = value ? Date.parse(value) : Number.NaN;
  if (Number.isNaN(ms)) return null;
  return new Date(Math.round(ms / 86_400_000) * 86_400_000).toISOString().slice(0, 10);
}

function calendar(node: XmlValue | undefined, into: Properties): void {
  const timeZone = attr(at(node, 'StartTimeZone'), 'Id') ?? attr(at(node, 'MeetingTimeZone'), 'TimeZoneName') ?? null;
  const allDay = bool(node, 'IsAllDayEvent');
  let start = iso(textOf(node, 'Start'));
  let end = iso(textOf(node, 'End'));
  if (allDay && start && end) {
    start = `${localDate(start, timeZone)}T00:00:00.000Z`;
    end = `${localDate(end, timeZone)}T00:00:00.000Z`;
  }
  const type = textOf(node, 'CalendarItemType');
  const recurrence = parseRecurrence(at(node, 'Recurrence'));
  Object.assign(into, {
    location: text(node, 'Location'),
    start,
    end,
    isAllDay: allDay,
    timeZone,
    organizer: single(node, 'Organizer'),
    requiredAttendees: attendees(node, 'RequiredAttendees'),
    optionalAttendees: attendees(node, 'OptionalAttendees'),
    resources: attendees(node, 'Resources'),
    freeBusy: text(node, 'LegacyFreeBusyStatus'),
    reminderSet: bool(node, 'ReminderIsSet'),
    reminderMinutes: int(node, 'ReminderMinutesBeforeStart'),
    isRecurring: type === undefined ? bool(node, 'IsRecurring') : type !== 'Single',
    recurrence: recurrence ? formatRecurrence(recurrence) : null,
    originalStart: iso(textOf(node, 'OriginalStart') ?? textOf(node, 'RecurrenceId')),
    isCancelled: bool(node, 'IsCancelled'),
    isMeeting: bool(node, 'IsMeeting'),
  } satisfies Properties);
}

function message(node: XmlValue | undefined, into: Properties): void {
  Object.assign(into, {
    from: single(node, 'From'),
    sender: single(node, 'Sender'),
    to: mailboxes(node, 'ToRecipients'),
    cc: mailboxes(node, 'CcRecipients'),
    bcc: mailboxes(node, 'BccRecipients'),
    replyTo: mailboxes(node, 'ReplyTo'),
    received: iso(textOf(node, 'DateTimeReceived')),
    sent: iso(textOf(node, 'DateTimeSent')),
    isRead: bool(node, 'IsRead'),
    internetMessageId: text(node, 'InternetMessageId'),
    conversationId: attr(at(node, 'ConversationId'), 'Id') ?? null,
    inReplyTo: text(node, 'InReplyTo'),
    hasAttachments: bool(node, 'HasAttachments'),
  } satisfies Properties);
}

const emailKeys = { email1: 'EmailAddress1', email2: 'EmailAddress2', email3: 'EmailAddress3' } as const;
const phoneKeys = {
  businessPhone: 'BusinessPhone',
  homePhone: 'HomePhone',
  mobilePhone: 'MobilePhone',
  businessFax: 'BusinessFax',
} as const;
const addressKeys = { businessAddress: 'Business', homeAddress: 'Home' } as const;
const addressParts = {
  street: 'Street',
  city: 'City',
  state: 'State',
  postalCode: 'PostalCode',
  country: 'CountryOrRegion',
} as const;

function dictionary(node: XmlValue | undefined, name: string): Map<string, XmlValue> {
  const map = new Map<string, XmlValue>();
  for (const entry of all(at(node, name), 'Entry')) {
    const key = attr(entry, 'Key');
    if (key) map.set(key, entry);
  }
  return map;
}

function contact(node: XmlValue | undefined, into: Properties): void {
  Object.assign(into, {
    displayName: text(node, 'DisplayName'),
    givenName: text(node, 'GivenName'),
    middleName: text(node, 'MiddleName'),
    surname: text(node, 'Surname'),
    initials: text(node, 'Initials'),
    nickname: text(node, 'Nickname'),
    company: text(node, 'CompanyName'),
    department: text(node, 'Department'),
    jobTitle: text(node, 'JobTitle'),
    birthday: nearestDate(text(node, 'Birthday')),
    fileAs: text(node, 'FileAs'),
  } satisfies Properties);
  const emails = dictionary(node, 'EmailAddresses');
  for (const [property, key] of Object.entries(emailKeys) as Array<[keyof typeof emailKeys, string]>)
    into[property] = textOf(emails.get(key)) || null;
  const phones = dictionary(node, 'PhoneNumbers');
  for (const [property, key] of Object.entries(phoneKeys) as Array<[keyof typeof phoneKeys, string]>)
    into[property] = textOf(phones.get(key)) || null;
  const addresses = dictionary(node, 'PhysicalAddresses');
  for (const [prefix, key] of Object.entries(addressKeys) as Array<[keyof typeof addressKeys, string]>) {
    for (const [part, element] of Object.entries(addressParts) as Array<[keyof typeof addressParts, string]>)
      into[`${prefix}.${part}`] = text(addresses.get(key), element);
  }
}

function task(node: XmlValue | undefined, into: Properties): void {
  const recurrence = parseRecurrence(at(node, 'Recurrence'));
  Object.assign(into, {
    startDate: iso(textOf(node, 'StartDate')),
    dueDate: iso(textOf(node, 'DueDate')),
    status: text(node, 'Status'),
    percentComplete: int(node, 'PercentComplete'),
    completeDate: iso(textOf(node, 'CompleteDate')),
    reminderSet: bool(node, 'ReminderIsSet'),
    reminderDueBy: iso(textOf(node, 'ReminderDueBy')),
    owner: text(node, 'Owner'),
    isRecurring: bool(node, 'IsRecurring'),
    recurrence: recurrence ? formatRecurrence(recurrence) : null,
  } satisfies Properties);
}

const messageKinds = new Set([
  'Message',
  'MeetingRequest',
  'MeetingResponse',
  'MeetingCancellation',
  'MeetingMessage',
  'PostItem',
]);

/** The message class of each element, for answers that leave ItemClass out. */
const defaultItemClass: Record<string, string> = {
  CalendarItem: 'IPM.Appointment',
  Contact: 'IPM.Contact',
  DistributionList: 'IPM.DistList',
  Task: 'IPM.Task',
  Message: 'IPM.Note',
  PostItem: 'IPM.Post',
  MeetingRequest: 'IPM.Schedule.Meeting.Request',
  MeetingResponse: 'IPM.Schedule.Meeting.Resp',
  MeetingCancellation: 'IPM.Schedule.Meeting.Canceled',
  MeetingMessage: 'IPM.Schedule.Meeting',
};

/**
 * One item element of a GetItem answer (`kind` is its element name: CalendarItem, Message, MeetingRequest, Contact,
 * Task, …) as an ExchangeItem. Meeting requests carry the calendar properties too.
 */
export function toExchangeItem(kind: string, node: XmlValue): ExchangeItem {
  const id = at(node, 'ItemId');
  const properties = common(node);
  if (kind === 'CalendarItem' || kind === 'MeetingRequest') calendar(node, properties);
  if (messageKinds.has(kind)) message(node, properties);
  if (kind === 'Contact') contact(node, properties);
  if (kind === 'Task') task(node, properties);
  const item: ExchangeItem = {
    id: idAttr(id) ?? '',
    changeKey: idAttr(id, 'ChangeKey') ?? '',
    itemClass: textOf(node, 'ItemClass') || defaultItemClass[kind] || 'IPM',
    properties,
  };
  const uid = textOf(node, 'UID');
  if (uid) item.uid = uid;
  return item;
}
