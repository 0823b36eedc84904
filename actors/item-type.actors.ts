import { fromPromise } from 'xstate';
import type { SyncFoldersInput, SyncOutput } from '../machines/item-type.machine.js';
import { serializeError } from '../machines/report.js';
import { isDatabaseGone } from '../src/errors.js';
import { type ItemTypeSyncDeps, syncMailboxItemType } from '../src/mailbox/item-type-sync.js';

export type ItemTypeDeps = ItemTypeSyncDeps;

export function createItemTypeActors(deps: ItemTypeDeps) {
  return {
    syncFolders: fromPromise<SyncOutput, SyncFoldersInput>(async ({ input, signal, system }) => {
      try {
        return await syncMailboxItemType(deps, { ...input, signal });
      } catch (error) {
        // The database went away under this sync: its machine decides what happens to everyone (STYLE 8).
        if (isDatabaseGone(error)) {
          system.get('database')?.send({ type: 'database.failed', error: serializeError(error) });
        }
        throw error;
      }
    }),
  };
}
