import { assign, enqueueActions, fromCallback, fromPromise, sendTo, setup } from 'xstate';
import type { UserRegistration } from '../src/ports/database.port.js';
import { type BackoffPolicy, retryDelay } from '../src/sync/decisions/backoff.js';
import { type DatabaseMachineInput, databaseMachine } from './database.machine.js';
import { mailboxesMachine } from './mailboxes.machine.js';
import { type MembershipEmitted, membershipMachine } from './membership.machine.js';
import { type Report, type SerializedError, serializeError } from './report.js';

export interface SupervisorInput {
  database: DatabaseMachineInput;
  maxRestarts: number;
  restartWindowMs: number;
  maxPermanentFailures: number;
  /** The wait of a mailbox after a transient Exchange error (`retry.exchangeBackoff`). */
  backoff?: BackoffPolicy;
  /** exh_get_users is read again this often and applied as a diff; 0: only on request (users.sync). */
  usersRefreshMs: number;
  /**
   * Set when several instances share the database (the `cluster` configuration, docs/scale-out.md): mailboxes run
   * only for the users whose lease this instance holds. Absent: every registered user, as a single instance.
   */
  cluster?: { leaseSeconds: number; heartbeatSeconds: number };
}

export interface SupervisorContext extends SupervisorInput {
  /** exh_get_users' users (all of them, also in a cluster). */
  users: UserRegistration[];
  /** In a cluster: the users whose lease this instance holds (lower-case), whose mailboxes run here. */
  owned: string[];
  /** In a cluster: the live members' instance ids and whether this one takes the commands without a user. */
  members: string[];
  coordinator: boolean;
  lastError: SerializedError | null;
  /** Set when a listener could not start: the service stops and says why. */
  fatalError: SerializedError | null;
  /** The read in progress was asked for (exh_sync_users), so disabled and given-up mailboxes start again. */
  reregister: boolean;
  /** Start-ups that failed in a row (base project missing): the wait doubles like the database's. */
  startUpFailures: number;
}

export type SupervisorEvent =
  | { type: 'database.ready' }
  | { type: 'database.lost' }
  | { type: 'listener.failed'; error: SerializedError }
  /** Re-register users (exh_sync_users): read exh_get_users again and apply the difference. */
  | { type: 'users.sync' }
  | { type: 'service.stop' }
  | MembershipEmitted;

/**
 * The root. It supervises, nothing else: the listeners and the database machine live as long as it does; the
 * mailboxes live only inside `running`, so a lost database stops them all (rest_for_one) and `database.ready`
 * runs the start-up again (write exh_set_up, read exh_get_users, start the mailboxes: docs/database.md, "Start-up").
 */
export const supervisorMachine = setup({
  types: {
    input: {} as SupervisorInput,
    context: {} as SupervisorContext,
    events: {} as SupervisorEvent,
  },
  actors: {
    database: databaseMachine,
    mailboxes: mailboxesMachine,
    membership: membershipMachine,
    /** The log feed's TCP listener; sends `listener.failed` if it cannot listen. */
    logFeed: fromCallback<SupervisorEvent>(() => () => {}),
    /** The database listener (the database's senders, docs/senders.md); `users.sync` on request, `listener.failed` if it cannot listen. */
    databaseListener: fromCallback<SupervisorEvent>(() => () => {}),
    /** The dashboard, the HTTP API and /metrics (listeners.http); `listener.failed` if it cannot listen. */
    http: fromCallback<SupervisorEvent>(() => () => {}),
    /** docs/database.md, "Start-up": write address, port and token into exh_set_up, then read exh_get_users. */
    startUp: fromPromise<UserRegistration[]>(async () => {
      throw new Error('supervisor actor "startUp" not provided');
    }),
    /** exh_get_users again, for a re-registration. */
    readUsers: fromPromise<UserRegistration[]>(async () => {
      throw new Error('supervisor actor "readUsers" not provided');
    }),
    /** Drains exh_outbox into Exchange (database → Exchange) while the database is there. */
    outbox: fromCallback<SupervisorEvent>(() => () => {}),
    /** Closes what outlives the mailboxes: the Exchange pool, then the database pool. */
    shutdown: fromPromise<void>(async () => {}),
  },
  guards: {
    isConnectionLost: (_, params: { error: unknown }) => serializeError(params.error).code === 'EXH_DB_CONNECTION_LOST',
    isClustered: ({ context }) => context.cluster !== undefined,
  },
  delays: {
    retryInterval: ({ context }) => startUpRetryMs(context),
    usersRefresh: ({ context }) => context.usersRefreshMs,
  },
  actions: {
    report: (_, _params: Report) => {},
  },
}).createMachine({
  id: 'supervisor',
  context: ({ input }) => ({
    ...input,
    users: [],
    owned: [],
    members: [],
    coordinator: false,
    lastError: null,
    fatalError: null,
    reregister: false,
    startUpFailures: 0,
  }),
  // Listed in start order: the log feed first, so that a telnet client sees the database attempts.
  invoke: [
    { id: 'logFeed', src: 'logFeed' },
    { id: 'databaseListener', src: 'databaseListener' },
    { id: 'http', src: 'http' },
    { id: 'database', systemId: 'database', src: 'database', input: ({ context }) => context.database },
  ],
  initial: 'waitingForDatabase',
  on: {
    // Outside `running` there are no mailboxes to register: the next start-up reads the users anyway.
    'users.sync': {},
    // A listener that cannot listen is a configuration problem: stop cleanly and let the process exit non-zero.
    'listener.failed': {
      target: '.stopping',
      actions: [
        assign({ fatalError: ({ event }) => event.error }),
        {
          type: 'report',
          params: ({ event }) => ({
            category: 'E',
            event: 'service.failed',
            message: event.error.message,
            error: event.error,
          }),
        },
      ],
    },
    'service.stop': '.stopping',
  },
  states: {
    waitingForDatabase: {
      on: { 'database.ready': 'startingUp' },
    },
    startingUp: {
      invoke: {
        src: 'startUp',
        onDone: {
          target: 'running',
          actions: assign({ users: ({ event }) => event.output, lastError: null, startUpFailures: 0 }),
        },
        onError: [
          {
            // The database went away under us: tell the database machine, which reports and retries.
            guard: { type: 'isConnectionLost', params: ({ event }) => ({ error: event.error }) },
            target: 'waitingForDatabase',
            actions: sendTo('database', ({ event }) => ({
              type: 'database.failed' as const,
              error: serializeError(event.error),
            })),
          },
          {
            // Reachable but not usable (base project missing, exh_get_users raised): retry on the same schedule.
            target: 'startUpFailed',
            actions: [
              assign({
                lastError: ({ event }) => serializeError(event.error),
                startUpFailures: ({ context }) => context.startUpFailures + 1,
              }),
              {
                type: 'report',
                params: ({ context }) => ({
                  category: 'E',
                  event: 'startup.failed',
                  message: `Start-up failed: ${context.lastError?.message}; next attempt in ${Math.round(startUpRetryMs(context) / 1000)} s`,
                  retryInMs: startUpRetryMs(context),
                  error: context.lastError,
                }),
              },
            ],
          },
        ],
      },
      on: { 'database.lost': 'waitingForDatabase' },
    },
    startUpFailed: {
      after: { retryInterval: 'startingUp' },
      on: { 'database.lost': 'waitingForDatabase' },
    },
    running: {
      invoke: [
        {
          id: 'mailboxes',
          src: 'mailboxes',
          input: ({ context }) => ({
            users: mailboxUsers(context),
            maxRestarts: context.maxRestarts,
            restartWindowMs: context.restartWindowMs,
            maxPermanentFailures: context.maxPermanentFailures,
            ...(context.backoff ? { backoff: context.backoff } : {}),
          }),
        },
        { id: 'outbox', src: 'outbox' },
      ],
      type: 'parallel',
      // A new start owns nothing until the membership's first beat (its leases may have ended while the database was away).
      entry: assign({ owned: [], members: [], coordinator: false }),
      states: {
        users: {
          initial: 'idle',
          states: {
            idle: {
              on: { 'users.sync': { target: 'readingUsers', actions: assign({ reregister: true }) } },
              after: { usersRefresh: { guard: ({ context }) => context.usersRefreshMs > 0, target: 'readingUsers' } },
            },
            readingUsers: {
              invoke: {
                src: 'readUsers',
                onDone: {
                  target: 'idle',
                  actions: [
                    assign({ users: ({ event }) => event.output }),
                    sendTo('mailboxes', ({ context }) => ({
                      type: 'users.changed' as const,
                      users: mailboxUsers(context),
                      reregister: context.reregister,
                    })),
                    assign({ reregister: false }),
                    enqueueActions(({ context, enqueue }) => {
                      if (context.cluster)
                        enqueue.sendTo('membership', {
                          type: 'cluster.users' as const,
                          users: context.users.map((registration) => registration.user),
                        });
                    }),
                  ],
                },
                onError: [
                  {
                    guard: { type: 'isConnectionLost', params: ({ event }) => ({ error: event.error }) },
                    target: 'idle',
                    actions: sendTo('database', ({ event }) => ({
                      type: 'database.failed' as const,
                      error: serializeError(event.error),
                    })),
                  },
                  {
                    target: 'idle',
                    actions: {
                      type: 'report',
                      params: ({ event }) => ({
                        category: 'E',
                        event: 'users.syncFailed',
                        message: `Re-registering users failed: ${serializeError(event.error).message}`,
                        error: serializeError(event.error),
                      }),
                    },
                  },
                ],
              },
              // A request while reading joins this read: the list being read is already the newest.
              on: { 'users.sync': { actions: assign({ reregister: true }) } },
            },
          },
        },
        /** Several instances (docs/scale-out.md): the membership says which users' mailboxes run here. */
        cluster: {
          initial: 'deciding',
          states: {
            deciding: { always: [{ guard: 'isClustered', target: 'member' }, { target: 'single' }] },
            /** One instance: every registered user's mailbox runs here, as before. */
            single: {},
            member: {
              invoke: {
                id: 'membership',
                src: 'membership',
                input: ({ context }) => ({
                  users: context.users.map((registration) => registration.user),
                  leaseSeconds: context.cluster?.leaseSeconds ?? 20,
                  heartbeatSeconds: context.cluster?.heartbeatSeconds ?? 5,
                }),
              },
              on: {
                'cluster.owned': {
                  actions: [
                    assign({
                      // Leases taken from another instance: its mailboxes start from what that one committed up to
                      // the change of hands, not from the watermarks of this instance's last users read.
                      users: ({ context, event }) => event.registrations ?? context.users,
                      owned: ({ event }) => event.owned.map((user) => user.toLowerCase()),
                      members: ({ event }) => event.members,
                      coordinator: ({ event }) => event.coordinator,
                    }),
                    sendTo('mailboxes', ({ context }) => ({
                      type: 'users.changed' as const,
                      users: mailboxUsers(context),
                    })),
                  ],
                },
                // The database machine reports and retries; its `database.lost` stops `running`.
                'cluster.databaseFailed': {
                  actions: sendTo('database', ({ event }) => ({
                    type: 'database.failed' as const,
                    error: event.error,
                  })),
                },
              },
            },
          },
        },
      },
      // Said here, not in the mailboxes machine: an actor stopped by its parent runs no exit actions of its own.
      exit: {
        type: 'report',
        params: ({ context }) => ({
          category: 'A',
          event: 'mailboxes.stopped',
          message: `Stopped ${mailboxUsers(context).length} mailbox${mailboxUsers(context).length === 1 ? '' : 'es'}`,
          count: mailboxUsers(context).length,
        }),
      },
      on: { 'database.lost': 'waitingForDatabase' },
    },
    stopping: {
      entry: {
        type: 'report',
        params: { category: 'A', event: 'service.stopping', message: 'Stopping: mailboxes stopped, closing pools' },
      },
      invoke: { src: 'shutdown', onDone: 'stopped', onError: 'stopped' },
      on: { 'service.stop': {}, 'listener.failed': {} },
    },
    stopped: { type: 'final' },
  },
});

/** The users whose mailboxes run here: all of exh_get_users', or in a cluster those whose lease this instance holds. */
export function mailboxUsers(context: Pick<SupervisorContext, 'users' | 'owned' | 'cluster'>): UserRegistration[] {
  if (!context.cluster) return context.users;
  const owned = new Set(context.owned);
  return context.users.filter((registration) => owned.has(registration.user.toLowerCase()));
}

/** After the n-th failed start-up in a row: the database's schedule (first wait, doubling, five-minute ceiling). */
function startUpRetryMs(context: SupervisorContext): number {
  const { firstRetryMs, retryIntervalMs } = context.database;
  return retryDelay(Math.max(1, context.startUpFailures), { firstMs: firstRetryMs, maxMs: retryIntervalMs });
}
