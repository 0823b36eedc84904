import { isExhError } from '../errors.js';
import type { ExchangeItem, ReportedOccurrences, SyncChange } from '../ports/exchange.port.js';

/**
 * Recurring series as MailboxConnection.syncFolder reports them (SyncFolderOptions.occurrences), for adapters whose
 * backend reports a series only as its master and gives the occurrences on request (the EWS adapter, the in-memory
 * one). A backend that hands out occurrences of its own accord (a calendar view) needs none of this.
 *
 * A deleted occurrence is simply absent from its series the next time (the backend reports it, if at all, as a
 * change of the master), so each adapter keeps the occurrence ids it reported per master in its continuation and
 * compares: an id reported before and not there now is a `delete`.
 */

/** Occurrence ids reported per master, as an adapter keeps them in its continuation. */
export type HeldOccurrences = Record<string, string[]>;

export interface ExpandedPage {
  changes: SyncChange[];
  /** What the continuation carries from this page on. */
  reported: HeldOccurrences;
  /** SyncPage.incomplete: masters whose occurrences could not be read this time. */
  incomplete: string[];
}

/** A recurring series' master (an occurrence carries its start in the pattern, a single item is not recurring). */
export function isMaster(item: ExchangeItem): boolean {
  return item.properties.isRecurring === true && !item.properties.originalStart;
}

/**
 * The backend's changes of one page with the series expanded: each master's occurrences after it (`max` > 0), the
 * occurrences reported before and gone now as deletions. `read` gives a series' occurrences (at most `max`, by
 * position in the pattern); when it fails with a non-retryable error, the master still comes, with an `unreadable`
 * change naming the reason, and what had been reported of it is kept. A retryable failure fails the whole page, which
 * the caller then asks for again.
 */
export async function expandSeries(
  changes: readonly SyncChange[],
  reported: ReportedOccurrences,
  options: { max: number; read: (masterId: string) => Promise<ExchangeItem[]> },
): Promise<ExpandedPage> {
  const held: HeldOccurrences = Object.fromEntries(Object.entries(reported).map(([id, ids]) => [id, [...ids]]));
  const page: ExpandedPage = { changes: [], reported: held, incomplete: [] };
  const deleteHeld = (masterId: string, keep: ReadonlySet<string> = new Set()) => {
    for (const id of held[masterId] ?? []) if (!keep.has(id)) page.changes.push({ type: 'delete', itemId: id });
    delete held[masterId];
  };
  for (const change of changes) {
    page.changes.push(change);
    if (change.type === 'delete') {
      // A deleted series takes its occurrences with it.
      deleteHeld(change.itemId);
      continue;
    }
    if (change.type === 'unreadable') continue;
    const { item } = change;
    if (options.max <= 0 || !isMaster(item)) {
      // No longer recurring, or occurrences no longer expanded: what was reported of them goes.
      deleteHeld(item.id);
      continue;
    }
    let occurrences: ExchangeItem[];
    try {
      occurrences = await options.read(item.id);
    } catch (error) {
      // One series the backend will not expand must not stop the folder: the master syncs, the refusal is recorded.
      if (!isExhError(error) || error.retryable) throw error;
      page.changes.push({
        type: 'unreadable',
        itemId: item.id,
        error: { code: error.code, message: `its occurrences could not be read: ${error.message}` },
      });
      page.incomplete.push(item.id);
      continue;
    }
    const before = new Set(held[item.id] ?? []);
    const now = occurrences.map((occurrence) => occurrence.id);
    deleteHeld(item.id, new Set(now));
    for (const occurrence of occurrences) {
      page.changes.push({ type: before.has(occurrence.id) ? 'update' : 'create', item: occurrence });
    }
    if (now.length > 0) held[item.id] = now;
  }
  return page;
}
