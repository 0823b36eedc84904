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

/** Deeper documents are refused (libxml2's default limit too): no EWS request comes near it. */
export const maxXmlDepth = 256;

const parser = new XMLParser({
  preserveOrder: true,
  removeNSPrefix: false,
  maxNestedTags: maxXmlDepth,
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
 * The namespace URI of every element of a parsed document, for callers that care (EWS requests): elements stay
 * namespace-agnostic in XmlNode, so stored item properties do not carry namespaces around.
 */
export type Namespaces = Map<XmlNode, string>;

/**
 * Parses a document into its root element. Like Exchange, it refuses DTDs (no entity expansion games), anything that
 * is not well-formed and documents nested deeper than maxXmlDepth; every refusal is an XmlSyntaxError.
 */
export function parseXml(text: string, namespaces?: Namespaces): XmlNode {
  if (/<!DOCTYPE/i.test(text)) throw new XmlSyntaxError('DTD is prohibited in this XML document.');
  let top: Ordered[];
  try {
    const verdict = XMLValidator.validate(text);
    if (verdict !== true) {
      throw new XmlSyntaxError(`${verdict.err.msg} (line ${verdict.err.line}, column ${verdict.err.col})`);
    }
    top = parser.parse(text) as Ordered[];
  } catch (error) {
    if (error instanceof XmlSyntaxError) throw error;
    // The parser's own limits (nesting depth) and anything else it trips over: still the client's bad document.
    throw new XmlSyntaxError(`The document cannot be read: ${error instanceof Error ? error.message : String(error)}`);
  }
  const scope = new Map<string, string>([['xml', 'http://www.w3.org/XML/1998/namespace']]);
  const roots = top
    .map((entry) => convert(entry, scope, namespaces))
    .filter((node): node is XmlNode => node !== undefined);
  const root = roots[0];
  if (!root || roots.length > 1) throw new XmlSyntaxError('The document must have exactly one root element.');
  return root;
}

function localName(name: string): string {
  const colon = name.indexOf(':');
  return colon < 0 ? name : name.slice(colon + 1);
}

function convert(entry: Ordered, outer: Map<string, string>, namespaces: Namespaces | undefined): XmlNode | undefined {
  const name = Object.keys(entry).find((key) => key !== ':@');
  if (name === undefined || name === '#text' || name === '#comment' || name.startsWith('?')) return undefined;
  const node: XmlNode = { n: localName(name) };
  const attrs = entry[':@'];
  let scope = outer;
  if (attrs) {
    const own: Record<string, string> = {};
    for (const [key, value] of Object.entries(attrs)) {
      if (key === 'xmlns' || key.startsWith('xmlns:')) {
        if (scope === outer) scope = new Map(outer);
        scope.set(key === 'xmlns' ? '' : key.slice(6), String(value));
        continue;
      }
      own[localName(key)] = String(value);
    }
    if (Object.keys(own).length > 0) node.a = own;
  }
  if (namespaces) {
    const colon = name.indexOf(':');
    namespaces.set(node, scope.get(colon < 0 ? '' : name.slice(0, colon)) ?? '');
  }
  const content = (entry[name] ?? []) as Ordered[];
  const elements: XmlNode[] = [];
  let text = '';
  for (const part of content) {
    if ('#text' in part) text += String(part['#text']);
    else {
      const child = convert(part, scope, namespaces);
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
