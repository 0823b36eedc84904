import { fromPromise } from 'xstate';
import type { ItemTypeInput, SyncOutput } from '../machines/item-type.machine.js';
import { serializeError } from '../machines/report.js';
import { isExhError } from '../src/errors.js';
import { itemType } from '../src/items/index.js';
import type { ExhLogger } from '../src/logging/logger.js';
import type { Connections } from '../src/mailbox/connections.js';
import { type CommittedWatermarks, type SyncLocks, syncLockKey } from '../src/mailbox/sync-locks.js';
import type { DatabasePort } from '../src/ports/database.port.js';
import { resyncItemType } from '../src/sync/resync.js';
import { type SyncSettings, syncItemType } from '../src/sync/sync-item-type.js';
import { comparedWatermark } from '../src/sync/watermark.js';

export interface ItemTypeDeps {
  db: DatabasePort;
  connections: Connections;
  settings: SyncSettings;
  logger: ExhLogger;
  locks: SyncLocks;
  committed: CommittedWatermarks;
}

export function createItemTypeActors(deps: ItemTypeDeps) {
  return {
    syncFolders: fromPromise<SyncOutput, ItemTypeInput>(async ({ input, signal, system }) => {
      const key = syncLockKey(input.user, input.itemType);
      try {
        return await deps.locks.run(key, async () => {
          const syncDeps = {
            db: deps.db,
            connection: deps.connections.get(input.user),
            definition: itemType(input.itemType),
            settings: deps.settings,
            logger: deps.logger.child({ actor: 'itemType', user: input.user, itemType: input.itemType }),
          };
          const { restarted, ...output } = await syncItemType(syncDeps, {
            user: input.user,
            // Newer than the input after an interrupted catch-up: resume, do not start over.
            watermark: deps.committed.get(key) ?? input.watermark,
            signal,
            onCommitted: (watermark) => deps.committed.set(key, watermark),
          });
          if (restarted) {
            // Exchange forgot where a folder was: items deleted in the gap never come as deletions. Rows whose
            // item no longer exists are found by comparing (exh_sync_item direction 0, deletions only); until that
            // is done the watermark says so, and a sync cut short here compares next time.
            const gone = await resyncItemType(syncDeps, {
              user: input.user,
              direction: 0,
              add: false,
              chg: false,
              del: true,
              ranges: {},
              signal,
            });
            const watermark = comparedWatermark(output.watermark);
            await deps.db.applyChanges({ user: input.user, itemType: input.itemType, changes: [], watermark });
            deps.committed.set(key, watermark);
            return {
              watermark,
              applied: output.applied + gone.deleted,
              failed: output.failed + gone.failed,
            };
          }
          return output;
        });
      } catch (error) {
        // The database went away under this sync: its machine decides what happens to everyone (STYLE 8).
        if (isExhError(error, 'EXH_DB_CONNECTION_LOST')) {
          system.get('database')?.send({ type: 'database.failed', error: serializeError(error) });
        }
        throw error;
      }
    }),
  };
}
