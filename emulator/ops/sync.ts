import type { OperationContext } from '../context.js';
import { viewOf } from '../items/calendar.js';
import { parseShape, renderItem } from '../items/render.js';
import { errorMessage, responseRoot, successMessage } from '../soap/envelope.js';
import { EwsError, SoapFault } from '../soap/response-codes.js';
import { changeKeyOf } from '../store/ids.js';
import type { StoredItem, Tombstone } from '../store/model.js';
import { child, children, text, type XmlNode } from '../xml/node.js';
import { el, textEl } from '../xml/write.js';
import { resolveFolder } from './common.js';
import { decodeSyncState, encodeSyncState, type SyncState } from './sync-state.js';

/** SyncFolderItems: the changes in one folder since a sync state, in pages of 1 to 512. */

type Change =
  | { type: 'Create' | 'Update' | 'ReadFlagChange'; seq: number; item: StoredItem }
  | { type: 'Delete'; seq: number; tombstone: Tombstone };

function readState(raw: string | undefined, ctx: OperationContext, folderId: string): SyncState {
  if (raw === undefined || raw.trim() === '') return { epoch: ctx.mailbox.epoch, folderId, seen: 0, missing: [] };
  const state = decodeSyncState(raw, ctx.mailbox.seal);
  if (!state || state.epoch !== ctx.mailbox.epoch || state.folderId !== folderId || state.seen > ctx.mailbox.seq) {
    throw new EwsError('ErrorInvalidSyncStateData');
  }
  return state;
}

function maxChanges(request: XmlNode): number {
  const raw = text(request, 'MaxChangesReturned') ?? '';
  const value = Number(raw);
  if (!/^\d+$/.test(raw.trim()) || value < 1 || value > 512) {
    // MaxChangesReturnedType is xs:int 1..512: Exchange rejects anything else in schema validation.
    throw new SoapFault(
      'ErrorSchemaValidation',
      `The request failed schema validation: The 'MaxChangesReturned' element is invalid - The value '${raw}' is invalid according to its datatype - The value must be between 1 and 512.`,
    );
  }
  return value;
}

export function syncFolderItems(request: XmlNode, ctx: OperationContext): string {
  const max = maxChanges(request);
  const shape = parseShape(child(request, 'ItemShape'), true);
  const messageName = 'SyncFolderItemsResponseMessage';
  let inner: string;
  try {
    const folderNode = children(child(request, 'SyncFolderId'))[0];
    if (!folderNode) throw new EwsError('ErrorInvalidRequest', 'SyncFolderId is required.');
    const folder = resolveFolder(ctx, folderNode);
    const rawState = text(request, 'SyncState');
    // Only a sync state can be invalid: a sync from the beginning (none given) is how a client recovers from one.
    if (rawState?.trim() && ctx.core.faults.take('invalidSyncState', ctx))
      throw new EwsError('ErrorInvalidSyncStateData');
    const state = readState(rawState, ctx, folder.id);
    const ignore = new Set(children(child(request, 'Ignore')).map((n) => n.a?.Id ?? ''));
    const missing = new Set(state.missing);
    const held = (createdSeq: number) => createdSeq <= state.seen && !missing.has(createdSeq);
    // Only what changed since the state: the folder's change log and tombstones from that position on.
    const changed = ctx.mailbox.itemsChangedSince(folder.id, state.seen);
    const removed = ctx.mailbox.tombstonesSince(folder.id, state.seen);
    const changes: Change[] = [];
    for (const item of changed) {
      if (!held(item.createdSeq)) changes.push({ type: 'Create', seq: item.changeSeq, item });
      else if (item.contentSeq > state.seen) changes.push({ type: 'Update', seq: item.changeSeq, item });
      else changes.push({ type: 'ReadFlagChange', seq: item.changeSeq, item });
    }
    for (const tombstone of removed) {
      if (held(tombstone.createdSeq)) changes.push({ type: 'Delete', seq: tombstone.seq, tombstone });
    }
    changes.sort((a, b) => a.seq - b.seq);
    const page = changes.slice(0, max);
    const complete = page.length === changes.length;
    const delivered = new Set<number>();
    const deleted = new Set<number>();
    let xml = '';
    for (const change of page) {
      if (change.type === 'Delete') {
        deleted.add(change.tombstone.createdSeq);
        if (!ignore.has(change.tombstone.id))
          xml += el('t:Delete', undefined, el('t:ItemId', { Id: change.tombstone.id }));
        continue;
      }
      delivered.add(change.item.createdSeq);
      if (ignore.has(change.item.id)) continue;
      if (change.type === 'ReadFlagChange') {
        const { item } = change;
        xml += el(
          't:ReadFlagChange',
          undefined,
          el('t:ItemId', { Id: item.id, ChangeKey: changeKeyOf(item.id, item.version) }) +
            textEl('t:IsRead', item.props.IsRead === 'true'),
        );
      } else {
        xml += el(`t:${change.type}`, undefined, renderItem(viewOf(change.item), shape, ctx));
      }
    }
    const last = page[page.length - 1];
    const seen = complete || !last ? ctx.mailbox.seq : last.seq;
    const holds = (createdSeq: number) => (held(createdSeq) || delivered.has(createdSeq)) && !deleted.has(createdSeq);
    // Up to the new position the client holds everything but these: items (and deletions still to report) that
    // entered the folder before it and were left for a later page. Each changed after `seen`, so the next sync from
    // this state meets them again among its changes.
    const stillMissing = new Set<number>();
    for (const item of changed) {
      if (item.createdSeq <= seen && !holds(item.createdSeq)) stillMissing.add(item.createdSeq);
    }
    for (const tombstone of removed) {
      if (tombstone.seq > seen && tombstone.createdSeq <= seen && !holds(tombstone.createdSeq)) {
        stillMissing.add(tombstone.createdSeq);
      }
    }
    const next: SyncState = { epoch: ctx.mailbox.epoch, folderId: folder.id, seen, missing: [...stillMissing] };
    inner = successMessage(
      messageName,
      textEl('m:SyncState', encodeSyncState(next, ctx.mailbox.seal)) +
        textEl('m:IncludesLastItemInRange', complete) +
        el('m:Changes', undefined, xml),
    );
  } catch (error) {
    if (!(error instanceof EwsError)) throw error;
    inner = errorMessage(messageName, error);
  }
  return responseRoot('SyncFolderItemsResponse', `<m:ResponseMessages>${inner}</m:ResponseMessages>`);
}
