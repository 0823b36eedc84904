import { ChangeType, FolderId, PropertySet, SyncFolderItemsScope, WellKnownFolderName } from 'ews-javascript-api';
import type { FolderName, SyncChange, SyncFolderOptions, SyncPage } from '../../ports/exchange.port.js';
import { expandSeries } from '../expand-series.js';
import type { EwsMailbox } from './connection.js';
import { decodeContinuation, encodeContinuation } from './continuation.js';
import { fromResponseCode } from './errors.js';
import { getItems } from './items.js';
import { occurrences } from './occurrences.js';

/**
 * SyncFolderItems for one distinguished folder: ids only (cheap for Exchange, and the library parses ids fast), then
 * one GetItem for the created and updated items with every property. An item deleted between the two requests is
 * left out: the sync state already counts it as delivered, so the next page reports its deletion.
 *
 * SyncFolderItems reports a recurring series as its master alone, and a deleted occurrence or a new exception only
 * as a change of it: with `options.occurrences`, each master's occurrences are read (./occurrences.ts) and compared
 * with those the continuation says were reported (../expand-series.ts, ./continuation.ts).
 */

export const wellKnownFolders: Record<FolderName, WellKnownFolderName> = {
  calendar: WellKnownFolderName.Calendar,
  contacts: WellKnownFolderName.Contacts,
  tasks: WellKnownFolderName.Tasks,
  inbox: WellKnownFolderName.Inbox,
  sentitems: WellKnownFolderName.SentItems,
  drafts: WellKnownFolderName.Drafts,
  notes: WellKnownFolderName.Notes,
  deleteditems: WellKnownFolderName.DeletedItems,
  junkemail: WellKnownFolderName.JunkEmail,
  outbox: WellKnownFolderName.Outbox,
  journal: WellKnownFolderName.Journal,
};

type Pending = { type: 'create' | 'update'; id: string } | { type: 'ready'; change: SyncChange };

export async function syncFolder(
  mailbox: EwsMailbox,
  folder: FolderName,
  continuation: string | null,
  options: SyncFolderOptions,
): Promise<SyncPage> {
  const { state: syncState, series } = decodeContinuation(continuation);
  const maxChanges = Math.min(512, Math.max(1, Math.floor(options.maxChanges)));
  const changes = await mailbox.request(options, { folder }, () =>
    mailbox.service.SyncFolderItems(
      new FolderId(wellKnownFolders[folder]),
      PropertySet.IdOnly,
      // The library's typings want arrays and strings; at run time it takes null for "none" and "from the start".
      null as never,
      maxChanges,
      SyncFolderItemsScope.NormalItems,
      syncState as string,
    ),
  );
  const pending: Pending[] = changes.GetEnumerator().map((change): Pending => {
    const id = change.ItemId?.UniqueId ?? '';
    switch (change.ChangeType) {
      case ChangeType.Create:
        return { type: 'create', id };
      case ChangeType.Update:
        return { type: 'update', id };
      case ChangeType.Delete:
        return { type: 'ready', change: { type: 'delete', itemId: id } };
      default:
        // A read flag change is read in full like an update: the core then knows the item's kind (a skipped meeting
        // request must stay skipped) and maps every field, so no half-empty row can appear for it.
        return { type: 'update', id };
    }
  });
  const ids = pending.flatMap((p) => (p.type === 'ready' ? [] : [{ id: p.id }]));
  const results =
    ids.length === 0
      ? []
      : await mailbox.request(options, { folder }, (signal) =>
          getItems(mailbox.transport, mailbox.target, ids, options.bodyType ?? 'html', signal),
        );
  const out: SyncChange[] = [];
  let next = 0;
  for (const p of pending) {
    if (p.type === 'ready') {
      out.push(p.change);
      continue;
    }
    const result = results[next++];
    if (result && 'item' in result) {
      out.push({ type: p.type, item: result.item });
      continue;
    }
    const error = fromResponseCode(
      result?.fault ?? { responseCode: 'ErrorItemNotFound', message: 'no answer for the item' },
      { url: mailbox.target.url, user: mailbox.user, account: mailbox.target.account, folder, itemId: p.id },
    );
    if (error.code !== 'EXH_EXCHANGE_ITEM_NOT_FOUND' && error.retryable) throw error;
    if (error.code === 'EXH_EXCHANGE_ITEM_NOT_FOUND') {
      // Gone meanwhile: the sync state already counts it as delivered, so the next page reports its deletion.
      mailbox.logger.info({ folder, itemId: p.id, code: error.code }, `Item skipped in ${folder}: ${error.message}`);
      continue;
    }
    // An item Exchange cannot give: the core records it where the application sees it (exh_log), never silently.
    out.push({ type: 'unreadable', itemId: p.id, error: { code: error.code, message: error.message } });
  }
  const max = Math.max(0, Math.floor(options.occurrences ?? 0));
  const expanded = await expandSeries(out, series ?? options.knownOccurrences ?? {}, {
    max,
    read: (masterId) => occurrences(mailbox, masterId, { ...options, max }),
  });
  return {
    changes: expanded.changes,
    continuation: encodeContinuation(changes.SyncState, expanded.reported),
    done: !changes.MoreChangesAvailable,
    ...(expanded.incomplete.length > 0 ? { incomplete: expanded.incomplete } : {}),
  };
}
