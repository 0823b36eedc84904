import { outboxRowsPerUser } from '../../db/outbox.js';
import { describe, isDatabaseGone, isExhError } from '../../errors.js';
import { byQueue, drainQueue, type OutboxDeps, type OutboxRow, queueOf } from './outbox.js';

/** The clock the workers poll by; tests pass their own and tick it by hand (STYLE 13). */
export interface OutboxTimers {
  setInterval(tick: () => void, ms: number): unknown;
  clearInterval(handle: unknown): void;
}

export interface OutboxWorkersDeps extends OutboxDeps {
  /** How often pending rows are looked for (the fallback where the database cannot notify, and for waiting rows). */
  pollMs: number;
  /** The database went away under a look or a worker (isDatabaseGone): its machine's business, not the outbox's. */
  onDatabaseGone: (error: unknown) => void;
  timers?: OutboxTimers;
  /**
   * Other instances drain the same outbox (a cluster, docs/scale-out.md): a user's rows may have been tried by the
   * instance that held its lease before, so no row is taken for a first attempt (every create looks for the item an
   * earlier attempt may have made: one more Exchange request per create).
   */
  sharedOutbox?: boolean;
}

export interface OutboxWorkers {
  /** Polls, watches for the database's notifications and looks once at once. */
  start(): void;
  /** Cuts the workers short (their rows stay pending, applied again at the next start) and stops polling. */
  stop(): void;
  /**
   * Reads the outbox and starts a worker for each user whose rows are pending and who has none running. A look asked
   * for while one reads runs once more after it (any number of asks, one more look); a notification's user is not
   * needed: one look reads every queue.
   */
  look(): Promise<void>;
  /** Resolves when no look reads and no worker runs (the test's way to wait without a clock). */
  idle(): Promise<void>;
  /**
   * Resolves when no worker runs for any of these users (a row in flight written and its outcome recorded, or
   * refused): in a cluster, their leases are released only then, so the next holder does not apply again a row this
   * instance still writes (docs/scale-out.md, "Leases"). Their workers stop before their next row or write, as the lease check (OutboxDeps.lease) says.
   */
  settled(users: readonly string[]): Promise<void>;
  /** Those of these users whose worker runs now. */
  busy(users: readonly string[]): string[];
}

/** Rows read per look at the outbox (at most outboxRowsPerUser of them per user). */
const readLimit = 500;

const systemTimers: OutboxTimers = {
  setInterval: (tick, ms) => setInterval(tick, ms),
  clearInterval: (handle) => clearInterval(handle as ReturnType<typeof setInterval>),
};

/**
 * The outbox drain's scheduler (database → Exchange): each user's rows are drained by a worker of their own, in order
 * (drainQueue); a look at the outbox starts workers for the users that have none running, so an exh_sync_item that
 * takes an hour holds up only its own user's later rows, and a row being applied is never picked up twice. Woken by
 * the database's notification where it has one (PostgreSQL NOTIFY from exh_to_exh_*), and by polling.
 */
export function createOutboxWorkers(deps: OutboxWorkersDeps): OutboxWorkers {
  const controller = new AbortController();
  const log = deps.logger.child({ actor: 'outbox' });
  const timers = deps.timers ?? systemTimers;
  const { pollMs, onDatabaseGone, timers: _clock, sharedOutbox, ...drainDeps } = deps;
  const workers = new Map<string, Promise<void>>();
  let reading: Promise<void> | undefined;
  let again = false;
  let timer: unknown;
  // Which rows no earlier attempt can have reached Exchange with (drainQueue's firstAttempt). A row a stopped
  // connector was applying stays its user's first pending row, so a look that reads fewer than readLimit rows sees
  // every such row (each user's first rows come first): rows with a greater id than all it saw were never tried by
  // an earlier connector (one connector drains an outbox). Each user's rows are tried in order, so a row is tried
  // again here only if its id is the last one tried for its user.
  let seenAtStart: bigint | undefined;
  const lastTried = new Map<string, bigint>();
  const firstAttempt = (entry: OutboxRow) => {
    const id = BigInt(entry.id);
    const first =
      !sharedOutbox &&
      seenAtStart !== undefined &&
      entry.attempts === 0 &&
      id > seenAtStart &&
      id > (lastTried.get(queueOf(entry)) ?? 0n);
    lastTried.set(queueOf(entry), id);
    return first;
  };
  let unwatch: (() => Promise<void>) | undefined;

  const failed = (error: unknown) => {
    if (controller.signal.aborted) return;
    if (isDatabaseGone(error)) onDatabaseGone(error);
    // The user's lease went to another instance while its rows were written: that one applies them again (a create
    // finds what this one made); nothing was recorded here.
    else if (isExhError(error, 'EXH_CLUSTER_LEASE_LOST')) log.warn({ err: error }, describe(error));
    else log.error({ err: error }, `Draining the outbox failed: ${describe(error)}`);
  };

  const read = async () => {
    try {
      const pending = await deps.db.readOutbox(readLimit);
      if (seenAtStart === undefined && pending.length < readLimit) {
        seenAtStart = pending.reduce((most, row) => (BigInt(row.id) > most ? BigInt(row.id) : most), 0n);
      }
      const queues = byQueue(pending);
      for (const [queue, rows] of queues) {
        if (workers.has(queue)) continue;
        const worker = drainQueue(drainDeps, rows, { signal: controller.signal, firstAttempt }).then((outcome) => {
          if (outcome.done + outcome.failed > 0) log.debug({ queue, ...outcome }, 'Outbox rows applied');
          // More of this user's rows may be waiting behind the ones read: look again at once.
          if (outcome.waiting === 0 && rows.length >= outboxRowsPerUser) void look();
        }, failed);
        workers.set(queue, worker);
        void worker.finally(() => workers.delete(queue));
      }
    } catch (error) {
      failed(error);
    }
  };

  const look = async (): Promise<void> => {
    if (controller.signal.aborted) return;
    if (reading) {
      again = true;
      return;
    }
    reading = read();
    await reading;
    reading = undefined;
    if (again) {
      again = false;
      void look();
    }
  };

  return {
    look,
    start() {
      timer = timers.setInterval(() => void look(), pollMs);
      deps.db
        .watchOutbox?.(
          () => void look(),
          (error) =>
            log.warn(
              { err: error },
              `Outbox notifications stopped, polling every ${pollMs} ms only: ${describe(error)}`,
            ),
        )
        .then(
          (stop) => {
            if (controller.signal.aborted) void stop().catch(() => {});
            else unwatch = stop;
          },
          (error: unknown) =>
            log.warn({ err: error }, `Outbox notifications unavailable, polling only: ${describe(error)}`),
        );
      void look();
    },
    stop() {
      controller.abort();
      if (timer !== undefined) timers.clearInterval(timer);
      void unwatch?.().catch(() => {});
    },
    async idle() {
      while (reading || workers.size > 0) await Promise.allSettled([reading, ...workers.values()]);
    },
    busy: (users) => users.filter((user) => workers.has(user.toLowerCase())),
    async settled(users) {
      const queues = users.map((user) => user.toLowerCase());
      const running = () => queues.flatMap((queue) => workers.get(queue) ?? []);
      for (let left = running(); left.length > 0; left = running()) await Promise.allSettled(left);
    },
  };
}
