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

/**
 * The namespace URI of every element of a parsed document, for callers that care (EWS requests): elements stay
 * namespace-agnostic in XmlNode, so stored item properties do not carry namespaces around.
 */
export type Namespaces = Map<XmlNode, string>;

interface Open {
  /** The element's name as written (prefix and all), which its end tag must repeat. */
  tag: string;
  node: XmlNode;
  text: string;
  /** Namespace prefixes in scope ('' for the default namespace). */
  scope: Map<string, string>;
}

/**
 * Parses a document into its root element, in one pass that checks well-formedness as it builds (a validation pass
 * and a parse, as before, read every request twice). Like Exchange, it refuses DTDs (no entity expansion games),
 * anything that is not well-formed and documents nested deeper than maxXmlDepth; every refusal is an XmlSyntaxError
 * naming the problem with its line and column.
 */
export function parseXml(source: string, namespaces?: Namespaces): XmlNode {
  const text = source.includes('\r') ? source.replace(/\r\n?/g, '\n') : source;
  const fail = (message: string, at: number): never => {
    throw new XmlSyntaxError(`${message} (${position(text, at)})`);
  };
  const scope = new Map<string, string>([['xml', 'http://www.w3.org/XML/1998/namespace']]);
  const stack: Open[] = [];
  let current: Open | undefined;
  let root: XmlNode | undefined;
  const end = text.length;
  const start = text.charCodeAt(0) === 0xfeff ? 1 : 0;
  let i = start;
  while (i < end) {
    const lt = text.indexOf('<', i);
    const stop = lt < 0 ? end : lt;
    if (stop > i) {
      if (current) current.text += decode(text, i, stop, fail);
      else if (text.slice(i, stop).trim() !== '') fail('Text outside the root element', i);
    }
    if (lt < 0) break;
    const next = text.charCodeAt(lt + 1);
    if (next === 47 /* </ */) {
      if (!current) fail('An end tag without its start tag', lt);
      const { tag } = current as Open;
      let j = lt + 2 + tag.length;
      if (!text.startsWith(tag, lt + 2) || isNameChar(text.charCodeAt(j))) {
        fail(`The end tag </${nameAt(text, lt + 2)}> does not close <${tag}>`, lt);
      }
      while (isSpace(text.charCodeAt(j))) j++;
      if (text.charCodeAt(j) !== 62) fail(`The end tag </${tag}> is not closed`, lt);
      finish(current as Open);
      current = stack.pop();
      i = j + 1;
    } else if (next === 33 /* <! */) {
      if (text.startsWith('<!--', lt)) {
        const close = text.indexOf('-->', lt + 4);
        if (close < 0) fail('A comment is not closed', lt);
        i = close + 3;
      } else if (text.startsWith('<![CDATA[', lt) && current) {
        const close = text.indexOf(']]>', lt + 9);
        if (close < 0) fail('A CDATA section is not closed', lt);
        current.text += text.slice(lt + 9, close);
        i = close + 3;
      } else if (/^<!DOCTYPE/i.test(text.slice(lt, lt + 9))) {
        throw new XmlSyntaxError('DTD is prohibited in this XML document.');
      } else {
        fail('Markup that is not an element, a comment or CDATA', lt);
      }
    } else if (next === 63 /* <? */) {
      const target = text.charCodeAt(lt + 5);
      if (lt !== start && text.startsWith('xml', lt + 2) && (isSpace(target) || target === 63)) {
        fail('An XML declaration not at the start of the document', lt);
      }
      const close = text.indexOf('?>', lt + 2);
      if (close < 0) fail('A processing instruction is not closed', lt);
      i = close + 2;
    } else {
      if (!current && root) fail('The document must have exactly one root element.', lt);
      const tag = nameAt(text, lt + 1);
      if (tag === '') fail('A "<" that starts no element', lt);
      const node: XmlNode = { n: localName(tag) };
      const outer = current?.scope ?? scope;
      let inner = outer;
      let j = lt + 1 + tag.length;
      let empty = false;
      /** Namespace declarations made by this element: one given twice is not well-formed. */
      let declared: string[] | undefined;
      for (;;) {
        let k = j;
        while (isSpace(text.charCodeAt(k))) k++;
        const c = text.charCodeAt(k);
        if (c === 62 /* > */) {
          j = k + 1;
          break;
        }
        if (c === 47 /* / */ && text.charCodeAt(k + 1) === 62) {
          empty = true;
          j = k + 2;
          break;
        }
        if (k >= end) fail(`The start tag <${tag}> is not closed`, lt);
        const name = nameAt(text, k);
        if (k === j || name === '') fail(`The start tag <${tag}> is malformed`, k);
        let n = k + name.length;
        while (isSpace(text.charCodeAt(n))) n++;
        if (text.charCodeAt(n) !== 61 /* = */) fail(`The attribute ${name} has no value`, k);
        n++;
        while (isSpace(text.charCodeAt(n))) n++;
        const quote = text[n];
        if (quote !== '"' && quote !== "'") fail(`The value of the attribute ${name} is not quoted`, k);
        const close = text.indexOf(quote as string, n + 1);
        if (close < 0) fail(`The value of the attribute ${name} is not closed`, k);
        if (text.lastIndexOf('<', close) > n) fail(`The value of the attribute ${name} holds a "<"`, k);
        const value = decode(text, n + 1, close, fail);
        if (name === 'xmlns' || name.startsWith('xmlns:')) {
          declared ??= [];
          if (declared.includes(name)) fail(`The attribute ${name} is given twice`, k);
          declared.push(name);
          if (inner === outer) inner = new Map(outer);
          inner.set(name === 'xmlns' ? '' : name.slice(6), value);
        } else {
          node.a ??= {};
          if (Object.hasOwn(node.a, localName(name))) fail(`The attribute ${name} is given twice`, k);
          node.a[localName(name)] = value;
        }
        j = close + 1;
      }
      if (stack.length >= maxXmlDepth) fail(`Elements are nested deeper than ${maxXmlDepth}`, lt);
      if (namespaces) {
        const colon = tag.indexOf(':');
        namespaces.set(node, inner.get(colon < 0 ? '' : tag.slice(0, colon)) ?? '');
      }
      if (current) {
        current.node.c ??= [];
        current.node.c.push(node);
      } else root = node;
      if (!empty) {
        if (current) stack.push(current);
        current = { tag, node, text: '', scope: inner };
      }
      i = j;
    }
  }
  if (current) fail(`The element <${current.tag}> is not closed`, end);
  if (!root) fail('The document must have exactly one root element.', end);
  return root as XmlNode;
}

/** An element with child elements keeps only them (EWS has no mixed content); one without keeps its text. */
function finish(element: Open): void {
  if (!element.node.c && element.text !== '') element.node.t = element.text;
}

function localName(name: string): string {
  const colon = name.indexOf(':');
  return colon < 0 ? name : name.slice(colon + 1);
}

function isSpace(code: number): boolean {
  return code === 32 || code === 10 || code === 9 || code === 13;
}

/** Letters, digits, `_ : . -` and anything beyond ASCII (XML's name characters, loosely). */
function isNameChar(code: number): boolean {
  return (
    (code >= 97 && code <= 122) ||
    (code >= 65 && code <= 90) ||
    (code >= 48 && code <= 58) ||
    code === 95 ||
    code === 46 ||
    code === 45 ||
    code >= 0x80
  );
}

/** The name starting at `at`, or '' when none starts there (a name starts with a letter, `_`, `:` or beyond ASCII). */
function nameAt(text: string, at: number): string {
  const first = text.charCodeAt(at);
  if (!isNameChar(first) || (first >= 48 && first <= 57) || first === 46 || first === 45) return '';
  let end = at + 1;
  while (isNameChar(text.charCodeAt(end))) end++;
  return text.slice(at, end);
}

const predefined: Record<string, string> = { lt: '<', gt: '>', amp: '&', quot: '"', apos: "'" };

/** The text between `from` and `to` with its references decoded: the five predefined entities and character references. */
function decode(text: string, from: number, to: number, fail: (message: string, at: number) => never): string {
  let amp = text.indexOf('&', from);
  if (amp < 0 || amp >= to) return text.slice(from, to);
  let out = '';
  let start = from;
  while (amp >= 0 && amp < to) {
    const semi = text.indexOf(';', amp);
    if (semi < 0 || semi >= to) fail('A "&" that starts no reference', amp);
    const name = text.slice(amp + 1, semi);
    let value = predefined[name];
    if (value === undefined && name.startsWith('#')) {
      const code = name[1] === 'x' ? Number.parseInt(name.slice(2), 16) : Number.parseInt(name.slice(1), 10);
      const digits = name[1] === 'x' ? /^#x[0-9a-fA-F]+$/ : /^#[0-9]+$/;
      if (digits.test(name) && isXmlChar(code)) value = String.fromCodePoint(code);
    }
    if (value === undefined) fail(`The reference &${name}; is not one XML defines`, amp);
    out += text.slice(start, amp) + value;
    start = semi + 1;
    amp = text.indexOf('&', start);
  }
  return out + text.slice(start, to);
}

function isXmlChar(code: number): boolean {
  return (
    code === 9 ||
    code === 10 ||
    code === 13 ||
    (code >= 0x20 && code <= 0xd7ff) ||
    (code >= 0xe000 && code <= 0xfffd) ||
    (code >= 0x10000 && code <= 0x10ffff)
  );
}

function position(text: string, at: number): string {
  let line = 1;
  let lineStart = 0;
  for (let n = text.indexOf('\n'); n >= 0 && n < at; n = text.indexOf('\n', n + 1)) {
    line++;
    lineStart = n + 1;
  }
  return `line ${line}, column ${at - lineStart + 1}`;
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
