import { errors } from '../../errors.js';
import type { FolderName } from '../../ports/item-properties.js';
import type { HeldOccurrences } from '../expand-series.js';

/**
 * The Graph adapter's continuation (SyncPage.continuation), JSON tagged with its backend so that a watermark of the
 * other backend is never sent to Graph: `{"backend":"graph","v":1,"folder":…,"link":…}` where `link` is Graph's
 * @odata.nextLink (mid-round) or @odata.deltaLink (the round is done), stored verbatim. Besides it:
 * - `fresh`: the round began from nothing (every item is new to the reader: `create`); else it began at a
 *   deltaLink, and an item is `create` only when made after `since` (when the round before began);
 * - `window`: the calendar's [from, until) (./calendar-window.ts), the day it was computed for;
 * - `listId`: the To Do list read for tasks (the default list, resolved once);
 * - `series`: occurrence ids reported per master (calendar), at most SyncFolderOptions.occurrences each.
 * A continuation that is not Graph's (an EWS sync state, another folder's) is EXH_EXCHANGE_INVALID_SYNC_STATE: the
 * core starts the folder again from null.
 */
export interface GraphContinuation {
  backend: 'graph';
  v: 1;
  folder: FolderName;
  link: string;
  /** Whether `link` is a nextLink (the round goes on) or a deltaLink (it is done; the next page begins a round). */
  at: 'next' | 'delta';
  fresh: boolean;
  /** When the current round began, by Graph's clock (the Date of its first page). */
  started?: string;
  /** When the round before it began. */
  since?: string;
  window?: { from: string; until: string };
  listId?: string;
  series?: HeldOccurrences;
}

export function encodeContinuation(continuation: Omit<GraphContinuation, 'backend' | 'v'>): string {
  return JSON.stringify({ backend: 'graph', v: 1, ...continuation });
}

/** The continuation of `folder`, or undefined for null (from the beginning); refused when not Graph's. */
export function decodeContinuation(
  user: string,
  folder: FolderName,
  text: string | null,
): GraphContinuation | undefined {
  if (text === null) return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    parsed = undefined;
  }
  const value = (parsed ?? {}) as Partial<GraphContinuation>;
  const valid =
    value.backend === 'graph' &&
    value.v === 1 &&
    value.folder === folder &&
    typeof value.link === 'string' &&
    value.link !== '' &&
    (value.at === 'next' || value.at === 'delta') &&
    typeof value.fresh === 'boolean';
  if (!valid) throw errors.invalidSyncState(user, folder);
  return value as GraphContinuation;
}
