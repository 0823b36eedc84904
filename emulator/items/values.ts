import { SoapFault } from '../soap/response-codes.js';
import type { PropValue } from '../store/model.js';
import { child, children, text, type XmlNode } from '../xml/node.js';
import { itemSchemaText } from './item-schema-table.js';

/** Small readers and writers for stored property values, shared by reading, rendering and restrictions. */

/** xs:dateTime to Exchange's form (UTC, seconds, Z). Invalid input fails schema validation, as on Exchange. */
export function normalizeDate(raw: string, what: string): string {
  const trimmed = raw.trim();
  const ms = Date.parse(/^\d{4}-\d{2}-\d{2}$/.test(trimmed) ? `${trimmed}T00:00:00Z` : trimmed);
  if (!/^\d{4}-\d{2}-\d{2}/.test(trimmed) || Number.isNaN(ms)) {
    throw new SoapFault(
      'ErrorSchemaValidation',
      `The request failed schema validation: The '${what}' element is invalid - The value '${raw}' is invalid according to its datatype 'http://www.w3.org/2001/XMLSchema:dateTime'.`,
    );
  }
  return isoSeconds(ms);
}

export function isoSeconds(ms: number): string {
  return `${new Date(ms).toISOString().slice(0, 19)}Z`;
}

export function timeOf(value: PropValue | undefined): number | undefined {
  if (typeof value !== 'string') return undefined;
  const ms = Date.parse(value);
  return Number.isNaN(ms) ? undefined : ms;
}

export function textOf(value: PropValue | undefined): string | undefined {
  if (value === undefined) return undefined;
  return typeof value === 'string' ? value : (value.t ?? '');
}

export function bool(value: PropValue | undefined, fallback = false): boolean {
  const raw = textOf(value);
  if (raw === undefined) return fallback;
  return raw.trim() === 'true' || raw.trim() === '1';
}

/**
 * An xs:boolean as Exchange writes it. The schema accepts `1`, `0` and surrounding whitespace in requests, but Exchange
 * answers only `true` or `false` whatever the client sent.
 */
export function canonicalBoolean(raw: string): string {
  const trimmed = raw.trim();
  if (trimmed === '1' || trimmed === 'true') return 'true';
  if (trimmed === '0' || trimmed === 'false') return 'false';
  return raw;
}

/** The xs:boolean elements of the item types (types.xsd, via item-schema-table.ts). */
const booleanElements = new Set(
  Object.values(itemSchemaText)
    .flatMap((lines) => lines.join(' ').split(/\s+/))
    .filter((spec) => spec.endsWith(':b'))
    .map((spec) => spec.slice(0, -2)),
);

/** A text property's value as Exchange keeps and answers it: booleans canonical, the rest as sent. */
export function canonicalText(element: string, raw: string): string {
  return booleanElements.has(element) ? canonicalBoolean(raw) : raw;
}

export interface Address {
  name?: string;
  address: string;
}

/** Addresses of a recipients list (ToRecipients/Mailbox...) or an attendee list (RequiredAttendees/Attendee/Mailbox). */
export function addressesOf(value: PropValue | undefined): Address[] {
  if (value === undefined || typeof value === 'string') return [];
  const out: Address[] = [];
  for (const entry of children(value)) {
    const mailbox = entry.n === 'Attendee' ? child(entry, 'Mailbox') : entry;
    const address = text(mailbox, 'EmailAddress');
    if (address) {
      const name = text(mailbox, 'Name');
      out.push(name ? { name, address } : { address });
    }
  }
  return out;
}

/** The schema order of EmailAddressType: Name, EmailAddress, RoutingType, MailboxType. */
export function mailboxNode(address: string, name: string, known: boolean): XmlNode {
  return {
    n: 'Mailbox',
    c: [
      { n: 'Name', t: name },
      { n: 'EmailAddress', t: address },
      { n: 'RoutingType', t: 'SMTP' },
      { n: 'MailboxType', t: known ? 'Mailbox' : 'OneOff' },
    ],
  };
}

export function durationOf(ms: number): string {
  if (ms <= 0) return 'PT0S';
  const totalSeconds = Math.round(ms / 1000);
  const days = Math.floor(totalSeconds / 86400);
  const hours = Math.floor((totalSeconds % 86400) / 3600);
  const minutes = Math.floor((totalSeconds % 3600) / 60);
  const seconds = totalSeconds % 60;
  let out = 'P';
  if (days) out += `${days}D`;
  if (hours || minutes || seconds) {
    out += 'T';
    if (hours) out += `${hours}H`;
    if (minutes) out += `${minutes}M`;
    if (seconds) out += `${seconds}S`;
  }
  return out === 'P' ? 'PT0S' : out;
}
