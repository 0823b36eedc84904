import { fromCallback } from 'xstate';
import { serializeError } from '../machines/report.js';
import type { SupervisorEvent } from '../machines/supervisor.machine.js';
import { isExhError } from '../src/errors.js';
import type { ExhLogger } from '../src/logging/logger.js';
import type { DatabasePort } from '../src/ports/database.port.js';
import { drainOutbox } from '../src/sync/outbox.js';
import type { Connections } from './connections.js';

export interface OutboxDeps {
  db: DatabasePort;
  connections: Connections;
  logger: ExhLogger;
  /** How often pending rows are looked for. */
  pollMs: number;
}

/**
 * The outbox drain (database → Exchange) as a long-lived callback actor in the supervisor's `running` state: it lives
 * while the database does. It polls; one drain at a time. A lost database is reported to the database machine.
 */
export function createOutboxActor(deps: OutboxDeps) {
  return fromCallback<SupervisorEvent>(({ system }) => {
    const controller = new AbortController();
    const log = deps.logger.child({ actor: 'outbox' });
    let running = false;
    const tick = async () => {
      if (running || controller.signal.aborted) return;
      running = true;
      try {
        const outcome = await drainOutbox(
          {
            db: deps.db,
            logger: deps.logger,
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
          log.error(
            { err: error },
            `Draining the outbox failed: ${error instanceof Error ? error.message : String(error)}`,
          );
        }
      } finally {
        running = false;
      }
    };
    const timer = setInterval(() => void tick(), deps.pollMs);
    void tick();
    return () => {
      controller.abort();
      clearInterval(timer);
    };
  });
}
