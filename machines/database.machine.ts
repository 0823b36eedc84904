import { assign, fromPromise, sendParent, setup } from 'xstate';
import { errorCatalogue } from '../src/errors.js';
import { retryDelay } from '../src/sync/decisions/backoff.js';
import { type Report, type SerializedError, serializeError } from './report.js';

export interface DatabaseMachineInput {
  /** Printable location of the database (no password), for log records. */
  target: string;
  /** The longest wait between attempts, the steady state while the database stays away (five minutes). */
  retryIntervalMs: number;
  /** The first wait after a loss or a failed first attempt; it doubles up to `retryIntervalMs`. */
  firstRetryMs: number;
  probeIntervalMs: number;
  /** A probe that gets no answer within this time counts as a loss (a silently dropped network never errors). */
  probeTimeoutMs: number;
}

export interface DatabaseContext extends DatabaseMachineInput {
  lastError: SerializedError | null;
  /** Failed connection attempts since the last time the database was ready. */
  failedAttempts: number;
  /** The wait before the next attempt, set on entering `lost` or on a failed attempt. */
  retryInMs: number;
}

export type DatabaseEvent =
  /** Any actor whose database call failed with EXH_DB_CONNECTION_LOST says so; the probe is the second witness. */
  | { type: 'database.failed'; error: SerializedError }
  /** Try now instead of at the end of the wait (operator action). */
  | { type: 'database.retry' };

/**
 * The database connection: connecting → ready → lost → waiting → connecting (docs/reliability.md, "Recovery"): the
 * first wait is short (`firstRetryMs`, then doubling) and settles on the five-minute `retryIntervalMs`.
 * The parent (supervisor) hears `database.ready` and `database.lost` and starts or stops the mailboxes.
 */
export const databaseMachine = setup({
  types: {
    input: {} as DatabaseMachineInput,
    context: {} as DatabaseContext,
    events: {} as DatabaseEvent,
  },
  actors: {
    connect: fromPromise<void>(async () => {
      throw new Error('database actor "connect" not provided');
    }),
    probe: fromPromise<void>(async () => {
      throw new Error('database actor "probe" not provided');
    }),
    disconnect: fromPromise<void>(async () => {}),
  },
  delays: {
    retryInterval: ({ context }) => context.retryInMs,
    probeInterval: ({ context }) => context.probeIntervalMs,
    probeTimeout: ({ context }) => context.probeTimeoutMs,
  },
  actions: {
    report: (_, _params: Report) => {},
    notifyReady: sendParent({ type: 'database.ready' }),
    notifyLost: sendParent({ type: 'database.lost' }),
    recordError: assign({ lastError: (_, params: { error: unknown }) => serializeError(params.error) }),
  },
}).createMachine({
  id: 'database',
  context: ({ input }) => ({ ...input, lastError: null, failedAttempts: 0, retryInMs: input.firstRetryMs }),
  initial: 'connecting',
  states: {
    connecting: {
      entry: {
        type: 'report',
        params: ({ context }) => ({
          category: 'A',
          event: 'database.connecting',
          message: `Connecting to the database at ${context.target}`,
          target: context.target,
          attempt: context.failedAttempts + 1,
        }),
      },
      invoke: {
        src: 'connect',
        onDone: { target: 'ready' },
        onError: {
          target: 'waiting',
          actions: [
            { type: 'recordError', params: ({ event }) => ({ error: event.error }) },
            assign(({ context }) => ({
              failedAttempts: context.failedAttempts + 1,
              // After a loss the first wait was firstRetryMs (attempt 1); each failed attempt doubles it.
              retryInMs: retryDelay(context.failedAttempts + 2, schedule(context)),
            })),
            {
              type: 'report',
              params: ({ context }) => ({
                category: 'E',
                event: 'database.unreachable',
                message: `${context.lastError?.message ?? 'Cannot connect to the database'}; next attempt in ${seconds(context.retryInMs)}`,
                target: context.target,
                retryInMs: context.retryInMs,
                error: context.lastError,
                attempt: context.failedAttempts,
              }),
            },
          ],
        },
      },
    },
    ready: {
      entry: [
        assign({ lastError: null, failedAttempts: 0 }),
        {
          type: 'report',
          params: ({ context }) => ({
            category: 'A',
            event: 'database.ready',
            message: `Connected to the database at ${context.target}`,
            target: context.target,
          }),
        },
        'notifyReady',
      ],
      on: {
        'database.failed': {
          target: 'lost',
          actions: { type: 'recordError', params: ({ event }) => ({ error: event.error }) },
        },
      },
      initial: 'idle',
      states: {
        idle: { after: { probeInterval: 'probing' } },
        probing: {
          invoke: {
            src: 'probe',
            onDone: 'idle',
            onError: {
              target: '#database.lost',
              actions: { type: 'recordError', params: ({ event }) => ({ error: event.error }) },
            },
          },
          after: {
            probeTimeout: {
              target: '#database.lost',
              actions: assign({
                lastError: ({ context }) => ({
                  code: 'EXH_DB_CONNECTION_LOST',
                  message: `The database at ${context.target} did not answer a probe within ${context.probeTimeoutMs / 1000} s`,
                  retryable: errorCatalogue.EXH_DB_CONNECTION_LOST.retryable,
                }),
              }),
            },
          },
        },
      },
    },
    lost: {
      entry: [
        assign(({ context }) => ({ retryInMs: retryDelay(1, schedule(context)) })),
        {
          type: 'report',
          params: ({ context }) => ({
            category: 'E',
            event: 'database.lost',
            message: `${context.lastError?.message ?? 'Lost the database connection'}; mailboxes stopped, next attempt in ${seconds(context.retryInMs)}`,
            target: context.target,
            retryInMs: context.retryInMs,
            error: context.lastError,
          }),
        },
        'notifyLost',
      ],
      // Release the broken pool before waiting, so the next attempt starts clean; a failure to close changes nothing.
      invoke: { src: 'disconnect', onDone: 'waiting', onError: 'waiting' },
    },
    waiting: {
      after: { retryInterval: 'connecting' },
      on: { 'database.retry': 'connecting' },
    },
  },
});

const schedule = (context: DatabaseContext) => ({ firstMs: context.firstRetryMs, maxMs: context.retryIntervalMs });

function seconds(ms: number): string {
  return ms % 60_000 === 0 ? `${ms / 60_000} min` : `${Math.round(ms / 1000)} s`;
}
