import type { PropValue } from '../store/model.js';
import type { XmlNode } from '../xml/node.js';

/**
 * The admin API's JSON form of items, by EWS property names, converted to and from the XML the EWS operations use:
 * the admin API creates items through the same code as CreateItem, so a "person in Outlook" and a client get the
 * same items and the same notifications.
 *
 *   { "Subject": "Lunch", "Body": "text" | { "BodyType": "HTML", "value": "<b>hi</b>" },
 *     "Start": "2024-05-01T12:00:00Z", "RequiredAttendees": ["bob@contoso.test"],
 *     "Recurrence": { "WeeklyRecurrence": { "Interval": 1, "DaysOfWeek": "Monday" },
 *                     "NumberedRecurrence": { "StartDate": "2024-05-06", "NumberOfOccurrences": 4 } },
 *     "EmailAddresses": { "EmailAddress1": "x@y.z" }, "PhysicalAddresses": { "Business": { "City": "Delft" } },
 *     "Categories": ["Red"], "StartTimeZone": "W. Europe Standard Time" }
 *
 * Any other object is written as XML element for element ("@Name" keys are attributes, "#text" is text).
 */

export type Json = string | number | boolean | null | Json[] | { [key: string]: Json };

const attendeeLists = new Set(['RequiredAttendees', 'OptionalAttendees', 'Resources']);
const recipientLists = new Set(['ToRecipients', 'CcRecipients', 'BccRecipients', 'ReplyTo']);
const singleRecipients = new Set(['From', 'Sender']);
const stringLists = new Set(['Categories', 'Children', 'Companies', 'Contacts']);
const dictionaries = new Set(['EmailAddresses', 'PhoneNumbers', 'ImAddresses', 'PhysicalAddresses']);

function mailbox(value: Json): XmlNode {
  if (value !== null && typeof value === 'object' && !Array.isArray(value)) {
    const c: XmlNode[] = [];
    if (value.name !== undefined) c.push({ n: 'Name', t: String(value.name) });
    c.push({ n: 'EmailAddress', t: String(value.address ?? value.EmailAddress ?? '') });
    return { n: 'Mailbox', c };
  }
  return { n: 'Mailbox', c: [{ n: 'EmailAddress', t: String(value) }] };
}

function list(value: Json): Json[] {
  return Array.isArray(value) ? value : [value];
}

function generic(name: string, value: Json): XmlNode {
  if (value === null || typeof value !== 'object') return { n: name, t: String(value) };
  if (Array.isArray(value)) return { n: name, c: value.map((v) => generic('String', v)) };
  const node: XmlNode = { n: name };
  const c: XmlNode[] = [];
  for (const [key, child] of Object.entries(value)) {
    if (key.startsWith('@')) {
      node.a = { ...node.a, [key.slice(1)]: String(child) };
    } else if (key === '#text') node.t = String(child);
    else if (Array.isArray(child) && !stringLists.has(key)) for (const each of child) c.push(generic(key, each));
    else c.push(generic(key, child));
  }
  if (c.length > 0) node.c = c;
  return node;
}

/** One property's JSON value as the XML element EWS would carry. */
export function jsonToNode(name: string, value: Json): XmlNode {
  if (name === 'Body') {
    if (value !== null && typeof value === 'object' && !Array.isArray(value)) {
      return { n: 'Body', a: { BodyType: String(value.BodyType ?? 'Text') }, t: String(value.value ?? '') };
    }
    return { n: 'Body', a: { BodyType: 'Text' }, t: String(value ?? '') };
  }
  if (attendeeLists.has(name)) return { n: name, c: list(value).map((v) => ({ n: 'Attendee', c: [mailbox(v)] })) };
  if (recipientLists.has(name)) return { n: name, c: list(value).map(mailbox) };
  if (singleRecipients.has(name)) return { n: name, c: [mailbox(value)] };
  if (stringLists.has(name)) return { n: name, c: list(value).map((v) => ({ n: 'String', t: String(v) })) };
  if ((name === 'StartTimeZone' || name === 'EndTimeZone') && typeof value === 'string')
    return { n: name, a: { Id: value } };
  if (dictionaries.has(name) && value !== null && typeof value === 'object' && !Array.isArray(value)) {
    return {
      n: name,
      c: Object.entries(value).map(([key, entry]) =>
        entry !== null && typeof entry === 'object' && !Array.isArray(entry)
          ? { n: 'Entry', a: { Key: key }, c: Object.entries(entry).map(([k, v]) => ({ n: k, t: String(v) })) }
          : { n: 'Entry', a: { Key: key }, t: String(entry) },
      ),
    };
  }
  return generic(name, value);
}

/** Stored values back to JSON, for listing items. */
export function valueToJson(value: PropValue): Json {
  if (typeof value === 'string') return value;
  if (value.n === 'Body') return { BodyType: value.a?.BodyType ?? 'HTML', value: value.t ?? '' };
  if (attendeeLists.has(value.n)) {
    return (value.c ?? []).map((a) => a.c?.[0]?.c?.find((c) => c.n === 'EmailAddress')?.t ?? '');
  }
  if (recipientLists.has(value.n)) return (value.c ?? []).map((m) => m.c?.find((c) => c.n === 'EmailAddress')?.t ?? '');
  if (singleRecipients.has(value.n)) return value.c?.[0]?.c?.find((c) => c.n === 'EmailAddress')?.t ?? '';
  if (stringLists.has(value.n)) return (value.c ?? []).map((s) => s.t ?? '');
  if (dictionaries.has(value.n)) {
    const out: Record<string, Json> = {};
    for (const entry of value.c ?? []) {
      const key = entry.a?.Key ?? '';
      out[key] = entry.c ? Object.fromEntries(entry.c.map((c) => [c.n, c.t ?? ''])) : (entry.t ?? '');
    }
    return out;
  }
  return nodeToJson(value);
}

function nodeToJson(node: XmlNode): Json {
  if (!node.c && !node.a) return node.t ?? '';
  const out: Record<string, Json> = {};
  for (const [key, value] of Object.entries(node.a ?? {})) out[`@${key}`] = value;
  if (node.t !== undefined) out['#text'] = node.t;
  for (const child of node.c ?? []) {
    const value = nodeToJson(child);
    const existing = out[child.n];
    if (existing === undefined) out[child.n] = value;
    else out[child.n] = Array.isArray(existing) ? [...existing, value] : [existing, value];
  }
  return out;
}
