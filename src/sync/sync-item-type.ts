import { isExhError } from '../errors.js';
import type { ItemTypeDefinition } from '../items/definition.js';
import type { ExhLogger } from '../logging/logger.js';
import type { DatabasePort, ItemChange, MeetingLink } from '../ports/database.port.js';
import type { ExchangeItem, FolderName, MailboxConnection, SyncPage } from '../ports/exchange.port.js';
import { applyPage } from './apply.js';
import { type ConflictRule, pendingFor, reconcilePage } from './conflicts.js';
import { foldersOf } from './folders.js';
import { type PagePlan, planPage } from './plan.js';
import { recordConflict } from './record-conflict.js';
import { decodeCompare, decodeSeries, decodeWatermark, encodeWatermark, type SeriesState } from './watermark.js';

export interface SyncSettings {
  htmlBody: boolean;
  maxBodyLength: number;
  maxSyncedRecurrences: number;
  meetingRequestsResponses: boolean;
  /** Changes per syncFolder page (1–512). */
  pageSize: number;
  /** sync.conflicts: which change is kept when both sides changed an item between two syncs. */
  conflicts: ConflictRule;
}

export interface SyncRun {
  user: string;
  watermark: string | null;
  signal: AbortSignal;
  /** Told each watermark once its page is committed. */
  onCommitted?: (watermark: string) => void;
}

/**
 * Catch-up and live sync of one item type in one mailbox: every folder of the type, page by page from its stored
 * sync state, each page applied with its new sync state in one transaction (src/sync/apply.ts). An invalid sync
 * state starts that folder again from the beginning; the from_exh templates update rows that already exist, so the
 * full resync creates no duplicates.
 */
export async function syncItemType(
  deps: {
    db: DatabasePort;
    connection: MailboxConnection;
    definition: ItemTypeDefinition;
    settings: SyncSettings;
    logger: ExhLogger;
  },
  run: SyncRun,
): Promise<{ watermark: string; applied: number; failed: number; restarted: boolean }> {
  const { db, connection, definition, settings, logger } = deps;
  let states = decodeWatermark(run.watermark);
  let series = decodeSeries(run.watermark);
  let applied = 0;
  let failed = 0;
  // A folder started again from the beginning cannot tell what was deleted meanwhile: the caller compares (resync).
  // The need is kept in the watermark until the comparison is done, so a restart in between does not forget it.
  let restarted = decodeCompare(run.watermark);
  for (const folder of foldersOf(definition.name)) {
    let done = false;
    while (!done) {
      const previousWatermark = encodeWatermark(states, series, restarted);
      const from = states[folder] ?? null;
      let page: SyncPage;
      try {
        page = await connection.syncFolder(folder, from, {
          signal: run.signal,
          // A folder with a sync state is being kept live; one without is a (first or renewed) full catch-up.
          priority: from ? 'live' : 'catchUp',
          maxChanges: settings.pageSize,
          bodyType: settings.htmlBody ? 'html' : 'text',
        });
      } catch (error) {
        if (!isExhError(error, 'EXH_EXCHANGE_INVALID_SYNC_STATE') || from === null) throw error;
        logger.warn(
          { folder, err: error },
          `Exchange rejected the sync state of ${folder}: synchronising the folder again from the start`,
        );
        states = { ...states, [folder]: undefined };
        series = {};
        restarted = true;
        continue;
      }
      const { plan, meetings } = await planFolderPage(deps, page, {
        user: run.user,
        folder,
        series,
        signal: run.signal,
        linkMeetings: true,
      });
      states = { ...states, [folder]: page.syncState };
      series = plan.series;
      const changes = await reconcileWithOutbox(deps, run.user, plan);
      const outcome = await applyPage(db, {
        user: run.user,
        itemType: definition.name,
        changes,
        watermark: encodeWatermark(states, series, restarted),
        previousWatermark,
        meetings,
      });
      run.onCommitted?.(encodeWatermark(states, series, restarted));
      applied += outcome.applied;
      failed += outcome.failed.length + plan.unreadable.length;

      for (const itemId of plan.truncated) {
        logger.warn(
          { folder, itemId, maxBodyLength: settings.maxBodyLength },
          `Body of ${itemId} cut to sync.maxBodyLength (${settings.maxBodyLength} characters)`,
        );
      }
      for (const failure of outcome.failed) {
        logger.error(
          { folder, itemId: failure.itemId },
          `${failure.action} of ${failure.itemId} failed and was recorded in exh_log: ${failure.message}`,
        );
      }
      if (outcome.applied > 0) {
        logger.action(
          { folder, applied: outcome.applied },
          `${outcome.applied} change${outcome.applied === 1 ? '' : 's'} from ${folder} applied`,
        );
      }
      done = page.done;
    }
  }
  return { watermark: encodeWatermark(states, series, restarted), applied, failed, restarted };
}

/**
 * A planned page against the application's changes still in the outbox (docs/reliability.md, "Conflicts"): an item
 * both sides changed since the last sync is decided by sync.conflicts (src/sync/conflicts.ts), and the decision
 * recorded before the page is applied (at worst twice when the page is tried again, never not at all). Runs under the
 * sync's lock, which the outbox's writes take too, so no write of the application's slips in between.
 */
async function reconcileWithOutbox(
  deps: { db: DatabasePort; definition: ItemTypeDefinition; settings: SyncSettings; logger: ExhLogger },
  user: string,
  plan: PagePlan,
): Promise<ItemChange[]> {
  const { db, definition, settings } = deps;
  if (plan.changes.length === 0) return plan.changes;
  const pending = await db.pendingItemChanges(user, definition.name);
  if (pending.length === 0) return plan.changes;
  // What the connector knows is needed only of the items the application has changed too.
  const ids = new Set<string>();
  for (const change of plan.changes) {
    const itemId = change.fields.item_id;
    if (typeof itemId !== 'string' || itemId === '') continue;
    const appItemId = typeof change.fields.app_item_id === 'string' ? change.fields.app_item_id : null;
    if (pendingFor(pending, { itemId, appItemId }, null).length > 0) ids.add(itemId);
  }
  const { changes, conflicts } = reconcilePage({
    rule: settings.conflicts,
    changes: plan.changes,
    versions: plan.versions,
    known: await db.itemVersions([...ids]),
    pending,
  });
  for (const conflict of conflicts) {
    await recordConflict(deps, { user, itemType: definition.name, ...conflict, rule: settings.conflicts });
  }
  return changes;
}

/**
 * One page of a folder, planned: the occurrences of its recurring masters read (sync.maxSyncedRecurrences), the
 * meetings linked to application ids by UID, the changes mapped through the definition, and what Exchange would not
 * give recorded in exh_log. Shared by the live sync and exh_sync_item (src/sync/resync.ts).
 */
export async function planFolderPage(
  deps: {
    db: DatabasePort;
    connection: MailboxConnection;
    definition: ItemTypeDefinition;
    settings: SyncSettings;
    logger: ExhLogger;
  },
  page: SyncPage,
  options: { user: string; folder: FolderName; series: SeriesState; signal: AbortSignal; linkMeetings: boolean },
): Promise<{ plan: PagePlan; meetings: MeetingLink[]; occurrencesUnknown: boolean }> {
  const { db, connection, definition, settings, logger } = deps;
  const { occurrences, unknown } = await recurringOccurrences(connection, definition, page, settings, options.signal);
  const meetings = options.linkMeetings ? await linkMeetings(db, page, occurrences) : [];
  const plan = planPage(definition, page, {
    user: options.user,
    folder: options.folder,
    maxBodyLength: settings.maxBodyLength,
    meetingRequestsResponses: settings.meetingRequestsResponses,
    occurrences,
    occurrencesUnknown: new Set(unknown.keys()),
    series: options.series,
  });
  for (const [masterId, error] of unknown) {
    plan.unreadable.push({
      itemId: masterId,
      code: error.code,
      message: `its occurrences could not be read: ${error.message}`,
    });
  }
  // Recorded before the watermark moves past them: at worst a retried page records them twice, never zero times.
  for (const item of plan.unreadable) {
    logger.error(
      { folder: options.folder, itemId: item.itemId, code: item.code },
      `Exchange would not give ${item.itemId}: ${item.message}`,
    );
    await db.logError({
      user: options.user,
      itemType: definition.name,
      code: item.code,
      message: `Exchange item ${item.itemId} could not be read: ${item.message}`,
    });
  }
  return { plan, meetings, occurrencesUnknown: unknown.size > 0 };
}

/**
 * Occurrences of the recurring masters on a page, up to sync.maxSyncedRecurrences each, for types whose items can be
 * series (docs/database.md, "Recurring appointments").
 */
async function recurringOccurrences(
  connection: MailboxConnection,
  definition: ItemTypeDefinition,
  page: SyncPage,
  settings: SyncSettings,
  signal: AbortSignal,
): Promise<{ occurrences: Map<string, ExchangeItem[]>; unknown: Map<string, { code: string; message: string }> }> {
  const result = new Map<string, ExchangeItem[]>();
  const unknown = new Map<string, { code: string; message: string }>();
  if (!definition.behaviour.series || settings.maxSyncedRecurrences === 0) return { occurrences: result, unknown };
  for (const change of page.changes) {
    if (change.type !== 'create' && change.type !== 'update') continue;
    const { item } = change;
    if (item.properties.isRecurring !== true || item.properties.originalStart) continue;
    try {
      result.set(
        item.id,
        await connection.occurrences(item.id, { signal, priority: 'catchUp', max: settings.maxSyncedRecurrences }),
      );
    } catch (error) {
      // One series Exchange will not expand must not stop the mailbox: the master syncs, its failure is recorded.
      if (!isExhError(error) || error.retryable) throw error;
      unknown.set(item.id, { code: error.code, message: error.message });
    }
  }
  return { occurrences: result, unknown };
}

/**
 * Attendees' copies of a meeting the application created carry its exh_app_item_id (docs/database.md, "Matching items"), but
 * Exchange does not copy the connector's extended property to them: the UID, the same in every copy, finds it in
 * exh_meeting. Copies that do carry the id (the organizer's) are remembered there, in the page's transaction.
 */
async function linkMeetings(
  db: DatabasePort,
  page: SyncPage,
  occurrences: ReadonlyMap<string, readonly ExchangeItem[]>,
): Promise<MeetingLink[]> {
  const items = page.changes.flatMap((change) =>
    change.type === 'create' || change.type === 'update'
      ? [change.item, ...(occurrences.get(change.item.id) ?? [])]
      : [],
  );
  const withUid = items.filter(
    (item): item is ExchangeItem & { uid: string } => typeof item.uid === 'string' && item.uid !== '',
  );
  const appIdOf = (item: ExchangeItem) => item.properties.appItemId;
  const unknown = [...new Set(withUid.filter((item) => !appIdOf(item)).map((item) => item.uid))];
  const known = await db.meetingAppItemIds(unknown);
  for (const item of withUid) {
    const appItemId = known.get(item.uid);
    if (!appIdOf(item) && appItemId) item.properties = { ...item.properties, appItemId };
  }
  const links = new Map<string, string>();
  for (const item of withUid) {
    const appItemId = appIdOf(item);
    if (typeof appItemId === 'string' && appItemId !== '' && !known.has(item.uid)) links.set(item.uid, appItemId);
  }
  return [...links].map(([uid, appItemId]) => ({ uid, appItemId }));
}
