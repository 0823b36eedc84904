import { type DatabasePort, isOutboxItem, type OutboxEntry } from '../ports/database.port.js';
import type { Metrics } from './metrics.js';
import { timed } from './timed.js';

/**
 * The DatabasePort with metrics, for the composition root: every call timed by operation and outcome; items counted
 * when a page of Exchange changes commits (exchange_to_db) and when an outbox row is completed with exit code 0
 * (db_to_exchange). The adapter below is untouched, and so is every caller: a Proxy passes anything it does not know.
 */
export function instrumentDatabase(db: DatabasePort, metrics: Metrics): DatabasePort {
  // Rows read from the outbox, until completed: completeOutbox only names the id.
  const outbox = new Map<string, Pick<OutboxEntry, 'itemType' | 'action'>>();
  const observe: Partial<Record<keyof DatabasePort, (args: unknown[], result: unknown) => void>> = {
    applyChanges: (args) => {
      const [batch] = args as Parameters<DatabasePort['applyChanges']>;
      for (const change of batch.changes) metrics.itemsApplied(batch.itemType, 'exchange_to_db', change.action);
      metrics.committed(batch.user, batch.itemType);
    },
    readOutbox: (_args, result) => {
      // Command rows (sync_item, get_attachment) are work, not items.
      for (const entry of result as Awaited<ReturnType<DatabasePort['readOutbox']>>) {
        if (isOutboxItem(entry)) outbox.set(entry.id, { itemType: entry.itemType, action: entry.action });
      }
    },
    completeOutbox: (args) => {
      const [id, outcome] = args as Parameters<DatabasePort['completeOutbox']>;
      const entry = outbox.get(id);
      outbox.delete(id);
      if (entry && outcome.exitCode === 0) metrics.itemsApplied(entry.itemType, 'db_to_exchange', entry.action);
    },
  };
  return timed(
    db,
    (operation, outcome, seconds) => metrics.databaseCallSeconds.observe({ operation, outcome }, seconds),
    (operation, args, result) => observe[operation as keyof DatabasePort]?.(args, result),
  );
}
