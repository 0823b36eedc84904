import type { BodyType, FolderName, SyncChange, SyncPage } from '../../ports/exchange.port.js';
import type { MemoryMailbox, StoredItem } from './store.js';
import { itemView } from './values.js';

/**
 * Pages of folder changes for the in-memory Exchange (MailboxConnection.syncFolder).
 *
 * A sync state names a position in the mailbox's journal: the client has seen the folder as it was there. A page
 * reports, for the items touched after that position, how each differs from what the client saw: new to it
 * (`create`), changed (`update`, a read flag's change included: the whole item), or gone (`delete`); an item
 * both made and removed in between is not mentioned. Items come in the order they were first touched, each once
 * per page, with their current properties; a page ends after `maxChanges` changes at a position where everything
 * before it has been reported, so the next page carries on from there.
 *
 * The state's encoding is this adapter's own: base64url of JSON naming the mailbox, the folder, the folder's
 * generation and the position. A state that does not decode, names another mailbox or folder, lies beyond the
 * journal, or belongs to a generation the mailbox has forgotten (MemoryAdmin.forgetSyncStates) is refused.
 */

interface SyncState {
  mailbox: string;
  folder: FolderName;
  generation: number;
  position: number;
}

export function encodeSyncState(state: SyncState): string {
  const { mailbox, folder, generation, position } = state;
  return Buffer.from(JSON.stringify({ m: mailbox.toLowerCase(), f: folder, g: generation, p: position })).toString(
    'base64url',
  );
}

/** The journal position a state stands for; undefined when the mailbox cannot take it. */
export function positionOf(mailbox: MemoryMailbox, folder: FolderName, text: string): number | undefined {
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(text, 'base64url').toString('utf8'));
  } catch {
    return undefined;
  }
  if (parsed === null || typeof parsed !== 'object') return undefined;
  const { m, f, g, p } = parsed as Record<string, unknown>;
  const generation = mailbox.folders.get(folder)?.generation;
  const valid =
    m === mailbox.address.toLowerCase() &&
    f === folder &&
    g === generation &&
    Number.isInteger(p) &&
    (p as number) >= 0 &&
    (p as number) <= mailbox.seq;
  return valid ? (p as number) : undefined;
}

/** One page after `position` (0: from the beginning). */
export function syncPage(
  mailbox: MemoryMailbox,
  folder: FolderName,
  position: number,
  options: { maxChanges: number; bodyType?: BodyType },
): SyncPage {
  const max = Math.min(512, Math.max(1, Math.floor(options.maxChanges)));
  const state = mailbox.folders.get(folder);
  if (!state) throw new Error(`no folder ${folder}`);
  // The items touched after `position`, in the order of their first touch.
  const touched = new Map<string, { first: number }>();
  for (const entry of state.journal) {
    if (entry.seq <= position || touched.has(entry.itemId)) continue;
    touched.set(entry.itemId, { first: entry.seq });
  }
  const changes: SyncChange[] = [];
  let next = mailbox.seq;
  let done = true;
  for (const [itemId, { first }] of touched) {
    const change = changeOf(mailbox.items.get(itemId) as StoredItem, position, options.bodyType);
    if (!change) continue;
    if (changes.length === max) {
      // Everything before this item's first touch is on this page (or was nothing to the client).
      next = first - 1;
      done = false;
      break;
    }
    changes.push(change);
  }
  const syncState = encodeSyncState({ mailbox: mailbox.address, folder, generation: state.generation, position: next });
  return { changes, syncState, done };
}

function changeOf(item: StoredItem, position: number, bodyType: BodyType | undefined): SyncChange | undefined {
  const knownThen = item.createdSeq <= position && (item.deletedSeq === undefined || item.deletedSeq > position);
  const there = item.deletedSeq === undefined;
  if (knownThen && !there) return { type: 'delete', itemId: item.id };
  if (!there) return undefined;
  if (!knownThen) return { type: 'create', item: itemView(item, bodyType) };
  return { type: 'update', item: itemView(item, bodyType) };
}
