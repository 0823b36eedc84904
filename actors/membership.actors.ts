import { fromPromise } from 'xstate';
import type { BeatOutput } from '../machines/membership.machine.js';
import type { Membership } from '../src/cluster/membership.js';
import type { UserRegistration } from '../src/ports/database.port.js';
import type { OutboxWorkers } from '../src/sync/executors/outbox-workers.js';

/**
 * What a change of hands needs besides the membership: the users' registrations read again after the claim, and this
 * instance's own committed watermarks of those users forgotten (src/mailbox/sync-locks.ts).
 */
export interface Handover {
  readUsers: () => Promise<UserRegistration[]>;
  forgetCommitted: (users: readonly string[]) => void;
  /** The outbox's workers while they run (src/sync/executors/outbox-workers.ts): which users' rows are in flight. */
  outbox?: () => Pick<OutboxWorkers, 'busy' | 'settled'> | undefined;
  /** A release deferred until a user's row in flight settled failed (its lease then ends by itself). */
  releaseFailed?: (users: readonly string[], error: unknown) => void;
}

/** The membership machine's I/O (machines/membership.machine.ts) over the membership service. */
export function createMembershipActors(membership: Membership, handover?: Handover) {
  return {
    beat: fromPromise<BeatOutput, { users: string[]; owned: string[] }>(async ({ input }) => {
      const output = await membership.beat(input.users, input.owned);
      const before = new Set(input.owned.map((user) => user.toLowerCase()));
      const taken = output.owned.filter((user) => !before.has(user.toLowerCase()));
      if (!handover || taken.length === 0) return output;
      // After the claim, so the previous holder's last page (checked against its fence) is in, or never will be.
      handover.forgetCommitted(taken);
      return { ...output, registrations: await handover.readUsers() };
    }),
    release: fromPromise<void, { users: string[] }>(async ({ input }) => {
      // A user whose outbox row is still on its way to Exchange keeps its lease (and its fence, so the row's outcome is
      // recorded) until that row settles, so the next holder does not apply it again meanwhile (docs/scale-out.md,
      // "Leases"). That wait runs beside the heartbeats, not in their way, and lasts no longer than the lease would
      // unrenewed: then the next holder takes it whatever this instance does.
      const outbox = handover?.outbox?.();
      const busy = outbox?.busy(input.users) ?? [];
      if (outbox && busy.length > 0) {
        const { leaseSeconds, heartbeatSeconds } = membership.self;
        void within(outbox.settled(busy), (leaseSeconds - heartbeatSeconds) * 1000)
          .then(() => membership.release(busy))
          .catch((error: unknown) => handover?.releaseFailed?.(busy, error));
      }
      const now = input.users.filter((user) => !busy.includes(user));
      await membership.release(now);
    }),
  };
}

/** Waits for `work` (its failure is its own business), or `ms` at most. */
async function within(work: Promise<void>, ms: number): Promise<void> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  await Promise.race([
    work.catch(() => {}),
    new Promise<void>((resolve) => {
      timer = setTimeout(resolve, ms);
    }),
  ]);
  clearTimeout(timer);
}
