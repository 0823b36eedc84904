import { WellKnownFolderName } from 'ews-javascript-api';
import type { FolderName, SyncChange, SyncFolderOptions, SyncPage } from '../../ports/exchange.port.js';
import { expandSeries } from '../expand-series.js';
import type { EwsMailbox } from './connection.js';
import { decodeContinuation, encodeContinuation } from './continuation.js';
import { fromResponseCode, responseMessageFault } from './errors.js';
import { getItems } from './items.js';
import { occurrences } from './occurrences.js';
import { errorContext, soapCall } from './soap.js';
import { at, entries, escapeXml, idAttr, textOf } from './xml.js';

/**
 * SyncFolderItems for one distinguished folder: ids only (cheap for Exchange), written and read by the adapter itself
 * (through ews-javascript-api and its DOM parser it was the library's largest share of a notification's CPU), then
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
  const changes = await mailbox.request(options, { folder }, (signal) =>
    syncFolderItems(mailbox, folder, syncState, maxChanges, signal),
  );
  const pending = changes.pending;
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
    continuation: encodeContinuation(changes.state, expanded.reported),
    done: changes.done,
    ...(expanded.incomplete.length > 0 ? { incomplete: expanded.incomplete } : {}),
  };
}

/**
 * One SyncFolderItems request (IdOnly, NormalItems) as the library sent it. The changes come grouped by kind (the
 * reader keeps no order between differently named elements): a page names each item once, so their order does not
 * matter to the core, which applies a page in one transaction.
 */
async function syncFolderItems(
  mailbox: EwsMailbox,
  folder: FolderName,
  syncState: string | null,
  maxChanges: number,
  signal: AbortSignal,
): Promise<{ pending: Pending[]; state: string; done: boolean }> {
  const body =
    '<m:SyncFolderItems><m:ItemShape><t:BaseShape>IdOnly</t:BaseShape></m:ItemShape>' +
    `<m:SyncFolderId><t:DistinguishedFolderId Id="${folder}"/></m:SyncFolderId>` +
    (syncState ? `<m:SyncState>${escapeXml(syncState)}</m:SyncState>` : '') +
    `<m:MaxChangesReturned>${maxChanges}</m:MaxChangesReturned><m:SyncScope>NormalItems</m:SyncScope>` +
    '</m:SyncFolderItems>';
  const response = await soapCall(mailbox.transport, mailbox.target, 'SyncFolderItems', body, signal, { folder });
  const message = at(response, 'ResponseMessages', 'SyncFolderItemsResponseMessage');
  const fault = responseMessageFault(message);
  if (fault) throw fromResponseCode(fault, errorContext(mailbox.target, { folder }));
  const pending = entries(at(message, 'Changes')).map(([kind, change]): Pending => {
    // Create and Update carry the item's element (CalendarItem, Message …); Delete and ReadFlagChange the id alone.
    const itemId = at(change, 'ItemId') ?? at(entries(change)[0]?.[1], 'ItemId');
    const id = idAttr(itemId) ?? '';
    switch (kind) {
      case 'Create':
        return { type: 'create', id };
      case 'Delete':
        return { type: 'ready', change: { type: 'delete', itemId: id } };
      default:
        // A read flag change is read in full like an update: the core then knows the item's kind (a skipped meeting
        // request must stay skipped) and maps every field, so no half-empty row can appear for it.
        return { type: 'update', id };
    }
  });
  return {
    pending,
    state: textOf(message, 'SyncState') ?? '',
    done: textOf(message, 'IncludesLastItemInRange')?.trim() === 'true',
  };
}
