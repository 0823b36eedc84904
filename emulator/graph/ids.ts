import { isoSeconds } from '../items/values.js';
import { newImmutableId, occurrenceId, parseOccurrenceId } from '../store/ids.js';
import type { Mailbox } from '../store/mailbox.js';
import type { StoredItem, Tombstone } from '../store/model.js';

/**
 * Graph's ids for the emulator's items (https://learn.microsoft.com/graph/outlook-immutable-id): a regular id is the
 * EWS id in URL-safe form (Graph's `restId`), so it changes when the item moves to another folder, as the EWS id does;
 * an immutable id (`Prefer: IdType="ImmutableId"`) is minted once per item and kept across moves. An occurrence of a
 * series is named after its master and original start in either form. Handlers accept both forms.
 */

const immutableOccurrencePrefix = 'AAkALwB';
/** newImmutableId's prefix (store/ids.ts). */
const immutablePrefix = 'AAkALg';

export function restIdOf(ewsId: string): string {
  return ewsId.replaceAll('/', '-').replaceAll('+', '_');
}

export function ewsIdOf(restId: string): string {
  return restId.replaceAll('-', '/').replaceAll('_', '+');
}

/** The item's immutable id (minted on first use for items from data files written before they existed). */
export function immutableIdOf(item: StoredItem): string {
  item.immutableId ??= newImmutableId();
  return item.immutableId;
}

/** The id a client sees for an item, in the form it asked for. */
export function graphIdOf(item: StoredItem, immutable: boolean): string {
  return immutable ? immutableIdOf(item) : restIdOf(item.id);
}

export function graphOccurrenceId(master: StoredItem, originalStart: number, immutable: boolean): string {
  const key = isoSeconds(originalStart);
  if (!immutable) return restIdOf(occurrenceId(master.id, key));
  return immutableOccurrencePrefix + Buffer.from(`${immutableIdOf(master)}|${key}`, 'utf8').toString('base64url');
}

/** The id of a deleted item, in the form asked for. */
export function tombstoneId(tombstone: Tombstone, immutable: boolean): string {
  return immutable && tombstone.immutableId ? tombstone.immutableId : restIdOf(tombstone.id);
}

const byImmutable = new WeakMap<Mailbox, Map<string, StoredItem>>();

/** The item with this immutable id, if the mailbox still has it (in any folder). */
export function findImmutable(mailbox: Mailbox, id: string): StoredItem | undefined {
  let index = byImmutable.get(mailbox);
  const cached = index?.get(id);
  if (cached && mailbox.items.get(cached.id) === cached) return cached;
  index = new Map();
  for (const item of mailbox.items.values()) index.set(immutableIdOf(item), item);
  byImmutable.set(mailbox, index);
  return index.get(id);
}

export interface ResolvedId {
  item: StoredItem;
  /** For an occurrence id: its original start (ISO, UTC). */
  originalStart?: string;
}

/** The stored item (or occurrence) a Graph id names, in either form; undefined when there is none. */
export function resolveGraphId(mailbox: Mailbox, id: string): ResolvedId | undefined {
  if (id.startsWith(immutableOccurrencePrefix)) {
    const decoded = Buffer.from(id.slice(immutableOccurrencePrefix.length), 'base64url').toString('utf8');
    const bar = decoded.lastIndexOf('|');
    const master = bar > 0 ? findImmutable(mailbox, decoded.slice(0, bar)) : undefined;
    return master ? { item: master, originalStart: decoded.slice(bar + 1) } : undefined;
  }
  if (id.startsWith(immutablePrefix)) {
    const immutable = findImmutable(mailbox, id);
    return immutable ? { item: immutable } : undefined;
  }
  const ewsId = ewsIdOf(id);
  const occurrence = parseOccurrenceId(ewsId);
  if (occurrence) {
    const master = mailbox.items.get(occurrence.masterId);
    return master ? { item: master, originalStart: occurrence.originalStart } : undefined;
  }
  const item = mailbox.items.get(ewsId);
  return item ? { item } : undefined;
}

/** The EWS form of a resolved id (an occurrence's EWS occurrence id). */
export function ewsIdOfResolved(resolved: ResolvedId): string {
  return resolved.originalStart ? occurrenceId(resolved.item.id, resolved.originalStart) : resolved.item.id;
}

/** Folders keep their ids (the emulator's folders never move): the EWS folder id in URL-safe form. */
export function folderGraphId(folderId: string): string {
  return restIdOf(folderId);
}
