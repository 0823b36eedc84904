import { defaultItemClass } from '../items/fields.js';
import type { ExtendedProp, StoredItem } from '../store/model.js';
import { extendedIdOf, extendedKeyOfId } from './convert/common.js';
import { badRequest } from './http.js';

/**
 * The OData query options the emulator understands, as Graph v1.0 has them for Outlook resources
 * (https://learn.microsoft.com/graph/query-parameters): `$select`, `$top`, `$skip`,
 * `$expand=singleValueExtendedProperties($filter=id eq '…')` (and `linkedResources`, `attachments`), and `$filter`
 * as the connector uses it — `singleValueExtendedProperties/Any(ep: ep/id eq '…' and ep/value eq '…')` or
 * `property eq 'value'`. Anything else in `$filter` is refused with a 400 that says what is supported.
 */

export type Filter =
  | { kind: 'extended'; key: string; value: string | undefined }
  | { kind: 'equals'; property: string; value: string };

export interface QueryOptions {
  select: string[] | undefined;
  /** Extended property keys to expand; an empty list expands them all. */
  expandExtended: string[] | undefined;
  expand: Set<string>;
  filter: Filter | undefined;
  top: number | undefined;
  skip: number;
}

function unquote(raw: string): string {
  return raw.slice(1, -1).replaceAll("''", "'");
}

const literal = "'(?:[^']|'')*'";

export function parseFilter(raw: string): Filter {
  const text = raw.trim();
  const any = new RegExp(
    `^singleValueExtendedProperties/any\\(\\s*(\\w+)\\s*:\\s*\\1/id\\s+eq\\s+(${literal})(?:\\s+and\\s+\\1/value\\s+eq\\s+(${literal}))?\\s*\\)$`,
    'i',
  ).exec(text);
  if (any?.[2])
    return { kind: 'extended', key: extendedKeyOfId(unquote(any[2])), value: any[3] ? unquote(any[3]) : undefined };
  const equals = new RegExp(`^(\\w+)\\s+eq\\s+(${literal})$`, 'i').exec(text);
  if (equals?.[1] && equals[2]) return { kind: 'equals', property: equals[1], value: unquote(equals[2]) };
  throw badRequest(
    `The $filter '${raw}' is not supported by the emulator: use singleValueExtendedProperties/Any(ep: ep/id eq '…' and ep/value eq '…') or property eq 'value'.`,
    'ErrorInvalidUrlQueryFilter',
  );
}

function splitTopLevel(raw: string): string[] {
  const out: string[] = [];
  let depth = 0;
  let current = '';
  for (const ch of raw) {
    if (ch === '(') depth++;
    if (ch === ')') depth--;
    if (ch === ',' && depth === 0) {
      out.push(current.trim());
      current = '';
    } else current += ch;
  }
  if (current.trim()) out.push(current.trim());
  return out;
}

function parseExpand(raw: string, options: QueryOptions): void {
  for (const part of splitTopLevel(raw)) {
    const match = /^(\w+)(?:\((.*)\))?$/s.exec(part);
    const name = match?.[1]?.toLowerCase();
    if (name === 'singlevalueextendedproperties') {
      const inner = match?.[2]?.trim();
      if (!inner) {
        options.expandExtended = [];
        continue;
      }
      const filter = /^\$filter\s*=\s*(.*)$/is.exec(inner)?.[1] ?? '';
      const keys: string[] = [];
      for (const clause of filter.split(/\s+or\s+/i)) {
        const id = new RegExp(`^\\(?\\s*id\\s+eq\\s+(${literal})\\s*\\)?$`, 'i').exec(clause.trim())?.[1];
        if (!id) throw badRequest(`The $expand filter '${filter}' is not supported: use id eq '…' (joined by or).`);
        keys.push(extendedKeyOfId(unquote(id)));
      }
      options.expandExtended = keys;
    } else if (name === 'linkedresources' || name === 'attachments') {
      options.expand.add(name);
    } else {
      throw badRequest(
        `$expand=${part} is not supported: singleValueExtendedProperties, linkedResources or attachments.`,
      );
    }
  }
}

export function parseQuery(query: URLSearchParams): QueryOptions {
  const options: QueryOptions = {
    select: undefined,
    expandExtended: undefined,
    expand: new Set(),
    filter: undefined,
    top: undefined,
    skip: 0,
  };
  const select = query.get('$select');
  if (select)
    options.select = select
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean);
  const expand = query.get('$expand');
  if (expand) parseExpand(expand, options);
  const filter = query.get('$filter');
  if (filter) options.filter = parseFilter(filter);
  const top = query.get('$top');
  if (top !== null) {
    if (!/^\d+$/.test(top) || Number(top) < 1) throw badRequest(`$top must be a positive integer, not '${top}'.`);
    options.top = Math.min(Number(top), 1000);
  }
  const skip = query.get('$skip');
  if (skip !== null) {
    if (!/^\d+$/.test(skip)) throw badRequest(`$skip must be a non-negative integer, not '${skip}'.`);
    options.skip = Number(skip);
  }
  return options;
}

/** Does a stored item (or its rendering) pass the filter? */
export function matches(filter: Filter | undefined, item: StoredItem, rendered: Record<string, unknown>): boolean {
  if (!filter) return true;
  if (filter.kind === 'extended') {
    const prop = (item.ext ?? []).find((p) => p.key === filter.key);
    return prop !== undefined && (filter.value === undefined || prop.value === filter.value);
  }
  const value = rendered[filter.property];
  return value !== undefined && value !== null && String(value) === filter.value;
}

/**
 * MAPI properties EWS keeps as ordinary properties: PR_IN_REPLY_TO_ID (0x1042) is EWS's InReplyTo and
 * PR_MESSAGE_CLASS (0x001A) its ItemClass, so a Graph client
 * reading `String 0x1042` sees what an EWS client wrote, and the other way round (item-types.ts).
 */
export const mappedTags: Record<string, string> = { 'tag:4162': 'InReplyTo', 'tag:26': 'ItemClass' };

function mappedExtended(item: StoredItem): ExtendedProp[] {
  const out: ExtendedProp[] = [];
  for (const [key, element] of Object.entries(mappedTags)) {
    // PR_MESSAGE_CLASS always has a value: the item's class, else its kind's (IPM.Note, IPM.Schedule.Meeting.Request).
    const value = item.props[element] ?? (element === 'ItemClass' ? defaultItemClass[item.kind] : undefined);
    if (typeof value === 'string' && !(item.ext ?? []).some((p) => p.key === key))
      out.push({ key, uri: { PropertyType: 'String', PropertyTag: `0x${Number(key.slice(4)).toString(16)}` }, value });
  }
  return out;
}

/** `$select` and `$expand` applied to a rendered item (id and @odata.etag are always kept, as in Graph). */
export function shape(
  rendered: Record<string, unknown>,
  item: StoredItem | undefined,
  options: QueryOptions,
): Record<string, unknown> {
  let out = rendered;
  if (options.select) {
    const wanted = new Set(options.select.map((s) => s.toLowerCase()));
    out = {};
    for (const [key, value] of Object.entries(rendered)) {
      if (key.startsWith('@odata.') || key === 'id' || key === '@removed' || wanted.has(key.toLowerCase()))
        out[key] = value;
    }
    for (const key of ['linkedResources', 'attachments']) if (rendered[key] !== undefined) out[key] = rendered[key];
  }
  if (options.expandExtended && item) {
    const keys = options.expandExtended;
    out.singleValueExtendedProperties = [...(item.ext ?? []), ...mappedExtended(item)]
      .filter((p) => p.value !== undefined && (keys.length === 0 || keys.includes(p.key)))
      .map((p) => ({ id: extendedIdOf(p), value: p.value ?? '' }));
  }
  return out;
}
