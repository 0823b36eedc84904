import { fromPromise } from 'xstate';
import type { ItemTypeInput, SyncOutput } from '../machines/item-type.machine.js';
import { serializeError } from '../machines/report.js';
import { isExhError } from '../src/errors.js';
import { itemType } from '../src/items/index.js';
import type { ExhLogger } from '../src/logging/logger.js';
import type { DatabasePort } from '../src/ports/database.port.js';
import { type SyncSettings, syncItemType } from '../src/sync/sync-item-type.js';
import type { Connections } from './connections.js';

export interface ItemTypeDeps {
  db: DatabasePort;
  connections: Connections;
  settings: SyncSettings;
  logger: ExhLogger;
}

export function createItemTypeActors(deps: ItemTypeDeps) {
  return {
    syncFolders: fromPromise<SyncOutput, ItemTypeInput>(async ({ input, signal, system }) => {
      try {
        return await syncItemType(
          {
            db: deps.db,
            connection: deps.connections.get(input.user),
            definition: itemType(input.itemType),
            settings: deps.settings,
            logger: deps.logger.child({ actor: 'itemType', user: input.user, itemType: input.itemType }),
          },
          { user: input.user, watermark: input.watermark, signal },
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
