import { itemType } from '../items/index.js';
import type { ExhLogger } from '../logging/logger.js';
import type { DatabasePort, ItemTypeName } from '../ports/database.port.js';
import type { FolderName } from '../ports/exchange.port.js';
import type { OwnWrites } from '../sync/executors/own-writes.js';
import { resyncItemType } from '../sync/executors/resync.js';
import { type SyncSettings, syncItemType } from '../sync/executors/sync-item-type.js';
import { afterSync, type ItemTypeSyncOutput, withComparison } from './after-sync.js';
import type { Connections } from './connections.js';
import { switchBackendIfNeeded } from './switch-backend.js';
import { type CommittedWatermarks, type SyncLocks, syncLockKey } from './sync-locks.js';

export interface ItemTypeSyncDeps {
  db: DatabasePort;
  connections: Connections;
  settings: SyncSettings;
  logger: ExhLogger;
  locks: SyncLocks;
  committed: CommittedWatermarks;
  /** The connector's own writes (the outbox's), whose echoes are not applied again. */
  ownWrites?: OwnWrites;
}

export interface ItemTypeSyncRequest {
  user: string;
  itemType: ItemTypeName;
  /** The watermark the mailbox started the item type with. */
  watermark: string | null;
  signal: AbortSignal;
  /** Only these of the type's folders (a notification named them); absent: all. */
  folders?: readonly FolderName[];
}

/**
 * One sync of a mailbox's item type, as its actor asks for it (actors/item-type.actors.ts): one at a time per mailbox
 * and type (the sync lock), from the newest committed watermark, then what `afterSync` decides (src/mailbox/after-sync.ts).
 */
export function syncMailboxItemType(deps: ItemTypeSyncDeps, request: ItemTypeSyncRequest): Promise<ItemTypeSyncOutput> {
  const key = syncLockKey(request.user, request.itemType);
  return deps.locks.run(key, async () => {
    const syncDeps = {
      db: deps.db,
      connection: deps.connections.get(request.user),
      definition: itemType(request.itemType),
      settings: deps.settings,
      logger: deps.logger.child({ actor: 'itemType', user: request.user, itemType: request.itemType }),
      ownWrites: deps.ownWrites,
    };
    // A user moved to another backend keeps its rows: they take the new backend's ids first (./switch-backend.ts).
    const switched = await switchBackendIfNeeded(syncDeps, {
      user: request.user,
      // Newer than the request's after an interrupted catch-up: resume, do not start over.
      watermark: deps.committed.get(key) ?? request.watermark,
      signal: request.signal,
    });
    if (switched.switched && switched.watermark !== null) deps.committed.set(key, switched.watermark);
    const result = await syncItemType(syncDeps, {
      user: request.user,
      watermark: switched.watermark,
      signal: request.signal,
      ...(request.folders ? { folders: request.folders } : {}),
      onCommitted: (watermark) => deps.committed.set(key, watermark),
    });
    const next = afterSync(result);
    if (next.type === 'done') return next.output;
    const compared = await resyncItemType(syncDeps, { ...next.compare, user: request.user, signal: request.signal });
    await deps.db.applyChanges({
      user: request.user,
      itemType: request.itemType,
      changes: [],
      watermark: next.watermark,
    });
    deps.committed.set(key, next.watermark);
    return withComparison(result, next.watermark, compared);
  });
}
