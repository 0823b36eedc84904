import type { OperationContext } from '../context.js';
import { versionRank } from '../soap/envelope.js';
import { EwsError } from '../soap/response-codes.js';
import { child, children, text, type XmlNode } from '../xml/node.js';
import { el, serializeNode, textEl } from '../xml/write.js';
import { type BodyType, convertBody } from './body.js';
import type { ItemView } from './calendar.js';
import { computed, defaultValue } from './computed.js';
import { extendedKey, renderExtended } from './extended.js';
import { type FieldDef, fieldsByKind, indexedFields, knownUris } from './fields.js';

/** What a client asked to see of items (ItemShape), and the rendering of an item in that shape. */
export interface Shape {
  base: 'IdOnly' | 'Default' | 'AllProperties';
  uris: Set<string>;
  indexed: { uri: string; index: string }[];
  ext: Record<string, string>[];
  bodyType: 'Best' | BodyType;
  /** FindItem and SyncFolderItems: only summary properties (no bodies, attendees, recurrence). */
  summary: boolean;
}

export const idOnly: Shape = { base: 'IdOnly', uris: new Set(), indexed: [], ext: [], bodyType: 'Best', summary: true };

export function parseShape(node: XmlNode | undefined, summary: boolean): Shape {
  const base = text(node, 'BaseShape') ?? 'IdOnly';
  if (base !== 'IdOnly' && base !== 'Default' && base !== 'AllProperties') {
    throw new EwsError('ErrorInvalidRequest', `BaseShape ${base} is not valid.`);
  }
  const bodyType = text(node, 'BodyType') ?? 'Best';
  const shape: Shape = {
    base,
    uris: new Set(),
    indexed: [],
    ext: [],
    bodyType: bodyType === 'HTML' || bodyType === 'Text' ? bodyType : 'Best',
    summary,
  };
  for (const prop of children(child(node, 'AdditionalProperties'))) {
    const uri = prop.a?.FieldURI;
    if (prop.n === 'FieldURI' && uri) {
      if (!knownUris.has(uri))
        throw new EwsError('ErrorInvalidPropertyRequest', `The property ${uri} is not supported.`);
      shape.uris.add(uri);
    } else if (prop.n === 'IndexedFieldURI' && uri) {
      shape.indexed.push({ uri, index: prop.a?.FieldIndex ?? '' });
    } else if (prop.n === 'ExtendedFieldURI' && prop.a) {
      shape.ext.push(prop.a);
    }
  }
  return shape;
}

function visible(def: FieldDef, shape: Shape, ctx: OperationContext): boolean {
  const rank = versionRank(ctx.version);
  if (def.since && rank < versionRank(def.since)) return false;
  if (def.until && rank > versionRank(def.until)) return false;
  if (shape.uris.has(def.uri)) return true;
  switch (shape.base) {
    case 'IdOnly':
      return def.el === 'ItemId';
    case 'Default':
      return def.dflt === true && (!shape.summary || def.find === true);
    default:
      return !def.explicit && (!shape.summary || def.find === true);
  }
}

function renderBody(value: XmlNode, shape: Shape): string {
  const stored: BodyType = value.a?.BodyType === 'Text' ? 'Text' : 'HTML';
  const wanted: BodyType = shape.bodyType === 'Best' ? stored : shape.bodyType;
  return textEl('t:Body', convertBody(value.t ?? '', stored, wanted), { BodyType: wanted, IsTruncated: false });
}

function renderIndexed(
  view: ItemView,
  dictionary: string,
  wanted: { uri: string; index: string }[],
): string | undefined {
  const value = view.props[dictionary];
  if (typeof value !== 'object') return undefined;
  const keys = new Set(wanted.map((w) => w.index));
  const entries = children(value, 'Entry').filter((entry) => keys.has(entry.a?.Key ?? ''));
  return entries.length > 0 ? serializeNode({ n: dictionary, c: entries }) : undefined;
}

function renderField(def: FieldDef, view: ItemView, shape: Shape, ctx: OperationContext): string | undefined {
  if (def.el === 'ExtendedProperty') {
    let out = '';
    for (const asked of shape.ext) {
      const key = extendedKey(asked);
      const prop = view.item.ext?.find((p) => p.key === key);
      if (prop) out += renderExtended(prop, asked);
    }
    return out || undefined;
  }
  if (def.storage === 'computed') return computed[def.el]?.(view, ctx);
  const value = view.props[def.el];
  if (value === undefined) {
    const fallback = defaultValue(def.el, view);
    return fallback === undefined ? undefined : textEl(`t:${def.el}`, fallback);
  }
  if (typeof value === 'string') return textEl(`t:${def.el}`, value);
  if (def.el === 'Body') return renderBody(value, shape);
  return serializeNode(value);
}

type Step = { def: FieldDef; indexed?: { uri: string; index: string }[] };

/** What to render per kind and version, worked out once per shape (a 512-item page asks the same of every item). */
const plans = new WeakMap<Shape, Map<string, Step[]>>();

function planFor(kind: ItemView['kind'], shape: Shape, ctx: OperationContext): Step[] {
  let byKind = plans.get(shape);
  if (!byKind) {
    byKind = new Map();
    plans.set(shape, byKind);
  }
  const key = `${kind}|${ctx.version}`;
  let steps = byKind.get(key);
  if (!steps) {
    steps = [];
    for (const def of fieldsByKind[kind]) {
      if (visible(def, shape, ctx) || (def.el === 'ExtendedProperty' && shape.ext.length > 0)) {
        steps.push({ def });
        continue;
      }
      const wanted = shape.indexed.filter((w) => indexedFields[w.uri]?.dictionary === def.el);
      if (wanted.length > 0) steps.push({ def, indexed: wanted });
    }
    byKind.set(key, steps);
  }
  return steps;
}

/** An item in a shape, in schema order. */
export function renderItem(view: ItemView, shape: Shape, ctx: OperationContext): string {
  let inner = '';
  for (const step of planFor(view.kind, shape, ctx)) {
    const xml = step.indexed ? renderIndexed(view, step.def.el, step.indexed) : renderField(step.def, view, shape, ctx);
    if (xml) inner += xml;
  }
  return el(`t:${view.kind}`, undefined, inner);
}

/** Just the id, as CreateItem and UpdateItem answer. */
export function renderItemId(view: ItemView): string {
  return el(`t:${view.kind}`, undefined, el('t:ItemId', { Id: view.id, ChangeKey: view.changeKey }));
}
