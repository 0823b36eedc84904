import { itemType } from '../../items/index.js';
import type { FieldValue, ItemTypeName } from '../../ports/database.port.js';
import { ianaOf } from './properties.js';
import { escapeXml } from './xml.js';

/**
 * The application's fields (src/items, keyed by field name) as EWS XML: the item element of a CreateItem, the
 * SetItemField / DeleteItemField list of an UpdateItem. Pure. The seed's rule: null leaves a property untouched, ''
 * deletes it. Every text value is escaped here (the library would send `&` and `<` as they are). Fields without a
 * writer here (ids, the mailbox, created, attachments, recurrence, organizer, ...) are read-only and ignored.
 */

export type ItemElement = 'CalendarItem' | 'Contact' | 'Task' | 'Message';

export const itemElements: Record<ItemTypeName, ItemElement> = {
  calendar: 'CalendarItem',
  contact: 'Contact',
  task: 'Task',
  email: 'Message',
};

type Render = (value: Exclude<FieldValue, null>, fields: Record<string, FieldValue>) => string;

interface Writer {
  /** Position in the item type's xs:sequence (types.xsd): a CreateItem must list its elements in this order. */
  order: number;
  uri: string;
  element: string;
  /** Indexed properties (contacts): the dictionary entry's key, and the member of a physical address. */
  index?: string;
  member?: string;
  /** The element's content and attributes; `undefined` attributes: none. */
  render: Render;
  attributes?: (value: Exclude<FieldValue, null>, fields: Record<string, FieldValue>) => string;
  /** Exchange refuses to delete it ('' leaves it as it is). */
  required?: boolean;
  /** An element without content, all in its attributes (StartTimeZone). */
  empty?: boolean;
}

/** A value the application gave that Exchange cannot take; write.ts names the field and the endpoint. */
export class InvalidFieldValue extends Error {
  override readonly name = 'InvalidFieldValue';
}

function invalid(kind: string, value: unknown, expected: string): never {
  throw new InvalidFieldValue(`${JSON.stringify(String(value))} is not ${expected} (${kind})`);
}

const text: Render = (value) => escapeXml(value instanceof Date ? value.toISOString() : String(value));

function bool(value: Exclude<FieldValue, null>): string {
  if (typeof value === 'boolean') return String(value);
  const s = String(value).trim().toLowerCase();
  if (['true', '1', 'yes', 'y'].includes(s)) return 'true';
  if (['false', '0', 'no', 'n'].includes(s)) return 'false';
  return invalid('boolean', value, 'true or false');
}

function integer(value: Exclude<FieldValue, null>): string {
  const n = typeof value === 'number' ? value : Number(String(value).trim());
  return Number.isFinite(n) ? String(Math.round(n)) : invalid('integer', value, 'a number');
}

function instant(value: Exclude<FieldValue, null>): string {
  const ms = value instanceof Date ? value.getTime() : Date.parse(String(value));
  if (Number.isNaN(ms)) return invalid('timestamp', value, 'a date and time');
  return new Date(ms).toISOString();
}

/** Minutes east of UTC of `zone` at `ms`. */
function offsetMinutes(ms: number, zone: string): number {
  const parts = new Intl.DateTimeFormat('en-US', {
    timeZone: zone,
    hourCycle: 'h23',
    year: 'numeric',
    month: 'numeric',
    day: 'numeric',
    hour: 'numeric',
    minute: 'numeric',
  }).formatToParts(new Date(ms));
  const get = (type: string) => Number(parts.find((p) => p.type === type)?.value ?? 0);
  const local = Date.UTC(get('year'), get('month') - 1, get('day'), get('hour'), get('minute'));
  return Math.round((local - Math.floor(ms / 60_000) * 60_000) / 60_000);
}

/**
 * Start and End. An all-day appointment comes as its dates at midnight UTC (as properties.ts reads it back), and
 * Exchange wants midnight of its StartTimeZone: the date is kept and moved to that zone's midnight.
 */
const calendarTime: Render = (value, fields) => {
  const utc = instant(value);
  const allDay = fields.all_day !== null && fields.all_day !== undefined && bool(fields.all_day) === 'true';
  const windowsZone = typeof fields.time_zone === 'string' && fields.time_zone ? fields.time_zone : undefined;
  if (!allDay || !windowsZone) return utc;
  const zone = ianaOf(windowsZone);
  const midnight = Date.parse(`${utc.slice(0, 10)}T00:00:00Z`);
  // Twice: the offset at the guess may differ from the one at the answer across a DST change.
  let ms = midnight - offsetMinutes(midnight, zone) * 60_000;
  ms = midnight - offsetMinutes(ms, zone) * 60_000;
  return new Date(ms).toISOString();
};

/** A date (birthday) as midnight UTC, which is how the reading side gives it back (properties.ts nearestDate). */
function date(value: Exclude<FieldValue, null>): string {
  return `${instant(value).slice(0, 10)}T00:00:00Z`;
}

/** A fixed set of codes, matched without regard to case (`high` → `High`). */
function code(allowed: string[]): Render {
  return (value) => {
    const found = allowed.find((a) => a.toLowerCase() === String(value).trim().toLowerCase());
    return found ?? invalid('code', value, `one of ${allowed.join(', ')}`);
  };
}

/** "a; b, c" → [a, b, c]. */
export function splitList(value: Exclude<FieldValue, null>): string[] {
  return String(value)
    .split(/[;,]/)
    .map((s) => s.trim())
    .filter(Boolean);
}

const attendees: Render = (value) =>
  splitList(value)
    .map((a) => `<t:Attendee><t:Mailbox><t:EmailAddress>${escapeXml(a)}</t:EmailAddress></t:Mailbox></t:Attendee>`)
    .join('');
const mailboxes: Render = (value) =>
  splitList(value)
    .map((a) => `<t:Mailbox><t:EmailAddress>${escapeXml(a)}</t:EmailAddress></t:Mailbox>`)
    .join('');
const strings: Render = (value) =>
  splitList(value)
    .map((s) => `<t:String>${escapeXml(s)}</t:String>`)
    .join('');

/** The body's type: the body_type field when given, else HTML when the body looks like markup. */
function bodyType(value: Exclude<FieldValue, null>, fields: Record<string, FieldValue>): string {
  const given = String(fields.body_type ?? '')
    .trim()
    .toLowerCase();
  if (given === 'text') return 'Text';
  if (given === 'html') return 'HTML';
  return /<[a-z!/][^>]*>/i.test(String(value)) ? 'HTML' : 'Text';
}

const importance = code(['Low', 'Normal', 'High']);

/** Base ItemType elements, in schema order. */
const item: Record<string, Writer> = {
  Subject: { order: 10, uri: 'item:Subject', element: 'Subject', render: text },
  Sensitivity: {
    order: 11,
    uri: 'item:Sensitivity',
    element: 'Sensitivity',
    render: code(['Normal', 'Personal', 'Private', 'Confidential']),
  },
  Body: {
    order: 12,
    uri: 'item:Body',
    element: 'Body',
    render: text,
    attributes: (value, fields) => ` BodyType="${bodyType(value, fields)}"`,
  },
  Categories: { order: 13, uri: 'item:Categories', element: 'Categories', render: strings },
  Importance: { order: 14, uri: 'item:Importance', element: 'Importance', render: importance },
  InReplyTo: { order: 15, uri: 'item:InReplyTo', element: 'InReplyTo', render: text },
  ReminderDueBy: { order: 16, uri: 'item:ReminderDueBy', element: 'ReminderDueBy', render: instant },
  IsReminderSet: { order: 17, uri: 'item:ReminderIsSet', element: 'ReminderIsSet', render: bool },
  ReminderMinutesBeforeStart: {
    order: 18,
    uri: 'item:ReminderMinutesBeforeStart',
    element: 'ReminderMinutesBeforeStart',
    render: integer,
  },
};

/** The connector's extended property comes after the base elements and before the type's own ones. */
export const extendedPropertyOrder = 19;

const calendar: Record<string, Writer> = {
  Start: { order: 31, uri: 'calendar:Start', element: 'Start', render: calendarTime, required: true },
  End: { order: 32, uri: 'calendar:End', element: 'End', render: calendarTime, required: true },
  IsAllDayEvent: { order: 33, uri: 'calendar:IsAllDayEvent', element: 'IsAllDayEvent', render: bool },
  LegacyFreeBusyStatus: {
    order: 34,
    uri: 'calendar:LegacyFreeBusyStatus',
    element: 'LegacyFreeBusyStatus',
    render: code(['Free', 'Tentative', 'Busy', 'OOF', 'WorkingElsewhere', 'NoData']),
  },
  Location: { order: 35, uri: 'calendar:Location', element: 'Location', render: text },
  RequiredAttendees: {
    order: 36,
    uri: 'calendar:RequiredAttendees',
    element: 'RequiredAttendees',
    render: attendees,
  },
  OptionalAttendees: {
    order: 37,
    uri: 'calendar:OptionalAttendees',
    element: 'OptionalAttendees',
    render: attendees,
  },
  Resources: { order: 38, uri: 'calendar:Resources', element: 'Resources', render: attendees },
  StartTimeZone: {
    order: 39,
    uri: 'calendar:StartTimeZone',
    element: 'StartTimeZone',
    render: () => '',
    attributes: (value) => ` Id="${escapeXml(String(value))}"`,
    empty: true,
  },
};

const message: Record<string, Writer> = {
  ToRecipients: { order: 41, uri: 'message:ToRecipients', element: 'ToRecipients', render: mailboxes },
  CcRecipients: { order: 42, uri: 'message:CcRecipients', element: 'CcRecipients', render: mailboxes },
  BccRecipients: { order: 43, uri: 'message:BccRecipients', element: 'BccRecipients', render: mailboxes },
  IsRead: { order: 44, uri: 'message:IsRead', element: 'IsRead', render: bool },
  ReplyTo: { order: 45, uri: 'message:ReplyTo', element: 'ReplyTo', render: mailboxes },
};

function contactText(order: number, element: string, uriName = element): Writer {
  return { order, uri: `contacts:${uriName}`, element, render: text };
}

const addressMembers = ['Street', 'City', 'State', 'CountryOrRegion', 'PostalCode'];

const contact: Record<string, Writer> = {
  FileAs: contactText(50, 'FileAs'),
  DisplayName: contactText(51, 'DisplayName'),
  GivenName: contactText(52, 'GivenName'),
  Initials: contactText(53, 'Initials'),
  MiddleName: contactText(54, 'MiddleName'),
  NickName: contactText(55, 'Nickname'),
  CompanyName: contactText(56, 'CompanyName'),
  Birthday: { order: 60, uri: 'contacts:Birthday', element: 'Birthday', render: date },
  Department: contactText(61, 'Department'),
  JobTitle: contactText(62, 'JobTitle'),
  Surname: contactText(63, 'Surname'),
};
for (const key of ['EmailAddress1', 'EmailAddress2', 'EmailAddress3']) {
  contact[`EmailAddresses[${key}]`] = {
    order: 57,
    uri: 'contacts:EmailAddress',
    element: 'EmailAddresses',
    index: key,
    render: text,
  };
}
for (const key of ['Business', 'Home']) {
  for (const member of addressMembers) {
    contact[`PhysicalAddresses[${key}].${member}`] = {
      order: 58,
      uri: `contacts:PhysicalAddress:${member}`,
      element: 'PhysicalAddresses',
      index: key,
      member,
      render: text,
    };
  }
}
for (const key of ['BusinessPhone', 'HomePhone', 'MobilePhone', 'BusinessFax']) {
  contact[`PhoneNumbers[${key}]`] = {
    order: 59,
    uri: 'contacts:PhoneNumber',
    element: 'PhoneNumbers',
    index: key,
    render: text,
  };
}

const task: Record<string, Writer> = {
  CompleteDate: { order: 70, uri: 'task:CompleteDate', element: 'CompleteDate', render: instant },
  DueDate: { order: 71, uri: 'task:DueDate', element: 'DueDate', render: instant },
  PercentComplete: { order: 72, uri: 'task:PercentComplete', element: 'PercentComplete', render: integer },
  StartDate: { order: 73, uri: 'task:StartDate', element: 'StartDate', render: instant },
  Status: {
    order: 74,
    uri: 'task:Status',
    element: 'Status',
    render: code(['NotStarted', 'InProgress', 'Completed', 'WaitingOnOthers', 'Deferred']),
  },
};

const writers: Record<ItemTypeName, Record<string, Writer>> = {
  calendar: { ...item, ...calendar },
  contact: { ...pick(item, ['Body', 'Categories']), ...contact },
  task: { ...item, ...task },
  email: { ...pick(item, ['Subject', 'Body', 'Categories', 'Importance', 'InReplyTo']), ...message },
};

function pick(from: Record<string, Writer>, keys: string[]): Record<string, Writer> {
  return Object.fromEntries(keys.flatMap((k) => (from[k] ? [[k, from[k]]] : [])));
}

interface Planned {
  writer: Writer;
  field: string;
  value: FieldValue;
}

/** The fields given that have a writer, in schema order. */
function planned(type: ItemTypeName, fields: Record<string, FieldValue>): Planned[] {
  const out: Planned[] = [];
  for (const definition of itemType(type).fields) {
    if (!(definition.name in fields)) continue;
    const writer = writers[type][definition.exchangeProperty];
    const value = fields[definition.name];
    if (writer && value !== undefined) out.push({ writer, field: definition.name, value });
  }
  return out.sort((a, b) => a.writer.order - b.writer.order);
}

function render(p: Planned): { attributes: string; content: string } {
  const value = p.value as Exclude<FieldValue, null>;
  try {
    return { attributes: p.writer.attributes?.(value, {}) ?? '', content: p.writer.render(value, {}) };
  } catch (error) {
    throw new InvalidFieldValue(`exh_${p.field}: ${(error as Error).message}`);
  }
}

function renderWith(p: Planned, fields: Record<string, FieldValue>): { attributes: string; content: string } {
  const value = p.value as Exclude<FieldValue, null>;
  const attributes = p.writer.attributes?.(value, fields) ?? '';
  return { attributes, content: p.writer.render(value, fields) };
}

function elementXml(writer: Writer, attributes: string, content: string): string {
  return writer.empty
    ? `<t:${writer.element}${attributes}/>`
    : `<t:${writer.element}${attributes}>${content}</t:${writer.element}>`;
}

/** One dictionary element (EmailAddresses, PhoneNumbers, PhysicalAddresses) with the given entries. */
function dictionaryXml(element: string, entries: Planned[], fields: Record<string, FieldValue>): string {
  const byKey = new Map<string, Planned[]>();
  for (const p of entries) byKey.set(p.writer.index ?? '', [...(byKey.get(p.writer.index ?? '') ?? []), p]);
  let xml = '';
  for (const [key, list] of byKey) {
    const members = list.sort(
      (a, b) => addressMembers.indexOf(a.writer.member ?? '') - addressMembers.indexOf(b.writer.member ?? ''),
    );
    const content = members
      .map((p) => {
        const value = renderWith(p, fields).content;
        return p.writer.member ? `<t:${p.writer.member}>${value}</t:${p.writer.member}>` : value;
      })
      .join('');
    xml += `<t:Entry Key="${escapeXml(key)}">${content}</t:Entry>`;
  }
  return `<t:${element}>${xml}</t:${element}>`;
}

/**
 * The item element of a CreateItem: every field with a value ('' and null are left out), with `extra` (the
 * extended property, the UID) placed at their schema positions.
 */
export function createXml(
  type: ItemTypeName,
  fields: Record<string, FieldValue>,
  extra: { order: number; xml: string }[] = [],
): string {
  const parts: { order: number; xml: string }[] = [...extra];
  const given = planned(type, fields).filter((p) => p.value !== null && p.value !== '');
  validate(given);
  const dictionaries = new Map<string, Planned[]>();
  for (const p of given) {
    if (p.writer.index) {
      dictionaries.set(p.writer.element, [...(dictionaries.get(p.writer.element) ?? []), p]);
      continue;
    }
    const { attributes, content } = renderWith(p, fields);
    if (!p.writer.empty && content === '' && !p.writer.attributes) continue;
    parts.push({ order: p.writer.order, xml: elementXml(p.writer, attributes, content) });
  }
  for (const [element, entries] of dictionaries) {
    parts.push({ order: entries[0]?.writer.order ?? 0, xml: dictionaryXml(element, entries, fields) });
  }
  const element = itemElements[type];
  const body = parts
    .sort((a, b) => a.order - b.order)
    .map((p) => p.xml)
    .join('');
  return `<t:${element}>${body}</t:${element}>`;
}

function path(writer: Writer): string {
  return writer.index
    ? `<t:IndexedFieldURI FieldURI="${writer.uri}" FieldIndex="${escapeXml(writer.index)}"/>`
    : `<t:FieldURI FieldURI="${writer.uri}"/>`;
}

/** The Updates of an UpdateItem: SetItemField for a value, DeleteItemField for ''; null and absent: nothing. */
export function updateXml(type: ItemTypeName, fields: Record<string, FieldValue>): string[] {
  const element = itemElements[type];
  const given = planned(type, fields).filter((p) => p.value !== null);
  validate(given.filter((p) => p.value !== ''));
  const updates: string[] = [];
  for (const p of given) {
    if (p.value === '') {
      if (!p.writer.required) updates.push(`<t:DeleteItemField>${path(p.writer)}</t:DeleteItemField>`);
      continue;
    }
    const value = p.writer.index
      ? dictionaryXml(p.writer.element, [p], fields)
      : (() => {
          const { attributes, content } = renderWith(p, fields);
          return elementXml(p.writer, attributes, content);
        })();
    // An empty list (";") clears like ''.
    if (
      !p.writer.index &&
      !p.writer.empty &&
      !p.writer.attributes &&
      value === `<t:${p.writer.element}></t:${p.writer.element}>`
    ) {
      updates.push(`<t:DeleteItemField>${path(p.writer)}</t:DeleteItemField>`);
      continue;
    }
    updates.push(`<t:SetItemField>${path(p.writer)}<t:${element}>${value}</t:${element}></t:SetItemField>`);
  }
  return updates;
}

/** Renders every value once up front, so that a bad value fails with the field's name before anything is sent. */
function validate(list: Planned[]): void {
  for (const p of list) render(p);
}

/** Whether the fields invite anyone (a meeting rather than an appointment). */
export function hasAttendees(fields: Record<string, FieldValue>): boolean {
  return ['required_attendees', 'optional_attendees', 'resources'].some((name) => {
    const value = fields[name];
    return value !== null && value !== undefined && splitList(value).length > 0;
  });
}

/** The recipients an e-mail is sent to; none: it is saved as a draft. */
export function hasRecipients(fields: Record<string, FieldValue>): boolean {
  return ['to', 'cc', 'bcc'].some((name) => {
    const value = fields[name];
    return value !== null && value !== undefined && splitList(value).length > 0;
  });
}
