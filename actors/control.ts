import { errors } from '../src/errors.js';
import { itemType } from '../src/items/index.js';
import type { ExhLogger } from '../src/logging/logger.js';
import type { ControlPort, SyncItemsOutcome, SyncItemsProgress, SyncItemsRequest } from '../src/ports/control.port.js';
import type { DatabasePort, ItemRanges, ItemTypeName, UserRegistration } from '../src/ports/database.port.js';
import { itemTypeNames } from '../src/ports/database.port.js';
import { resyncItemType } from '../src/sync/resync.js';
import type { SyncSettings } from '../src/sync/sync-item-type.js';
import type { Connections } from './connections.js';
import type { SyncLocks } from './sync-locks.js';

export interface ControlDeps {
  db: DatabasePort;
  connections: Connections;
  locks: SyncLocks;
  settings: SyncSettings;
  logger: ExhLogger;
  /** The registered users as the supervisor last read them (exh_get_users). */
  users: () => readonly UserRegistration[];
  /** Asks the supervisor to re-register users (`users.sync`). */
  requestUsersSync: () => void;
  /** Aborted when the connector stops: a resync in progress ends with it. */
  signal: AbortSignal;
}

/**
 * The ControlPort of a running connector (src/ports/control.port.ts): exh_sync_users and exh_sync_item for the
 * outbox, the database listener and the dashboard. A resynchronisation holds the same per-mailbox-and-type lock as the
 * live sync (actors/sync-locks.ts), so the two never apply pages of the same folders side by side.
 */
export function createControl(deps: ControlDeps): ControlPort {
  const control: ControlPort = {
    syncUsers: () => deps.requestUsersSync(),

    async syncItems(request: SyncItemsRequest, onProgress?: (progress: SyncItemsProgress) => void) {
      const registered = deps.users();
      const users = request.user === null ? registered : registered.filter((u) => u.user === request.user);
      if (request.user !== null && users.length === 0) throw errors.mailboxUnknown(request.user);
      const ranges: ItemRanges = {
        ...(request.created ? { created: request.created } : {}),
        ...(request.modified ? { modified: request.modified } : {}),
        ...(request.received ? { received: request.received } : {}),
        ...(request.start ? { start: request.start } : {}),
      };
      const total: SyncItemsOutcome = { added: 0, changed: 0, deleted: 0, failed: 0 };
      // Mailboxes side by side (the Exchange pool bounds the traffic), the types of one mailbox one after another.
      await Promise.all(
        users.map(async (registration) => {
          const connection = deps.connections.find(registration.user);
          if (!connection) throw errors.mailboxNotConnected(registration.user);
          const types: ItemTypeName[] = request.itemType
            ? [request.itemType]
            : itemTypeNames.filter((name) => registration.sync[name]);
          for (const name of types) {
            const outcome = await deps.locks.run(`${registration.user}\u0000${name}`, () =>
              resyncItemType(
                {
                  db: deps.db,
                  connection,
                  definition: itemType(name),
                  settings: deps.settings,
                  logger: deps.logger,
                },
                {
                  user: registration.user,
                  direction: request.direction,
                  add: request.add,
                  chg: request.chg,
                  del: request.del,
                  ranges,
                  signal: deps.signal,
                  ...(onProgress ? { onProgress } : {}),
                },
              ),
            );
            total.added += outcome.added;
            total.changed += outcome.changed;
            total.deleted += outcome.deleted;
            total.failed += outcome.failed;
          }
        }),
      );
      return total;
    },

    async retryFailed(filter: { user?: string }) {
      // Changes towards Exchange that failed (exh_outbox rows in state failed) go back to pending: the outbox
      // drains them again in their user's order.
      const outbox = await deps.db.retryOutbox(filter.user ? { user: filter.user } : {});
      // Items that failed on the way into the database (exh_log) are retried by reading the mailbox again: every
      // item is applied once more through exh_from_exh_*, which the failed ones need and the others take as a no-op.
      const users = deps.users().filter((u) => !filter.user || u.user === filter.user);
      if (filter.user && users.length === 0) throw errors.mailboxUnknown(filter.user);
      const connected = users.filter((u) => deps.connections.find(u.user));
      let items = 0;
      for (const registration of connected) {
        const outcome = await control.syncItems({
          direction: 0,
          user: registration.user,
          itemType: null,
          add: true,
          chg: true,
          del: false,
        });
        items += outcome.added + outcome.changed;
      }
      return { retried: outbox.retried + items };
    },
  };
  return control;
}
