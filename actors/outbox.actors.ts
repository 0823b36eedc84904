import { fromCallback } from 'xstate';
import { serializeError } from '../machines/report.js';
import type { SupervisorEvent } from '../machines/supervisor.machine.js';
import type { ExhLogger } from '../src/logging/logger.js';
import type { Connections } from '../src/mailbox/connections.js';
import type { ControlPort } from '../src/ports/control.port.js';
import type { DatabasePort } from '../src/ports/database.port.js';
import type { ConflictSettings, LeaseCheck } from '../src/sync/executors/outbox.js';
import { createOutboxWorkers, type OutboxWorkers } from '../src/sync/executors/outbox-workers.js';

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
  /** Several instances drain this outbox (src/sync/executors/outbox-workers.ts, sharedOutbox). */
  sharedOutbox?: boolean;
  /**
   * In a cluster: whether this instance may still write the user's mailbox, asked before each row and right before
   * each write to Exchange (src/sync/executors/outbox.ts, LeaseCheck).
   */
  lease?: LeaseCheck | undefined;
  /**
   * In a cluster: told the running workers when the actor starts and undefined when it stops, so that a lease is
   * released only once its user's row in flight is settled (actors/membership.actors.ts, settleOutbox).
   */
  expose?: (workers: OutboxWorkers | undefined) => void;
}

/**
 * The outbox drain (database → Exchange) as a long-lived callback actor in the supervisor's `running` state: it lives
 * while the database does. The scheduling (one worker per user, polling, the database's notifications) is
 * src/sync/executors/outbox-workers.ts; a lost database is reported to the database machine.
 */
export function createOutboxActor(deps: OutboxDeps) {
  return fromCallback<SupervisorEvent>(({ system }) => {
    const workers = createOutboxWorkers({
      db: deps.db,
      logger: deps.logger,
      control: deps.control,
      isRegistered: deps.isRegistered,
      maxAttachmentBytes: deps.maxAttachmentBytes,
      writerOf: (user: string) => deps.connections.writer(user),
      conflicts: deps.conflicts,
      pollMs: deps.pollMs,
      sharedOutbox: deps.sharedOutbox === true,
      lease: deps.lease,
      onDatabaseGone: (error) =>
        system.get('database')?.send({ type: 'database.failed', error: serializeError(error) }),
    });
    workers.start();
    deps.expose?.(workers);
    return () => {
      deps.expose?.(undefined);
      workers.stop();
    };
  });
}
