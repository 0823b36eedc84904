import { describe, errors } from '../errors.js';
import { itemType, itemTypeNames } from '../items/index.js';
import type { ExhLogger } from '../logging/logger.js';
import type { Connections } from '../mailbox/connections.js';
import { type SyncLocks, syncLockKey } from '../mailbox/sync-locks.js';
import type { ControlPort, SyncItemsOutcome, SyncItemsProgress, SyncItemsRequest } from '../ports/control.port.js';
import type { DatabasePort, ItemRanges, ItemTypeName, UserRegistration } from '../ports/database.port.js';
import type { ConflictSettings, LeaseCheck } from '../sync/executors/outbox.js';
import { rangeFields, resyncItemType } from '../sync/executors/resync.js';
import type { SyncSettings } from '../sync/executors/sync-item-type.js';

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
  /** The sync's lock for a resync's writes towards Exchange (src/sync/executors/outbox.ts). */
  conflicts?: ConflictSettings;
  /**
   * In a cluster (docs/scale-out.md): whether the user's mailbox runs on this instance. A resync of every user covers
   * these only; the other instances do theirs (src/protocol/forwarding.ts, createPeerBroadcast). Absent: every user.
   */
  runsHere?: (user: string) => boolean;
  /** In a cluster: a resync towards Exchange writes only while this instance holds the user's lease (outbox.ts). */
  lease?: LeaseCheck | undefined;
}

/**
 * The ControlPort of a running connector (src/ports/control.port.ts): exh_sync_users and exh_sync_item for the
 * outbox, the database listener and the dashboard. A resynchronisation holds the same per-mailbox-and-type lock as the
 * live sync (src/mailbox/sync-locks.ts), so the two never apply pages of the same folders side by side.
 */
export function createControl(deps: ControlDeps): ControlPort {
  const control: ControlPort = {
    syncUsers: () => deps.requestUsersSync(),

    async syncItems(request: SyncItemsRequest, onProgress?: (progress: SyncItemsProgress) => void) {
      const registered = deps.users();
      const wanted = request.user?.toLowerCase();
      const users =
        wanted === undefined
          ? registered.filter((u) => deps.runsHere?.(u.user) ?? true)
          : registered.filter((u) => u.user.toLowerCase() === wanted);
      if (request.user !== null && users.length === 0) throw errors.mailboxUnknown(request.user);
      // One mailbox asked for must be connected (522: try again later); for every user, the ones that are not are
      // skipped, counted as failed and said so in exh_log, and the others go ahead.
      if (request.user !== null && users.every((u) => !deps.connections.find(u.user))) {
        throw errors.mailboxNotConnected(request.user);
      }
      const ranges: ItemRanges = {
        ...(request.created ? { created: request.created } : {}),
        ...(request.modified ? { modified: request.modified } : {}),
        ...(request.received ? { received: request.received } : {}),
        ...(request.start ? { start: request.start } : {}),
      };
      const total: SyncItemsOutcome = { added: 0, changed: 0, deleted: 0, failed: 0 };
      // Mailboxes side by side (the Exchange pool bounds the traffic), the types of one mailbox one after another.
      const settled = await Promise.allSettled(
        users.map(async (registration) => {
          const connection = deps.connections.find(registration.user);
          if (!connection) {
            total.failed += 1;
            const problem = errors.mailboxNotConnected(registration.user);
            await deps.db.logError({ user: registration.user, code: problem.code, message: problem.message });
            return;
          }
          const types: ItemTypeName[] = request.itemType
            ? [request.itemType]
            : itemTypeNames().filter((name) => registration.sync[name]);
          for (const name of types) {
            warnAboutRanges(deps.logger, name, ranges);
            const run = () =>
              resyncItemType(
                {
                  db: deps.db,
                  connection,
                  definition: itemType(name),
                  settings: deps.settings,
                  logger: deps.logger,
                  conflicts: deps.conflicts,
                  lease: deps.lease,
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
              );
            // Towards the database a resync applies rows as the live sync does: one at a time per mailbox and type.
            // Towards Exchange it writes only Exchange, and the live sync carries its echo in as usual.
            const outcome =
              request.direction === 0 ? await deps.locks.run(syncLockKey(registration.user, name), run) : await run();
            total.added += outcome.added;
            total.changed += outcome.changed;
            total.deleted += outcome.deleted;
            total.failed += outcome.failed;
          }
        }),
      );
      const rejected = settled.find((result) => result.status === 'rejected');
      if (rejected) throw rejected.reason;
      return total;
    },

    async retryFailed(filter: { user?: string }) {
      const wanted = filter.user?.toLowerCase();
      const users = deps.users().filter((u) => wanted === undefined || u.user.toLowerCase() === wanted);
      if (filter.user && users.length === 0) throw errors.mailboxUnknown(filter.user);
      // Changes towards Exchange that failed (exh_outbox rows in state failed) go back to pending: the outbox
      // drains them again in their user's order.
      const outbox = await deps.db.retryOutbox(filter.user ? { user: filter.user } : {});
      // Items that failed on their way into the database (exh_log) are retried by reading the mailbox again: every
      // item is applied once more through exh_from_exh_*, which the failed ones need and the others take as a
      // no-op. That can take long, so it runs after the answer, one mailbox after another, and says how it went.
      const connected = users.filter((u) => deps.connections.find(u.user)).map((u) => u.user);
      const log = deps.logger.child({ actor: 'control' });
      void (async () => {
        for (const user of connected) {
          try {
            const outcome = await control.syncItems({
              direction: 0,
              user,
              itemType: null,
              add: true,
              chg: true,
              del: false,
            });
            log.action({ user, ...outcome }, `Retry of ${user}: the mailbox was read again into the database`);
          } catch (error) {
            if (!deps.signal.aborted) log.error({ user, err: error }, `Retry of ${user} failed: ${describe(error)}`);
          }
        }
      })();
      return { retried: outbox.retried, rereading: connected };
    },
  };
  return control;
}

/** A range on a field the type does not have (e-mail has no start) is ignored, as exh_get_item_{type} ignores it. */
function warnAboutRanges(logger: ExhLogger, name: ItemTypeName, ranges: ItemRanges): void {
  const definition = itemType(name);
  for (const [range, field] of rangeFields) {
    if (ranges[range] && !definition.fields.some((f) => f.name === field)) {
      logger.warn(
        { itemType: name, range },
        `exh_sync_item: ${name} items have no ${field}, so the ${range} range is ignored for them`,
      );
    }
  }
}
