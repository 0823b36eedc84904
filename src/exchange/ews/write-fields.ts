import type { FieldValue } from '../../ports/database.port.js';
import type { ItemProperty } from '../../ports/item-properties.js';
import { ianaOf } from './properties.js';
import { escapeXml } from './xml.js';

/**
 * Neutral properties (src/ports/item-properties.ts) as EWS XML: the item element of a CreateItem, the
 * SetItemField / DeleteItemField list of an UpdateItem. Pure. Null leaves a property untouched, '' deletes it
 * (docs/database.md, "NULL and empty text"). Every text value is escaped here (the library would send `&` and `<` as
 * they are). Properties without a writer for the item's element (created, attachments, recurrence, organizer, ...)
 * cannot be written and are ignored.
 */

export type ItemElement = 'CalendarItem' | 'Contact' | 'Task' | 'Message';

/**
 * The EWS element for an item of `itemClass`: appointments, contacts and tasks have their own; every other class
 * (e-mail, sticky notes, posts, ...) is a Message carrying its ItemClass.
 */
export function elementOf(itemClass: string): ItemElement {
  const lower = itemClass.toLowerCase();
  const is = (base: string) => lower === base || lower.startsWith(`${base}.`);
  if (is('ipm.appointment')) return 'CalendarItem';
  if (is('ipm.contact')) return 'Contact';
  if (is('ipm.task')) return 'Task';
  return 'Message';
}

/** Whether the class is an e-mail (sent when it has recipients, else saved as a draft). */
export function isEmailClass(itemClass: string): boolean {
  const lower = itemClass.toLowerCase();
  return lower === 'ipm.note' || lower.startsWith('ipm.note.');
}

type Values = Partial<Record<ItemProperty, FieldValue>>;

type Render = (value: Exclude<FieldValue, null>, values: Values) => string;

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
  attributes?: (value: Exclude<FieldValue, null>, values: Values) => string;
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
const calendarTime: Render = (value, values) => {
  const utc = instant(value);
  const allDay = values.isAllDay !== null && values.isAllDay !== undefined && bool(values.isAllDay) === 'true';
  const windowsZone = typeof values.timeZone === 'string' && values.timeZone ? values.timeZone : undefined;
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

/** The body's type: the bodyType property when given, else HTML when the body looks like markup. */
function bodyType(value: Exclude<FieldValue, null>, values: Values): string {
  const given = String(values.bodyType ?? '')
    .trim()
    .toLowerCase();
  if (given === 'text') return 'Text';
  if (given === 'html') return 'HTML';
  return /<[a-z!/][^>]*>/i.test(String(value)) ? 'HTML' : 'Text';
}

const importance = code(['Low', 'Normal', 'High']);

/** Base ItemType elements, in schema order. */
type Writers = Partial<Record<ItemProperty, Writer>>;

const item: Writers = {
  subject: { order: 10, uri: 'item:Subject', element: 'Subject', render: text },
  sensitivity: {
    order: 11,
    uri: 'item:Sensitivity',
    element: 'Sensitivity',
    render: code(['Normal', 'Personal', 'Private', 'Confidential']),
  },
  body: {
    order: 12,
    uri: 'item:Body',
    element: 'Body',
    render: text,
    attributes: (value, values) => ` BodyType="${bodyType(value, values)}"`,
  },
  categories: { order: 13, uri: 'item:Categories', element: 'Categories', render: strings },
  importance: { order: 14, uri: 'item:Importance', element: 'Importance', render: importance },
  inReplyTo: { order: 15, uri: 'item:InReplyTo', element: 'InReplyTo', render: text },
  reminderDueBy: { order: 16, uri: 'item:ReminderDueBy', element: 'ReminderDueBy', render: instant },
  reminderSet: { order: 17, uri: 'item:ReminderIsSet', element: 'ReminderIsSet', render: bool },
  reminderMinutes: {
    order: 18,
    uri: 'item:ReminderMinutesBeforeStart',
    element: 'ReminderMinutesBeforeStart',
    render: integer,
  },
};

/** The connector's extended property comes after the base elements and before the type's own ones. */
export const extendedPropertyOrder = 19;

/** ItemClass comes after the base item's ids and before Subject (types.xsd, ItemType). */
export const itemClassOrder = 5;

const calendar: Writers = {
  start: { order: 31, uri: 'calendar:Start', element: 'Start', render: calendarTime, required: true },
  end: { order: 32, uri: 'calendar:End', element: 'End', render: calendarTime, required: true },
  isAllDay: { order: 33, uri: 'calendar:IsAllDayEvent', element: 'IsAllDayEvent', render: bool },
  freeBusy: {
    order: 34,
    uri: 'calendar:LegacyFreeBusyStatus',
    element: 'LegacyFreeBusyStatus',
    render: code(['Free', 'Tentative', 'Busy', 'OOF', 'WorkingElsewhere', 'NoData']),
  },
  location: { order: 35, uri: 'calendar:Location', element: 'Location', render: text },
  requiredAttendees: {
    order: 36,
    uri: 'calendar:RequiredAttendees',
    element: 'RequiredAttendees',
    render: attendees,
  },
  optionalAttendees: {
    order: 37,
    uri: 'calendar:OptionalAttendees',
    element: 'OptionalAttendees',
    render: attendees,
  },
  resources: { order: 38, uri: 'calendar:Resources', element: 'Resources', render: attendees },
  timeZone: {
    order: 39,
    uri: 'calendar:StartTimeZone',
    element: 'StartTimeZone',
    render: () => '',
    attributes: (value) => ` Id="${escapeXml(String(value))}"`,
    empty: true,
  },
};

const message: Writers = {
  to: { order: 41, uri: 'message:ToRecipients', element: 'ToRecipients', render: mailboxes },
  cc: { order: 42, uri: 'message:CcRecipients', element: 'CcRecipients', render: mailboxes },
  bcc: { order: 43, uri: 'message:BccRecipients', element: 'BccRecipients', render: mailboxes },
  isRead: { order: 44, uri: 'message:IsRead', element: 'IsRead', render: bool },
  replyTo: { order: 45, uri: 'message:ReplyTo', element: 'ReplyTo', render: mailboxes },
};

function contactText(order: number, element: string, uriName = element): Writer {
  return { order, uri: `contacts:${uriName}`, element, render: text };
}

const addressMembers = ['Street', 'City', 'State', 'CountryOrRegion', 'PostalCode'];

const contact: Writers = {
  fileAs: contactText(50, 'FileAs'),
  displayName: contactText(51, 'DisplayName'),
  givenName: contactText(52, 'GivenName'),
  initials: contactText(53, 'Initials'),
  middleName: contactText(54, 'MiddleName'),
  nickname: contactText(55, 'Nickname'),
  company: contactText(56, 'CompanyName'),
  birthday: { order: 60, uri: 'contacts:Birthday', element: 'Birthday', render: date },
  department: contactText(61, 'Department'),
  jobTitle: contactText(62, 'JobTitle'),
  surname: contactText(63, 'Surname'),
};
const emailKeys = { email1: 'EmailAddress1', email2: 'EmailAddress2', email3: 'EmailAddress3' } as const;
for (const [property, key] of Object.entries(emailKeys) as Array<[ItemProperty, string]>) {
  contact[property] = {
    order: 57,
    uri: 'contacts:EmailAddress',
    element: 'EmailAddresses',
    index: key,
    render: text,
  };
}
const addressProperties = {
  Street: 'street',
  City: 'city',
  State: 'state',
  CountryOrRegion: 'country',
  PostalCode: 'postalCode',
} as const;
for (const [prefix, key] of [
  ['businessAddress', 'Business'],
  ['homeAddress', 'Home'],
] as const) {
  for (const member of addressMembers) {
    const part = addressProperties[member as keyof typeof addressProperties];
    contact[`${prefix}.${part}`] = {
      order: 58,
      uri: `contacts:PhysicalAddress:${member}`,
      element: 'PhysicalAddresses',
      index: key,
      member,
      render: text,
    };
  }
}
const phoneKeys = {
  businessPhone: 'BusinessPhone',
  homePhone: 'HomePhone',
  mobilePhone: 'MobilePhone',
  businessFax: 'BusinessFax',
} as const;
for (const [property, key] of Object.entries(phoneKeys) as Array<[ItemProperty, string]>) {
  contact[property] = {
    order: 59,
    uri: 'contacts:PhoneNumber',
    element: 'PhoneNumbers',
    index: key,
    render: text,
  };
}

const task: Writers = {
  completeDate: { order: 70, uri: 'task:CompleteDate', element: 'CompleteDate', render: instant },
  dueDate: { order: 71, uri: 'task:DueDate', element: 'DueDate', render: instant },
  percentComplete: { order: 72, uri: 'task:PercentComplete', element: 'PercentComplete', render: integer },
  startDate: { order: 73, uri: 'task:StartDate', element: 'StartDate', render: instant },
  status: {
    order: 74,
    uri: 'task:Status',
    element: 'Status',
    render: code(['NotStarted', 'InProgress', 'Completed', 'WaitingOnOthers', 'Deferred']),
  },
};

const writers: Record<ItemElement, Writers> = {
  CalendarItem: { ...item, ...calendar },
  Contact: { ...pick(item, ['body', 'categories']), ...contact },
  Task: { ...item, ...task },
  Message: { ...pick(item, ['subject', 'body', 'categories', 'importance', 'inReplyTo']), ...message },
};

function pick(from: Writers, keys: ItemProperty[]): Writers {
  return Object.fromEntries(keys.flatMap((k) => (from[k] ? [[k, from[k]]] : [])));
}

/** Whether an item of `itemClass` can have `property` written. */
export function writable(itemClass: string, property: ItemProperty): boolean {
  return writers[elementOf(itemClass)][property] !== undefined;
}

interface Planned {
  writer: Writer;
  /** How a refused value is named: the caller's label (the application's column) or the property. */
  label: string;
  value: FieldValue;
}

/**
 * The properties given that have a writer, in schema order. Taken in the writers' order, not the caller's, so that
 * the entries of one dictionary (EmailAddress1 before EmailAddress2, Business before Home) come out the same however
 * the values were put together.
 */
function planned(element: ItemElement, values: Values, labels: Labels): Planned[] {
  const out: Planned[] = [];
  for (const [property, writer] of Object.entries(writers[element]) as Array<[ItemProperty, Writer]>) {
    const value = values[property];
    if (value !== undefined) out.push({ writer, label: labels[property] ?? property, value });
  }
  return out.sort((a, b) => a.writer.order - b.writer.order);
}

/** Names for the properties in error messages (the application's columns, `exh_start`). */
export type Labels = Partial<Record<ItemProperty, string>>;

function render(p: Planned): { attributes: string; content: string } {
  const value = p.value as Exclude<FieldValue, null>;
  try {
    return { attributes: p.writer.attributes?.(value, {}) ?? '', content: p.writer.render(value, {}) };
  } catch (error) {
    throw new InvalidFieldValue(`${p.label}: ${(error as Error).message}`);
  }
}

function renderWith(p: Planned, values: Values): { attributes: string; content: string } {
  const value = p.value as Exclude<FieldValue, null>;
  const attributes = p.writer.attributes?.(value, values) ?? '';
  return { attributes, content: p.writer.render(value, values) };
}

function elementXml(writer: Writer, attributes: string, content: string): string {
  return writer.empty
    ? `<t:${writer.element}${attributes}/>`
    : `<t:${writer.element}${attributes}>${content}</t:${writer.element}>`;
}

/** One dictionary element (EmailAddresses, PhoneNumbers, PhysicalAddresses) with the given entries. */
function dictionaryXml(element: string, entries: Planned[], values: Values): string {
  const byKey = new Map<string, Planned[]>();
  for (const p of entries) byKey.set(p.writer.index ?? '', [...(byKey.get(p.writer.index ?? '') ?? []), p]);
  let xml = '';
  for (const [key, list] of byKey) {
    const members = list.sort(
      (a, b) => addressMembers.indexOf(a.writer.member ?? '') - addressMembers.indexOf(b.writer.member ?? ''),
    );
    const content = members
      .map((p) => {
        const value = renderWith(p, values).content;
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
  itemClass: string,
  values: Values,
  extra: { order: number; xml: string }[] = [],
  labels: Labels = {},
): string {
  const element = elementOf(itemClass);
  const parts: { order: number; xml: string }[] = [...extra];
  // A Message that is no e-mail (a sticky note, a post) says what it is.
  if (element === 'Message' && !isEmailClass(itemClass)) {
    parts.push({ order: itemClassOrder, xml: `<t:ItemClass>${escapeXml(itemClass)}</t:ItemClass>` });
  }
  const given = planned(element, values, labels).filter((p) => p.value !== null && p.value !== '');
  validate(given);
  const dictionaries = new Map<string, Planned[]>();
  for (const p of given) {
    if (p.writer.index) {
      dictionaries.set(p.writer.element, [...(dictionaries.get(p.writer.element) ?? []), p]);
      continue;
    }
    const { attributes, content } = renderWith(p, values);
    if (!p.writer.empty && content === '' && !p.writer.attributes) continue;
    parts.push({ order: p.writer.order, xml: elementXml(p.writer, attributes, content) });
  }
  for (const [name, entries] of dictionaries) {
    parts.push({ order: entries[0]?.writer.order ?? 0, xml: dictionaryXml(name, entries, values) });
  }
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
export function updateXml(itemClass: string, values: Values, labels: Labels = {}): string[] {
  const element = elementOf(itemClass);
  const given = planned(element, values, labels).filter((p) => p.value !== null);
  validate(given.filter((p) => p.value !== ''));
  const updates: string[] = [];
  for (const p of given) {
    if (p.value === '') {
      if (!p.writer.required) updates.push(`<t:DeleteItemField>${path(p.writer)}</t:DeleteItemField>`);
      continue;
    }
    const value = p.writer.index
      ? dictionaryXml(p.writer.element, [p], values)
      : (() => {
          const { attributes, content } = renderWith(p, values);
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

/** Whether the values invite anyone (a meeting rather than an appointment). */
export function hasAttendees(values: Values): boolean {
  return (['requiredAttendees', 'optionalAttendees', 'resources'] as const).some((name) => {
    const value = values[name];
    return value !== null && value !== undefined && splitList(value).length > 0;
  });
}

/** The recipients an e-mail is sent to; none: it is saved as a draft. */
export function hasRecipients(values: Values): boolean {
  return (['to', 'cc', 'bcc'] as const).some((name) => {
    const value = values[name];
    return value !== null && value !== undefined && splitList(value).length > 0;
  });
}
