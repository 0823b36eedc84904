import { fromPromise } from 'xstate';
import type { BeatOutput } from '../machines/membership.machine.js';
import type { Membership } from '../src/cluster/membership.js';
import type { UserRegistration } from '../src/ports/database.port.js';

/**
 * What a change of hands needs besides the membership: the users' registrations read again after the claim, and this
 * instance's own committed watermarks of those users forgotten (src/mailbox/sync-locks.ts).
 */
export interface Handover {
  readUsers: () => Promise<UserRegistration[]>;
  forgetCommitted: (users: readonly string[]) => void;
  /** Resolves when no outbox row of these users is being written here (src/sync/executors/outbox-workers.ts). */
  settleOutbox?: (users: readonly string[]) => Promise<void>;
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
      // A row of these users still being written to Exchange is let finish before their leases go, so the next
      // holder does not apply it again meanwhile (docs/scale-out.md, "Leases"). No longer than the leases
      // last unrenewed: once they end, the next holder takes them whatever this instance does.
      const { leaseSeconds, heartbeatSeconds } = membership.self;
      if (handover?.settleOutbox)
        await within(handover.settleOutbox(input.users), (leaseSeconds - heartbeatSeconds) * 1000);
      await membership.release(input.users);
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
