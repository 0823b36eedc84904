import type { FieldValue, ItemChange, OutboxEntry } from '../../ports/database.port.js';
import type { ExchangeItem } from '../../ports/exchange.port.js';

/**
 * The conflict rule (docs/reliability.md, "Conflicts"): what happens when the application and a person in Exchange
 * both changed the same item between two synchronisations. Pure: the sync (src/sync/executors/sync-item-type.ts) and the
 * outbox (src/sync/executors/outbox.ts) gather the facts, this decides, and they carry the decision out.
 */

/** sync.conflicts (docs/configuration.md). */
export const conflictRules = ['exchange-wins', 'database-wins', 'latest-wins'] as const;
export type ConflictRule = (typeof conflictRules)[number];
export const defaultConflictRule: ConflictRule = 'exchange-wins';

export type Side = 'exchange' | 'database';

export interface ConflictFacts {
  /** The item in Exchange now: gone, or its current change key and lastModified (null when Exchange gave none). */
  exchange: { deleted: true } | { deleted: false; changeKey: string; lastModified: Date | null };
  /**
   * The change key of the version the application's row reflects: the last one the connector applied to the row or
   * wrote to Exchange itself (exh_item_version). null: not known (the item was synchronised before exh kept them).
   */
  knownChangeKey: string | null;
  /** The application's change still on its way to Exchange: a deletion or not, and when it was made (the latest). */
  database: { deleted: boolean; changedAt: Date };
}

export type ConflictDecision =
  | { conflict: false }
  | {
      conflict: true;
      winner: Side;
      /** `rule`: sync.conflicts decided; `deletion`: one side deleted the item, which wins whatever the rule. */
      by: 'rule' | 'deletion';
    };

/**
 * Whether the two sides' changes conflict, and which one wins.
 *
 * Exchange changed the item only when its change key differs from the one the row reflects: the echo of the
 * connector's own write carries the key the connector stored, so it is never a conflict. An unknown key cannot tell a
 * person's change from the connector's, and the application's change goes ahead as it always has (no conflict).
 * When both deleted the item, they agree. When one side deleted it, the deletion wins under every rule: a deleted
 * item cannot be merged, and bringing it back would re-send a meeting's invitations or undo the application's
 * decision. Otherwise the rule decides; `latest-wins` compares Exchange's lastModified with the time the
 * application's change was written (a tie, or no time from Exchange, goes to Exchange: what the person sees).
 */
export function decideConflict(rule: ConflictRule, facts: ConflictFacts): ConflictDecision {
  const { exchange, knownChangeKey, database } = facts;
  if (!exchange.deleted && (knownChangeKey === null || exchange.changeKey === knownChangeKey))
    return { conflict: false };
  if (exchange.deleted && database.deleted) return { conflict: false };
  if (exchange.deleted) return { conflict: true, winner: 'exchange', by: 'deletion' };
  if (database.deleted) return { conflict: true, winner: 'database', by: 'deletion' };
  return { conflict: true, winner: ruleWinner(rule, exchange.lastModified, database.changedAt), by: 'rule' };
}

function ruleWinner(rule: ConflictRule, exchangeModified: Date | null, databaseChanged: Date): Side {
  switch (rule) {
    case 'exchange-wins':
      return 'exchange';
    case 'database-wins':
      return 'database';
    case 'latest-wins':
      return exchangeModified !== null && exchangeModified.getTime() < databaseChanged.getTime()
        ? 'database'
        : 'exchange';
  }
}

/** The application's changes to one item that wait in the outbox, with what the sync needs to know of them. */
export type PendingChange = Pick<OutboxEntry, 'id' | 'action' | 'fields' | 'createdAt'>;

/** Key fields: they identify the row, they are never held back. */
const keyFieldNames = new Set(['item_id', 'app_item_id', 'user']);

/**
 * The pending changes of the application that concern an item arriving from Exchange: those naming its item id, or,
 * while the row has no item id yet (its create's echo has not come), its application id. Changes up to `settledUntil`
 * already lost a conflict (they are failed when the outbox reaches them) and are left out; creates are not changes
 * of an existing item.
 */
export function pendingFor(
  pending: readonly PendingChange[],
  item: { itemId: string; appItemId: string | null },
  settledUntil: string | null,
): PendingChange[] {
  return pending.filter((entry) => {
    if (entry.action === 'add') return false;
    if (settledUntil !== null && BigInt(entry.id) <= BigInt(settledUntil)) return false;
    const itemId = entry.fields.item_id;
    if (typeof itemId === 'string' && itemId !== '') return itemId === item.itemId;
    return item.appItemId !== null && entry.fields.app_item_id === item.appItemId;
  });
}

/**
 * A change from Exchange with the fields the application's pending changes set left NULL, so that applying it keeps
 * the application's values in the row (NULL leaves a column unchanged: docs/database.md, "NULL and empty text") while the rest
 * of the item comes from Exchange. The application's values reach Exchange when the outbox writes them.
 */
export function holdFields(change: ItemChange, pending: readonly PendingChange[]): ItemChange {
  const fields: Record<string, FieldValue> = { ...change.fields };
  for (const entry of pending) {
    for (const [name, value] of Object.entries(entry.fields)) {
      if (!keyFieldNames.has(name) && value !== null && name in fields) fields[name] = null;
    }
  }
  return { ...change, fields };
}

/** The values the application's changes set, in order (a later change's value wins); key fields and NULLs left out. */
export function intendedValues(pending: readonly Pick<PendingChange, 'fields'>[]): Record<string, FieldValue> {
  const values: Record<string, FieldValue> = {};
  for (const entry of pending) {
    for (const [name, value] of Object.entries(entry.fields)) {
      if (!keyFieldNames.has(name) && value !== null) values[name] = value;
    }
  }
  return values;
}

/**
 * Whether an item already holds every value the application's changes set: then the two sides agree and nothing
 * conflicts (both made the same change, or the connector's own write reached Exchange before a stop let it remember
 * the new change key). Empty text and no value are the same; times compare as instants; numbers as numbers.
 */
export function holdsValues(current: Record<string, FieldValue>, intended: Record<string, FieldValue>): boolean {
  return Object.entries(intended).every(([name, value]) => sameValue(current[name], value));
}

function sameValue(a: FieldValue | undefined, b: FieldValue | undefined): boolean {
  const empty = (v: FieldValue | undefined) => v === undefined || v === null || v === '';
  if (empty(a) || empty(b)) return empty(a) && empty(b);
  if (a instanceof Date || b instanceof Date) return new Date(a as Date).getTime() === new Date(b as Date).getTime();
  if (typeof a === 'number' || typeof b === 'number') return Number(a) === Number(b);
  return a === b;
}

/** An item's change key and lastModified (null when Exchange gave none, or none that reads as a time). */
export function versionOf(item: ExchangeItem): ExchangeVersion {
  const value = item.properties.lastModified;
  const date = typeof value === 'string' && value !== '' ? new Date(value) : null;
  return { changeKey: item.changeKey, lastModified: date && !Number.isNaN(date.getTime()) ? date : null };
}

/** The facts of the application's side from its pending changes to one item (at least one). */
export function databaseSide(pending: readonly PendingChange[]): ConflictFacts['database'] {
  return {
    deleted: pending.some((entry) => entry.action === 'del'),
    changedAt: new Date(Math.max(...pending.map((entry) => entry.createdAt.getTime()))),
  };
}

/** An item of a page from Exchange as the conflict rule sees it. */
export interface ExchangeVersion {
  changeKey: string;
  lastModified: Date | null;
}

export interface PageConflict {
  itemId: string;
  winner: Side;
  by: 'rule' | 'deletion';
}

/**
 * A page of changes from Exchange against the application's changes still in the outbox (the sync's half of the
 * rule; the outbox's half is in src/sync/executors/outbox.ts). For each change of an item the application has also changed:
 *
 * - no conflict (the version is the echo of the connector's own write, or its key is unknown): applied with the
 *   application's fields held, so the row keeps them until the outbox has written them;
 * - Exchange wins: applied whole, and the application's pending changes are marked superseded (the outbox fails
 *   them when it reaches them);
 * - the application wins: applied with its fields held; the outbox then writes them over Exchange's;
 * - the application deleted the item: left out (the row stays deleted; the outbox deletes the item, and records the
 *   conflict if there is one, since a deletion wins).
 *
 * A deletion from Exchange is applied as it is (it wins, and the outbox records the conflict when it meets the
 * missing item); a change without a change key (a read flag) is applied with the application's fields held.
 * Returns the changes to apply and the conflicts decided here, which the caller records.
 */
export function reconcilePage(input: {
  rule: ConflictRule;
  changes: readonly ItemChange[];
  /** The Exchange version of each created or updated item on the page. */
  versions: ReadonlyMap<string, ExchangeVersion>;
  /** What the connector knows of the page's items (exh_item_version). */
  known: ReadonlyMap<string, { changeKey: string; supersededUntil: string | null }>;
  pending: readonly PendingChange[];
}): { changes: ItemChange[]; conflicts: PageConflict[] } {
  const { rule, versions, known, pending } = input;
  if (pending.length === 0) return { changes: [...input.changes], conflicts: [] };
  const changes: ItemChange[] = [];
  const conflicts: PageConflict[] = [];
  for (const change of input.changes) {
    const itemId = change.fields.item_id;
    if (typeof itemId !== 'string' || itemId === '') {
      changes.push(change);
      continue;
    }
    const appItemId = typeof change.fields.app_item_id === 'string' ? change.fields.app_item_id : null;
    const theirs = pendingFor(pending, { itemId, appItemId }, known.get(itemId)?.supersededUntil ?? null);
    const version = versions.get(itemId);
    if (theirs.length === 0 || change.action === 'del') {
      changes.push(change);
      continue;
    }
    if (!version || !change.changeKey) {
      changes.push(holdFields(change, theirs));
      continue;
    }
    const database = databaseSide(theirs);
    if (database.deleted) continue;
    // Exchange already says what the application wants: the two agree, whoever wrote it.
    const agreed = holdsValues(change.fields, intendedValues(theirs));
    const decision: ConflictDecision = agreed
      ? { conflict: false }
      : decideConflict(rule, {
          exchange: { deleted: false, ...version },
          // '' is a version whose key Exchange did not say (a read flag): as good as none.
          knownChangeKey: known.get(itemId)?.changeKey || null,
          database,
        });
    if (!decision.conflict) {
      changes.push(holdFields(change, theirs));
      continue;
    }
    conflicts.push({ itemId, winner: decision.winner, by: decision.by });
    if (decision.winner === 'exchange') {
      const last = theirs.reduce(
        (max, entry) => (BigInt(entry.id) > BigInt(max) ? entry.id : max),
        theirs[0]?.id ?? '0',
      );
      changes.push({ ...change, supersedes: last });
    } else {
      changes.push(holdFields(change, theirs));
    }
  }
  return { changes, conflicts };
}
