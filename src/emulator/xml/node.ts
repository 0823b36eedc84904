import { XMLParser, XMLValidator } from 'fast-xml-parser';

/**
 * A namespace-agnostic XML element: local name, attributes, child elements or text. It is JSON-safe, so stored item
 * properties that are XML (a Body, a Recurrence, an attendee list) persist with `--data` as they are.
 */
export interface XmlNode {
  n: string;
  a?: Record<string, string>;
  c?: XmlNode[];
  t?: string;
}

export class XmlSyntaxError extends Error {
  override readonly name = 'XmlSyntaxError';
}

const parser = new XMLParser({
  preserveOrder: true,
  removeNSPrefix: true,
  ignoreAttributes: false,
  attributeNamePrefix: '',
  parseTagValue: false,
  parseAttributeValue: false,
  trimValues: false,
  processEntities: true,
  htmlEntities: false,
  ignoreDeclaration: true,
  ignorePiTags: true,
});

type Ordered = Record<string, unknown> & { ':@'?: Record<string, string> };

/**
 * Parses a document into its root element. Like Exchange, it refuses DTDs (no entity expansion games) and anything
 * that is not well-formed.
 */
export function parseXml(text: string): XmlNode {
  if (/<!DOCTYPE/i.test(text)) throw new XmlSyntaxError('DTD is prohibited in this XML document.');
  const verdict = XMLValidator.validate(text);
  if (verdict !== true) {
    throw new XmlSyntaxError(`${verdict.err.msg} (line ${verdict.err.line}, column ${verdict.err.col})`);
  }
  const top = parser.parse(text) as Ordered[];
  const roots = top.map(convert).filter((node): node is XmlNode => node !== undefined);
  const root = roots[0];
  if (!root || roots.length > 1) throw new XmlSyntaxError('The document must have exactly one root element.');
  return root;
}

function convert(entry: Ordered): XmlNode | undefined {
  const name = Object.keys(entry).find((key) => key !== ':@');
  if (name === undefined || name === '#text' || name === '#comment' || name.startsWith('?')) return undefined;
  const node: XmlNode = { n: name };
  const attrs = entry[':@'];
  if (attrs) {
    const own: Record<string, string> = {};
    for (const [key, value] of Object.entries(attrs)) {
      if (key === 'xmlns' || key.startsWith('xmlns:')) continue;
      own[key] = String(value);
    }
    if (Object.keys(own).length > 0) node.a = own;
  }
  const content = (entry[name] ?? []) as Ordered[];
  const elements: XmlNode[] = [];
  let text = '';
  for (const part of content) {
    if ('#text' in part) text += String(part['#text']);
    else {
      const child = convert(part);
      if (child) elements.push(child);
    }
  }
  if (elements.length > 0) node.c = elements;
  else if (text !== '') node.t = text;
  return node;
}

export function child(node: XmlNode | undefined, name: string): XmlNode | undefined {
  return node?.c?.find((c) => c.n === name);
}

export function children(node: XmlNode | undefined, name?: string): XmlNode[] {
  if (!node?.c) return [];
  return name === undefined ? node.c : node.c.filter((c) => c.n === name);
}

/** Text of the node, or of its named child. */
export function text(node: XmlNode | undefined, name?: string): string | undefined {
  const target = name === undefined ? node : child(node, name);
  if (!target) return undefined;
  return target.t ?? '';
}

export function attr(node: XmlNode | undefined, name: string): string | undefined {
  return node?.a?.[name];
}

/** Walks a path of child names. */
export function path(node: XmlNode | undefined, ...names: string[]): XmlNode | undefined {
  let current = node;
  for (const name of names) current = child(current, name);
  return current;
}
