import { fromPromise } from 'xstate';
import type { ExhLogger } from '../src/logging/logger.js';
import type { ExchangePool } from '../src/pool/exchange-pool.js';
import type { DatabasePort, SetUp, UserRegistration } from '../src/ports/database.port.js';

export interface SupervisorDeps {
  db: DatabasePort;
  pool: ExchangePool;
  /** What exh_set_up gets; waits for the database listener to know its port. */
  setUp: () => Promise<SetUp>;
  logger: ExhLogger;
  /** Forgotten at every start-up: after a (re)connection the database's watermarks are the truth. */
  committed: { clear(): void };
  /** Closes the listeners; awaited here because a callback actor's cleanup cannot be. */
  closeListeners: () => Promise<void>;
  /** The stopped mailboxes' subscriptions closing (src/mailbox/connections.ts); awaited before the pool closes. */
  subscriptionsClosed?: () => Promise<unknown>;
  /** In a cluster: leaves exh_member and releases this instance's leases, so the others take its mailboxes at once. */
  leaveCluster?: () => Promise<void>;
}

export function createSupervisorActors(deps: SupervisorDeps) {
  return {
    // docs/database.md, "Start-up", in this order: the database's senders must know where to reach us before any
    // mailbox starts producing changes they might answer.
    startUp: fromPromise<UserRegistration[]>(async () => {
      deps.committed.clear();
      await deps.db.writeSetUp(await deps.setUp());
      return readUsers(deps);
    }),
    readUsers: fromPromise<UserRegistration[]>(() => readUsers(deps)),

    // Reverse start order; the log feed goes last so that a telnet client sees the whole stop.
    shutdown: fromPromise<void>(async () => {
      // Subscriptions are closed through the pool: their deletions go before it closes (bounded by the caller).
      await deps.subscriptionsClosed?.();
      await deps.pool.close();
      // After the mailboxes stopped and the Exchange pool closed, before the database closes; a database that is away
      // leaves the leases to run out.
      await deps
        .leaveCluster?.()
        .catch((error: unknown) =>
          deps.logger.warn(
            { actor: 'supervisor', err: error },
            'Leaving the cluster failed; the other instances take these mailboxes when the leases end',
          ),
        );
      await deps.db.close();
      await deps.closeListeners();
    }),
  };
}

/** exh_get_users, one registration per address (a duplicate is warned about). */
export async function readUsers(deps: Pick<SupervisorDeps, 'db' | 'logger'>): Promise<UserRegistration[]> {
  const { users, duplicates } = uniqueUsers(await deps.db.getUsers());
  if (duplicates.length > 0) {
    deps.logger.warn(
      { actor: 'supervisor', duplicates },
      `exh_get_users returned ${duplicates.join(', ')} more than once; each mailbox is synchronised once (the first row counts)`,
    );
  }
  return users;
}

/** Mailbox addresses are case-insensitive: one mailbox actor per address, whatever exh_get_users returns. */
export function uniqueUsers(rows: UserRegistration[]): { users: UserRegistration[]; duplicates: string[] } {
  const seen = new Set<string>();
  const users: UserRegistration[] = [];
  const duplicates: string[] = [];
  for (const row of rows) {
    const key = row.user.toLowerCase();
    if (seen.has(key)) duplicates.push(row.user);
    else {
      seen.add(key);
      users.push(row);
    }
  }
  return { users, duplicates };
}
