import type { OutboxOutcome } from '../ports/database.port.js';

/**
 * The outbox row's state after the connector reports an outcome (docs/database.md, "The outbox"): 0 done; 521
 * (connector offline) and 522 (connecting to Exchange failed) stay pending for another attempt; anything else failed,
 * visible to the application and replayable by setting exh_state back to 'pending'.
 */
export type OutboxState = 'pending' | 'done' | 'failed';

export const retryExitCodes: readonly number[] = [521, 522];

export function outboxState(outcome: OutboxOutcome): OutboxState {
  if (outcome.exitCode === 0) return 'done';
  return retryExitCodes.includes(outcome.exitCode) ? 'pending' : 'failed';
}

/** Outbox kinds that readOutbox hands out: item changes. The seed's commands wait for the connector's command handling. */
export const itemOutboxActions = ['add', 'chg', 'del'] as const;
