import type { XmlNode } from './node.js';

/*
 * Responses are written as strings with these few helpers rather than through an XML builder: the emulator needs exact
 * prefixes and element order (the schema is a sequence), and a 512-item SyncFolderItems page is built in one pass.
 */

const textEscapes: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;' };
const attrEscapes: Record<string, string> = {
  ...textEscapes,
  '"': '&quot;',
  '\n': '&#10;',
  '\r': '&#13;',
  '\t': '&#9;',
};

// XML 1.0 forbids most control characters even when escaped; a client's odd byte must not make a response unparsable.
// biome-ignore lint/suspicious/noControlCharactersInRegex: these are exactly the characters being removed
const forbidden = /[\u0000-\u0008\u000B\u000C\u000E-\u001F\uFFFE\uFFFF]/g;

export function escapeText(value: string): string {
  return value.replace(forbidden, '').replace(/[&<>]/g, (c) => textEscapes[c] ?? c);
}

export function escapeAttr(value: string): string {
  return value.replace(forbidden, '').replace(/[&<>"\n\r\t]/g, (c) => attrEscapes[c] ?? c);
}

export type Attrs = Record<string, string | number | boolean | undefined>;

function attrString(attrs: Attrs | undefined): string {
  if (!attrs) return '';
  let out = '';
  for (const [key, value] of Object.entries(attrs)) {
    if (value === undefined) continue;
    out += ` ${key}="${escapeAttr(String(value))}"`;
  }
  return out;
}

/** An element whose inner content is already XML. */
export function el(name: string, attrs?: Attrs, inner = ''): string {
  return inner === '' ? `<${name}${attrString(attrs)}/>` : `<${name}${attrString(attrs)}>${inner}</${name}>`;
}

/** An element with text content (escaped). */
export function textEl(name: string, value: string | number | boolean, attrs?: Attrs): string {
  return `<${name}${attrString(attrs)}>${escapeText(String(value))}</${name}>`;
}

/** Serialises a stored node with one prefix for every element (item properties all live in the types namespace). */
export function serializeNode(node: XmlNode, prefix = 't'): string {
  const name = `${prefix}:${node.n}`;
  const attrs = node.a ? attrString(node.a) : '';
  if (node.c && node.c.length > 0) {
    let inner = '';
    for (const c of node.c) inner += serializeNode(c, prefix);
    return `<${name}${attrs}>${inner}</${name}>`;
  }
  if (node.t !== undefined && node.t !== '') return `<${name}${attrs}>${escapeText(node.t)}</${name}>`;
  return `<${name}${attrs}/>`;
}
