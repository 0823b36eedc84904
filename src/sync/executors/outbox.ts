import { randomUUID } from 'node:crypto';
import { parseTimestamp } from '../../db/field-values.js';
import { describe, errors, isDatabaseGone, isExhError } from '../../errors.js';
import { type FolderDefinition, itemType } from '../../items/index.js';
import type { ExhLogger } from '../../logging/logger.js';
import { syncLockKey } from '../../mailbox/sync-locks.js';
import type { ControlPort, SyncItemsRequest } from '../../ports/control.port.js';
import {
  type DatabasePort,
  type FieldValue,
  type ItemTypeName,
  isOutboxItem,
  type OutboxCommandEntry,
  type OutboxEntry,
  type OutboxOutcome,
} from '../../ports/database.port.js';
import type { CallOptions, ExchangeItem, MailboxWriter, WriteResult } from '../../ports/exchange.port.js';
import { parseSyncItems } from '../../protocol/messages.js';
import { replyForError } from '../../protocol/replies.js';
import {
  type ConflictRule,
  decideConflict,
  holdsValues,
  intendedValues,
  pendingFor,
  versionOf,
} from '../decisions/conflicts.js';
import { updateEchoOwn } from '../decisions/echo.js';
import { mapItem, writeOf } from '../decisions/map-item.js';
import type { OwnWrites } from './own-writes.js';
import { recordConflict } from './record-conflict.js';

export interface OutboxDeps {
  db: DatabasePort;
  /** The mailbox's writer when its mailbox is connected; undefined while it is not (its rows wait). */
  writerOf: (user: string) => MailboxWriter | undefined;
  /** Whether exh_get_users returns the user: rows of users who are not are failed, not kept waiting forever. */
  isRegistered: (user: string) => boolean;
  /** exh_sync_users and exh_sync_item rows are carried out through it. */
  control: ControlPort;
  logger: ExhLogger;
  /** Largest attachment an exh_get_attachment row may fetch. */
  maxAttachmentBytes: number;
  /** The conflict rule and the sync's lock; without them a change overwrites what changed in Exchange meanwhile. */
  conflicts?: ConflictSettings | undefined;
  /**
   * In a cluster (docs/scale-out.md, "Leases"): whether this instance may still write the user's mailbox. Asked before
   * each row and again right before each write to Exchange: a drain that lost the user stops there, its rows left
   * pending for the new holder, rather than writing to Exchange what that one may be writing too. Absent: always.
   */
  lease?: LeaseCheck | undefined;
}

/** This instance's hold on users' mailboxes in a cluster (Membership.owns), and its id for the error that says so. */
export interface LeaseCheck {
  instanceId: string;
  /** Whether the lease taken at the last heartbeat is this instance's and has not ended by its own clock. */
  owns(user: string): boolean;
}

export interface DrainOutcome {
  done: number;
  failed: number;
  /** Rows left pending: their mailbox is not connected yet, Exchange could not be reached, or an earlier row waits. */
  waiting: number;
}

export type OutboxRow = OutboxEntry | OutboxCommandEntry;

/** The queue a row belongs to: its user, case-blind (exh_get_users reduces addresses the same way); '' for none. */
export const queueOf = (entry: OutboxRow) => (entry.user ?? '').toLowerCase();

/** Pending rows by queue, each in the order they were written. */
export function byQueue(entries: readonly OutboxRow[]): Map<string, OutboxRow[]> {
  const queues = new Map<string, OutboxRow[]>();
  for (const entry of entries) queues.set(queueOf(entry), [...(queues.get(queueOf(entry)) ?? []), entry]);
  return queues;
}

/**
 * Drains pending outbox rows once (database → Exchange): every user's queue side by side, each in order (see
 * drainQueue). The connector runs the queues as independent workers instead (./outbox-workers.ts: a long
 * exh_sync_item of one user never holds up another's changes); this one-shot form is for callers that want one pass.
 */
export async function drainOutbox(
  deps: OutboxDeps,
  options: { limit: number; signal: AbortSignal },
): Promise<DrainOutcome> {
  const queues = byQueue(await deps.db.readOutbox(options.limit));
  const outcome: DrainOutcome = { done: 0, failed: 0, waiting: 0 };
  const settled = await Promise.allSettled([...queues.values()].map((queue) => drainQueue(deps, queue, options)));
  for (const result of settled) {
    if (result.status === 'rejected') throw result.reason;
    outcome.done += result.value.done;
    outcome.failed += result.value.failed;
    outcome.waiting += result.value.waiting;
  }
  return outcome;
}

/**
 * One user's pending rows, in order (a user's second change never overtakes the first). A row that cannot be applied
 * now (mailbox not connected, Exchange or the database busy) stays pending and holds back the user's later rows; a
 * row Exchange refuses (not the organizer, invalid data), a row of a user exh_get_users does not know and a row the
 * connector cannot read are marked failed with their message, visible to the application, and the next goes on.
 * Command rows (exh_sync_users, exh_sync_item, exh_get_attachment) take their place in their user's order. Only a
 * lost database connection (the database machine's to handle) and, in a cluster, a lease that ended before a write
 * (EXH_CLUSTER_LEASE_LOST: the row stays pending for the instance that holds the lease now) are thrown.
 */
export async function drainQueue(
  deps: OutboxDeps,
  queue: readonly OutboxRow[],
  options: {
    signal: AbortSignal;
    /**
     * Asked once as each row is tried: true when no earlier attempt at it can have reached Exchange (the workers know:
     * ./outbox-workers.ts), so a create need not look for the item an earlier attempt made. Absent: always looks.
     */
    firstAttempt?: (entry: OutboxRow) => boolean;
  },
): Promise<DrainOutcome> {
  const outcome: DrainOutcome = { done: 0, failed: 0, waiting: 0 };
  const lock = new HeldLock(deps.conflicts);
  // Under the held lock, each row's write takes it no more (the hold is the row's exclusive section).
  const rowDeps: OutboxDeps = deps.conflicts
    ? { ...deps, conflicts: { ...deps.conflicts, exclusive: (_user, _itemType, work) => work() } }
    : deps;
  // A row's outcome is written while the next row is applied (one database round trip off each row's path), in
  // order, and always before the hold ends or anything else runs. A row written to Exchange whose outcome is then not
  // recorded (the database lost) is applied again at the next start, where no row is a first attempt: a create finds
  // the item it made (drainQueue's firstAttempt).
  let completing: Promise<void> = Promise.resolve();
  let lost: { error: unknown } | undefined;
  const settle = async () => {
    await completing;
    if (lost) throw lost.error;
  };
  try {
    for (const [index, entry] of queue.entries()) {
      if (lost) break;
      if (options.signal.aborted || (entry.user !== null && deps.lease && !deps.lease.owns(entry.user))) {
        outcome.waiting += queue.length - index;
        break;
      }
      // The user's consecutive changes of one item type are written under one hold of the sync's lock, released
      // before anything else (a command row's exh_sync_item takes the lock itself).
      if (isOutboxItem(entry) && entry.user !== null && deps.writerOf(entry.user)) {
        if (!lock.holds(entry.user, entry.itemType)) await settle();
        await lock.hold(entry.user, entry.itemType);
      } else {
        await settle();
        lock.release();
      }
      const result = await applyRow(rowDeps, entry, options.signal, options.firstAttempt?.(entry) ?? false);
      // A stop cut the row short: it stays pending, to be applied (idempotently) at the next start.
      if (!result || options.signal.aborted) {
        outcome.waiting += queue.length - index;
        break;
      }
      completing = completing
        .then(() => deps.db.completeOutbox(entry.id, result))
        .catch((error: unknown) => {
          lost ??= { error };
        });
      if (result.exitCode === 0) outcome.done += 1;
      else if (result.exitCode === 522 || result.exitCode === 521) {
        outcome.waiting += queue.length - index;
        break;
      } else outcome.failed += 1;
    }
    await settle();
  } finally {
    await completing;
    lock.release();
  }
  return outcome;
}

/**
 * The sync's lock (ConflictSettings.exclusive) held across one user's consecutive changes of an item type, rather than
 * taken and given back for each: every write's echo comes back as a notification and a sync, which took the lock
 * between two rows, so each row waited for the sync of the one before (a page of changes, the items read and a
 * transaction). Held, the sync runs once after the run of rows and brings all their echoes in one page. At most one
 * read's rows of the user (outboxRowsPerUser) are written under one hold, and a row is written whole and marked done
 * within it, so the sync never meets a write half done (docs/reliability.md, "Conflicts").
 */
class HeldLock {
  #key: string | undefined;
  #release: (() => void) | undefined;

  constructor(private readonly conflicts: ConflictSettings | undefined) {}

  holds(user: string, itemType: ItemTypeName): boolean {
    return this.#key === syncLockKey(user, itemType);
  }

  async hold(user: string, itemType: ItemTypeName): Promise<void> {
    const key = syncLockKey(user, itemType);
    if (this.#key === key) return;
    this.release();
    this.#key = key;
    if (!this.conflicts) return;
    const released = new Promise<void>((resolve) => {
      this.#release = resolve;
    });
    await new Promise<void>((acquired) => {
      void this.conflicts?.exclusive(user, itemType, () => {
        acquired();
        return released;
      });
    });
  }

  release(): void {
    this.#release?.();
    this.#release = undefined;
    this.#key = undefined;
  }
}

/** The outcome of one row, or undefined when it must wait (its mailbox is not connected now). */
async function applyRow(
  deps: OutboxDeps,
  entry: OutboxRow,
  signal: AbortSignal,
  firstAttempt: boolean,
): Promise<OutboxOutcome | undefined> {
  if (entry.action === 'invalid') {
    deps.logger.child({ actor: 'outbox' }).error(String(entry.parameters.problem));
    return { exitCode: 1, outputValue: null, errorMessage: String(entry.parameters.problem) };
  }
  if (entry.user !== null && !deps.isRegistered(entry.user) && entry.action !== 'sync_item') {
    const unknown = errors.mailboxUnknown(entry.user);
    deps.logger
      .child({ actor: 'outbox', user: entry.user })
      .error({ code: unknown.code }, `Outbox row ${entry.id} (${entry.action}) failed: ${unknown.message}`);
    return { exitCode: 1, outputValue: null, errorMessage: unknown.message };
  }
  const writer = entry.user === null ? undefined : deps.writerOf(entry.user);
  if ((isOutboxItem(entry) || entry.action === 'get_attachment') && !writer) return undefined;
  const call = { signal, priority: 'live' as const };
  return isOutboxItem(entry)
    ? applyItemChange(
        deps,
        writer as MailboxWriter,
        { ...entry, id: `Outbox row ${entry.id}`, outboxId: entry.id, firstAttempt },
        call,
      )
    : runCommand(deps, entry, writer, call);
}

/** A database error met while applying one row: thrown when the connection is gone, else the row's outcome. */
function databaseOutcome(error: unknown): OutboxOutcome | undefined {
  if (!isExhError(error) || !error.code.startsWith('EXH_DB_')) return undefined;
  // The connection is gone (isDatabaseGone): the database machine's business, not this row's.
  if (isDatabaseGone(error)) throw error;
  // Busy (a lock time-out) is tried again; a procedure that raises, or one that is missing, is the row's failure.
  return { exitCode: error.retryable ? 521 : 1, outputValue: null, errorMessage: error.message };
}

/** An exh_sync_users, exh_sync_item or exh_get_attachment row. */
async function runCommand(
  deps: OutboxDeps,
  entry: OutboxCommandEntry,
  writer: MailboxWriter | undefined,
  call: CallOptions,
): Promise<OutboxOutcome> {
  const log = deps.logger.child({ actor: 'outbox', ...(entry.user ? { user: entry.user } : {}) });
  try {
    switch (entry.action) {
      case 'sync_users':
        deps.control.syncUsers();
        return ok(null);
      case 'sync_item': {
        const outcome = await deps.control.syncItems(syncItemsFromParameters(entry.parameters));
        return ok(JSON.stringify(outcome));
      }
      case 'get_attachment': {
        const attachment = await (writer as MailboxWriter).getAttachment(
          String(entry.parameters.exh_item_id),
          String(entry.parameters.exh_attachment_id),
          { ...call, maxBytes: deps.maxAttachmentBytes },
        );
        return ok(attachment.content.toString('base64'));
      }
      default:
        return { exitCode: 1, outputValue: null, errorMessage: `unknown outbox action ${entry.action}` };
    }
  } catch (error) {
    const fromDatabase = databaseOutcome(error);
    const reply = fromDatabase ?? replyForError(error);
    log[reply.exitCode === 1 ? 'error' : 'warn'](
      { err: error },
      `Outbox row ${entry.id} (${entry.action}): ${describe(error)}`,
    );
    return { exitCode: reply.exitCode, outputValue: null, errorMessage: reply.errorMessage };
  }
}

/** The listener's syncItems fields (src/protocol/messages.ts) by the exh_sync_item parameters that carry them. */
const parameterOf: Record<string, string> = {
  direction: 'exh_sync_direction',
  user: 'exh_user',
  item: 'exh_item',
  add: 'exh_add',
  chg: 'exh_chg',
  del: 'exh_del',
  ...Object.fromEntries(
    ['created', 'modified', 'received', 'start'].flatMap((range) => [
      [`${range}From`, `exh_${range}_from`],
      [`${range}Until`, `exh_${range}_until`],
    ]),
  ),
};

/**
 * exh_sync_item's parameters as its outbox row holds them (exh_sync_direction, exh_item, exh_created_from, ...), read
 * by the listener's syncItems schema (parseSyncItems), so that both refuse the same values: an unknown item number
 * fails the row with a message naming it, and nothing is synchronised. Only the database's forms are translated
 * first: NULL is the procedure's default, flags are bits or booleans, timestamps are the dialect's (DB2's
 * 2026-01-01-00.00.00).
 */
export function syncItemsFromParameters(parameters: Record<string, unknown>): SyncItemsRequest {
  const fields: Record<string, unknown> = {};
  for (const [field, parameter] of Object.entries(parameterOf)) {
    const value = parameters[parameter];
    if (value === null || value === undefined) continue;
    if (field === 'add' || field === 'chg' || field === 'del') fields[field] = value === true || value === 1;
    else if (field === 'direction') fields[field] = Number(value);
    else if (field === 'user') fields[field] = value === '' ? null : value;
    else if (field.endsWith('From') || field.endsWith('Until')) {
      if (typeof value === 'string' && value !== '') fields[field] = parseTimestamp(value).toISOString();
    } else fields[field] = value;
  }
  const parsed = parseSyncItems(fields, (field) => parameterOf[field] ?? field);
  if (!parsed.ok) throw errors.resyncRefused(parsed.problem);
  return parsed.request;
}

/** One change from the application, from the outbox or straight from a sender on the database listener. */
export type ItemChangeRequest = Pick<OutboxEntry, 'user' | 'itemType' | 'action' | 'fields' | 'attempts'> & {
  /** For log records: the outbox row, or the sender's address. */
  id: string;
  /** The outbox row's id: the sync may have decided its conflict already (exh_item_version.exh_superseded_until). */
  outboxId?: string;
  /** When the application made the change (the outbox row's exh_created); a sender's request is made now. */
  createdAt?: Date;
  /** No earlier attempt at this change can have reached Exchange: a create need not look for what it made. */
  firstAttempt?: boolean;
};

/** How a write towards Exchange meets a change made in Exchange meanwhile (docs/reliability.md, "Conflicts"). */
export interface ConflictSettings {
  /** sync.conflicts. */
  rule: ConflictRule;
  /**
   * Runs `work` while no sync of the user's item type applies a page (src/mailbox/sync-locks.ts): the write, the
   * change key it leaves and the sync's view of both then never interleave.
   */
  exclusive: <T>(user: string, itemType: ItemTypeName, work: () => Promise<T>) => Promise<T>;
  /** Told each change and deletion written, so that the sync skips their echoes (src/sync/decisions/echo.ts). */
  ownWrites?: OwnWrites | undefined;
}

export async function applyItemChange(
  deps: Pick<OutboxDeps, 'db' | 'logger' | 'lease'> & { conflicts?: ConflictSettings | undefined },
  writer: MailboxWriter,
  entry: ItemChangeRequest,
  call: CallOptions,
  /**
   * throwRetryable: an Exchange that cannot be reached now throws (a resync is retried whole) instead of 522.
   * overwrite: write whatever changed in Exchange meanwhile, without the conflict rule (exh_sync_item direction 1,
   * which has just compared the row with Exchange and is asked to make Exchange match).
   */
  options: { throwRetryable?: boolean; overwrite?: boolean } = {},
): Promise<OutboxOutcome> {
  const log = deps.logger.child({ actor: 'outbox', user: entry.user, itemType: entry.itemType });
  try {
    const write = () => writeChange(deps, writer, entry, call, options);
    return await (deps.conflicts ? deps.conflicts.exclusive(entry.user, entry.itemType, write) : write());
  } catch (error) {
    // Cut short by a stop: not this change's outcome. Whether or not Exchange took it, it is tried again.
    if (call.signal.aborted) throw error;
    // The user's lease ended before the write (writeChange's mayWrite): not this change's outcome either; the row
    // stays pending for the instance that holds the lease now.
    if (isExhError(error, 'EXH_CLUSTER_LEASE_LOST')) throw error;
    // The database going away is everyone's problem, not this row's: databaseOutcome throws it to the caller.
    const fromDatabase = databaseOutcome(error);
    if (fromDatabase) return fromDatabase;
    const retry = (error as { retryable?: unknown } | null)?.retryable === true;
    if (retry && options.throwRetryable) throw error;
    log[retry ? 'warn' : 'error'](
      { err: error },
      `Outbox row ${entry.id} (${entry.action} ${entry.itemType}): ${describe(error)}`,
    );
    // 522, "connecting to Exchange failed" (docs/database.md, "Exit codes"): the row stays pending, tried again.
    return { exitCode: retry ? 522 : 1, outputValue: null, errorMessage: describe(error) };
  }
}

/**
 * One change written to Exchange, and the change key it leaves remembered (the row reflects that version now). With
 * conflict settings (and not `overwrite`), a change or deletion of an item that changed in Exchange since the version
 * the row reflects is a conflict, decided by the rule (src/sync/decisions/conflicts.ts) and recorded; a change the sync already
 * decided against (exh_superseded_until) fails without a second record.
 */
async function writeChange(
  deps: Pick<OutboxDeps, 'db' | 'logger' | 'lease'> & { conflicts?: ConflictSettings | undefined },
  writer: MailboxWriter,
  entry: ItemChangeRequest,
  call: CallOptions,
  options: { overwrite?: boolean },
): Promise<OutboxOutcome> {
  const log = deps.logger.child({ actor: 'outbox', user: entry.user, itemType: entry.itemType });
  const { db } = deps;
  // In a cluster, asked right before each write to Exchange, after every database round trip of the row: an instance
  // whose database stalled past its lease (docs/scale-out.md, "Leases") must not create or change what the new holder
  // may be writing already. The database refuses such an instance's outcome (the fence); this keeps Exchange out too.
  const mayWrite = (what: string) => {
    if (deps.lease && !deps.lease.owns(entry.user)) {
      throw errors.leaseLost(entry.user, deps.lease.instanceId, `${what} for ${entry.id}`);
    }
  };
  // A write's call asks again as its request leaves (CallOptions.mayStart), after any wait in the pool or back-off.
  const writeCall = (what: string): CallOptions => (deps.lease ? { ...call, mayStart: () => mayWrite(what) } : call);
  const definition = itemType(entry.itemType);
  const remember = (itemId: string, changeKey: string | null) =>
    db.rememberItemVersion({ user: entry.user, itemType: entry.itemType, itemId, changeKey });
  const appItemId = typeof entry.fields.app_item_id === 'string' ? entry.fields.app_item_id : null;
  const itemId = await resolveItemId(writer, entry, appItemId, call);
  if (entry.action === 'add') {
    if (!appItemId) return refused('exh_app_item_id is required to add an item');
    // A meeting's UID is linked to the application's id before the invitations go out (attendees' copies). Linked
    // before the look below, so that the look for an earlier attempt's item is the last request before the create.
    const uid = definition.behaviour.sharedUid ? `exh-${randomUUID()}` : undefined;
    if (uid) await db.rememberMeetings([{ uid, appItemId }]);
    // The application's id is the idempotency key: a create repeated after a crash between Exchange and the outbox
    // row (whose attempts were never counted), a row the previous holder of the lease tried (a cluster), or a
    // sender's retry after a time-out, finds the item it made.
    // Skipped on a row's first attempt (one Exchange request of the two a create costs): nothing can have been made.
    const existing = entry.firstAttempt ? null : await writer.findByAppItemId(definition.createdIn, appItemId, call);
    if (existing) {
      // Made before, perhaps only half-way (an e-mail Graph saved as a draft and did not send): finished now.
      mayWrite('finishing a create');
      await writer.resumeCreate?.(
        existing,
        { ...writeOf(definition, entry.fields), appItemId },
        writeCall('finishing a create'),
      );
      return ok(existing);
    }
    mayWrite('a create');
    const created = await writer.createItem(
      { ...writeOf(definition, entry.fields), appItemId, ...(uid ? { uid } : {}) },
      writeCall('a create'),
    );
    // A backend that cannot set the UID (Graph: iCalUId is Exchange's own) says which one the copies carry.
    if (uid && created.uid && created.uid !== uid) await db.rememberMeetings([{ uid: created.uid, appItemId }]);
    // Its echo then carries this key, and is known for the connector's own.
    if (created.changeKey) await remember(created.itemId, created.changeKey);
    deps.conflicts?.ownWrites?.created(entry.user, created.itemId);
    log.action({ itemId: created.itemId, appItemId }, `Created ${entry.itemType} ${appItemId} in Exchange`);
    return ok(created.itemId);
  }
  if (!itemId && entry.action === 'del') {
    // Nothing carries the application's id: the item is gone already (deleted before a crash kept this row from
    // being marked done, or by its owner). What the application asked for holds, as for a deletion by item id.
    log.action({ appItemId }, `No ${entry.itemType} ${appItemId} in Exchange to delete: already gone`);
    return ok(null);
  }
  if (!itemId) return refused(`no Exchange item for exh_app_item_id ${appItemId ?? '(none)'} of ${entry.user}`);
  const settings = options.overwrite ? undefined : deps.conflicts;
  const known = (await db.itemVersions([itemId])).get(itemId) ?? null;
  // '' is a version the connector could not learn the key of (a read flag): as good as none.
  const knownKey = known?.changeKey || null;
  if (settings && entry.outboxId && known?.supersededUntil && BigInt(entry.outboxId) <= BigInt(known.supersededUntil)) {
    return lost(settings.rule, 'the synchronisation');
  }
  const decide = async (version: { changeKey: string; lastModified: Date | null } | null, deleted: boolean) => {
    const decision = decideConflict((settings as ConflictSettings).rule, {
      exchange: version ? { deleted: false, ...version } : { deleted: true },
      knownChangeKey: knownKey,
      database: { deleted, changedAt: entry.createdAt ?? new Date() },
    });
    if (decision.conflict) {
      await recordConflict(deps, {
        user: entry.user,
        itemType: entry.itemType,
        itemId,
        winner: decision.winner,
        by: decision.by,
        rule: (settings as ConflictSettings).rule,
      });
    }
    return decision;
  };
  if (entry.action === 'chg') {
    const fields = writeOf(definition, entry.fields);
    let updated: WriteResult;
    // Whether the write was made on the very version the row reflects (src/sync/decisions/echo.ts, updateEchoOwn).
    let onKnownVersion = false;
    try {
      mayWrite('a change');
      updated = await writer.updateItem(itemId, fields, {
        ...writeCall('a change'),
        ...(settings && knownKey ? { changeKey: knownKey } : {}),
      });
      onKnownVersion = Boolean(settings && knownKey);
    } catch (error) {
      const stale = isExhError(error, 'EXH_EXCHANGE_CONFLICT');
      if (!settings || !(stale || isExhError(error, 'EXH_EXCHANGE_ITEM_NOT_FOUND'))) throw error;
      // Exchange changed (or deleted) the item since the version the row reflects, and the sync has not brought
      // that in yet: both sides changed it.
      const current = stale ? await writer.readItem(itemId, call) : null;
      if (await deletedNext(db, entry, itemId, appItemId)) {
        // The application deletes the item next: that deletion, not this change, meets Exchange's (and wins).
        return ok(itemId);
      }
      if (current && holdsValues(valuesOf(entry, current), intendedValues([entry]))) {
        // Exchange already holds this change (the same edit made there, or this write done before a stop kept the
        // connector from remembering it): nothing conflicts and nothing is left to write. That version may hold
        // other changes the row has not seen: the sync's report of the item is applied.
        await remember(itemId, current.changeKey);
        deps.conflicts?.ownWrites?.wroteOver(entry.user, itemId);
        return ok(itemId);
      }
      const decision = await decide(current ? versionOf(current) : null, false);
      if (decision.conflict && decision.winner === 'exchange') {
        if (!current) await remember(itemId, null);
        return lost(settings.rule, decision.by === 'deletion' ? 'the deletion in Exchange' : 'Exchange');
      }
      if (!current) throw error;
      mayWrite('a change');
      updated = await writer.updateItem(itemId, fields, writeCall('a change'));
    }
    await remember(updated.itemId, updated.changeKey);
    const named = typeof entry.fields.item_id === 'string' && entry.fields.item_id !== '';
    if (updateEchoOwn(definition, { named, onKnownVersion, changeKey: updated.changeKey })) {
      deps.conflicts?.ownWrites?.wrote(entry.user, updated.itemId, updated.changeKey);
    } else deps.conflicts?.ownWrites?.wroteOver(entry.user, updated.itemId);
    log.action({ itemId }, `Changed ${entry.itemType} ${itemId} in Exchange`);
    return ok(updated.itemId);
  }
  if (settings && knownKey) {
    // Deleting wins whatever the rule; whether Exchange changed the item meanwhile is recorded all the same.
    const current = await writer.readItem(itemId, call);
    if (current) await decide(versionOf(current), true);
  }
  mayWrite('a deletion');
  await writer.deleteItem(itemId, writeCall('a deletion'));
  await remember(itemId, null);
  deps.conflicts?.ownWrites?.wrote(entry.user, itemId, null);
  log.action({ itemId }, `Deleted ${entry.itemType} ${itemId} in Exchange`);
  return ok(itemId);
}

/** Whether a later pending change of the application deletes the item. */
async function deletedNext(
  db: DatabasePort,
  entry: ItemChangeRequest,
  itemId: string,
  appItemId: string | null,
): Promise<boolean> {
  if (!entry.outboxId) return false;
  const later = (await db.pendingItemChanges(entry.user, entry.itemType)).filter(
    (pending) => BigInt(pending.id) > BigInt(entry.outboxId as string),
  );
  return pendingFor(later, { itemId, appItemId }, null).some((pending) => pending.action === 'del');
}

/** An item from Exchange in the definition's terms, to compare with what the application's change sets. */
function valuesOf(entry: ItemChangeRequest, item: ExchangeItem): Record<string, FieldValue> {
  const definition = itemType(entry.itemType);
  const folder = (definition.folders[0] as FolderDefinition).name;
  return mapItem(definition, item, { user: entry.user, folder, maxBodyLength: 0 }).fields;
}

/** A change that lost its conflict: failed, visible to the application; `exh outbox retry` applies it after all. */
function lost(rule: ConflictRule, to: string): OutboxOutcome {
  return {
    exitCode: 1,
    outputValue: null,
    errorMessage:
      `not applied: the item was changed in Exchange too, and ${to} won the conflict (sync.conflicts is ${rule}; ` +
      'exh_log has the record)',
  };
}

async function resolveItemId(
  writer: MailboxWriter,
  entry: ItemChangeRequest,
  appItemId: string | null,
  call: CallOptions,
): Promise<string | null> {
  if (entry.action === 'add') return null;
  if (typeof entry.fields.item_id === 'string' && entry.fields.item_id !== '') return entry.fields.item_id;
  return appItemId ? writer.findByAppItemId(itemType(entry.itemType).createdIn, appItemId, call) : null;
}

const ok = (itemId: string | null): OutboxOutcome => ({ exitCode: 0, outputValue: itemId, errorMessage: null });
const refused = (message: string): OutboxOutcome => ({ exitCode: 1, outputValue: null, errorMessage: message });
