import { XMLParser } from 'fast-xml-parser';

/**
 * The little XML the adapter reads itself (SOAP faults, Autodiscover, streaming and push notifications, GetFolder),
 * parsed namespace-agnostically: prefixes are dropped, attributes are `@Name`, text is `#text` where an element also
 * has attributes. Everything else goes through ews-javascript-api.
 */
export type XmlValue = string | XmlObject | XmlValue[];
export interface XmlObject {
  [name: string]: XmlValue | undefined;
}

const parser = new XMLParser({
  removeNSPrefix: true,
  ignoreAttributes: false,
  attributeNamePrefix: '@',
  parseTagValue: false,
  parseAttributeValue: false,
  // Bodies keep their white space; container elements' own text is never read.
  trimValues: false,
  processEntities: true,
  htmlEntities: false,
  ignoreDeclaration: true,
  ignorePiTags: true,
});

/**
 * Whether a document declares a DTD. SOAP forbids them and Exchange never sends one; entities declared there would
 * expand (billion laughs) or name files (an external entity), so a document with one is refused unread, by this
 * parser and before anything reaches ews-javascript-api's (transport.ts).
 */
export function hasDtd(text: string): boolean {
  return /<!DOCTYPE/i.test(text);
}

/** Parses a document; throws on text that is not XML, and on a DTD (hasDtd). */
export function parseXml(text: string): XmlObject {
  if (hasDtd(text)) throw new Error('a DTD is not allowed in SOAP');
  const parsed = parser.parse(text, true) as unknown;
  if (parsed === null || typeof parsed !== 'object') throw new Error('not an XML document');
  return parsed as XmlObject;
}

function isObject(value: XmlValue | undefined): value is XmlObject {
  return value !== undefined && typeof value === 'object' && !Array.isArray(value);
}

/** The child elements named `name` (an element that occurs once is still a list of one). */
export function all(node: XmlValue | undefined, name: string): XmlValue[] {
  if (!isObject(node)) return [];
  const value = node[name];
  if (value === undefined) return [];
  return Array.isArray(value) ? value : [value];
}

/** The first child element named `name`, following a path of names. */
export function at(node: XmlValue | undefined, ...path: string[]): XmlValue | undefined {
  let current = node;
  for (const name of path) {
    current = all(current, name)[0];
    if (current === undefined) return undefined;
  }
  return current;
}

/** The text of an element (or of the element at `path`). */
export function textOf(node: XmlValue | undefined, ...path: string[]): string | undefined {
  const target = path.length > 0 ? at(node, ...path) : node;
  if (typeof target === 'string') return target;
  if (isObject(target)) {
    const text = target['#text'];
    return typeof text === 'string' ? text : isObject(target) && Object.keys(target).length === 0 ? '' : undefined;
  }
  return undefined;
}

export function attr(node: XmlValue | undefined, name: string): string | undefined {
  if (!isObject(node)) return undefined;
  const value = node[`@${name}`];
  return typeof value === 'string' ? value : undefined;
}

/** The child elements of a node with their names, grouped by name (enough for event lists, where order is not used). */
export function entries(node: XmlValue | undefined): [string, XmlValue][] {
  if (!isObject(node)) return [];
  const out: [string, XmlValue][] = [];
  for (const [name, value] of Object.entries(node)) {
    if (name.startsWith('@') || name === '#text' || value === undefined) continue;
    for (const each of Array.isArray(value) ? value : [value]) out.push([name, each]);
  }
  return out;
}

const entities: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&apos;' };

/**
 * Escapes text for an XML element or attribute value, with the five predefined entities: every XML parser decodes
 * them, while some (fast-xml-parser without htmlEntities, as in the emulator) leave numeric references as they are.
 */
export function escapeXml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => entities[c] ?? c);
}
