import { describe } from '../errors.js';
import type { ItemTypeDefinition } from '../items/definition.js';
import type {
  ItemRanges,
  OutboxCommandAction,
  OutboxCommandEntry,
  OutboxEntry,
  OutboxOutcome,
} from '../ports/database.port.js';
import { decodeFields, fromDatabaseValue } from './field-values.js';

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

export const itemOutboxActions = ['add', 'chg', 'del'] as const;
export const commandOutboxActions: readonly OutboxCommandAction[] = ['sync_users', 'sync_item', 'get_attachment'];

/** An exh_outbox row as any driver returns it (column names in any case; DB2 folds them to upper case). */
export type RawOutboxRow = Record<string, unknown>;

/**
 * One pending exh_outbox row → what readOutbox hands out, the same for every adapter. A row the connector cannot read
 * (unknown item type, payload not JSON, a value of the wrong kind) comes out as an `invalid` entry, which the drain
 * records as failed with the problem: one bad row never stops the outbox.
 */
export function outboxEntryFromRow(
  raw: RawOutboxRow,
  types: readonly ItemTypeDefinition[],
): OutboxEntry | OutboxCommandEntry {
  const row = Object.fromEntries(Object.entries(raw).map(([k, v]) => [k.toLowerCase(), v]));
  const id = String(row.id).trim();
  const attempts = Number(row.exh_attempts);
  const user = row.exh_user === null || row.exh_user === undefined ? null : String(row.exh_user);
  try {
    return readRow(row, id, attempts, user, types);
  } catch (error) {
    return {
      id,
      user,
      itemType: null,
      action: 'invalid',
      parameters: { problem: `outbox row ${id} cannot be read: ${describe(error)}` },
      createdAt: new Date(),
      attempts,
    };
  }
}

function readRow(
  row: Record<string, unknown>,
  id: string,
  attempts: number,
  user: string | null,
  types: readonly ItemTypeDefinition[],
): OutboxEntry | OutboxCommandEntry {
  const createdAt = fromDatabaseValue('timestamp', row.exh_created) as Date;
  const action = String(row.exh_action);
  const definition = types.find((t) => t.name === row.exh_item_type);
  const payload = String(row.exh_payload);
  if ((commandOutboxActions as readonly string[]).includes(action)) {
    return {
      id,
      user,
      itemType: definition?.name ?? null,
      action: action as OutboxCommandAction,
      parameters: JSON.parse(payload) as Record<string, unknown>,
      createdAt,
      attempts,
    };
  }
  if (!definition)
    throw new Error(`its item type ${JSON.stringify(row.exh_item_type)} is not one this connector knows`);
  if (!(itemOutboxActions as readonly string[]).includes(action)) throw new Error(`unknown action ${action}`);
  if (user === null) throw new Error('it has no exh_user');
  return {
    id,
    user,
    itemType: definition.name,
    action: action as OutboxEntry['action'],
    fields: decodeFields(definition, payload),
    createdAt,
    attempts,
  };
}

/**
 * Rows readOutbox hands out per user at most: one user with thousands of waiting rows (a mailbox that cannot connect)
 * must not fill every read and starve the others. Every dialect counts with ROW_NUMBER() over the user (case-blind)
 * and reads in that rank's order, so every user with pending rows gets their first row into even a small read.
 */
export const outboxRowsPerUser = 20;

/** The outbox kinds readOutbox asks for, as an SQL list: every adapter reads items and commands alike. */
export const outboxActionList = [...itemOutboxActions, ...commandOutboxActions].map((a) => `'${a}'`).join(', ');

/** exh_get_item_{type}'s eight range parameters, in the procedures' order (exh_created_from ... exh_start_until). */
export function rangeParameters(ranges: ItemRanges): Array<{ name: string; value: Date | null }> {
  return (['created', 'modified', 'received', 'start'] as const).flatMap((range) => [
    { name: `exh_${range}_from`, value: ranges[range]?.from ?? null },
    { name: `exh_${range}_until`, value: ranges[range]?.until ?? null },
  ]);
}
