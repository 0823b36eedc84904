import type { DateTimeTimeZone, Recipient } from '@microsoft/microsoft-graph-types';
import { findIana } from 'windows-iana';
import type { FieldValue } from '../../../ports/database.port.js';
import type { ItemProperty } from '../../../ports/item-properties.js';

/**
 * The value rules shared by the Graph mappers (./message.ts, ./event.ts, ./contact.ts, ./todo-task.ts), in the
 * conventions of src/ports/item-properties.ts. Reading: Graph's empty strings and empty lists are null, times are
 * ISO-8601 UTC. Writing (ItemWrite.properties): null leaves a property out of the JSON, '' clears it (JSON null, or
 * an empty list), a value Graph cannot take is refused before anything is sent (InvalidValue, naming the caller's
 * label).
 */

/** A value Graph cannot take; the writer turns it into EXH_EXCHANGE_REQUEST_FAILED naming the label. */
export class InvalidValue extends Error {
  override readonly name = 'InvalidValue';
}

export type Labels = Partial<Record<ItemProperty, string>>;
export type Values = Partial<Record<ItemProperty, FieldValue>>;
export type Given = Exclude<FieldValue, null>;

export function text(value: string | null | undefined): string | null {
  return value === undefined || value === null || value === '' ? null : value;
}

/** An instant Graph gave (with or without its zone: the requests ask for UTC) as ISO-8601 UTC. */
export function iso(value: string | null | undefined): string | null {
  if (!value) return null;
  const zoned = /(Z|[+-]\d\d:?\d\d)$/i.test(value) ? value : `${value}Z`;
  const ms = Date.parse(zoned);
  return Number.isNaN(ms) ? null : new Date(ms).toISOString();
}

const ianaCache = new Map<string, string>();

/** The IANA zone of a Windows zone id (Graph gives Windows names), an IANA name, or UTC when unknown. */
export function ianaOf(zone: string | null | undefined): string {
  if (!zone || /^(utc|tzone:\/\/microsoft\/utc)$/i.test(zone)) return 'UTC';
  let found = ianaCache.get(zone);
  if (found === undefined) {
    found = findIana(zone)[0] ?? zone;
    try {
      new Intl.DateTimeFormat('en-US', { timeZone: found });
    } catch {
      found = '';
    }
    ianaCache.set(zone, found);
  }
  return found === '' ? 'UTC' : found;
}

/** Whether `zone` is a time zone Graph knows (a Windows id, or an IANA one). */
export function knownZone(zone: string): boolean {
  if (/^utc$/i.test(zone)) return true;
  if (findIana(zone).length > 0) return true;
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: zone });
    return true;
  } catch {
    return false;
  }
}

/** Minutes `zone` is ahead of UTC at the instant `ms`. */
function offsetMinutes(ms: number, zone: string): number {
  const parts = new Intl.DateTimeFormat('en-US', {
    timeZone: zone,
    hourCycle: 'h23',
    year: 'numeric',
    month: '2-digit',
    day: '2-digit',
    hour: '2-digit',
    minute: '2-digit',
    second: '2-digit',
  }).formatToParts(new Date(ms));
  const get = (type: string) => Number(parts.find((p) => p.type === type)?.value ?? 0);
  const local = Date.UTC(get('year'), get('month') - 1, get('day'), get('hour'), get('minute'), get('second'));
  return Math.round((local - Math.floor(ms / 1000) * 1000) / 60_000);
}

/** A Graph dateTimeTimeZone (a local time in a Windows or IANA zone; UTC as the requests ask) as ISO-8601 UTC. */
export function fromDateTimeTimeZone(value: DateTimeTimeZone | null | undefined): string | null {
  if (!value?.dateTime) return null;
  const zone = ianaOf(value.timeZone);
  const asUtc = iso(value.dateTime.replace(/(Z|[+-]\d\d:?\d\d)$/i, ''));
  if (asUtc === null) return null;
  if (zone === 'UTC') return asUtc;
  const local = Date.parse(asUtc);
  // Twice: the offset at the guess may differ from the one at the answer across a DST change.
  let ms = local - offsetMinutes(local, zone) * 60_000;
  ms = local - offsetMinutes(ms, zone) * 60_000;
  return new Date(ms).toISOString();
}

/** The local date (YYYY-MM-DD) of an instant in a zone (Windows or IANA). */
export function localDate(instant: string, zone: string | null): string {
  return new Intl.DateTimeFormat('en-CA', {
    timeZone: ianaOf(zone),
    year: 'numeric',
    month: '2-digit',
    day: '2-digit',
  }).format(new Date(instant));
}

/** The local wall time (YYYY-MM-DDTHH:mm:ss) of an instant in a zone (Windows or IANA), for a dateTimeTimeZone. */
export function localTime(instant: string, zone: string | null): string {
  const ms = Date.parse(instant);
  const shifted = ms + offsetMinutes(ms, ianaOf(zone)) * 60_000;
  return new Date(shifted).toISOString().slice(0, 19);
}

/** A date stored as a time (a birthday at midnight of some zone): the nearest UTC midnight's date. */
export function nearestDate(value: string | null | undefined): string | null {
  const ms = value ? Date.parse(/(Z|[+-]\d\d:?\d\d)$/i.test(value) || value.length <= 10 ? value : `${value}Z`) : NaN;
  if (Number.isNaN(ms)) return null;
  return new Date(Math.round(ms / 86_400_000) * 86_400_000).toISOString().slice(0, 10);
}

export function address(recipient: Recipient | null | undefined): string | null {
  return text(recipient?.emailAddress?.address);
}

export function addresses(recipients: readonly Recipient[] | null | undefined): string[] | null {
  const list = (recipients ?? []).map(address).filter((a): a is string => a !== null);
  return list.length > 0 ? list : null;
}

export function strings(list: readonly string[] | null | undefined): string[] | null {
  const kept = (list ?? []).filter((s) => s !== '');
  return kept.length > 0 ? kept : null;
}

/** A Graph enum value in the port's spelling (`high` → `High`), through `table` when given. */
export function fromCode(value: string | null | undefined, table?: Record<string, string>): string | null {
  if (!value) return null;
  if (table) return table[value] ?? null;
  return value.charAt(0).toUpperCase() + value.slice(1);
}

// --- writing ---

/** Runs `render` on a given value, refusing it with the caller's label when it throws. */
export function checked<T>(property: ItemProperty, labels: Labels, render: () => T): T {
  try {
    return render();
  } catch (error) {
    throw new InvalidValue(`${labels[property] ?? property}: ${(error as Error).message}`);
  }
}

export function toText(value: Given): string {
  return value instanceof Date ? value.toISOString() : String(value);
}

export function toInstant(value: Given): string {
  const ms = value instanceof Date ? value.getTime() : typeof value === 'number' ? value : Date.parse(String(value));
  if (Number.isNaN(ms)) throw new Error(`${JSON.stringify(String(value))} is not a date and time`);
  return new Date(ms).toISOString();
}

/** An instant as a Graph dateTimeTimeZone in UTC. */
export function toUtcDateTime(value: Given): DateTimeTimeZone {
  return { dateTime: toInstant(value).slice(0, 23), timeZone: 'UTC' };
}

export function toBoolean(value: Given): boolean {
  if (typeof value === 'boolean') return value;
  const t = String(value).trim().toLowerCase();
  if (['true', '1', 'yes'].includes(t)) return true;
  if (['false', '0', 'no'].includes(t)) return false;
  throw new Error(`${JSON.stringify(String(value))} is not true or false`);
}

export function toInteger(value: Given): number {
  const n = typeof value === 'number' ? value : Number(String(value).trim());
  if (!Number.isFinite(n) || String(value).trim() === '')
    throw new Error(`${JSON.stringify(String(value))} is not a number`);
  return Math.round(n);
}

/** A code in any case (`HIGH`, `high`) as Graph spells it, from `table` (the port's spelling → Graph's). */
export function toCode(value: Given, table: Record<string, string>): string {
  const wanted = String(value).trim().toLowerCase();
  const found = Object.entries(table).find(([port]) => port.toLowerCase() === wanted);
  if (!found) throw new Error(`${JSON.stringify(String(value))} is not one of ${Object.keys(table).join(', ')}`);
  return found[1];
}

/** "a; b, c" → [a, b, c]. */
export function splitList(value: Given): string[] {
  return String(value)
    .split(/[;,]/)
    .map((s) => s.trim())
    .filter(Boolean);
}

export function toRecipients(value: Given): Recipient[] {
  return splitList(value).map((a) => ({ emailAddress: { address: a } }));
}

/** The body's type: bodyType when given, else HTML when the text looks like markup (sent as HTML, then). */
export function bodyContentType(body: Given, values: Values): 'html' | 'text' {
  const given = String(values.bodyType ?? '')
    .trim()
    .toLowerCase();
  if (given === 'text') return 'text';
  if (given === 'html') return 'html';
  return /<[a-z!/][^>]*>/i.test(String(body)) ? 'html' : 'text';
}

export const importanceCodes = { Low: 'low', Normal: 'normal', High: 'high' };
export const sensitivityCodes = {
  Normal: 'normal',
  Personal: 'personal',
  Private: 'private',
  Confidential: 'confidential',
};

/** What a write says of one property: absent or null (leave it), '' (clear it), or a value. */
export function given(values: Values, property: ItemProperty): 'leave' | 'clear' | Given {
  const value = values[property];
  if (value === undefined || value === null) return 'leave';
  if (value === '') return 'clear';
  return value;
}

/**
 * Sets `json[key]` from a property of the write: left out for null, `cleared` for '' (JSON null unless a list),
 * else the rendered value (refused with the label when it cannot be rendered).
 */
export function put<T>(
  json: Record<string, unknown>,
  key: string,
  values: Values,
  labels: Labels,
  property: ItemProperty,
  render: (value: Given) => T,
  cleared: unknown = null,
): void {
  const value = given(values, property);
  if (value === 'leave') return;
  json[key] = value === 'clear' ? cleared : checked(property, labels, () => render(value));
}
