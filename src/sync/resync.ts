import { describe, isExhError } from '../errors.js';
import type { ItemTypeDefinition } from '../items/definition.js';
import type { ExhLogger } from '../logging/logger.js';
import type { SyncItemsOutcome, SyncItemsProgress, TimeRange } from '../ports/control.port.js';
import type { DatabasePort, FieldValue, ItemChange, ItemRanges } from '../ports/database.port.js';
import type { MailboxConnection, MailboxWriter } from '../ports/exchange.port.js';
import { applyPage } from './apply.js';
import { foldersOf } from './folders.js';
import { applyItemChange } from './outbox.js';
import { planFolderPage, type SyncSettings } from './sync-item-type.js';
import type { SeriesState } from './watermark.js';

/**
 * exh_sync_item for one mailbox and item type (seed §Syncing items): compare what Exchange holds with what the
 * application holds (exh_get_item_{type}) within the date ranges, and make one side match the other.
 *
 * Direction 0, Exchange → database: every item in Exchange is read again (SyncFolderItems from the beginning, which
 * leaves the live sync's own sync state alone) and applied through exh_from_exh_*: `add` for items the application
 * lacks, `chg` for those it has; rows whose Exchange item no longer exists are deleted (`del`). This is also how
 * items that failed earlier (exh_log) are retried, and how rows of items deleted while a sync state was lost go.
 *
 * Direction 1, database → Exchange: every row of exh_get_item_{type} is written to Exchange: rows without an item id
 * are created (found first by application id, so a repeat creates nothing twice), the others changed (and created
 * again when their item is gone); with `del`, items the connector created for the application (they carry its
 * application id) whose row is gone are deleted. Items a person made in Exchange are never deleted this way.
 */
export interface ResyncDeps {
  db: DatabasePort;
  connection: MailboxConnection & Partial<MailboxWriter>;
  definition: ItemTypeDefinition;
  settings: SyncSettings;
  logger: ExhLogger;
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
  return request.direction === 0 ? towardsDatabase(deps, request) : towardsExchange(deps, request);
}

async function towardsDatabase(deps: ResyncDeps, request: ResyncRequest): Promise<SyncItemsOutcome> {
  const { db, definition, logger } = deps;
  const log = logger.child({ actor: 'resync', user: request.user, itemType: definition.name });
  const rows = await db.getItems(definition.name, request.user, request.ranges);
  const held = new Set(
    rows.map((row) => row.item_id).filter((id): id is string => typeof id === 'string' && id !== ''),
  );
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

  const seen = await enumerate(deps, request, async (changes) => {
    const wanted: ItemChange[] = [];
    for (const change of changes) {
      const itemId = change.fields.item_id;
      if (typeof itemId !== 'string' || !inRanges(change.fields, request.ranges)) continue;
      const action = held.has(itemId) ? 'chg' : 'add';
      if ((action === 'add' && request.add) || (action === 'chg' && request.chg)) wanted.push({ ...change, action });
    }
    for (let i = 0; i < wanted.length; i += batchSize) await apply(wanted.slice(i, i + batchSize));
    done += changes.length;
    request.onProgress?.({ user: request.user, itemType: definition.name, done, total: null });
  });
  if (request.del) {
    const gone = [...held].filter((itemId) => !seen.has(itemId));
    const deletions = gone.map(
      (itemId): ItemChange => ({
        action: 'del',
        fields: { item_id: itemId, app_item_id: null, user: request.user },
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
  if (typeof connection.createItem !== 'function') {
    throw new Error(`The Exchange backend of ${request.user} cannot write items`);
  }
  const writer = connection as MailboxConnection & MailboxWriter;
  const rows = await db.getItems(definition.name, request.user, request.ranges);
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
    const appItemId = typeof row.app_item_id === 'string' ? row.app_item_id : null;
    const itemId = typeof row.item_id === 'string' && row.item_id !== '' ? row.item_id : null;
    const fields: Record<string, FieldValue> = { ...row, user: request.user };
    const action = itemId ? 'chg' : 'add';
    if ((action === 'add' && request.add) || (action === 'chg' && request.chg)) {
      const result = await applyItemChange(
        deps,
        writer,
        // attempts 1: an add first looks for an item already made for this application id.
        {
          id: `Resync of ${appItemId ?? itemId}`,
          user: request.user,
          itemType: definition.name,
          action,
          fields,
          attempts: 1,
        },
        call,
        { recreateMissing: request.add },
      );
      if (result.exitCode === 0) {
        if (action === 'add') outcome.added += 1;
        else outcome.changed += 1;
      } else await record(`${action} of ${appItemId ?? itemId}`, result.errorMessage ?? 'failed');
    }
    done += 1;
    request.onProgress?.({ user: request.user, itemType: definition.name, done, total });
  }
  if (request.del) {
    const appIds = new Set(rows.map((row) => row.app_item_id).filter((id) => typeof id === 'string'));
    const itemIds = new Set(rows.map((row) => row.item_id).filter((id) => typeof id === 'string'));
    const stale: string[] = [];
    await enumerate(
      deps,
      request,
      async (changes) => {
        for (const change of changes) {
          const { item_id: itemId, app_item_id: appItemId } = change.fields;
          if (typeof itemId !== 'string' || typeof appItemId !== 'string' || appItemId === '') continue;
          if (!inRanges(change.fields, request.ranges) || appIds.has(appItemId) || itemIds.has(itemId)) continue;
          stale.push(itemId);
        }
      },
      { linkMeetings: false },
    );
    for (const itemId of stale) {
      try {
        await writer.deleteItem(itemId, call);
        outcome.deleted += 1;
      } catch (error) {
        if (isExhError(error) && error.retryable) throw error;
        await record(`delete of ${itemId}`, describe(error));
      }
    }
  }
  log.action(outcome, `Resync to Exchange: ${summary(outcome)}`);
  return outcome;
}

/**
 * Every item of the type's folders, read from the beginning page by page and planned as the live sync plans them;
 * `onPage` gets each page's changes (creates mapped to fields). Returns the ids of every item seen (occurrences too).
 */
async function enumerate(
  deps: ResyncDeps,
  request: ResyncRequest,
  onPage: (changes: ItemChange[]) => Promise<void>,
  options: { linkMeetings: boolean } = { linkMeetings: true },
): Promise<Set<string>> {
  const seen = new Set<string>();
  for (const folder of foldersOf[deps.definition.name]) {
    let syncState: string | null = null;
    let series: SeriesState = {};
    for (;;) {
      const page = await deps.connection.syncFolder(folder, syncState, {
        signal: request.signal,
        priority: 'resync',
        maxChanges: deps.settings.pageSize,
        bodyType: deps.settings.htmlBody ? 'html' : 'text',
      });
      const { plan } = await planFolderPage(deps, page, {
        user: request.user,
        folder,
        series,
        signal: request.signal,
        linkMeetings: options.linkMeetings,
      });
      series = plan.series;
      const present = plan.changes.filter((change) => change.action !== 'del');
      for (const change of present) {
        if (typeof change.fields.item_id === 'string') seen.add(change.fields.item_id);
      }
      await onPage(present);
      syncState = page.syncState;
      if (page.done) break;
    }
  }
  return seen;
}

/** The field each of exh_sync_item's ranges looks at, where the type has it (as exh_get_item_{type} does). */
const rangeFields: Array<[keyof ItemRanges, string]> = [
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
