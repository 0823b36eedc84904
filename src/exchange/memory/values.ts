import type { FieldValue } from '../../ports/database.port.js';
import type { AttachmentRef, BodyType, ExchangeItem, ExchangeValue } from '../../ports/exchange.port.js';
import { type ItemProperty, itemProperties } from '../../ports/item-properties.js';
import type { Properties, StoredItem, StoredOccurrence } from './store.js';

/**
 * The in-memory Exchange's value rules: how a write's properties (ItemWrite.properties) become stored values, and
 * how a stored item is read back (ExchangeItem), both in the conventions of src/ports/item-properties.ts. The write
 * rules are the port's: null leaves a property as it is, '' removes it, a property the store does not write
 * (read-only ones, names it does not know) is ignored, and a value it cannot take is refused before anything changes,
 * naming the property by the caller's label.
 */

const times = [
  'start',
  'end',
  'created',
  'lastModified',
  'received',
  'sent',
  'originalStart',
  'startDate',
  'dueDate',
  'completeDate',
  'reminderDueBy',
] as const satisfies readonly ItemProperty[];
const booleans = [
  'isAllDay',
  'reminderSet',
  'isRead',
  'isRecurring',
  'isCancelled',
  'isMeeting',
  'hasAttachments',
] as const satisfies readonly ItemProperty[];
const integers = ['reminderMinutes', 'percentComplete'] as const satisfies readonly ItemProperty[];
/** Read as string arrays; written as text separated by ";" or ",". */
export const listProperties = [
  'categories',
  'to',
  'cc',
  'bcc',
  'replyTo',
  'requiredAttendees',
  'optionalAttendees',
  'resources',
] as const satisfies readonly ItemProperty[];
const codes: Partial<Record<ItemProperty, readonly string[]>> = {
  importance: ['Low', 'Normal', 'High'],
  sensitivity: ['Normal', 'Personal', 'Private', 'Confidential'],
  freeBusy: ['Free', 'Tentative', 'Busy', 'OOF', 'WorkingElsewhere', 'NoData'],
  status: ['NotStarted', 'InProgress', 'Completed', 'WaitingOnOthers', 'Deferred'],
  bodyType: ['HTML', 'Text'],
};
/** What the store sets itself; a write of them is ignored. */
const readOnly = new Set<ItemProperty>([
  'created',
  'lastModified',
  'attachments',
  'hasAttachments',
  'appItemId',
  'organizer',
  'isRecurring',
  'recurrence',
  'originalStart',
  'isCancelled',
  'isMeeting',
  'from',
  'sender',
  'received',
  'sent',
  'internetMessageId',
  'conversationId',
  'owner',
]);
/** Every item has them: '' leaves them as they are rather than removing them. */
const required = new Set<ItemProperty>(['start', 'end']);

const known = new Set<string>(itemProperties);
const is = (list: readonly string[], property: string) => list.includes(property);

/** A value the store cannot take; the connection turns it into EXH_EXCHANGE_REQUEST_FAILED. */
export class InvalidValue extends Error {
  override readonly name = 'InvalidValue';
}

/** `ExchangeValue` to store, or null to remove the property. */
export type PreparedWrite = Array<[ItemProperty, ExchangeValue]>;

/** Checks and converts every value of a write before anything changes. */
export function prepareWrite(
  values: Partial<Record<ItemProperty, FieldValue>>,
  labels: Partial<Record<ItemProperty, string>> = {},
): PreparedWrite {
  const prepared: PreparedWrite = [];
  for (const [name, value] of Object.entries(values) as Array<[ItemProperty, FieldValue | undefined]>) {
    if (!known.has(name) || readOnly.has(name) || value === null || value === undefined) continue;
    if (value === '') {
      if (!required.has(name)) prepared.push([name, null]);
      continue;
    }
    try {
      prepared.push([name, convert(name, value)]);
    } catch (error) {
      throw new InvalidValue(`${labels[name] ?? name}: ${(error as Error).message}`);
    }
  }
  // A body written without its type gets the type its text looks like.
  const body = prepared.find(([name]) => name === 'body')?.[1];
  if (typeof body === 'string' && !prepared.some(([name]) => name === 'bodyType')) {
    prepared.push(['bodyType', /<[a-z!/][^>]*>/i.test(body) ? 'HTML' : 'Text']);
  }
  return prepared;
}

function convert(name: ItemProperty, value: Exclude<FieldValue, null>): ExchangeValue {
  const text = value instanceof Date ? value.toISOString() : String(value).trim();
  if (is(times, name)) {
    const ms = value instanceof Date ? value.getTime() : Date.parse(text);
    if (Number.isNaN(ms)) throw new InvalidValue(`${JSON.stringify(text)} is not a date and time`);
    return new Date(ms).toISOString();
  }
  if (name === 'birthday') {
    const ms = value instanceof Date ? value.getTime() : Date.parse(text);
    if (Number.isNaN(ms)) throw new InvalidValue(`${JSON.stringify(text)} is not a date`);
    return new Date(ms).toISOString().slice(0, 10);
  }
  if (is(booleans, name)) {
    if (typeof value === 'boolean') return value;
    if (['true', '1', 'yes'].includes(text.toLowerCase())) return true;
    if (['false', '0', 'no'].includes(text.toLowerCase())) return false;
    throw new InvalidValue(`${JSON.stringify(text)} is not true or false`);
  }
  if (is(integers, name)) {
    const number = typeof value === 'number' ? value : Number(text);
    if (!Number.isFinite(number)) throw new InvalidValue(`${JSON.stringify(text)} is not a number`);
    return Math.round(number);
  }
  if (is(listProperties, name)) {
    const list = text
      .split(/[;,]/)
      .map((entry) => entry.trim())
      .filter(Boolean);
    // An empty list (";") removes the property, like ''.
    return list.length > 0 ? list : null;
  }
  const allowed = codes[name];
  if (allowed) {
    const found = allowed.find((code) => code.toLowerCase() === text.toLowerCase());
    if (!found) throw new InvalidValue(`${JSON.stringify(text)} is not one of ${allowed.join(', ')}`);
    return found;
  }
  // Bodies keep their spaces and line breaks.
  return name === 'body' ? String(value) : text;
}

/** Applies a prepared write; returns the properties whose value changed. */
export function applyWrite(target: Properties, prepared: PreparedWrite): ItemProperty[] {
  const changed: ItemProperty[] = [];
  for (const [name, value] of prepared) {
    const before = target[name] ?? null;
    if (JSON.stringify(before) === JSON.stringify(value)) continue;
    if (value === null) delete target[name];
    else target[name] = value;
    changed.push(name);
  }
  return changed;
}

/**
 * A stored item as the port gives it: every neutral property present (null when the item has none), lists and
 * attachment refs copied, the body in the type asked for. The store knows no property sets per class, so an item
 * carries every property of the vocabulary.
 */
export function itemView(item: StoredItem, bodyType?: BodyType): ExchangeItem {
  const attachments: AttachmentRef[] = item.attachments.map((a) => ({ name: a.name, id: a.id }));
  const properties = complete({
    ...item.properties,
    attachments: attachments.length > 0 ? attachments : null,
    hasAttachments: attachments.length > 0,
  });
  return {
    id: item.id,
    changeKey: item.changeKey,
    itemClass: item.itemClass,
    ...(item.uid ? { uid: item.uid } : {}),
    properties: withBody(properties, bodyType),
  };
}

/** An occurrence: the master's properties, what the occurrence changed, and where it sits in the pattern. */
export function occurrenceView(master: StoredItem, occurrence: StoredOccurrence, bodyType?: BodyType): ExchangeItem {
  const base = itemView(master, bodyType);
  const properties = withBody(
    complete({
      ...master.properties,
      attachments: null,
      hasAttachments: false,
      ...occurrence.properties,
      isRecurring: true,
      originalStart: occurrence.originalStart,
    }),
    bodyType,
  );
  return { ...base, id: occurrence.id, changeKey: occurrence.changeKey, properties };
}

function complete(properties: Properties): Properties {
  const all: Properties = {};
  for (const name of itemProperties) {
    const value = properties[name];
    all[name] = value === undefined ? null : Array.isArray(value) ? ([...value] as ExchangeValue) : value;
  }
  return all;
}

/** The body converted to the type asked for, as Exchange does (a plain conversion, enough for tests and the demo). */
function withBody(properties: Properties, bodyType: BodyType | undefined): Properties {
  const body = properties.body;
  if (typeof body !== 'string' || bodyType === undefined) return properties;
  const isHtml = properties.bodyType === 'HTML';
  if (bodyType === 'text' && isHtml) return { ...properties, body: htmlToText(body), bodyType: 'Text' };
  if (bodyType === 'html' && !isHtml) return { ...properties, body: textToHtml(body), bodyType: 'HTML' };
  return properties;
}

const entities: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', '#39': "'", nbsp: ' ' };

export function htmlToText(html: string): string {
  return html
    .replace(/<(style|script)[^>]*>[\s\S]*?<\/\1>/gi, '')
    .replace(/<br\s*\/?>|<\/(p|div|li|tr)>/gi, '\n')
    .replace(/<[^>]*>/g, '')
    .replace(/&(amp|lt|gt|quot|#39|nbsp);/g, (_, name: string) => entities[name] ?? '')
    .trim();
}

export function textToHtml(text: string): string {
  const escaped = text.replaceAll('&', '&amp;').replaceAll('<', '&lt;').replaceAll('>', '&gt;');
  return `<html><body>${escaped.replaceAll('\n', '<br>')}</body></html>`;
}
