import { errors } from '../errors.js';
import type { ChangeBatch, DatabasePort, Fence, OutboxScope } from '../ports/database.port.js';

/** What the fenced database needs of the membership (src/cluster/membership.ts). */
export interface FenceSource {
  readonly instanceId: string;
  /** The fence of the user's lease while this instance holds it; undefined when it holds none. */
  fenceOf(user: string): string | undefined;
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
  /** The user of each outbox row read, so its completion is fenced by that user's lease. */
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
      for (const row of rows) rowUsers.set(row.id, row.user);
      return rows;
    },
    completeOutbox: async (id, outcome, version, given) => {
      const user = rowUsers.get(id);
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
