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
 * backend reads anything, each row gets its item's new id — translated by the backend (MailboxConnection.adoptItemIds:
 * Graph's translateExchangeIds), else found by the application's id the connector stamps on items (both backends
 * read it) or, for a meeting, by its UID (exh_meeting) — in one transaction with a watermark that starts every folder
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
  const translated =
    rows.length === 0
      ? new Map()
      : await (connection.adoptItemIds?.(
          rows.map((row) => row.item_id),
          call,
        ) ?? new Map());
  const unmatched = rows.filter((row) => !translated.has(row.item_id));
  const identity = unmatched.length === 0 ? undefined : await readIdentities(deps, request);
  const renames: ItemRename[] = [];
  const taken = new Set<string>();
  let byAppId = 0;
  for (const row of rows) {
    let to = translated.get(row.item_id) as string | undefined;
    if (to === undefined && identity && typeof row.app_item_id === 'string' && row.app_item_id !== '') {
      to = identity.byAppId.get(row.app_item_id);
      if (to !== undefined) byAppId += 1;
    }
    // Two rows for one item: the first keeps it; the other stays as it is and goes if its item is gone.
    if (to === undefined || taken.has(to)) continue;
    taken.add(to);
    if (to !== row.item_id) renames.push({ from: row.item_id, to });
  }
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
