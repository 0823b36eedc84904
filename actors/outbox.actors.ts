import { fromCallback } from 'xstate';
import { serializeError } from '../machines/report.js';
import type { SupervisorEvent } from '../machines/supervisor.machine.js';
import { outboxRowsPerUser } from '../src/db/outbox.js';
import { describe, isExhError } from '../src/errors.js';
import type { ExhLogger } from '../src/logging/logger.js';
import type { Connections } from '../src/mailbox/connections.js';
import type { ControlPort } from '../src/ports/control.port.js';
import type { DatabasePort } from '../src/ports/database.port.js';
import { byQueue, type ConflictSettings, drainQueue } from '../src/sync/executors/outbox.js';

export interface OutboxDeps {
  db: DatabasePort;
  connections: Connections;
  control: ControlPort;
  logger: ExhLogger;
  /** Whether exh_get_users returns the user (rows of other users fail with a message saying so). */
  isRegistered: (user: string) => boolean;
  /** How often pending rows are looked for (the fallback where the database cannot notify, and for waiting rows). */
  pollMs: number;
  /** Largest attachment an exh_get_attachment row may fetch. */
  maxAttachmentBytes: number;
  /** sync.conflicts and the sync's lock (src/sync/executors/outbox.ts). */
  conflicts?: ConflictSettings;
}

/** Rows read per look at the outbox (at most outboxRowsPerUser of them per user). */
const readLimit = 500;

/**
 * The outbox drain (database → Exchange) as a long-lived callback actor in the supervisor's `running` state: it lives
 * while the database does. Woken by the database's notification where it has one (PostgreSQL NOTIFY from
 * exh_to_exh_*), and by polling. Each user's rows are drained by a worker of their own, in order; a look at the
 * outbox starts workers for the users that have none running, so an exh_sync_item that takes an hour holds up only
 * its own user's later rows, and a row being applied is never picked up twice. A lost database is reported to the
 * database machine.
 */
export function createOutboxActor(deps: OutboxDeps) {
  return fromCallback<SupervisorEvent>(({ system }) => {
    const controller = new AbortController();
    const log = deps.logger.child({ actor: 'outbox' });
    const drainDeps = {
      db: deps.db,
      logger: deps.logger,
      control: deps.control,
      isRegistered: deps.isRegistered,
      maxAttachmentBytes: deps.maxAttachmentBytes,
      writerOf: (user: string) => deps.connections.writer(user),
      conflicts: deps.conflicts,
    };
    const workers = new Map<string, Promise<void>>();
    let reading = false;
    let again = false;
    const failed = (error: unknown) => {
      if (controller.signal.aborted) return;
      if (isExhError(error, 'EXH_DB_CONNECTION_LOST') || isExhError(error, 'EXH_DB_UNREACHABLE')) {
        system.get('database')?.send({ type: 'database.failed', error: serializeError(error) });
      } else {
        log.error({ err: error }, `Draining the outbox failed: ${describe(error)}`);
      }
    };
    const look = async () => {
      if (controller.signal.aborted) return;
      if (reading) {
        again = true;
        return;
      }
      reading = true;
      try {
        const queues = byQueue(await deps.db.readOutbox(readLimit));
        for (const [queue, rows] of queues) {
          if (workers.has(queue)) continue;
          const worker = drainQueue(drainDeps, rows, { signal: controller.signal }).then((outcome) => {
            if (outcome.done + outcome.failed > 0) log.debug({ queue, ...outcome }, 'Outbox rows applied');
            // More of this user's rows may be waiting behind the ones read: look again at once.
            if (outcome.waiting === 0 && rows.length >= outboxRowsPerUser) void look();
          }, failed);
          workers.set(queue, worker);
          void worker.finally(() => workers.delete(queue));
        }
      } catch (error) {
        failed(error);
      } finally {
        reading = false;
        if (again) {
          again = false;
          void look();
        }
      }
    };
    const timer = setInterval(() => void look(), deps.pollMs);
    let unwatch: (() => Promise<void>) | undefined;
    deps.db
      .watchOutbox?.(
        () => void look(),
        (error) =>
          log.warn(
            { err: error },
            `Outbox notifications stopped, polling every ${deps.pollMs} ms only: ${describe(error)}`,
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
    return () => {
      controller.abort();
      clearInterval(timer);
      void unwatch?.().catch(() => {});
    };
  });
}
