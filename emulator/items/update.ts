import type { OperationContext } from '../context.js';
import { EwsError } from '../soap/response-codes.js';
import { changeKeyOf } from '../store/ids.js';
import type { PropValue, StoredItem } from '../store/model.js';
import { child, children, type XmlNode } from '../xml/node.js';
import { exceptionOf, type ItemView } from './calendar.js';
import { extendedKey, readExtended, upsertExtended } from './extended.js';
import { fieldByUri, indexedFields, knownUris } from './fields.js';
import { readValue } from './read.js';

/**
 * UpdateItem's SetItemField / AppendToItemField / DeleteItemField applied to an item or to one occurrence of a series
 * (which turns it into an exception). Returns the names of the properties touched.
 */

const zoneUris: Record<string, string> = {
  'calendar:StartTimeZone': '_tz',
  'calendar:MeetingTimeZone': '_tz',
  'calendar:EndTimeZone': '_endTz',
};
const appendable = new Set([
  'Body',
  'ToRecipients',
  'CcRecipients',
  'BccRecipients',
  'ReplyTo',
  'RequiredAttendees',
  'OptionalAttendees',
  'Resources',
  'Categories',
]);
const undeletable = new Set(['Start', 'End', 'ItemClass']);

/** The single property inside the item element of a Set/Append (Exchange insists on exactly one). */
function valueElement(update: XmlNode): XmlNode {
  const wrapper = (update.c ?? [])[1];
  const props = wrapper?.c ?? [];
  if (props.length !== 1 || !props[0]) throw new EwsError('ErrorIncorrectUpdatePropertyCount');
  return props[0];
}

function targetProps(view: ItemView): Record<string, PropValue> {
  if (!view.occurrence) return view.item.props;
  return exceptionOf(view.item, view.occurrence.originalStart).props;
}

function mergeEntry(
  dictionary: XmlNode | undefined,
  name: string,
  entry: XmlNode,
  member: string | undefined,
): XmlNode {
  const entries = children(dictionary).filter((e) => e.a?.Key !== entry.a?.Key);
  const existing = children(dictionary).find((e) => e.a?.Key === entry.a?.Key);
  if (member && existing) {
    const kept = children(existing).filter((c) => !children(entry).some((n) => n.n === c.n));
    entries.push({ n: 'Entry', a: entry.a ?? {}, c: [...kept, ...children(entry)] });
  } else {
    entries.push(entry);
  }
  return { n: name, c: entries };
}

function removeEntry(
  dictionary: XmlNode | undefined,
  name: string,
  key: string,
  member: string | undefined,
): XmlNode | undefined {
  const entries: XmlNode[] = [];
  for (const entry of children(dictionary)) {
    if (entry.a?.Key !== key) entries.push(entry);
    else if (member) {
      const rest = children(entry).filter((c) => c.n !== member);
      if (rest.length > 0) entries.push({ ...entry, c: rest });
    }
  }
  return entries.length > 0 ? { n: name, c: entries } : undefined;
}

function markVersion(item: StoredItem, name: string): void {
  if (!item.fieldVersions) item.fieldVersions = {};
  item.fieldVersions[name] = item.version + 1;
}

export function applyUpdates(view: ItemView, updates: XmlNode, ctx: OperationContext): string[] {
  const touched: string[] = [];
  const props = targetProps(view);
  for (const update of updates.c ?? []) {
    const action = update.n;
    if (action !== 'SetItemField' && action !== 'AppendToItemField' && action !== 'DeleteItemField') {
      throw new EwsError('ErrorInvalidRequest', `Unknown update ${action}.`);
    }
    const path = (update.c ?? [])[0];
    if (!path) throw new EwsError('ErrorInvalidRequest', `${action} needs a property path.`);
    if (path.n === 'ExtendedFieldURI') {
      if (view.occurrence)
        throw new EwsError('ErrorInvalidPropertySet', 'Extended properties of an occurrence cannot be set.');
      const key = extendedKey(path.a ?? {});
      if (action === 'DeleteItemField') {
        view.item.ext = (view.item.ext ?? []).filter((p) => p.key !== key);
      } else {
        const prop = readExtended(valueElement(update));
        if (!prop) throw new EwsError('ErrorInvalidExtendedPropertyValue');
        view.item.ext = upsertExtended(view.item.ext, prop);
      }
      markVersion(view.item, key);
      touched.push(key);
      continue;
    }
    const uri = path.a?.FieldURI ?? '';
    if (path.n === 'IndexedFieldURI') {
      const indexed = indexedFields[uri];
      const index = path.a?.FieldIndex ?? '';
      if (!indexed || view.kind !== 'Contact')
        throw new EwsError('ErrorInvalidPropertySet', `${uri} cannot be set on this item.`);
      const current = props[indexed.dictionary];
      const dictionary = typeof current === 'object' ? current : undefined;
      if (action === 'DeleteItemField') {
        const next = removeEntry(dictionary, indexed.dictionary, index, indexed.member);
        if (next) props[indexed.dictionary] = next;
        else delete props[indexed.dictionary];
      } else {
        const entry = child(valueElement(update), 'Entry');
        if (!entry) throw new EwsError('ErrorIncorrectUpdatePropertyCount');
        props[indexed.dictionary] = mergeEntry(dictionary, indexed.dictionary, entry, indexed.member);
      }
      markVersion(view.item, indexed.dictionary);
      touched.push(indexed.dictionary);
      continue;
    }
    const zoneField = zoneUris[uri];
    if (zoneField) {
      if (action === 'DeleteItemField') delete props[zoneField];
      else {
        const zone = valueElement(update);
        const id = zone.a?.Id ?? zone.a?.TimeZoneName;
        if (id) props[zoneField] = id;
        if (zoneField === '_tz' && zone.a?.Name) props._tzName = zone.a.Name;
      }
      touched.push(zoneField);
      continue;
    }
    const def = fieldByUri(view.kind, uri);
    if (!def) {
      if (knownUris.has(uri)) throw new EwsError('ErrorInvalidPropertySet', `${uri} does not apply to a ${view.kind}.`);
      throw new EwsError('ErrorInvalidPropertyRequest', `The property ${uri} is not supported.`);
    }
    if (def.storage === 'computed')
      throw new EwsError('ErrorInvalidPropertySet', `Set action is invalid for property ${uri}.`);
    if (view.occurrence && def.el === 'Recurrence') {
      throw new EwsError('ErrorInvalidPropertySet', 'The recurrence of an occurrence cannot be set.');
    }
    if (action === 'DeleteItemField') {
      if (undeletable.has(def.el)) throw new EwsError('ErrorInvalidPropertyDelete', `${uri} cannot be deleted.`);
      delete props[def.el];
    } else {
      const element = valueElement(update);
      if (element.n !== def.el) throw new EwsError('ErrorIncorrectUpdatePropertyCount');
      const value = readValue(def, element, ctx);
      if (action === 'AppendToItemField') {
        if (!appendable.has(def.el))
          throw new EwsError('ErrorInvalidPropertyAppend', `${uri} does not support append.`);
        props[def.el] = append(props[def.el], value);
      } else {
        props[def.el] = value;
      }
    }
    markVersion(view.item, def.el);
    touched.push(def.el);
  }
  return touched;
}

function append(current: PropValue | undefined, addition: PropValue): PropValue {
  if (current === undefined || typeof current === 'string' || typeof addition === 'string') return addition;
  if (current.n === 'Body') return { ...current, t: (current.t ?? '') + (addition.t ?? '') };
  return { n: current.n, c: [...(current.c ?? []), ...(addition.c ?? [])] };
}

/**
 * The version a ChangeKey was issued for (0 when it was never this item's), so AutoResolve can tell whether the
 * properties a client changes were changed by someone else since.
 */
export function versionOfChangeKey(item: StoredItem, changeKey: string): number {
  for (let v = item.version; v >= 1 && v > item.version - 1000; v--)
    if (changeKeyOf(item.id, v) === changeKey) return v;
  return 0;
}

/** The property keys a set of updates would touch (for AutoResolve), without applying them. */
export function updatedKeys(view: ItemView, updates: XmlNode): string[] {
  const keys: string[] = [];
  for (const update of updates.c ?? []) {
    const path = (update.c ?? [])[0];
    if (!path) continue;
    if (path.n === 'ExtendedFieldURI') keys.push(extendedKey(path.a ?? {}));
    else if (path.n === 'IndexedFieldURI') keys.push(indexedFields[path.a?.FieldURI ?? '']?.dictionary ?? '');
    else {
      const def = fieldByUri(view.kind, path.a?.FieldURI ?? '');
      if (def) keys.push(def.el);
    }
  }
  return keys;
}

/**
 * Runs changes to an item so that a failure part way (the third of five updates refused, an end before the start)
 * leaves the item as it was: bad input changes nothing.
 */
export function transact<T>(item: StoredItem, run: () => T): T {
  const saved = structuredClone({
    props: item.props,
    ext: item.ext,
    exceptions: item.exceptions,
    deletedOccurrences: item.deletedOccurrences,
    fieldVersions: item.fieldVersions,
  });
  try {
    return run();
  } catch (error) {
    item.props = saved.props;
    item.ext = saved.ext;
    item.exceptions = saved.exceptions;
    item.deletedOccurrences = saved.deletedOccurrences;
    item.fieldVersions = saved.fieldVersions;
    throw error;
  }
}
