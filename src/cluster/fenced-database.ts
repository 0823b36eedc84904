import { errors } from '../errors.js';
import type { ChangeBatch, DatabasePort, Fence, OutboxScope } from '../ports/database.port.js';

/** What the fenced database needs of the membership (src/cluster/membership.ts). */
export interface FenceSource {
  readonly instanceId: string;
  /** The fence of the user's lease while this instance holds it; undefined when it holds none. */
  fenceOf(user: string): string | undefined;
  /** Whether the user is among this instance's leases (even while a late heartbeat makes fenceOf wait for renewal). */
  holds(user: string): boolean;
  /** Whether this instance takes the commands without a user (the coordinator). */
  isCoordinator(): boolean;
}

/**
 * The database as one instance of a cluster sees it (docs/architecture.md, "Several instances"): every watermark
 * write (applyChanges) and outbox completion carries the user's current fence, which the database checks in the same
 * transaction; without a lease of that user, EXH_CLUSTER_LEASE_LOST and nothing is sent. readOutbox gives only the
 * rows of users whose lease this instance holds (and the commands without a user on the coordinator). Every other
 * call goes to the database as it is.
 */
export function fencedDatabase(db: DatabasePort, source: FenceSource): DatabasePort {
  /**
   * The user of each outbox row read and not yet completed here, so its completion is fenced by that user's lease
   * (null: a command without a user, read on the coordinator). Rows of users this instance no longer holds are
   * dropped at each read: their completion is refused anyway, and the map does not grow as users move away.
   */
  const rowUsers = new Map<string, string | null>();
  const fence = (user: string, what: string): Fence => {
    const token = source.fenceOf(user);
    if (token === undefined) throw errors.leaseLost(user, source.instanceId, what);
    return { instanceId: source.instanceId, token };
  };
  const overrides: Partial<DatabasePort> = {
    applyChanges: async (batch: ChangeBatch) =>
      db.applyChanges({ ...batch, fence: fence(batch.user, `the ${batch.itemType} changes and watermark`) }),
    readOutbox: async (limit: number, scope?: OutboxScope) => {
      const rows = await db.readOutbox(
        limit,
        scope ?? { instanceId: source.instanceId, commandsWithoutUser: source.isCoordinator() },
      );
      for (const [id, user] of rowUsers) if (user !== null && !source.holds(user)) rowUsers.delete(id);
      for (const row of rows) rowUsers.set(row.id, row.user);
      return rows;
    },
    completeOutbox: async (id, outcome, version, given) => {
      const user = rowUsers.get(id);
      // Fails closed: a row this instance did not read (or read for a user it no longer holds) has no fence here, and
      // its completion is refused as a lost lease rather than written unfenced.
      if (given === undefined && user === undefined) {
        throw errors.leaseLost(`outbox row ${id}'s user`, source.instanceId, `the outcome of outbox row ${id}`);
      }
      const fenced = given ?? (user ? fence(user, `the outcome of outbox row ${id}`) : undefined);
      await db.completeOutbox(id, outcome, version, fenced);
      rowUsers.delete(id);
    },
  };
  return new Proxy(db, {
    get(target, key, receiver) {
      if (key in overrides) return overrides[key as keyof DatabasePort];
      const value = Reflect.get(target, key, receiver);
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
}
