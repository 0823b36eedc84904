import type { ItemTypeDefinition } from '../items/definition.js';
import type { ExhLogger } from '../logging/logger.js';
import type { DatabasePort, FieldValue, ItemRename } from '../ports/database.port.js';
import type { MailboxConnection } from '../ports/exchange.port.js';
import { foldersOf } from '../sync/decisions/folders.js';
import { decodeWatermark, encodeWatermark } from '../sync/decisions/watermark.js';
import { folderOptions, type SyncSettings } from '../sync/executors/sync-item-type.js';

/**
 * A user switched between backends (docs/exchange-online.md, "Migrating users"): the stored watermark holds the
 * other backend's continuations, and the rows hold its item ids, which the new backend does not know. Before the new
 * backend reads anything, each row gets its item's new id — translated by the backend (MailboxConnection.adoptItemIds),
 * else found by the application's id the connector stamps on items (every backend reads it) or, for a meeting, by its
 * UID (exh_meeting) — in one transaction with a watermark that starts every folder
 * from the beginning and compares afterwards. So the full read that follows updates the rows it finds instead of
 * adding them again, and the comparison deletes only rows whose item is really gone.
 */

export interface SwitchDeps {
  db: DatabasePort;
  connection: MailboxConnection;
  definition: ItemTypeDefinition;
  settings: SyncSettings;
  logger: ExhLogger;
}

export interface SwitchOutcome {
  /** The watermark to sync from: unchanged, or the one that starts over with a comparison. */
  watermark: string | null;
  /** Whether the rows were moved to the new backend's ids. */
  switched: boolean;
}

/** What a row is recognised by besides its item id. */
interface Identity {
  byAppId: Map<string, string>;
}

export async function switchBackendIfNeeded(
  deps: SwitchDeps,
  request: { user: string; watermark: string | null; signal: AbortSignal },
): Promise<SwitchOutcome> {
  const { connection, definition, db } = deps;
  const continuations = Object.values(decodeWatermark(request.watermark));
  const owns = connection.ownsContinuation?.bind(connection);
  if (!owns || continuations.length === 0 || continuations.every((continuation) => owns(continuation))) {
    return { watermark: request.watermark, switched: false };
  }
  const log = deps.logger.child({ actor: 'itemType', user: request.user, itemType: definition.name });
  const call = { signal: request.signal, priority: 'catchUp' as const };
  const rows = (await db.getItems(definition.name, request.user, {})).filter(
    (row): row is Record<string, FieldValue> & { item_id: string } =>
      typeof row.item_id === 'string' && row.item_id !== '',
  );
  const translated: Map<string, string> =
    rows.length === 0
      ? new Map()
      : await (connection.adoptItemIds?.(
          rows.map((row) => row.item_id),
          call,
        ) ?? new Map());
  const unmatched = rows.filter((row) => !translated.has(row.item_id));
  const identity = unmatched.length === 0 ? undefined : await readIdentities(deps, request);
  const { renames, byAppId } = planRenames(rows, translated, identity?.byAppId ?? new Map());
  const watermark = encodeWatermark({}, true);
  await db.applyChanges({ user: request.user, itemType: definition.name, changes: [], renames, watermark });
  log.action(
    { rows: rows.length, renamed: renames.length, translated: translated.size, byAppId },
    `${definition.name} of ${request.user} moved to another Exchange backend: ${renames.length} of ${rows.length} rows ` +
      `took their items' new ids (${byAppId} found by application id or UID); reading every folder again`,
  );
  return { watermark, switched: true };
}

/**
 * Which rows move to which id, decided without I/O: the translated id, else the id of the item carrying the row's
 * application id. Two rows for one item: the first takes it. A row matched neither way keeps its old id, which the new
 * backend never reports: the full read adds its item as a new row and the comparison deletes the old one.
 */
export function planRenames(
  rows: ReadonlyArray<{ item_id: string; app_item_id?: FieldValue }>,
  translated: ReadonlyMap<string, string>,
  byAppId: ReadonlyMap<string, string>,
): { renames: ItemRename[]; byAppId: number } {
  const renames: ItemRename[] = [];
  const taken = new Set<string>();
  let foundByAppId = 0;
  for (const row of rows) {
    let to = translated.get(row.item_id);
    if (to === undefined && typeof row.app_item_id === 'string' && row.app_item_id !== '') {
      to = byAppId.get(row.app_item_id);
      if (to !== undefined) foundByAppId += 1;
    }
    if (to === undefined || taken.has(to)) continue;
    taken.add(to);
    if (to !== row.item_id) renames.push({ from: row.item_id, to });
  }
  return { renames, byAppId: foundByAppId };
}

/**
 * The new backend's ids of the user's items by application id: the stamp an item carries, or for a meeting copy
 * without one the application id exh_meeting keeps for its UID. One read of the type's folders from the beginning,
 * applying nothing.
 */
async function readIdentities(deps: SwitchDeps, request: { user: string; signal: AbortSignal }): Promise<Identity> {
  const { connection, definition, db } = deps;
  const byAppId = new Map<string, string>();
  const byUid = new Map<string, string>();
  // Masters only: an occurrence carries its master's UID and no stamp, and its row follows by translation or goes.
  const { occurrences: _occurrences, ...read } = folderOptions(deps);
  const options = { ...read, signal: request.signal, priority: 'catchUp' as const };
  for (const folder of foldersOf(definition.name)) {
    let continuation: string | null = null;
    for (;;) {
      const page = await connection.syncFolder(folder, continuation, options);
      for (const change of page.changes) {
        if (change.type !== 'create' && change.type !== 'update') continue;
        const appItemId = change.item.properties.appItemId;
        if (typeof appItemId === 'string' && appItemId !== '') byAppId.set(appItemId, change.item.id);
        else if (change.item.uid && !byUid.has(change.item.uid)) byUid.set(change.item.uid, change.item.id);
      }
      continuation = page.continuation;
      if (page.done) break;
    }
  }
  const linked = await db.meetingAppItemIds([...byUid.keys()]);
  for (const [uid, appItemId] of linked) {
    const id = byUid.get(uid);
    if (id !== undefined && !byAppId.has(appItemId)) byAppId.set(appItemId, id);
  }
  return { byAppId };
}
