import type { DateTimeTimeZone, EmailAddress, ItemBody, Recipient } from '@microsoft/microsoft-graph-types';
import { convertBody } from '../../items/body.js';
import { extendedKey } from '../../items/extended.js';
import { ianaOf, utcToWall, wallToUtc } from '../../items/timezone.js';
import { addressesOf, isoSeconds } from '../../items/values.js';
import type { ExtendedProp, PropValue } from '../../store/model.js';
import type { XmlNode } from '../../xml/node.js';
import { badRequest } from '../http.js';

/**
 * Values shared by Graph's Outlook resources (https://learn.microsoft.com/graph/api/resources/recipient,
 * itembody, datetimetimezone, singlevaluelegacyextendedproperty) to and from the store's EWS elements.
 */

export function recipientOf(address: { name?: string; address: string }): Recipient {
  const emailAddress: EmailAddress = { name: address.name ?? address.address, address: address.address };
  return { emailAddress };
}

export function recipientsOf(value: PropValue | undefined): Recipient[] {
  return addressesOf(value).map(recipientOf);
}

function addressOf(value: unknown, what: string): { name?: string; address: string } {
  const email = (value as Recipient | null)?.emailAddress;
  if (!email || typeof email.address !== 'string' || !email.address.includes('@'))
    throw badRequest(`${what}: each recipient needs emailAddress.address (an SMTP address).`, 'ErrorInvalidRecipients');
  return typeof email.name === 'string' && email.name
    ? { name: email.name, address: email.address }
    : { address: email.address };
}

export function mailboxElement(value: unknown, what: string): XmlNode {
  const { name, address } = addressOf(value, what);
  return { n: 'Mailbox', c: [...(name ? [{ n: 'Name', t: name }] : []), { n: 'EmailAddress', t: address }] };
}

export function recipientsElement(name: string, value: unknown): XmlNode {
  if (value === null) return { n: name };
  if (!Array.isArray(value)) throw badRequest(`${name}: expected an array of recipients.`);
  return { n: name, c: value.map((v) => mailboxElement(v, name)) };
}

export function bodyOf(value: PropValue | undefined, wanted: 'html' | 'text' | undefined): ItemBody {
  if (value === undefined || typeof value === 'string') return { contentType: wanted ?? 'text', content: value ?? '' };
  const stored = value.a?.BodyType === 'Text' ? 'Text' : 'HTML';
  const target = wanted === undefined ? stored : wanted === 'html' ? 'HTML' : 'Text';
  return { contentType: target === 'HTML' ? 'html' : 'text', content: convertBody(value.t ?? '', stored, target) };
}

/** An empty body deletes the Body: what Graph shows of it is the same, and EWS then reports none, as for a cleared one. */
export function bodyElement(value: unknown, name = 'Body'): XmlNode {
  const body = (value ?? {}) as ItemBody;
  if (typeof body.content !== 'string' || body.content === '') return { n: name };
  const type = String(body.contentType ?? 'text').toLowerCase() === 'html' ? 'HTML' : 'Text';
  return { n: name, a: { BodyType: type }, t: typeof body.content === 'string' ? body.content : '' };
}

/** Plain text of a body, shortened to Graph's 255 characters of `bodyPreview`. */
export function previewOf(value: PropValue | undefined): string {
  return (bodyOf(value, 'text').content ?? '').replace(/\s+/g, ' ').trim().slice(0, 255);
}

function wallClock(ms: number): string {
  return `${new Date(ms).toISOString().slice(0, 19)}.0000000`;
}

/** An instant as Graph gives it: wall-clock time in the zone asked for (`Prefer: outlook.timezone`), else UTC. */
export function dateTimeOf(ms: number, zone: string): DateTimeTimeZone {
  return { dateTime: wallClock(utcToWall(ianaOf(zone), ms)), timeZone: zone };
}

/** A dateTimeTimeZone to an instant; its zone is a Windows or IANA name, UTC when absent. */
export function instantOf(value: unknown, what: string): { ms: number; zone: string } {
  const given = value as DateTimeTimeZone | null;
  const raw = given?.dateTime;
  if (typeof raw !== 'string' || !/^\d{4}-\d{2}-\d{2}(T[\d:.]+)?(Z|[+-]\d{2}:\d{2})?$/.test(raw.trim()))
    throw badRequest(`${what}: dateTime must be an ISO 8601 date and time (e.g. 2024-05-01T12:00:00).`);
  const zone = typeof given?.timeZone === 'string' && given.timeZone ? given.timeZone : 'UTC';
  const trimmed = raw.trim();
  const explicit = /(Z|[+-]\d{2}:\d{2})$/.test(trimmed);
  const wall = Date.parse(explicit ? trimmed : `${trimmed.length === 10 ? `${trimmed}T00:00:00` : trimmed}Z`);
  if (Number.isNaN(wall)) throw badRequest(`${what}: ${raw} is not a date and time.`);
  return { ms: explicit ? wall : wallToUtc(ianaOf(zone), wall), zone };
}

export function dateElement(name: string, ms: number): XmlNode {
  return { n: name, t: isoSeconds(ms) };
}

/** Graph's id of an extended property: `String {guid} Name x`, `String {guid} Id 0x8005`, `String 0x0037`. */
export function extendedIdOf(prop: ExtendedProp): string {
  const type = prop.uri.PropertyType ?? 'String';
  const [kind, set, name] = prop.key.split(':');
  if (kind === 'tag') return `${type} 0x${Number(set).toString(16).padStart(4, '0')}`;
  if (kind === 'id') return `${type} {${set}} Id 0x${Number(name).toString(16)}`;
  return `${type} {${set}} Name ${prop.key.slice(`name:${set}:`.length)}`;
}

/** The EWS ExtendedFieldURI attributes of a Graph extended property id, or a 400. */
export function extendedUriOf(id: string): Record<string, string> {
  const named = /^\s*(\w+)\s+\{([0-9a-fA-F-]{36})\}\s+Name\s+(.+?)\s*$/.exec(id);
  if (named?.[1] && named[2] && named[3])
    return { PropertyType: named[1], PropertySetId: named[2], PropertyName: named[3] };
  const numbered = /^\s*(\w+)\s+\{([0-9a-fA-F-]{36})\}\s+Id\s+(0x[0-9a-fA-F]+|\d+)\s*$/.exec(id);
  if (numbered?.[1] && numbered[2] && numbered[3])
    return { PropertyType: numbered[1], PropertySetId: numbered[2], PropertyId: String(Number(numbered[3])) };
  const tagged = /^\s*(\w+)\s+(0x[0-9a-fA-F]+)\s*$/.exec(id);
  if (tagged?.[1] && tagged[2]) return { PropertyType: tagged[1], PropertyTag: tagged[2] };
  throw badRequest(
    `The extended property id '${id}' is not valid: use "String {GUID} Name name", "String {GUID} Id 0x8005" or "String 0x0037".`,
    'ErrorInvalidProperty',
  );
}

export function extendedKeyOfId(id: string): string {
  return extendedKey(extendedUriOf(id));
}

/** singleValueExtendedProperties of a write as EWS ExtendedProperty elements. */
export function extendedElements(value: unknown): XmlNode[] {
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value)) throw badRequest('singleValueExtendedProperties: expected an array of {id, value}.');
  return value.map((entry) => {
    const { id, value: v } = (entry ?? {}) as { id?: unknown; value?: unknown };
    if (typeof id !== 'string') throw badRequest('singleValueExtendedProperties: each entry needs an id.');
    return {
      n: 'ExtendedProperty',
      c: [
        { n: 'ExtendedFieldURI', a: extendedUriOf(id) },
        { n: 'Value', t: v === null || v === undefined ? '' : String(v) },
      ],
    };
  });
}

export function stringList(name: string, value: unknown): XmlNode {
  if (value === null) return { n: name };
  if (!Array.isArray(value) || value.some((v) => typeof v !== 'string'))
    throw badRequest(`${name}: expected an array of strings.`);
  return { n: name, c: (value as string[]).map((t) => ({ n: 'String', t })) };
}

export function stringsOf(value: PropValue | undefined): string[] {
  return typeof value === 'object' ? (value.c ?? []).map((s) => s.t ?? '') : [];
}

/** Graph's lower-camel enum values from EWS's Pascal case and back (Normal ↔ normal, NotStarted ↔ notStarted). */
export function lowerFirst(value: string | undefined, fallback: string): string {
  const raw = value || fallback;
  return raw.charAt(0).toLowerCase() + raw.slice(1);
}

export function upperFirst(value: unknown, what: string, allowed: readonly string[]): string {
  const raw = typeof value === 'string' ? value : '';
  const found = allowed.find((a) => a.toLowerCase() === raw.toLowerCase());
  if (!found) throw badRequest(`${what} must be one of ${allowed.map((a) => lowerFirst(a, a)).join(', ')}.`);
  return found;
}

export function text(value: unknown, what: string): string {
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  throw badRequest(`${what} must be a string.`);
}
