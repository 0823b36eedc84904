import { describe, errors, isExhError } from '../../errors.js';
import type { ItemTypeDefinition } from '../../items/definition.js';
import type { ExhLogger } from '../../logging/logger.js';
import type { SyncItemsOutcome, SyncItemsProgress, TimeRange } from '../../ports/control.port.js';
import type { DatabasePort, FieldValue, ItemChange, ItemRanges } from '../../ports/database.port.js';
import type { FolderName, MailboxConnection, MailboxWriter } from '../../ports/exchange.port.js';
import { foldersOf } from '../decisions/folders.js';
import { applyPage } from './apply.js';
import { applyItemChange, type ConflictSettings, type LeaseCheck } from './outbox.js';
import { type PageAhead, readAhead } from './read-ahead.js';
import { folderOptions, planFolderPage, type SyncSettings } from './sync-item-type.js';

/**
 * exh_sync_item for one mailbox and item type (docs/database.md, "Resynchronising: `exh_sync_item`"): compare what Exchange holds with what the
 * application holds (exh_get_item_{type}) within the date ranges, and make one side match the other.
 *
 * Direction 0, Exchange → database: every item in Exchange is read again (syncFolder from the beginning, which
 * leaves the live sync's own sync state alone) and applied through exh_from_exh_*: `add` for items the application
 * lacks, `chg` for those it has; rows whose Exchange item no longer exists are deleted (`del`). This is also how
 * items that failed earlier (exh_log) are retried, and how rows of items deleted while a sync state was lost go.
 *
 * Direction 1, database → Exchange: the application's rows are compared with Exchange: rows without an item id are
 * created (found first by application id, so a repeat creates nothing twice), rows that differ are changed (only the
 * fields that differ; meetings only by their organizer); with `del`, items the connector created for the application
 * (they carry its application id) whose row is gone are deleted. Items a person made in Exchange are never deleted,
 * and nothing is deleted when exh_get_item_{type} returns no rows at all (an empty template is not an empty mailbox).
 */
export interface ResyncDeps {
  db: DatabasePort;
  connection: MailboxConnection & Partial<MailboxWriter>;
  definition: ItemTypeDefinition;
  settings: SyncSettings;
  logger: ExhLogger;
  /** The sync's lock for direction 1's writes (the rule itself does not apply: the resync was asked to overwrite). */
  conflicts?: ConflictSettings | undefined;
  /** In a cluster: direction 1 writes to Exchange only while this instance holds the user's lease (outbox.ts). */
  lease?: LeaseCheck | undefined;
}

export interface ResyncRequest {
  user: string;
  direction: 0 | 1;
  add: boolean;
  chg: boolean;
  del: boolean;
  ranges: ItemRanges;
  signal: AbortSignal;
  onProgress?: (progress: SyncItemsProgress) => void;
}

/** Changes applied to the database per transaction in direction 0. */
const batchSize = 100;

export async function resyncItemType(deps: ResyncDeps, request: ResyncRequest): Promise<SyncItemsOutcome> {
  const outcome = request.direction === 0 ? await towardsDatabase(deps, request) : await towardsExchange(deps, request);
  // Cut short by a stop: not done, and not to be reported as done (the outbox row stays pending).
  if (request.signal.aborted) throw errors.poolAborted();
  return outcome;
}

async function towardsDatabase(deps: ResyncDeps, request: ResyncRequest): Promise<SyncItemsOutcome> {
  const { db, definition, logger } = deps;
  const log = logger.child({ actor: 'resync', user: request.user, itemType: definition.name });
  const rows = await db.getItems(definition.name, request.user, request.ranges);
  const held = new Map<string, Record<string, FieldValue>>();
  for (const row of rows) if (typeof row.item_id === 'string' && row.item_id !== '') held.set(row.item_id, row);
  const outcome: SyncItemsOutcome = { added: 0, changed: 0, deleted: 0, failed: 0 };
  let done = 0;
  const apply = async (changes: ItemChange[]) => {
    if (changes.length === 0) return;
    const result = await applyPage(db, { user: request.user, itemType: definition.name, changes });
    for (const failure of result.failed) {
      log.error(
        { itemId: failure.itemId },
        `Resync: ${failure.action} of ${failure.itemId} failed: ${failure.message}`,
      );
    }
    const failedIds = new Set(result.failed.map((failure) => failure.itemId));
    for (const change of changes) {
      if (failedIds.has(String(change.fields.item_id ?? ''))) continue;
      if (change.action === 'add') outcome.added += 1;
      else if (change.action === 'chg') outcome.changed += 1;
      else outcome.deleted += 1;
    }
    outcome.failed += result.failed.length;
  };

  const enumeration = await enumerate(deps, request, async (changes) => {
    const wanted: ItemChange[] = [];
    for (const change of changes) {
      const itemId = change.fields.item_id;
      if (typeof itemId !== 'string' || !inRanges(change.fields, request.ranges)) continue;
      const row = held.get(itemId);
      // A row that already says what Exchange says needs nothing (and is not counted as changed).
      if (row && Object.keys(differences(change.fields, row)).length === 0) continue;
      const action = row ? 'chg' : 'add';
      if ((action === 'add' && request.add) || (action === 'chg' && request.chg)) wanted.push({ ...change, action });
    }
    for (let i = 0; i < wanted.length; i += batchSize) await apply(wanted.slice(i, i + batchSize));
    done += changes.length;
    request.onProgress?.({ user: request.user, itemType: definition.name, done, total: null });
  });
  if (request.del && !request.signal.aborted) {
    // The field that marks an occurrence (its start in the pattern), if the type has series.
    const occurrenceField = definition.fields.find((field) => field.property === 'originalStart')?.name;
    const windowFields = {
      start: definition.fields.find((field) => field.property === 'start')?.name,
      end: definition.fields.find((field) => field.property === 'end')?.name,
    };
    const gone = rows.filter((row) => {
      const itemId = row.item_id;
      if (typeof itemId !== 'string' || itemId === '' || enumeration.seen.has(itemId)) return false;
      // Occurrences of a series Exchange would not expand this time are unknown, not gone (SyncPage.incomplete).
      const occurrence = occurrenceField !== undefined && row[occurrenceField] != null;
      if (enumeration.occurrencesUnknown && occurrence) return false;
      // A backend that reads only a window of the calendar says nothing of the rows outside it (SyncPage.window).
      return enumeration.window === undefined || overlaps(row, windowFields, enumeration.window);
    });
    const deletions = gone.map(
      (row): ItemChange => ({
        action: 'del',
        fields: { item_id: row.item_id as string, app_item_id: null, user: request.user },
      }),
    );
    for (let i = 0; i < deletions.length; i += batchSize) await apply(deletions.slice(i, i + batchSize));
  }
  log.action(outcome, `Resync from Exchange: ${summary(outcome)}`);
  return outcome;
}

async function towardsExchange(deps: ResyncDeps, request: ResyncRequest): Promise<SyncItemsOutcome> {
  const { db, definition, logger, connection } = deps;
  const log = logger.child({ actor: 'resync', user: request.user, itemType: definition.name });
  if (!connection.capabilities.writes) {
    throw new Error(`The Exchange backend of ${request.user} cannot write items`);
  }
  const writer = connection as MailboxConnection & MailboxWriter;
  const rows = await db.getItems(definition.name, request.user, request.ranges);
  const readOnly = new Set(definition.fields.filter((field) => field.readOnly).map((field) => field.name));
  // What Exchange holds now, to change only what differs and to find the connector's items whose row is gone.
  const inExchange = new Map<string, Record<string, FieldValue>>();
  await enumerate(
    deps,
    request,
    async (changes) => {
      for (const change of changes) {
        if (typeof change.fields.item_id === 'string') inExchange.set(change.fields.item_id, change.fields);
      }
    },
    { linkMeetings: false },
  );
  const outcome: SyncItemsOutcome = { added: 0, changed: 0, deleted: 0, failed: 0 };
  const call = { signal: request.signal, priority: 'resync' as const };
  const total = rows.length;
  let done = 0;
  const record = async (what: string, message: string) => {
    outcome.failed += 1;
    await db.logError({ user: request.user, itemType: definition.name, code: 'EXH_RESYNC_FAILED', message });
    log.error(`Resync to Exchange: ${what}: ${message}`);
  };
  for (const row of rows) {
    if (request.signal.aborted) break;
    done += 1;
    request.onProgress?.({ user: request.user, itemType: definition.name, done, total });
    const appItemId = typeof row.app_item_id === 'string' && row.app_item_id !== '' ? row.app_item_id : null;
    const itemId = typeof row.item_id === 'string' && row.item_id !== '' ? row.item_id : null;
    if (!itemId && !request.add) continue;
    if (itemId && !request.chg) continue;
    // What the user may not change (a meeting someone else organizes) is left alone.
    if (itemId && definition.behaviour.userMayChange?.(row, request.user) === false) continue;
    let fields: Record<string, FieldValue> = { ...row, user: request.user };
    if (itemId) {
      const current = inExchange.get(itemId);
      const differing = current ? differences(row, current, readOnly) : null;
      if (differing && Object.keys(differing).length === 0) continue;
      if (differing) fields = { item_id: itemId, app_item_id: appItemId, user: request.user, ...differing };
    }
    const result = await applyItemChange(
      deps,
      writer,
      {
        id: `Resync of ${appItemId ?? itemId}`,
        user: request.user,
        itemType: definition.name,
        action: itemId ? 'chg' : 'add',
        fields,
        attempts: 0,
      },
      call,
      // Exchange that cannot be reached now fails the whole resync (tried again later), not item after item; the row
      // was just compared with Exchange as it is now, and the resync was asked to make Exchange match it.
      { throwRetryable: true, overwrite: true },
    );
    if (result.exitCode === 0) {
      if (itemId) outcome.changed += 1;
      else outcome.added += 1;
    } else {
      const hint =
        itemId && result.errorMessage?.includes('not found')
          ? ' (the item is gone in Exchange: run direction 0 to remove the row, or clear exh_item_id to create it again)'
          : '';
      await record(`${itemId ? 'change' : 'create'} of ${appItemId ?? itemId}`, `${result.errorMessage}${hint}`);
    }
  }
  if (request.del && !request.signal.aborted) {
    outcome.deleted += await deleteOrphans(deps, writer, request, inExchange, record);
  }
  log.action(outcome, `Resync to Exchange: ${summary(outcome)}`);
  return outcome;
}

/**
 * Direction 1 with `del`: the items the connector made for the application (they carry an application id) whose row
 * exh_get_item_{type} no longer returns. The rows are read without the date ranges (a row whose date moved out of
 * the range still wants its item), and the ranges apply to the Exchange items only. Refused when the application
 * returns no rows at all or rows without ids: that is an unfilled template, not an empty mailbox.
 */
async function deleteOrphans(
  deps: ResyncDeps,
  writer: MailboxWriter,
  request: ResyncRequest,
  inExchange: ReadonlyMap<string, Record<string, FieldValue>>,
  record: (what: string, message: string) => Promise<void>,
): Promise<number> {
  const procedure = deps.definition.procedures.getItem;
  const all = await deps.db.getItems(deps.definition.name, request.user, {});
  const appIds = new Set(all.map((row) => row.app_item_id).filter((id) => typeof id === 'string' && id !== ''));
  const itemIds = new Set(all.map((row) => row.item_id).filter((id) => typeof id === 'string' && id !== ''));
  if (appIds.size === 0 && itemIds.size === 0) {
    throw errors.resyncRefused(
      `${procedure} returned no rows with exh_app_item_id or exh_item_id for ${request.user}: nothing was deleted ` +
        'in Exchange. Fill in the template (docs/database.md), or resynchronise without exh_del.',
    );
  }
  let deleted = 0;
  for (const [itemId, fields] of inExchange) {
    const appItemId = fields.app_item_id;
    if (typeof appItemId !== 'string' || appItemId === '' || appIds.has(appItemId) || itemIds.has(itemId)) continue;
    if (!inRanges(fields, request.ranges)) continue;
    try {
      await writer.deleteItem(itemId, {
        signal: request.signal,
        priority: 'resync',
        // Asked as the request leaves (CallOptions.mayStart): a lease that ended meanwhile sends nothing.
        mayStart: () => {
          const { lease } = deps;
          if (lease && !lease.owns(request.user)) {
            throw errors.leaseLost(request.user, lease.instanceId, `a resync's deletion of ${itemId}`);
          }
        },
      });
      deleted += 1;
    } catch (error) {
      if (isExhError(error) && (error.retryable || error.code === 'EXH_CLUSTER_LEASE_LOST')) throw error;
      await record(`delete of ${itemId}`, describe(error));
    }
  }
  return deleted;
}

/** Fields the connector reads back but never writes; they differ by nature and say nothing about the item. */
/** Fields that differ by nature between a row and its item and say nothing about the item: never compared. */
const notCompared = new Set(['item_id', 'app_item_id', 'user', 'created', 'last_modified', 'attachments']);

/**
 * The values of `row` that `current` does not have: NULL in `row` never counts (it means "leave as it is"), nor do
 * fields `current` does not carry, nor those in `skip`. Direction 1 compares a database row with Exchange (skipping
 * the definition's read-only fields: they cannot be written); direction 0 an item from Exchange with its row.
 */
export function differences(
  row: Record<string, FieldValue>,
  current: Record<string, FieldValue>,
  skip: ReadonlySet<string> = new Set(),
): Record<string, FieldValue> {
  const differing: Record<string, FieldValue> = {};
  for (const [name, value] of Object.entries(row)) {
    if (value === null || notCompared.has(name) || skip.has(name) || !(name in current)) continue;
    if (!sameValue(value, current[name] ?? null)) differing[name] = value;
  }
  return differing;
}

function sameValue(a: FieldValue, b: FieldValue): boolean {
  if (a instanceof Date || b instanceof Date) {
    const time = (v: FieldValue) =>
      v instanceof Date ? v.getTime() : typeof v === 'string' ? Date.parse(v) : Number.NaN;
    return time(a) === time(b);
  }
  if (typeof a === 'string' && (b === null || typeof b === 'string')) return a.trim() === (b ?? '').trim();
  return a === b;
}

/**
 * Whether a row's [start, end] overlaps a backend's window (SyncPage.window); a row without either time, or of a type
 * without them, overlaps: the window says nothing about it and it is judged like any other.
 */
export function overlaps(
  row: Record<string, FieldValue>,
  fields: { start: string | undefined; end: string | undefined },
  window: { from: string; until: string },
): boolean {
  const time = (name: string | undefined) => {
    const value = name === undefined ? null : row[name];
    if (value instanceof Date) return value.getTime();
    if (typeof value === 'string' && value !== '') return Date.parse(value);
    return Number.NaN;
  };
  const start = time(fields.start);
  if (Number.isNaN(start)) return true;
  const endTime = time(fields.end);
  const end = Number.isNaN(endTime) ? start : endTime;
  return start < Date.parse(window.until) && end >= Date.parse(window.from);
}

interface Enumeration {
  /** Every item seen (occurrences and items Exchange would not give included: they exist). */
  seen: Set<string>;
  /** A page named a series whose occurrences could not be read (SyncPage.incomplete): no occurrence row is judged. */
  occurrencesUnknown: boolean;
  /** The window a backend read the folder within (SyncPage.window), if it read only one. */
  window?: { from: string; until: string };
}

/**
 * Every item of the type's folders, read from the beginning page by page (occurrences of series included) and planned
 * as the live sync plans them; `onPage` gets each page's changes (creates mapped to fields).
 */
async function enumerate(
  deps: ResyncDeps,
  request: ResyncRequest,
  onPage: (changes: ItemChange[]) => Promise<void>,
  options: { linkMeetings: boolean } = { linkMeetings: true },
): Promise<Enumeration> {
  const enumeration: Enumeration = { seen: new Set(), occurrencesUnknown: false };
  const synchronisedFolders: readonly FolderName[] = foldersOf(deps.definition.name);
  // Folders that hold the type's items without being synchronised (e-mail drafts) are read for what exists.
  for (const folder of [...synchronisedFolders, ...deps.definition.alsoIn]) {
    const synchronised = synchronisedFolders.includes(folder);
    const read = (from: string | null, signal: AbortSignal) =>
      deps.connection.syncFolder(folder, from, { ...folderOptions(deps), signal, priority: 'resync' });
    // The next page is read while this one is compared and applied (one page ahead at most), as the live sync does.
    let ahead: PageAhead | undefined;
    try {
      while (!request.signal.aborted) {
        const page = await (ahead ? ahead.page : read(null, request.signal));
        const next = page.continuation;
        ahead = page.done ? undefined : readAhead((signal) => read(next, signal), request.signal);
        if ((page.incomplete ?? []).length > 0) enumeration.occurrencesUnknown = true;
        if (page.window && synchronised) enumeration.window = page.window;
        if (!synchronised) {
          for (const change of page.changes) {
            if (change.type === 'create' || change.type === 'update') enumeration.seen.add(change.item.id);
          }
        } else {
          const { plan } = await planFolderPage(deps, page, {
            user: request.user,
            folder,
            linkMeetings: options.linkMeetings,
          });
          for (const unreadable of plan.unreadable) enumeration.seen.add(unreadable.itemId);
          const present = plan.changes.filter((change) => change.action !== 'del');
          for (const change of present) {
            if (typeof change.fields.item_id === 'string') enumeration.seen.add(change.fields.item_id);
          }
          await onPage(present);
        }
        if (page.done) break;
      }
    } finally {
      ahead?.abandon();
    }
  }
  return enumeration;
}

/** The field each of exh_sync_item's ranges looks at, where the type has it (as exh_get_item_{type} does). */
export const rangeFields: Array<[keyof ItemRanges, string]> = [
  ['created', 'created'],
  ['modified', 'last_modified'],
  ['received', 'received'],
  ['start', 'start'],
];

export function inRanges(fields: Record<string, FieldValue>, ranges: ItemRanges): boolean {
  return rangeFields.every(([range, field]) => {
    const bounds: TimeRange | undefined = ranges[range];
    if (!bounds || !(field in fields)) return true;
    const value = fields[field];
    const time = value instanceof Date ? value.getTime() : typeof value === 'string' ? Date.parse(value) : Number.NaN;
    if (Number.isNaN(time)) return !bounds.from && !bounds.until;
    return (!bounds.from || time >= bounds.from.getTime()) && (!bounds.until || time < bounds.until.getTime());
  });
}

const summary = (o: SyncItemsOutcome) =>
  `${o.added} added, ${o.changed} changed, ${o.deleted} deleted, ${o.failed} failed`;
