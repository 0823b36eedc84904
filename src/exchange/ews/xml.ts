/**
 * The little XML the adapter reads itself (SOAP faults, Autodiscover, streaming and push notifications, GetFolder,
 * GetItem), parsed namespace-agnostically: prefixes are dropped, attributes are `@Name`, text is `#text` where an
 * element also has attributes or children. Everything else goes through ews-javascript-api.
 *
 * The reader is the adapter's own: one pass that checks well-formedness as it builds (fast-xml-parser validated in a
 * pass of its own, then parsed in a second with a path matcher per element, and its parser alone accepts mismatched and
 * unclosed elements). GetItem answers are the bulk of what the connector reads during a catch-up (docs/architecture.md,
 * "How a change travels"), so this is on the hot path.
 */
export type XmlValue = string | XmlObject | XmlValue[];
export interface XmlObject {
  [name: string]: XmlValue | undefined;
}

/**
 * Whether a document declares a DTD. SOAP forbids them and Exchange never sends one; entities declared there would
 * expand (billion laughs) or name files (an external entity), so a document with one is refused unread, by this
 * parser and before anything reaches ews-javascript-api's (transport.ts).
 */
export function hasDtd(text: string): boolean {
  return /<!DOCTYPE/i.test(text);
}

/** Deeper documents are refused: no EWS answer comes near it (libxml2's default limit too). */
const maxDepth = 256;

interface Open {
  /** The element's name as written (prefix and all), which its end tag must repeat. */
  tag: string;
  name: string;
  children?: XmlObject;
  text: string;
  attrs?: XmlObject;
}

/** Parses a document into `{ [root element's local name]: value }`; throws on text that is not well-formed XML. */
export function parseXml(source: string): XmlObject {
  const text = source.includes('\r') ? source.replace(/\r\n?/g, '\n') : source;
  const fail = (message: string, at: number): never => {
    throw new Error(`${message} (${position(text, at)})`);
  };
  const document: Open = { tag: '', name: '', text: '' };
  const stack: Open[] = [];
  let current = document;
  let rooted = false;
  const end = text.length;
  const start = text.charCodeAt(0) === 0xfeff ? 1 : 0;
  let i = start;
  while (i < end) {
    const lt = text.indexOf('<', i);
    const stop = lt < 0 ? end : lt;
    if (stop > i) {
      if (current !== document) current.text += decode(text, i, stop, fail);
      else if (text.slice(i, stop).trim() !== '') fail('text outside the root element', i);
    }
    if (lt < 0) break;
    const next = text.charCodeAt(lt + 1);
    if (next === 47 /* </ */) {
      const { tag } = current;
      if (current === document) fail('an end tag without its start tag', lt);
      let j = lt + 2 + tag.length;
      if (!text.startsWith(tag, lt + 2) || isNameChar(text.charCodeAt(j))) {
        fail(`the end tag </${nameAt(text, lt + 2)}> does not close <${tag}>`, lt);
      }
      while (isSpace(text.charCodeAt(j))) j++;
      if (text.charCodeAt(j) !== 62) fail(`the end tag </${tag}> is not closed`, lt);
      const done = current;
      current = stack.pop() ?? document;
      addChild(current, done.name, elementValue(done));
      i = j + 1;
    } else if (next === 33 /* <! */) {
      if (text.startsWith('<!--', lt)) {
        const close = text.indexOf('-->', lt + 4);
        if (close < 0) fail('a comment is not closed', lt);
        i = close + 3;
      } else if (text.startsWith('<![CDATA[', lt) && current !== document) {
        const close = text.indexOf(']]>', lt + 9);
        if (close < 0) fail('a CDATA section is not closed', lt);
        current.text += text.slice(lt + 9, close);
        i = close + 3;
      } else if (/^<!DOCTYPE/i.test(text.slice(lt, lt + 9))) {
        throw new Error('a DTD is not allowed in SOAP');
      } else {
        fail('markup that is not an element, a comment or CDATA', lt);
      }
    } else if (next === 63 /* <? */) {
      const target = text.charCodeAt(lt + 5);
      if (lt !== start && text.startsWith('xml', lt + 2) && (isSpace(target) || target === 63)) {
        fail('an XML declaration not at the start of the document', lt);
      }
      const close = text.indexOf('?>', lt + 2);
      if (close < 0) fail('a processing instruction is not closed', lt);
      i = close + 2;
    } else {
      if (current === document && rooted) fail('a second root element', lt);
      const tag = nameAt(text, lt + 1);
      if (tag === '') fail('a "<" that starts no element', lt);
      const element: Open = { tag, name: localName(tag), text: '' };
      let j = lt + 1 + tag.length;
      let empty = false;
      /** Namespace declarations are not kept, but are attributes: one given twice is not well-formed either. */
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
        if (k >= end) fail(`the start tag <${tag}> is not closed`, lt);
        const name = nameAt(text, k);
        if (k === j || name === '') fail(`the start tag <${tag}> is malformed`, k);
        let n = k + name.length;
        while (isSpace(text.charCodeAt(n))) n++;
        if (text.charCodeAt(n) !== 61 /* = */) fail(`the attribute ${name} has no value`, k);
        n++;
        while (isSpace(text.charCodeAt(n))) n++;
        const quote = text[n];
        if (quote !== '"' && quote !== "'") fail(`the value of the attribute ${name} is not quoted`, k);
        const close = text.indexOf(quote as string, n + 1);
        if (close < 0) fail(`the value of the attribute ${name} is not closed`, k);
        if (text.lastIndexOf('<', close) > n) fail(`the value of the attribute ${name} holds a "<"`, k);
        const local = attributeName(name);
        if (local === undefined) {
          declared ??= [];
          if (declared.includes(name)) fail(`the attribute ${name} is given twice`, k);
          declared.push(name);
        } else {
          element.attrs ??= {};
          if (Object.hasOwn(element.attrs, local)) fail(`the attribute ${name} is given twice`, k);
          element.attrs[local] = decode(text, n + 1, close, fail);
        }
        j = close + 1;
      }
      if (stack.length >= maxDepth) fail(`elements nested deeper than ${maxDepth}`, lt);
      rooted = true;
      if (empty) addChild(current, element.name, elementValue(element));
      else {
        stack.push(current);
        current = element;
      }
      i = j;
    }
  }
  if (current !== document) fail(`the element <${current.tag}> is not closed`, end);
  if (!document.children) fail('no root element', end);
  return document.children as XmlObject;
}

/**
 * An element's value as fast-xml-parser gave it (the adapter's readers were written against that shape): the text
 * alone when it has neither attributes nor children, else an object of its children, `#text` and `@attributes`.
 */
function elementValue(element: Open): XmlValue {
  const { children, text, attrs } = element;
  if (!children && !attrs) return text;
  const value: XmlObject = children ?? {};
  if (text !== '') value['#text'] = text;
  if (attrs) Object.assign(value, attrs);
  return value;
}

function addChild(parent: Open, name: string, value: XmlValue): void {
  parent.children ??= {};
  const siblings = parent.children;
  if (!Object.hasOwn(siblings, name)) {
    // defineProperty: an element named __proto__ is a child like any other, not the object's prototype.
    Object.defineProperty(siblings, name, { value, enumerable: true, writable: true, configurable: true });
    return;
  }
  const existing = siblings[name];
  if (Array.isArray(existing)) existing.push(value);
  else siblings[name] = [existing as XmlValue, value];
}

function localName(name: string): string {
  const colon = name.indexOf(':');
  return colon < 0 ? name : name.slice(colon + 1);
}

/** `@` and the attribute's local name; undefined for namespace declarations, which the reader does not keep. */
function attributeName(name: string): string | undefined {
  if (name === 'xmlns' || name.startsWith('xmlns:')) return undefined;
  return `@${localName(name)}`;
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
    if (semi < 0 || semi >= to) fail('a "&" that starts no reference', amp);
    const name = text.slice(amp + 1, semi);
    let value = predefined[name];
    if (value === undefined && name.startsWith('#')) {
      const code = name[1] === 'x' ? Number.parseInt(name.slice(2), 16) : Number.parseInt(name.slice(1), 10);
      const digits = name[1] === 'x' ? /^#x[0-9a-fA-F]+$/ : /^#[0-9]+$/;
      if (digits.test(name) && isXmlChar(code)) value = String.fromCodePoint(code);
    }
    if (value === undefined) fail(`the reference &${name}; is not one XML defines`, amp);
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

/**
 * An id attribute (Id, ChangeKey) as Exchange compares it: without the white space around it, which a proxy or a
 * pretty-printer may add and which no EWS id contains (they are base64). Blank counts as absent.
 */
export function idAttr(node: XmlValue | undefined, name = 'Id'): string | undefined {
  const value = attr(node, name)?.trim();
  return value ? value : undefined;
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
