import { errors, isExhError } from '../../errors.js';
import type { ItemTypeDefinition } from '../../items/definition.js';
import type { ExhLogger } from '../../logging/logger.js';
import type { DatabasePort, ItemChange, MeetingLink } from '../../ports/database.port.js';
import type {
  ExchangeItem,
  FolderName,
  MailboxConnection,
  ReportedOccurrences,
  SyncFolderOptions,
  SyncPage,
} from '../../ports/exchange.port.js';
import { type ConflictRule, pendingFor, reconcilePage } from '../decisions/conflicts.js';
import { withoutOwnEchoes } from '../decisions/echo.js';
import { foldersOf } from '../decisions/folders.js';
import { type PagePlan, planPage } from '../decisions/plan.js';
import { decodeCompare, decodeLegacySeries, decodeWatermark, encodeWatermark } from '../decisions/watermark.js';
import { applyPage, type PageOutcome } from './apply.js';
import type { OwnWrites } from './own-writes.js';
import { type PageAhead, readAhead } from './read-ahead.js';
import { recordConflict } from './record-conflict.js';

/**
 * Tries of one page that the application's changes may overtake before the sync gives up and backs off: each try
 * weighs the page against every change pending when it starts, so only a change written during that try overtakes it.
 */
const overtakenAttempts = 10;

export interface SyncSettings {
  htmlBody: boolean;
  maxBodyLength: number;
  /** Occurrences per recurring series, for types whose definition has `behaviour.series` (0: masters only). */
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
  /**
   * Only these of the type's folders (those a notification named); the others are read only when they have no
   * continuation yet. Absent: every folder.
   */
  folders?: readonly FolderName[];
}

/**
 * Catch-up and live sync of one item type in one mailbox: every folder of the type, page by page from its stored
 * continuation, each page applied with its new continuation in one transaction (src/sync/executors/apply.ts). A continuation
 * Exchange no longer takes starts that folder again from the beginning; the from_exh templates update rows that
 * already exist, so the full resync creates no duplicates.
 */
export async function syncItemType(
  deps: {
    db: DatabasePort;
    connection: MailboxConnection;
    definition: ItemTypeDefinition;
    settings: SyncSettings;
    logger: ExhLogger;
    /** The connector's own writes, whose echoes are not applied again (absent: every change is applied). */
    ownWrites?: OwnWrites | undefined;
  },
  run: SyncRun,
): Promise<{ watermark: string; applied: number; failed: number; restarted: boolean }> {
  const { db, connection, definition, settings, logger } = deps;
  let continuations = decodeWatermark(run.watermark);
  let applied = 0;
  let failed = 0;
  // A folder started again from the beginning cannot tell what was deleted meanwhile: the caller compares (resync).
  // The need is kept in the watermark until the comparison is done, so a restart in between does not forget it.
  let restarted = decodeCompare(run.watermark);
  // A watermark of the earlier format: the occurrence ids the core kept then go to the adapter with each folder's
  // first call, and the first committed page leaves them behind (docs/database.md, "Recurring appointments").
  let legacySeries: ReportedOccurrences = decodeLegacySeries(run.watermark);
  // What is stored now: applied again with the changes of a page that must go item by item (src/sync/executors/apply.ts).
  let stored = run.watermark ?? encodeWatermark(continuations, restarted);
  const read = (folder: FolderName, from: string | null, first: boolean, signal: AbortSignal) =>
    connection.syncFolder(folder, from, {
      ...folderOptions(deps),
      signal,
      // A folder with a continuation is being kept live; one without is a (first or renewed) full catch-up.
      priority: from ? 'live' : 'catchUp',
      ...(first && Object.keys(legacySeries).length > 0 ? { knownOccurrences: legacySeries } : {}),
    });
  const wanted = run.folders ? new Set(run.folders) : undefined;
  for (const folder of foldersOf(definition.name)) {
    // A notification names the folders that changed: the others have nothing new to read.
    if (wanted && !wanted.has(folder) && continuations[folder]) continue;
    let first = true;
    let from = continuations[folder] ?? null;
    // Page n + 1 is read while page n is applied (at most one page ahead). Its continuation is committed only after
    // page n's, in order; a page that fails to apply abandons it, and nothing of it was committed.
    let ahead: PageAhead | undefined;
    try {
      for (;;) {
        let page: SyncPage;
        try {
          page = await (ahead ? ahead.page : read(folder, from, first, run.signal));
        } catch (error) {
          ahead = undefined;
          if (!isExhError(error, 'EXH_EXCHANGE_INVALID_SYNC_STATE') || from === null) throw error;
          logger.warn(
            { folder, err: error },
            `Exchange rejected the sync state of ${folder}: synchronising the folder again from the start`,
          );
          continuations = { ...continuations, [folder]: undefined };
          from = null;
          // Read from the beginning, every occurrence comes again; those of series deleted meanwhile go by comparing.
          legacySeries = {};
          restarted = true;
          stored = encodeWatermark(continuations, restarted);
          continue;
        }
        first = false;
        const next = page.continuation;
        ahead = page.done ? undefined : readAhead((signal) => read(folder, next, false, signal), run.signal);
        // The adapter started the folder over itself (a rolled calendar window): compare once the round is done.
        if (page.restarted) restarted = true;
        const { plan, meetings } = await planFolderPage(deps, page, {
          user: run.user,
          folder,
          linkMeetings: true,
        });
        continuations = { ...continuations, [folder]: page.continuation };
        const own = deps.ownWrites;
        const { changes: fromOthers, echoes } = own
          ? withoutOwnEchoes(definition, plan.changes, (itemId, changeKey) => own.isEcho(run.user, itemId, changeKey))
          : { changes: plan.changes, echoes: 0 };
        if (echoes > 0) logger.debug({ folder, echoes }, `${echoes} echo(es) of the connector's own writes skipped`);
        const watermark = encodeWatermark(continuations, restarted);
        // Weighed against the application's pending changes, and weighed again when the application changed one of
        // the page's items while the page was on its way (EXH_SYNC_PAGE_OVERTAKEN: the page was rolled back).
        let outcome: PageOutcome | undefined;
        // A conflict decided the same way by an earlier try of the page is not recorded again.
        const recorded = new Set<string>();
        for (let attempt = 1; !outcome; attempt += 1) {
          const { changes, pendingIds } = await reconcileWithOutbox(
            deps,
            run.user,
            { ...plan, changes: fromOthers },
            recorded,
          );
          try {
            outcome = await applyPage(db, {
              user: run.user,
              itemType: definition.name,
              changes,
              watermark,
              previousWatermark: stored,
              meetings,
              reconciledWith: { pendingIds },
            });
          } catch (error) {
            if (!isExhError(error, 'EXH_SYNC_PAGE_OVERTAKEN') || run.signal.aborted) throw error;
            if (attempt >= overtakenAttempts) throw errors.pageOvertaken(run.user, definition.name, attempt);
            logger.debug({ folder, attempt }, 'The application changed an item of the page meanwhile: weighed again');
          }
        }
        stored = watermark;
        from = page.continuation;
        run.onCommitted?.(watermark);
        applied += outcome.applied;
        failed += outcome.failed.length + plan.unreadable.length;
        report(logger, { folder, plan, outcome, maxBodyLength: settings.maxBodyLength });
        if (page.done) break;
      }
    } finally {
      ahead?.abandon();
    }
  }
  return { watermark: encodeWatermark(continuations, restarted), applied, failed, restarted };
}

/** What a page's application leaves in the log: bodies cut, changes that failed, changes applied. */
function report(
  logger: ExhLogger,
  page: { folder: FolderName; plan: PagePlan; outcome: PageOutcome; maxBodyLength: number },
): void {
  const { folder, plan, outcome, maxBodyLength } = page;
  for (const itemId of plan.truncated) {
    logger.warn(
      { folder, itemId, maxBodyLength },
      `Body of ${itemId} cut to sync.maxBodyLength (${maxBodyLength} characters)`,
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
}

/**
 * What every syncFolder call of a type asks for besides the caller's signal and priority: the page size, the body
 * type, and the occurrences of recurring series for types that have them (docs/database.md, "Recurring appointments").
 */
export function folderOptions(deps: {
  definition: ItemTypeDefinition;
  settings: SyncSettings;
}): Omit<SyncFolderOptions, 'signal' | 'priority'> {
  const { definition, settings } = deps;
  return {
    maxChanges: settings.pageSize,
    bodyType: settings.htmlBody ? 'html' : 'text',
    ...(definition.behaviour.series && settings.maxSyncedRecurrences > 0
      ? { occurrences: settings.maxSyncedRecurrences }
      : {}),
  };
}

/**
 * A planned page against the application's changes still in the outbox (docs/reliability.md, "Conflicts"): an item
 * both sides changed since the last sync is decided by sync.conflicts (src/sync/decisions/conflicts.ts), and the decision
 * recorded before the page is applied (at worst twice when the page is tried again, never not at all). Runs under the
 * sync's lock, which the outbox's writes take too, so no write of the application's slips in between.
 */
async function reconcileWithOutbox(
  deps: { db: DatabasePort; definition: ItemTypeDefinition; settings: SyncSettings; logger: ExhLogger },
  user: string,
  plan: PagePlan,
  recorded: Set<string>,
): Promise<{ changes: ItemChange[]; pendingIds: string[] }> {
  const { db, definition, settings } = deps;
  if (plan.changes.length === 0) return { changes: plan.changes, pendingIds: [] };
  const pending = await db.pendingItemChanges(user, definition.name);
  // The page's transaction checks last that no other change of the application names its items (ChangeBatch); it
  // looks at changes and deletions only, as pendingFor does.
  const pendingIds = pending.filter((entry) => entry.action !== 'add').map((entry) => entry.id);
  if (pending.length === 0) return { changes: plan.changes, pendingIds };
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
    const key = `${conflict.itemId}\u0000${conflict.winner}\u0000${conflict.by}`;
    if (recorded.has(key)) continue;
    recorded.add(key);
    await recordConflict(deps, { user, itemType: definition.name, ...conflict, rule: settings.conflicts });
  }
  return { changes, pendingIds };
}

/**
 * One page of a folder, planned: the meetings linked to application ids by UID, the changes mapped through the
 * definition, and what Exchange would not give recorded in exh_log. Shared by the live sync and exh_sync_item
 * (src/sync/executors/resync.ts).
 */
export async function planFolderPage(
  deps: {
    db: DatabasePort;
    definition: ItemTypeDefinition;
    settings: SyncSettings;
    logger: ExhLogger;
  },
  page: SyncPage,
  options: { user: string; folder: FolderName; linkMeetings: boolean },
): Promise<{ plan: PagePlan; meetings: MeetingLink[] }> {
  const { db, definition, settings, logger } = deps;
  const meetings = options.linkMeetings ? await linkMeetings(db, page) : [];
  const plan = planPage(definition, page, {
    user: options.user,
    folder: options.folder,
    maxBodyLength: settings.maxBodyLength,
    meetingRequestsResponses: settings.meetingRequestsResponses,
  });
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
  return { plan, meetings };
}

/**
 * Attendees' copies of a meeting the application created carry its exh_app_item_id (docs/database.md, "Matching items"), but
 * Exchange does not copy the connector's extended property to them: the UID, the same in every copy, finds it in
 * exh_meeting. Copies that do carry the id (the organizer's) are remembered there, in the page's transaction.
 */
async function linkMeetings(db: DatabasePort, page: SyncPage): Promise<MeetingLink[]> {
  const items = page.changes.flatMap((change) =>
    change.type === 'create' || change.type === 'update' ? [change.item] : [],
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
