import type { ExtendedProp } from '../store/model.js';
import { children, text, type XmlNode } from '../xml/node.js';
import { el, escapeText, textEl } from '../xml/write.js';

/**
 * Extended (MAPI) properties. Exchange identifies one by property set and name, id or tag; a distinguished set name and
 * its GUID are the same set, GUIDs and tags compare case-insensitively, property names do not.
 */

const distinguishedSets: Record<string, string> = {
  Meeting: '6ed8da90-450b-101b-98da-00aa003f1305',
  Appointment: '00062002-0000-0000-c000-000000000046',
  Common: '00062008-0000-0000-c000-000000000046',
  PublicStrings: '00020329-0000-0000-c000-000000000046',
  Address: '00062004-0000-0000-c000-000000000046',
  InternetHeaders: '00020386-0000-0000-c000-000000000046',
  CalendarAssistant: '11000e07-b51b-40d6-af21-caa85edab1d0',
  UnifiedMessaging: '4442858e-a9e3-4e80-b900-317a210cc15b',
  Task: '00062003-0000-0000-c000-000000000046',
  Sharing: '00062040-0000-0000-c000-000000000046',
};

export function extendedKey(uri: Record<string, string>): string {
  if (uri.PropertyTag !== undefined) {
    const tag = uri.PropertyTag.trim();
    const value = /^0x/i.test(tag) ? Number.parseInt(tag.slice(2), 16) : Number.parseInt(tag, 10);
    return `tag:${Number.isNaN(value) ? tag.toLowerCase() : value}`;
  }
  const set = uri.DistinguishedPropertySetId
    ? (distinguishedSets[uri.DistinguishedPropertySetId] ?? uri.DistinguishedPropertySetId)
    : (uri.PropertySetId ?? '').toLowerCase();
  if (uri.PropertyName !== undefined) return `name:${set}:${uri.PropertyName}`;
  return `id:${set}:${Number(uri.PropertyId)}`;
}

/** Reads a t:ExtendedProperty element. */
export function readExtended(node: XmlNode): ExtendedProp | undefined {
  const uriNode = children(node, 'ExtendedFieldURI')[0];
  if (!uriNode?.a) return undefined;
  const prop: ExtendedProp = { key: extendedKey(uriNode.a), uri: uriNode.a };
  const values = children(node, 'Values')[0];
  if (values) prop.values = children(values, 'Value').map((v) => text(v) ?? '');
  else prop.value = text(node, 'Value') ?? '';
  return prop;
}

/** Writes one, naming it by the URI the client asked with (so that the client recognises its own definition). */
export function renderExtended(prop: ExtendedProp, asked: Record<string, string>): string {
  const value =
    prop.values !== undefined
      ? el('t:Values', undefined, prop.values.map((v) => textEl('t:Value', v)).join(''))
      : `<t:Value>${escapeText(prop.value ?? '')}</t:Value>`;
  return el('t:ExtendedProperty', undefined, el('t:ExtendedFieldURI', asked) + value);
}

export function upsertExtended(list: ExtendedProp[] | undefined, prop: ExtendedProp): ExtendedProp[] {
  const out = (list ?? []).filter((p) => p.key !== prop.key);
  out.push(prop);
  return out;
}
