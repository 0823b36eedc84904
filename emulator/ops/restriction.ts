import type { OperationContext } from '../context.js';
import type { ItemView } from '../items/calendar.js';
import { computed, defaultValue } from '../items/computed.js';
import { extendedKey } from '../items/extended.js';
import { fieldByUri, knownUris, requestableItemUris } from '../items/fields.js';
import { textOf } from '../items/values.js';
import { EwsError } from '../soap/response-codes.js';
import { child, children, type XmlNode } from '../xml/node.js';

/**
 * FindItem restrictions (And, Or, Not, the six comparisons, Exists, Contains) over any property with a scalar value:
 * stored ones, computed ones such as DateTimeCreated and LastModifiedTime, and extended properties. Comparisons are by
 * time when both sides are dates, by number when both are numbers, otherwise by text ignoring case, as Exchange does.
 */

const entities: Record<string, string> = { '&amp;': '&', '&lt;': '<', '&gt;': '>', '&quot;': '"' };

function scalarOf(xml: string | undefined): string | undefined {
  if (!xml) return undefined;
  const match = /^<t:[A-Za-z]+[^>]*?(?:\/>|>([^<]*)<\/t:[A-Za-z]+>)$/.exec(xml);
  if (!match) return undefined;
  return (match[1] ?? '').replace(/&(amp|lt|gt|quot);/g, (e) => entities[e] ?? e);
}

export function fieldValue(path: XmlNode, view: ItemView, ctx: OperationContext): string | undefined {
  if (path.n === 'ExtendedFieldURI') {
    const key = extendedKey(path.a ?? {});
    const prop = view.item.ext?.find((p) => p.key === key);
    return prop?.value ?? prop?.values?.[0];
  }
  const uri = path.a?.FieldURI ?? '';
  if (path.n !== 'FieldURI')
    throw new EwsError('ErrorUnsupportedPathForQuery', `${path.n} cannot be used in a restriction.`);
  // Any item FieldURI of types.xsd may be compared (issue 16, finding 3): one the item does not have is absent.
  if (!knownUris.has(uri) && !requestableItemUris.has(uri))
    throw new EwsError('ErrorUnsupportedPathForQuery', `${uri} cannot be used in a restriction.`);
  const def = fieldByUri(view.kind, uri);
  if (!def) return undefined;
  if (def.storage === 'computed') return scalarOf(computed[def.el]?.(view, ctx));
  const value = view.props[def.el];
  if (value === undefined) return defaultValue(def.el, view);
  return typeof value === 'string' ? value : textOf(value);
}

const isoDate = /^\d{4}-\d{2}-\d{2}(T|$)/;

function compare(left: string, right: string): number {
  if (isoDate.test(left) && isoDate.test(right)) {
    const a = Date.parse(left);
    const b = Date.parse(right);
    if (!Number.isNaN(a) && !Number.isNaN(b)) return a - b;
  }
  const numeric = /^-?\d+(\.\d+)?$/;
  if (numeric.test(left) && numeric.test(right)) return Number(left) - Number(right);
  const a = left.toLowerCase();
  const b = right.toLowerCase();
  return a < b ? -1 : a > b ? 1 : 0;
}

const comparisons: Record<string, (c: number) => boolean> = {
  IsEqualTo: (c) => c === 0,
  IsNotEqualTo: (c) => c !== 0,
  IsGreaterThan: (c) => c > 0,
  IsGreaterThanOrEqualTo: (c) => c >= 0,
  IsLessThan: (c) => c < 0,
  IsLessThanOrEqualTo: (c) => c <= 0,
};

function contains(node: XmlNode, value: string | undefined): boolean {
  const constant = child(node, 'Constant')?.a?.Value ?? '';
  if (value === undefined) return false;
  const ignoreCase = (node.a?.ContainmentComparison ?? 'Exact') !== 'Exact';
  const hay = ignoreCase ? value.toLowerCase() : value;
  const needle = ignoreCase ? constant.toLowerCase() : constant;
  switch (node.a?.ContainmentMode ?? 'Substring') {
    case 'FullString':
      return hay === needle;
    case 'Prefixed':
      return hay.startsWith(needle);
    case 'PrefixOnWords':
      return hay.split(/\s+/).some((word) => word.startsWith(needle));
    default:
      return hay.includes(needle);
  }
}

/** A predicate for the restriction's single top element. */
export function compileRestriction(node: XmlNode, ctx: OperationContext): (view: ItemView) => boolean {
  const kids = children(node);
  switch (node.n) {
    case 'And': {
      const parts = kids.map((k) => compileRestriction(k, ctx));
      return (view) => parts.every((p) => p(view));
    }
    case 'Or': {
      const parts = kids.map((k) => compileRestriction(k, ctx));
      return (view) => parts.some((p) => p(view));
    }
    case 'Not': {
      const [inner] = kids;
      if (!inner) throw new EwsError('ErrorInvalidRestriction', 'Not needs one expression.');
      const part = compileRestriction(inner, ctx);
      return (view) => !part(view);
    }
    case 'Exists': {
      const [path] = kids;
      if (!path) throw new EwsError('ErrorInvalidRestriction', 'Exists needs a property.');
      return (view) => fieldValue(path, view, ctx) !== undefined;
    }
    case 'Contains': {
      const path = kids.find((k) => k.n.endsWith('FieldURI'));
      if (!path) throw new EwsError('ErrorInvalidRestriction', 'Contains needs a property.');
      return (view) => contains(node, fieldValue(path, view, ctx));
    }
    default: {
      const test = comparisons[node.n];
      const [path, operand] = kids;
      if (!test || !path || operand?.n !== 'FieldURIOrConstant') {
        throw new EwsError('ErrorInvalidRestriction', `${node.n} is not a supported restriction.`);
      }
      const constant = child(operand, 'Constant')?.a?.Value;
      const otherPath = constant === undefined ? (operand.c ?? [])[0] : undefined;
      return (view) => {
        const left = fieldValue(path, view, ctx);
        const right = constant ?? (otherPath ? fieldValue(otherPath, view, ctx) : undefined);
        if (left === undefined || right === undefined) return node.n === 'IsNotEqualTo';
        return test(compare(left, right));
      };
    }
  }
}

/** SortOrder's FieldOrder list as a comparator. */
export function compileSort(
  sortOrder: XmlNode | undefined,
  ctx: OperationContext,
): ((a: ItemView, b: ItemView) => number) | undefined {
  const orders = children(sortOrder, 'FieldOrder');
  if (orders.length === 0) return undefined;
  const keys = orders.map((order) => {
    const path = (order.c ?? [])[0];
    if (!path) throw new EwsError('ErrorInvalidRequest', 'FieldOrder needs a property.');
    return { path, descending: order.a?.Order === 'Descending' };
  });
  return (a, b) => {
    for (const { path, descending } of keys) {
      const left = fieldValue(path, a, ctx) ?? '';
      const right = fieldValue(path, b, ctx) ?? '';
      const c = compare(left, right);
      if (c !== 0) return descending ? -c : c;
    }
    return 0;
  };
}
