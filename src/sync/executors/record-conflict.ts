import type { ExhLogger } from '../../logging/logger.js';
import type { DatabasePort, ItemTypeName } from '../../ports/database.port.js';
import type { ConflictRule, Side } from '../decisions/conflicts.js';

/** The code of a conflict in exh_log and in the log record (docs/reliability.md, "Conflicts"). */
export const conflictCode = 'EXH_SYNC_CONFLICT';

export interface ConflictRecord {
  user: string;
  itemType: ItemTypeName;
  itemId: string;
  winner: Side;
  /** `rule`: sync.conflicts decided; `deletion`: a deletion wins whatever the rule. */
  by: 'rule' | 'deletion';
  rule: ConflictRule;
}

/**
 * A decided conflict, written where the application and an operator see it: a row in exh_log and a W record whose
 * `conflict` field the metrics count (exh_conflicts_total{item_type, winner}). Names the item and the winner, never a
 * value of the item (subjects and bodies are the users' own).
 */
export async function recordConflict(
  deps: { db: DatabasePort; logger: ExhLogger },
  conflict: ConflictRecord,
): Promise<void> {
  const { user, itemType, itemId, winner, by, rule } = conflict;
  const loser = winner === 'exchange' ? 'the application' : 'Exchange';
  const why = by === 'deletion' ? 'a deletion wins under every rule' : `sync.conflicts is ${rule}`;
  const message =
    `${itemType} ${itemId} was changed in Exchange and in the application between two synchronisations: ` +
    `${winner === 'exchange' ? 'Exchange' : 'the application'} won (${why}); the change made in ${loser} was not applied.`;
  deps.logger
    .child({ actor: 'conflicts', user, itemType })
    .warn({ code: conflictCode, itemId, conflict: { itemType, winner, by } }, `Conflict: ${message}`);
  await deps.db.logError({ user, itemType, code: conflictCode, message });
}
