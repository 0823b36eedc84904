import { fromCallback } from 'xstate';
import { serializeError } from '../machines/report.js';
import type { SupervisorEvent } from '../machines/supervisor.machine.js';
import { describe, isExhError } from '../src/errors.js';
import type { ExhLogger } from '../src/logging/logger.js';
import type { ControlPort } from '../src/ports/control.port.js';
import type { DatabasePort } from '../src/ports/database.port.js';
import { drainOutbox } from '../src/sync/outbox.js';
import type { Connections } from './connections.js';

export interface OutboxDeps {
  db: DatabasePort;
  connections: Connections;
  control: ControlPort;
  logger: ExhLogger;
  /** How often pending rows are looked for (the fallback where the database cannot notify, and for waiting rows). */
  pollMs: number;
  /** Largest attachment an exh_get_attachment row may fetch. */
  maxAttachmentBytes: number;
}

/**
 * The outbox drain (database → Exchange) as a long-lived callback actor in the supervisor's `running` state: it lives
 * while the database does. Woken by the database's notification where it has one (PostgreSQL NOTIFY from
 * exh_to_exh_*), and by polling. One drain at a time; a wake-up during a drain runs another one after it. A lost
 * database is reported to the database machine.
 */
export function createOutboxActor(deps: OutboxDeps) {
  return fromCallback<SupervisorEvent>(({ system }) => {
    const controller = new AbortController();
    const log = deps.logger.child({ actor: 'outbox' });
    let running = false;
    let again = false;
    const tick = async () => {
      if (controller.signal.aborted) return;
      if (running) {
        again = true;
        return;
      }
      running = true;
      try {
        const outcome = await drainOutbox(
          {
            db: deps.db,
            logger: deps.logger,
            control: deps.control,
            maxAttachmentBytes: deps.maxAttachmentBytes,
            writerOf: (user) => deps.connections.writer(user),
          },
          { limit: 200, signal: controller.signal },
        );
        if (outcome.done + outcome.failed > 0) log.debug(outcome, 'Outbox drained');
      } catch (error) {
        if (controller.signal.aborted) return;
        if (isExhError(error, 'EXH_DB_CONNECTION_LOST')) {
          system.get('database')?.send({ type: 'database.failed', error: serializeError(error) });
        } else if (!isExhError(error, 'EXH_DB_BASE_PROJECT_MISSING')) {
          log.error({ err: error }, `Draining the outbox failed: ${describe(error)}`);
        }
      } finally {
        running = false;
        if (again) {
          again = false;
          void tick();
        }
      }
    };
    const timer = setInterval(() => void tick(), deps.pollMs);
    let unwatch: (() => Promise<void>) | undefined;
    deps.db
      .watchOutbox?.(() => void tick())
      .then(
        (stop) => {
          if (controller.signal.aborted) void stop().catch(() => {});
          else unwatch = stop;
        },
        (error: unknown) =>
          log.warn({ err: error }, `Outbox notifications unavailable, polling only: ${describe(error)}`),
      );
    void tick();
    return () => {
      controller.abort();
      clearInterval(timer);
      void unwatch?.().catch(() => {});
    };
  });
}
