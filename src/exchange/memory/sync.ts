import { errors } from '../../errors.js';
import type { BodyType, ExchangeItem, FolderName, SyncChange, SyncPage } from '../../ports/exchange.port.js';
import { expandSeries, type HeldOccurrences } from '../expand-series.js';
import type { MemoryMailbox, StoredItem } from './store.js';
import { itemView, occurrenceView } from './values.js';

/**
 * Pages of folder changes for the in-memory Exchange (MailboxConnection.syncFolder).
 *
 * A continuation names a position in the mailbox's journal: the client has seen the folder as it was there. A page
 * reports, for the items touched after that position, how each differs from what the client saw: new to it
 * (`create`), changed (`update`, a read flag's change included: the whole item), or gone (`delete`); an item
 * both made and removed in between is not mentioned. Items come in the order they were first touched, each once
 * per page, with their current properties; a page ends after `maxChanges` changes at a position where everything
 * before it has been reported, so the next page carries on from there.
 *
 * A series is one item in the journal (a changed or deleted occurrence touches its master), so with
 * `occurrences` each master on a page is expanded into its occurrences (../expand-series.ts), the ones the
 * continuation had reported compared with the ones there now.
 *
 * The continuation's encoding is this adapter's own: base64url of JSON naming the mailbox, the folder, the folder's
 * generation, the position, the occurrence ids reported per master and the window it was read within. One that does
 * not decode, names another mailbox or folder, lies beyond the journal, or belongs to a generation the mailbox has
 * forgotten (MemoryAdmin.forgetSyncStates) is refused.
 *
 * A folder read within a window (MemoryAdmin.readWithin, the shape of Microsoft Graph's calendar) reports only the
 * items overlapping it, says so on every page (SyncPage.window), and starts over by itself when the window is not the
 * one its continuation was read within (SyncPage.restarted): the core then compares, within the window.
 */

interface Continuation {
  mailbox: string;
  folder: FolderName;
  generation: number;
  position: number;
  reported: HeldOccurrences;
  /** The window it was read within, `from/until`; '' for the whole folder. */
  window: string;
}

type Window = { from: string; until: string } | undefined;
const windowKey = (window: Window): string => (window ? `${window.from}/${window.until}` : '');

function encodeContinuation(continuation: Continuation): string {
  const { mailbox, folder, generation, position, reported, window } = continuation;
  const text = { m: mailbox.toLowerCase(), f: folder, g: generation, p: position, o: reported, w: window };
  return Buffer.from(JSON.stringify(text)).toString('base64url');
}

/** Where a continuation stands and what it had reported; undefined when the mailbox cannot take it. */
function decodeContinuation(
  mailbox: MemoryMailbox,
  folder: FolderName,
  text: string,
): { position: number; reported: HeldOccurrences; window: string } | undefined {
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(text, 'base64url').toString('utf8'));
  } catch {
    return undefined;
  }
  if (parsed === null || typeof parsed !== 'object') return undefined;
  const { m, f, g, p, o, w } = parsed as Record<string, unknown>;
  const generation = mailbox.folders.get(folder)?.generation;
  const valid =
    m === mailbox.address.toLowerCase() &&
    f === folder &&
    g === generation &&
    Number.isInteger(p) &&
    (p as number) >= 0 &&
    (p as number) <= mailbox.seq &&
    o !== null &&
    typeof o === 'object' &&
    Object.values(o).every((ids) => Array.isArray(ids) && ids.every((id) => typeof id === 'string'));
  return valid
    ? { position: p as number, reported: o as HeldOccurrences, window: typeof w === 'string' ? w : '' }
    : undefined;
}

/**
 * One page after `continuation` (null: from the beginning), series expanded with `occurrences` > 0; refused
 * (EXH_EXCHANGE_INVALID_SYNC_STATE) when the mailbox cannot take the continuation.
 */
export async function syncFolderPage(
  mailbox: MemoryMailbox,
  folder: FolderName,
  continuation: string | null,
  options: { maxChanges: number; bodyType?: BodyType; occurrences?: number },
): Promise<SyncPage> {
  const window = mailbox.folders.get(folder)?.window;
  const decoded =
    continuation === null
      ? { position: 0, reported: {}, window: windowKey(window) }
      : decodeContinuation(mailbox, folder, continuation);
  if (!decoded) throw errors.invalidSyncState(mailbox.address, folder);
  // A window other than the continuation's: the folder starts over by itself (Graph's rolled calendar window).
  const restarted = decoded.window !== windowKey(window);
  const from = restarted ? { position: 0, reported: {} } : decoded;
  const page = syncPage(mailbox, folder, from.position, { ...options, window });
  const max = Math.max(0, Math.floor(options.occurrences ?? 0));
  const expanded = await expandSeries(page.changes, from.reported, {
    max,
    read: async (masterId) => occurrencesOf(mailbox, masterId, max, options.bodyType),
  });
  const generation = mailbox.folders.get(folder)?.generation ?? 0;
  return {
    changes: expanded.changes,
    continuation: encodeContinuation({
      mailbox: mailbox.address,
      folder,
      generation,
      position: page.position,
      reported: expanded.reported,
      window: windowKey(window),
    }),
    done: page.done,
    ...(expanded.incomplete.length > 0 ? { incomplete: expanded.incomplete } : {}),
    ...(restarted ? { restarted } : {}),
    ...(window ? { window: { ...window } } : {}),
  };
}

/**
 * The series' first `max` occurrences by their place in the pattern, in start order; a fault queued for the series
 * (MemoryAdmin.failOccurrences) is thrown instead, once.
 */
function occurrencesOf(mailbox: MemoryMailbox, masterId: string, max: number, bodyType?: BodyType): ExchangeItem[] {
  const fault = mailbox.occurrenceFaults.get(masterId);
  if (fault) {
    mailbox.occurrenceFaults.delete(masterId);
    throw fault;
  }
  const master = mailbox.live(masterId);
  if (!master) throw errors.itemNotFound(mailbox.address, masterId);
  return [...master.occurrences]
    .sort((a, b) => a.originalStart.localeCompare(b.originalStart))
    .slice(0, max)
    .map((occurrence) => occurrenceView(master, occurrence, bodyType))
    .sort((a, b) => String(a.properties.start ?? '').localeCompare(String(b.properties.start ?? '')));
}

/** The journal's changes after `position` (0: from the beginning), and where the next page starts. */
function syncPage(
  mailbox: MemoryMailbox,
  folder: FolderName,
  position: number,
  options: { maxChanges: number; bodyType?: BodyType; window?: Window },
): { changes: SyncChange[]; position: number; done: boolean } {
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
    const item = mailbox.items.get(itemId) as StoredItem;
    // Outside the window: neither reported nor deleted (the backend says nothing about it).
    if (options.window && !within(item, options.window)) continue;
    const change = changeOf(item, position, options.bodyType);
    if (!change) continue;
    if (changes.length === max) {
      // Everything before this item's first touch is on this page (or was nothing to the client).
      next = first - 1;
      done = false;
      break;
    }
    changes.push(change);
  }
  return { changes, position: next, done };
}

function changeOf(item: StoredItem, position: number, bodyType: BodyType | undefined): SyncChange | undefined {
  const knownThen = item.createdSeq <= position && (item.deletedSeq === undefined || item.deletedSeq > position);
  const there = item.deletedSeq === undefined;
  if (knownThen && !there) return { type: 'delete', itemId: item.id };
  if (!there) return undefined;
  if (!knownThen) return { type: 'create', item: itemView(item, bodyType) };
  return { type: 'update', item: itemView(item, bodyType) };
}

/** Whether an item's [start, end] overlaps the window; an item without a start always does. */
function within(item: StoredItem, window: { from: string; until: string }): boolean {
  const start = item.properties.start;
  if (typeof start !== 'string') return true;
  const end = typeof item.properties.end === 'string' ? item.properties.end : start;
  return start < window.until && end >= window.from;
}
