import type { OperationContext } from '../context.js';
import { versionRank } from '../soap/envelope.js';
import { EwsError } from '../soap/response-codes.js';
import { child, children, text, type XmlNode } from '../xml/node.js';
import { el, serializeNode, textEl } from '../xml/write.js';
import { type BodyType, convertBody } from './body.js';
import type { ItemView } from './calendar.js';
import { computed, defaultValue } from './computed.js';
import { extendedKey, renderExtended } from './extended.js';
import { type FieldDef, fieldsByKind, type ItemKind, indexedFields, knownUris, requestableItemUris } from './fields.js';
import { itemSchemaText } from './item-schema-table.js';
import { canonicalText } from './values.js';

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
      if (!requestableItemUris.has(uri) && !knownUris.has(uri) && !extraUris.has(uri))
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

/**
 * What the Default shape holds beyond the fields marked `d`, from "Property sets and response shapes in EWS in
 * Exchange", table 3 (docs/emulator.md, "Items as Exchange keeps them"): GetItem and FindItem answer these too.
 */
const defaultShapeExtras: Partial<Record<ItemKind, Set<string>>> = {
  CalendarItem: new Set(['LegacyFreeBusyStatus', 'IsAssociated']),
  Contact: new Set([
    'FileAs',
    'CompleteName',
    'CompanyName',
    'EmailAddresses',
    'PhysicalAddresses',
    'PhoneNumbers',
    'ImAddresses',
    'JobTitle',
  ]),
  Message: new Set([
    'Sensitivity',
    'Size',
    'DateTimeSent',
    'DateTimeCreated',
    'IsAssociated',
    'IsDeliveryReceiptRequested',
  ]),
  Task: new Set(['PercentComplete', 'StartDate']),
  // Table 3 has no meeting requests: these and the next list are from Microsoft's SyncFolderItems example (a
  // MeetingRequest with the Default shape).
  MeetingRequest: new Set(['Sensitivity', 'IsOutOfDate', 'HasBeenProcessed', 'ResponseType', 'IntendedFreeBusyStatus']),
};

/** Fields marked `d` that a kind's Default shape leaves out all the same. */
const defaultShapeLeftOut: Partial<Record<ItemKind, Set<string>>> = {
  MeetingRequest: new Set(['HasAttachments', 'From', 'IsRead', 'CalendarItemType']),
};

/**
 * Item properties the emulator computes that fields.ts does not list, each where types.xsd puts it among ItemType's
 * elements. ResponseObjects (the replies an item allows) is in GetItem's Default and AllProperties shapes, never in
 * FindItem's (tables 3 and 4 of the same page); EffectiveRights, WebClientReadFormQueryString and ConversationId in
 * AllProperties, FindItem's too.
 */
interface ExtraField {
  def: FieldDef;
  at: number;
  shown(kind: ItemKind, shape: Shape): boolean;
}

const itemOrder = itemSchemaText.Item.join(' ')
  .split(/\s+/)
  .map((spec) => spec.split(':')[0]?.replace('*', '') ?? '');

const extraFields: ExtraField[] = [
  {
    def: { el: 'ResponseObjects', uri: 'item:ResponseObjects', storage: 'computed' },
    at: itemOrder.indexOf('ResponseObjects'),
    shown: (kind, shape) => {
      if (shape.uris.has('item:ResponseObjects')) return true;
      if (shape.summary || shape.base === 'IdOnly') return false;
      return shape.base === 'AllProperties' || kind === 'CalendarItem' || kind === 'Message';
    },
  },
  {
    def: { el: 'EffectiveRights', uri: 'item:EffectiveRights', storage: 'computed' },
    at: itemOrder.indexOf('EffectiveRights'),
    shown: (_kind, shape) => shape.uris.has('item:EffectiveRights') || shape.base === 'AllProperties',
  },
  {
    def: {
      el: 'WebClientReadFormQueryString',
      uri: 'item:WebClientReadFormQueryString',
      storage: 'computed',
      since: 'Exchange2010',
    },
    at: itemOrder.indexOf('WebClientReadFormQueryString'),
    shown: (_kind, shape) => shape.uris.has('item:WebClientReadFormQueryString') || shape.base === 'AllProperties',
  },
  {
    def: { el: 'ConversationId', uri: 'item:ConversationId', storage: 'computed', since: 'Exchange2010' },
    at: itemOrder.indexOf('ConversationId'),
    shown: (_kind, shape) => shape.uris.has('item:ConversationId') || shape.base === 'AllProperties',
  },
];

const extraUris = new Set(extraFields.map((extra) => extra.def.uri));

/** Whether `def` comes after position `at` of ItemType (a subtype's elements come after all of ItemType's). */
function comesAfter(def: FieldDef, at: number): boolean {
  const index = itemOrder.indexOf(def.el);
  return index < 0 || index > at;
}

function visible(kind: ItemKind, def: FieldDef, shape: Shape, ctx: OperationContext): boolean {
  const rank = versionRank(ctx.version);
  if (def.since && rank < versionRank(def.since)) return false;
  if (def.until && rank > versionRank(def.until)) return false;
  if (shape.uris.has(def.uri)) return true;
  switch (shape.base) {
    case 'IdOnly':
      return def.el === 'ItemId';
    case 'Default':
      return (
        ((def.dflt === true && defaultShapeLeftOut[kind]?.has(def.el) !== true) ||
          defaultShapeExtras[kind]?.has(def.el) === true) &&
        (!shape.summary || def.find === true)
      );
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
    // Exchange answers an item without a body with an empty one, of the type asked for.
    if (def.el === 'Body') return textEl('t:Body', '', { BodyType: shape.bodyType === 'HTML' ? 'HTML' : 'Text' });
    const fallback = defaultValue(def.el, view);
    return fallback === undefined ? undefined : textEl(`t:${def.el}`, fallback);
  }
  // Canonical on the way out too: items stored before values were (a --data file) still answer true/false.
  if (typeof value === 'string') return textEl(`t:${def.el}`, canonicalText(def.el, value));
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
    const rank = versionRank(ctx.version);
    const listed = new Set(fieldsByKind[kind].map((def) => def.el));
    const due = extraFields.filter(
      (extra) =>
        // Once fields.ts lists one of them, its own definition renders it.
        !listed.has(extra.def.el) &&
        extra.shown(kind, shape) &&
        (!extra.def.since || rank >= versionRank(extra.def.since)),
    );
    for (const def of fieldsByKind[kind]) {
      while (due[0] && comesAfter(def, due[0].at)) steps.push({ def: (due.shift() as ExtraField).def });
      if (visible(kind, def, shape, ctx) || (def.el === 'ExtendedProperty' && shape.ext.length > 0)) {
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
