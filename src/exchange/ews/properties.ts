import { ExtendedPropertyDefinition, Guid, MapiPropertyType } from 'ews-javascript-api';
import { findIana } from 'windows-iana';
import type { AttachmentRef, ExchangeItem, ExchangeValue } from '../../ports/exchange.port.js';
import { formatRecurrence, parseRecurrence } from './recurrence.js';
import { all, at, attr, entries, textOf, type XmlValue } from './xml.js';

/**
 * An EWS item (GetItem, AllProperties) as ExchangeItem.properties, keyed by the item-type definitions'
 * `exchangeProperty` strings (src/items). Every property of the item's kind gets a key: null when Exchange has no
 * value, so that "absent" keeps meaning "not read". Conventions:
 *
 * - Times are ISO-8601 UTC (`2026-01-05T09:00:00.000Z`). An all-day appointment keeps its dates: Exchange stores it
 *   from midnight to midnight in its StartTimeZone, and exh gives those local dates as midnight UTC
 *   (`2026-03-10T00:00:00.000Z` to `2026-03-11T00:00:00.000Z`), whatever zone the event was made in.
 * - A birthday is a date (`YYYY-MM-DD`): Exchange keeps midnight of the client's zone, so the nearest UTC midnight
 *   is the day.
 * - Addresses are SMTP addresses; lists of them, and categories, are string arrays.
 * - `IsRecurring` is true for the master, occurrences and exceptions of a series (Exchange's own IsRecurring is
 *   false on the master).
 * - `exh:AppItemId` is the connector's one extended property (`appItemIdProperty`).
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

type Properties = Record<string, ExchangeValue>;

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
    const id = attr(at(attachment, 'AttachmentId'), 'Id');
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
  into.Body = value === undefined || value === '' ? null : value;
  const type = attr(element, 'BodyType');
  into['Body.BodyType'] = element === undefined ? null : type === 'Text' ? 'Text' : 'HTML';
}

function common(node: XmlValue | undefined): Properties {
  const properties: Properties = {
    Subject: text(node, 'Subject'),
    Categories: strings(node, 'Categories'),
    Importance: text(node, 'Importance'),
    Sensitivity: text(node, 'Sensitivity'),
    DateTimeCreated: iso(textOf(node, 'DateTimeCreated')),
    LastModifiedTime: iso(textOf(node, 'LastModifiedTime')),
    Attachments: attachments(node),
    'exh:AppItemId': appItemId(node),
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
    Location: text(node, 'Location'),
    Start: start,
    End: end,
    IsAllDayEvent: allDay,
    StartTimeZone: timeZone,
    Organizer: single(node, 'Organizer'),
    RequiredAttendees: attendees(node, 'RequiredAttendees'),
    OptionalAttendees: attendees(node, 'OptionalAttendees'),
    Resources: attendees(node, 'Resources'),
    LegacyFreeBusyStatus: text(node, 'LegacyFreeBusyStatus'),
    IsReminderSet: bool(node, 'ReminderIsSet'),
    ReminderMinutesBeforeStart: int(node, 'ReminderMinutesBeforeStart'),
    IsRecurring: type === undefined ? bool(node, 'IsRecurring') : type !== 'Single',
    Recurrence: recurrence ? formatRecurrence(recurrence) : null,
    OriginalStart: iso(textOf(node, 'OriginalStart') ?? textOf(node, 'RecurrenceId')),
    IsCancelled: bool(node, 'IsCancelled'),
    IsMeeting: bool(node, 'IsMeeting'),
  });
}

function message(node: XmlValue | undefined, into: Properties): void {
  Object.assign(into, {
    From: single(node, 'From'),
    Sender: single(node, 'Sender'),
    ToRecipients: mailboxes(node, 'ToRecipients'),
    CcRecipients: mailboxes(node, 'CcRecipients'),
    BccRecipients: mailboxes(node, 'BccRecipients'),
    ReplyTo: mailboxes(node, 'ReplyTo'),
    DateTimeReceived: iso(textOf(node, 'DateTimeReceived')),
    DateTimeSent: iso(textOf(node, 'DateTimeSent')),
    IsRead: bool(node, 'IsRead'),
    InternetMessageId: text(node, 'InternetMessageId'),
    ConversationId: attr(at(node, 'ConversationId'), 'Id') ?? null,
    InReplyTo: text(node, 'InReplyTo'),
    HasAttachments: bool(node, 'HasAttachments'),
  });
}

const emailKeys = ['EmailAddress1', 'EmailAddress2', 'EmailAddress3'];
const phoneKeys = ['BusinessPhone', 'HomePhone', 'MobilePhone', 'BusinessFax'];
const addressKeys = ['Business', 'Home'];
const addressParts = ['Street', 'City', 'State', 'PostalCode', 'CountryOrRegion'];

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
    DisplayName: text(node, 'DisplayName'),
    GivenName: text(node, 'GivenName'),
    MiddleName: text(node, 'MiddleName'),
    Surname: text(node, 'Surname'),
    Initials: text(node, 'Initials'),
    NickName: text(node, 'Nickname'),
    CompanyName: text(node, 'CompanyName'),
    Department: text(node, 'Department'),
    JobTitle: text(node, 'JobTitle'),
    Birthday: nearestDate(text(node, 'Birthday')),
    FileAs: text(node, 'FileAs'),
  });
  const emails = dictionary(node, 'EmailAddresses');
  for (const key of emailKeys) into[`EmailAddresses[${key}]`] = textOf(emails.get(key)) || null;
  const phones = dictionary(node, 'PhoneNumbers');
  for (const key of phoneKeys) into[`PhoneNumbers[${key}]`] = textOf(phones.get(key)) || null;
  const addresses = dictionary(node, 'PhysicalAddresses');
  for (const key of addressKeys) {
    for (const part of addressParts) into[`PhysicalAddresses[${key}].${part}`] = text(addresses.get(key), part);
  }
}

function task(node: XmlValue | undefined, into: Properties): void {
  const recurrence = parseRecurrence(at(node, 'Recurrence'));
  Object.assign(into, {
    StartDate: iso(textOf(node, 'StartDate')),
    DueDate: iso(textOf(node, 'DueDate')),
    Status: text(node, 'Status'),
    PercentComplete: int(node, 'PercentComplete'),
    CompleteDate: iso(textOf(node, 'CompleteDate')),
    IsReminderSet: bool(node, 'ReminderIsSet'),
    ReminderDueBy: iso(textOf(node, 'ReminderDueBy')),
    Owner: text(node, 'Owner'),
    IsRecurring: bool(node, 'IsRecurring'),
    Recurrence: recurrence ? formatRecurrence(recurrence) : null,
  });
}

const messageKinds = new Set([
  'Message',
  'MeetingRequest',
  'MeetingResponse',
  'MeetingCancellation',
  'MeetingMessage',
  'PostItem',
]);

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
    id: attr(id, 'Id') ?? '',
    changeKey: attr(id, 'ChangeKey') ?? '',
    kind,
    properties,
  };
  const uid = textOf(node, 'UID');
  if (uid) item.uid = uid;
  return item;
}
