import { fromPromise } from 'xstate';
import type { ItemTypeInput, SyncOutput } from '../machines/item-type.machine.js';
import { serializeError } from '../machines/report.js';
import { isExhError } from '../src/errors.js';
import { itemType } from '../src/items/index.js';
import type { ExhLogger } from '../src/logging/logger.js';
import type { DatabasePort } from '../src/ports/database.port.js';
import { type SyncSettings, syncItemType } from '../src/sync/sync-item-type.js';
import type { Connections } from './connections.js';
import type { CommittedWatermarks, SyncLocks } from './sync-locks.js';

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
      const key = `${input.user}\u0000${input.itemType}`;
      try {
        return await deps.locks.run(key, () =>
          syncItemType(
            {
              db: deps.db,
              connection: deps.connections.get(input.user),
              definition: itemType(input.itemType),
              settings: deps.settings,
              logger: deps.logger.child({ actor: 'itemType', user: input.user, itemType: input.itemType }),
            },
            {
              user: input.user,
              // Newer than the input after an interrupted catch-up: resume, do not start over.
              watermark: deps.committed.get(key) ?? input.watermark,
              signal,
              onCommitted: (watermark) => deps.committed.set(key, watermark),
            },
          ),
        );
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
