import { randomUUID } from 'node:crypto';
import { describe, isExhError } from '../errors.js';
import type { ExhLogger } from '../logging/logger.js';
import type { DatabasePort, OutboxEntry, OutboxOutcome } from '../ports/database.port.js';
import type { CallOptions, MailboxWriter } from '../ports/exchange.port.js';

export interface OutboxDeps {
  db: DatabasePort;
  /** The mailbox's writer when its mailbox is connected; undefined while it is not (its rows wait). */
  writerOf: (user: string) => MailboxWriter | undefined;
  logger: ExhLogger;
}

export interface DrainOutcome {
  done: number;
  failed: number;
  /** Rows left pending: their mailbox is not connected yet, Exchange could not be reached, or an earlier row waits. */
  waiting: number;
}

/**
 * Drains pending outbox rows (database → Exchange): per user in order (a user's second change never overtakes the
 * first), users side by side (the Exchange pool bounds the traffic). A row that cannot be applied now (mailbox not
 * connected, Exchange unreachable) stays pending and holds back that user's later rows; a row Exchange refuses (not
 * the organizer, invalid data) is marked failed with its message, visible to the application, and the next goes on.
 */
export async function drainOutbox(
  deps: OutboxDeps,
  options: { limit: number; signal: AbortSignal },
): Promise<DrainOutcome> {
  const entries = await deps.db.readOutbox(options.limit);
  const byUser = new Map<string, OutboxEntry[]>();
  for (const entry of entries) byUser.set(entry.user, [...(byUser.get(entry.user) ?? []), entry]);
  const outcome: DrainOutcome = { done: 0, failed: 0, waiting: 0 };
  await Promise.all(
    [...byUser].map(async ([user, queue]) => {
      const writer = deps.writerOf(user);
      for (const [index, entry] of queue.entries()) {
        if (!writer || options.signal.aborted) {
          outcome.waiting += queue.length - index;
          return;
        }
        const result = await applyItemChange(
          deps,
          writer,
          { ...entry, id: `Outbox row ${entry.id}` },
          {
            signal: options.signal,
            priority: 'live',
          },
        );
        await deps.db.completeOutbox(entry.id, result);
        if (result.exitCode === 0) outcome.done += 1;
        else if (result.exitCode === 522) {
          outcome.waiting += queue.length - index;
          return;
        } else outcome.failed += 1;
      }
    }),
  );
  return outcome;
}

/** One change from the application, from the outbox or straight from a sender on the database listener. */
export type ItemChangeRequest = Pick<OutboxEntry, 'user' | 'itemType' | 'action' | 'fields' | 'attempts'> & {
  /** For log records: the outbox row, or the sender's address. */
  id: string;
};

export async function applyItemChange(
  deps: Pick<OutboxDeps, 'db' | 'logger'>,
  writer: MailboxWriter,
  entry: ItemChangeRequest,
  call: CallOptions,
): Promise<OutboxOutcome> {
  const log = deps.logger.child({ actor: 'outbox', user: entry.user, itemType: entry.itemType });
  const appItemId = typeof entry.fields.app_item_id === 'string' ? entry.fields.app_item_id : null;
  try {
    const itemId = await resolveItemId(writer, entry, appItemId, call);
    if (entry.action === 'add') {
      // A create retried after a crash between Exchange and the outbox must not make a second item.
      const existing =
        entry.attempts > 0 && appItemId ? await writer.findByAppItemId(entry.itemType, appItemId, call) : null;
      if (existing) return ok(existing);
      if (!appItemId) return refused('exh_app_item_id is required to add an item');
      // A meeting's UID is linked to the application's id before the invitations go out (attendees' copies).
      const uid = entry.itemType === 'calendar' ? `exh-${randomUUID()}` : undefined;
      if (uid) await deps.db.rememberMeetings([{ uid, appItemId }]);
      const created = await writer.createItem(
        { itemType: entry.itemType, fields: entry.fields, appItemId, ...(uid ? { uid } : {}) },
        call,
      );
      log.action({ itemId: created.itemId, appItemId }, `Created ${entry.itemType} ${appItemId} in Exchange`);
      return ok(created.itemId);
    }
    if (!itemId) return refused(`no Exchange item for exh_app_item_id ${appItemId ?? '(none)'} of ${entry.user}`);
    if (entry.action === 'chg') {
      const updated = await writer.updateItem(itemId, { itemType: entry.itemType, fields: entry.fields }, call);
      log.action({ itemId }, `Changed ${entry.itemType} ${itemId} in Exchange`);
      return ok(updated.itemId);
    }
    await writer.deleteItem(itemId, call);
    log.action({ itemId }, `Deleted ${entry.itemType} ${itemId} in Exchange`);
    return ok(itemId);
  } catch (error) {
    // The database going away is everyone's problem, not this row's: let the caller's machine handle it.
    if (isExhError(error) && error.code.startsWith('EXH_DB_')) throw error;
    const retry = (error as { retryable?: unknown } | null)?.retryable === true;
    log[retry ? 'warn' : 'error'](
      { err: error },
      `Outbox row ${entry.id} (${entry.action} ${entry.itemType}): ${describe(error)}`,
    );
    // 522: the seed's "connecting to Exchange failed"; the row stays pending and is tried again.
    return { exitCode: retry ? 522 : 1, outputValue: null, errorMessage: describe(error) };
  }
}

async function resolveItemId(
  writer: MailboxWriter,
  entry: ItemChangeRequest,
  appItemId: string | null,
  call: CallOptions,
): Promise<string | null> {
  if (entry.action === 'add') return null;
  if (typeof entry.fields.item_id === 'string' && entry.fields.item_id !== '') return entry.fields.item_id;
  return appItemId ? writer.findByAppItemId(entry.itemType, appItemId, call) : null;
}

const ok = (itemId: string): OutboxOutcome => ({ exitCode: 0, outputValue: itemId, errorMessage: null });
const refused = (message: string): OutboxOutcome => ({ exitCode: 1, outputValue: null, errorMessage: message });
