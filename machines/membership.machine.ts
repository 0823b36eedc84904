import { assign, fromPromise, sendParent, setup } from 'xstate';
import type { UserRegistration } from '../src/ports/database.port.js';
import { type Report, type SerializedError, serializeError } from './report.js';

/**
 * One instance's part in a cluster (docs/architecture.md, "Several instances"; docs/scale-out.md). Every
 * heartbeatSeconds, `beat` registers this instance, reads the live members, works out the users rendezvous hashing
 * gives it and claims their leases; the parent (the supervisor) is told the users whose lease it holds and runs a
 * mailbox for those only. A user it no longer wants is given to the parent first (its mailbox stops), then released.
 * When no beat succeeded for a lease's time less one heartbeat, the leases may be about to end: it owns nothing.
 */

export interface MembershipInput {
  /** exh_get_users' users, as the supervisor has them. */
  users: string[];
  leaseSeconds: number;
  heartbeatSeconds: number;
}

/** What one heartbeat found. */
export interface BeatOutput {
  /** The live members' ids, ordered. */
  members: string[];
  /** The users whose lease this instance holds now (exh_get_users' spelling). */
  owned: string[];
  /** Users it held but no longer wants (another member ranks first, or no longer registered): released after their mailboxes stop. */
  release: string[];
  /** Whether this instance takes the commands without a user (the smallest live id). */
  coordinator: boolean;
  /** How long the round trips took: the leases were renewed at least this long before the beat ended. */
  elapsedMs: number;
  /**
   * exh_get_users read again after this beat took leases it did not hold: the watermarks the previous holder committed
   * up to the change of hands, for the mailboxes that start here (absent when no lease changed hands).
   */
  registrations?: UserRegistration[];
}

export interface MembershipContext extends MembershipInput {
  owned: string[];
  release: string[];
  members: string[];
  coordinator: boolean;
  elapsedMs: number;
  /** BeatOutput.registrations of the last beat, or null. */
  registrations: UserRegistration[] | null;
  lastError: SerializedError | null;
}

export type MembershipEvent = { type: 'cluster.users'; users: string[] };

/** What the parent hears. */
export type MembershipEmitted =
  | {
      type: 'cluster.owned';
      owned: string[];
      coordinator: boolean;
      members: string[];
      /** Fresh registrations when leases changed hands to this instance (BeatOutput.registrations). */
      registrations?: UserRegistration[];
    }
  | { type: 'cluster.databaseFailed'; error: SerializedError };

export const membershipMachine = setup({
  types: {
    input: {} as MembershipInput,
    context: {} as MembershipContext,
    events: {} as MembershipEvent,
  },
  actors: {
    /** heartbeat → live members → wanted users (rendezvous) → claimLeases (src/cluster/membership.ts). */
    beat: fromPromise<BeatOutput, { users: string[]; owned: string[] }>(async () => {
      throw new Error('membership actor "beat" not provided');
    }),
    /** releaseLeases of users whose mailboxes have stopped. */
    release: fromPromise<void, { users: string[] }>(async () => {
      throw new Error('membership actor "release" not provided');
    }),
  },
  guards: {
    isConnectionLost: (_, params: { error: unknown }) => serializeError(params.error).code === 'EXH_DB_CONNECTION_LOST',
    hasReleases: ({ context }) => context.release.length > 0,
  },
  delays: {
    heartbeat: ({ context }) => context.heartbeatSeconds * 1000,
    // A lease taken at the start of the last good beat ends leaseSeconds later at the earliest; the mailboxes stop a
    // heartbeat before that, so none runs on a lease that may have ended.
    leaseEnding: ({ context }) =>
      Math.max(0, (context.leaseSeconds - context.heartbeatSeconds) * 1000 - context.elapsedMs),
  },
  actions: {
    report: (_, _params: Report) => {},
    tellOwned: sendParent(({ context }) => ({
      type: 'cluster.owned' as const,
      owned: context.owned,
      coordinator: context.coordinator,
      members: context.members,
      ...(context.registrations ? { registrations: context.registrations } : {}),
    })),
    ownNothing: assign({ owned: [], coordinator: false, release: [], registrations: null }),
    /** What a good beat found becomes the context; the parent hears it on entering `member`. */
    keepBeat: assign((_, params: { output: BeatOutput }) => ({
      ...params.output,
      registrations: params.output.registrations ?? null,
      lastError: null,
    })),
    keepError: assign((_, params: { error: unknown }) => ({ lastError: serializeError(params.error) })),
    /** A lost connection is the database machine's business (the parent's); the leases' clock keeps running. */
    tellDatabaseFailed: sendParent((_, params: { error: unknown }) => ({
      type: 'cluster.databaseFailed' as const,
      error: serializeError(params.error),
    })),
  },
}).createMachine({
  id: 'membership',
  context: ({ input }) => ({
    ...input,
    owned: [],
    release: [],
    members: [],
    coordinator: false,
    elapsedMs: 0,
    registrations: null,
    lastError: null,
  }),
  on: { 'cluster.users': { actions: assign({ users: ({ event }) => event.users }) } },
  initial: 'joining',
  states: {
    /** Owns nothing until a beat succeeds. */
    joining: {
      entry: ['ownNothing', 'tellOwned'],
      initial: 'beating',
      states: {
        beating: {
          invoke: {
            src: 'beat',
            input: ({ context }) => ({ users: context.users, owned: context.owned }),
            onDone: {
              target: '#membership.member',
              actions: [
                { type: 'keepBeat', params: ({ event }) => ({ output: event.output }) },
                {
                  type: 'report',
                  params: ({ context }) => ({
                    category: 'A',
                    event: 'cluster.joined',
                    message: `Joined the cluster (${context.members.length} live member${context.members.length === 1 ? '' : 's'}); ${context.owned.length} mailbox${context.owned.length === 1 ? '' : 'es'} here`,
                    members: context.members,
                  }),
                },
              ],
            },
            onError: [
              {
                guard: { type: 'isConnectionLost', params: ({ event }) => ({ error: event.error }) },
                target: 'waiting',
                actions: { type: 'tellDatabaseFailed', params: ({ event }) => ({ error: event.error }) },
              },
              {
                target: 'waiting',
                actions: [
                  { type: 'keepError', params: ({ event }) => ({ error: event.error }) },
                  {
                    type: 'report',
                    params: ({ context }) => ({
                      category: 'E',
                      event: 'cluster.joinFailed',
                      message: `Joining the cluster failed: ${context.lastError?.message}; next attempt in ${context.heartbeatSeconds} s`,
                      retryInMs: context.heartbeatSeconds * 1000,
                      error: context.lastError,
                    }),
                  },
                ],
              },
            ],
          },
        },
        waiting: { after: { heartbeat: 'beating' } },
      },
    },
    /** Heartbeating; re-entered after each good beat, which starts the lease's clock again. */
    member: {
      entry: 'tellOwned',
      after: {
        leaseEnding: {
          target: 'joining',
          actions: {
            type: 'report',
            params: ({ context }) => ({
              category: 'W',
              event: 'cluster.leasesLost',
              message: `No heartbeat succeeded for ${context.leaseSeconds - context.heartbeatSeconds} s: stopping every mailbox here before their leases end`,
              count: context.owned.length,
            }),
          },
        },
      },
      initial: 'settling',
      states: {
        settling: { always: [{ guard: 'hasReleases', target: 'releasing' }, { target: 'waiting' }] },
        /** The parent has stopped these users' mailboxes (tellOwned on entry to member); now their leases go. */
        releasing: {
          invoke: {
            src: 'release',
            input: ({ context }) => ({ users: context.release }),
            onDone: { target: 'waiting', actions: assign({ release: [] }) },
            onError: {
              // Not released: the lease ends by itself and the new owner takes it then.
              target: 'waiting',
              actions: [
                assign({ release: [], lastError: ({ event }) => serializeError(event.error) }),
                {
                  type: 'report',
                  params: ({ context }) => ({
                    category: 'W',
                    event: 'cluster.releaseFailed',
                    message: `Releasing leases failed: ${context.lastError?.message}; they end within ${context.leaseSeconds} s`,
                    error: context.lastError,
                  }),
                },
              ],
            },
          },
        },
        waiting: { after: { heartbeat: 'beating' } },
        beating: {
          invoke: {
            src: 'beat',
            input: ({ context }) => ({ users: context.users, owned: context.owned }),
            onDone: {
              target: '#membership.member',
              reenter: true,
              actions: { type: 'keepBeat', params: ({ event }) => ({ output: event.output }) },
            },
            onError: [
              {
                guard: { type: 'isConnectionLost', params: ({ event }) => ({ error: event.error }) },
                target: 'waiting',
                actions: { type: 'tellDatabaseFailed', params: ({ event }) => ({ error: event.error }) },
              },
              {
                target: 'waiting',
                actions: [
                  { type: 'keepError', params: ({ event }) => ({ error: event.error }) },
                  {
                    type: 'report',
                    params: ({ context }) => ({
                      category: 'W',
                      event: 'cluster.heartbeatFailed',
                      message: `Heartbeat failed: ${context.lastError?.message}; next in ${context.heartbeatSeconds} s`,
                      error: context.lastError,
                    }),
                  },
                ],
              },
            ],
          },
        },
      },
    },
  },
});
