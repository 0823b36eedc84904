import { type ExhError, isExhError } from '../../errors.js';
import type { ExchangeItem, SyncChange, SyncFolderOptions, SyncPage } from '../../ports/exchange.port.js';
import type { HeldOccurrences } from '../expand-series.js';
import { attachmentRefsOf } from './attachments.js';
import type { GraphMailbox } from './connection.js';
import { decodeContinuation, encodeContinuation } from './continuation.js';
import { appItemIdExpand, itemPath, preferring } from './ids.js';
import { eventFromGraph, type GraphEvent } from './map/event.js';
import { fromDateTimeTimeZone, iso } from './map/values.js';
import { changeType, type Round, readDelta, roundOf } from './sync.js';

/**
 * The calendar through Graph v1.0: only calendarView/delta tracks it, between two dates, so the connector reads the
 * appointments from sync.calendarWindow.daysBack before today (UTC) to daysAhead after it. The window rolls once a
 * day: a continuation of an earlier day's window starts a fresh round with today's (SyncPage.restarted, the core then
 * compares with the rows), and every page says its window (SyncPage.window), so rows outside it are left alone.
 *
 * calendarView expands series: occurrences and exceptions come as events of their own (their master does not), and
 * the delta takes no $select or $expand. So on each page: the stamp of every reported event, and the masters of the
 * occurrences on it, are fetched by $batch GETs; each master is reported before its occurrences, which come as items
 * of their own (at most SyncFolderOptions.occurrences per series, the earliest first as far as a page shows them —
 * Graph pages a view in no promised order, so a series spread over pages takes the first it meets — each with
 * `originalStart`), or, with 0, are left out and the master alone is reported. The occurrence ids reported per master
 * travel in the continuation (`series`), as the other adapters keep them. `@removed` is a deletion only when the
 * event is gone (a GET answers 404); one that answers left the window. A series' master never comes as @removed: when
 * a page removes occurrences, their masters (all known ones, for an occurrence of no known series) are looked up and
 * a gone one is deleted with its reported occurrences.
 */

const dayMs = 86_400_000;

/** [from, until) around today (UTC). */
export function calendarWindowOf(
  now: Date,
  window: { daysBack: number; daysAhead: number },
): { from: string; until: string } {
  const today = Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate());
  return {
    from: new Date(today - window.daysBack * dayMs).toISOString(),
    until: new Date(today + window.daysAhead * dayMs).toISOString(),
  };
}

function initialLink(mailbox: GraphMailbox, window: { from: string; until: string }): string {
  return (
    `${mailbox.path}/calendarView/delta?startDateTime=${encodeURIComponent(window.from)}` +
    `&endDateTime=${encodeURIComponent(window.until)}`
  );
}

type Fetched = { ok: true; body: GraphEvent } | { ok: false; error: Error };

/** GETs by $batch, keyed by the caller's ids. */
async function fetchAll(
  mailbox: GraphMailbox,
  requests: Array<{ id: string; url: string }>,
  options: SyncFolderOptions,
): Promise<Map<string, Fetched>> {
  // A sub-request's Prefer replaces the client's: all of them, with the body type of the delta.
  const headers = { Prefer: preferring(options.bodyType).join(', ') };
  const results = await mailbox.batch(
    requests.map((r) => ({ id: r.id, method: 'GET' as const, url: r.url, headers })),
    options,
  );
  return new Map(
    results.map((r) => [r.id, r.ok ? { ok: true, body: (r.response.body ?? {}) as GraphEvent } : r] as const),
  );
}

const gone = (error: Error) => isExhError(error, 'EXH_EXCHANGE_ITEM_NOT_FOUND');

/** A failure that is the item's own (recorded as unreadable); a retryable one fails the page, which is asked again. */
function itemFailure(error: Error): { code: string; message: string } {
  if (isExhError(error) && !error.retryable) return { code: error.code, message: error.message };
  throw error;
}

/**
 * Whether an event calendarView/delta reported as removed, and that Graph still gives, is gone from the calendar: it
 * still overlaps the window the view was read within, so it did not leave the window, it left the calendar (deleted
 * to Deleted Items, moved to another calendar). Outside the window, or without times to tell, it merely left the
 * window, and the backend says nothing of rows outside it (SyncPage.window).
 */
export function removalIsDeletion(event: GraphEvent, window: { from: string; until: string }): boolean {
  const start = fromDateTimeTimeZone(event.start);
  const end = fromDateTimeTimeZone(event.end) ?? start;
  if (!start || !end) return false;
  return Date.parse(start) < Date.parse(window.until) && Date.parse(end) > Date.parse(window.from);
}

export async function syncCalendar(
  mailbox: GraphMailbox,
  continuation: string | null,
  options: SyncFolderOptions,
): Promise<SyncPage> {
  const state = decodeContinuation(mailbox.user, 'calendar', continuation);
  const now = mailbox.now();
  const today = calendarWindowOf(now, mailbox.calendarWindow);
  const rolled = state !== undefined && state.window?.from !== today.from;
  const round: Round = roundOf(state, rolled);
  const window = state && !rolled && state.window ? state.window : today;
  const link = state && !rolled ? state.link : initialLink(mailbox, window);
  const page = await readDelta<GraphEvent>(mailbox, link, options);
  round.started ??= page.date;
  const max = Math.max(0, Math.floor(options.occurrences ?? 0));
  const held: HeldOccurrences = Object.fromEntries(
    Object.entries(state?.series ?? {}).map(([id, ids]) => [id, [...ids]]),
  );

  const removed: string[] = [];
  const singles: GraphEvent[] = [];
  const bySeries = new Map<string, GraphEvent[]>();
  for (const entry of page.entries) {
    if (!entry.id) continue;
    if (entry['@removed']) removed.push(entry.id);
    else if ((entry.type === 'occurrence' || entry.type === 'exception') && entry.seriesMasterId) {
      bySeries.set(entry.seriesMasterId, [...(bySeries.get(entry.seriesMasterId) ?? []), entry]);
    } else singles.push(entry);
  }
  const events = (id: string) => itemPath(mailbox.path, 'event', id);
  const fetched = await fetchAll(
    mailbox,
    [
      ...singles.map((e) => ({
        id: `s:${e.id}`,
        url: `${events(e.id as string)}?$select=id&$expand=${appItemIdExpand}`,
      })),
      ...[...bySeries.keys()]
        .filter((id) => !singles.some((e) => e.id === id))
        .map((id) => ({ id: `m:${id}`, url: `${events(id)}?$expand=${appItemIdExpand}` })),
      ...removed.map((id) => ({ id: `r:${id}`, url: `${events(id)}?$select=id,start,end` })),
    ],
    options,
  );

  const changes: SyncChange[] = [];
  const incomplete: string[] = [];
  const forgetSeries = (masterId: string) => {
    for (const id of held[masterId] ?? []) changes.push({ type: 'delete', itemId: id });
    delete held[masterId];
  };

  // Deletions: what is gone, or what still answers but left the view while inside the window (it left the calendar:
  // Deleted Items, another calendar); what answers outside the window merely left it (removalIsDeletion).
  // The masters whose occurrences went: the series may have gone whole (its master is never in the view).
  const suspects = new Set<string>();
  for (const id of removed) {
    const answer = fetched.get(`r:${id}`);
    if (answer?.ok && !removalIsDeletion(answer.body, window)) continue;
    if (answer && !answer.ok && !gone(answer.error)) itemFailure(answer.error);
    changes.push({ type: 'delete', itemId: id });
    if (held[id]) forgetSeries(id);
    else {
      const master = Object.keys(held).find((m) => held[m]?.includes(id));
      if (master) {
        held[master] = (held[master] ?? []).filter((o) => o !== id);
        suspects.add(master);
      } else for (const known of Object.keys(held)) suspects.add(known);
    }
  }
  if (suspects.size > 0) await forgetGoneSeries(mailbox, held, [...suspects], bySeries, singles, changes, options);

  // Attachments of the events reported with some.
  const reported: GraphEvent[] = [];
  const unreadable = new Map<string, { code: string; message: string }>();
  for (const single of singles) {
    const answer = fetched.get(`s:${single.id}`);
    if (answer && !answer.ok) {
      if (gone(answer.error)) continue;
      unreadable.set(single.id as string, itemFailure(answer.error));
      continue;
    }
    single.singleValueExtendedProperties = answer?.body.singleValueExtendedProperties ?? [];
    reported.push(single);
  }
  const masters = new Map<string, GraphEvent>();
  for (const masterId of bySeries.keys()) {
    const own = singles.find((e) => e.id === masterId);
    const answer = fetched.get(`m:${masterId}`);
    if (own) masters.set(masterId, own);
    else if (answer?.ok) {
      masters.set(masterId, answer.body);
      reported.push(answer.body);
    } else if (answer && !gone(answer.error)) {
      const failure = itemFailure(answer.error);
      changes.push({
        type: 'unreadable',
        itemId: masterId,
        error: { code: failure.code, message: `the series could not be read: ${failure.message}` },
      });
      incomplete.push(masterId);
    }
  }
  if (max > 0) for (const list of bySeries.values()) reported.push(...list);
  await addAttachments(mailbox, reported, unreadable, options);

  const item = (event: GraphEvent): ExchangeItem => eventFromGraph(event);
  for (const single of singles) {
    const id = single.id as string;
    const failure = unreadable.get(id);
    if (failure) changes.push({ type: 'unreadable', itemId: id, error: failure });
    if (failure || !reported.includes(single)) continue;
    const current = item(single);
    changes.push({ type: changeType(round, current), item: current });
    // No longer a series: what was reported of it goes.
    if (single.type !== 'seriesMaster' && held[id]) forgetSeries(id);
    else if (single.type === 'seriesMaster') held[id] ??= [];
  }
  for (const [masterId, occurrences] of bySeries) {
    const master = masters.get(masterId);
    if (!master) continue;
    const masterItem = item(master);
    if (!singles.includes(master)) changes.push({ type: changeType(round, masterItem), item: masterItem });
    if (max === 0) {
      // Masters only: occurrences reported before (a larger setting) go.
      forgetSeries(masterId);
      held[masterId] = [];
      continue;
    }
    const list = held[masterId] ?? [];
    // The earliest first, by their place in the pattern, as far as this page can tell.
    const position = (e: GraphEvent) => iso(e.originalStart) ?? fromDateTimeTimeZone(e.start) ?? '';
    const byPosition = [...occurrences].sort((a, b) => position(a).localeCompare(position(b)));
    for (const occurrence of byPosition) {
      const id = occurrence.id as string;
      const failure = unreadable.get(id);
      if (failure) {
        changes.push({ type: 'unreadable', itemId: id, error: failure });
        continue;
      }
      const known = list.includes(id);
      if (!known && list.length >= max) continue;
      const current = item(occurrence);
      current.properties.appItemId = masterItem.properties.appItemId ?? null;
      changes.push({ type: known ? 'update' : 'create', item: current });
      if (!known) list.push(id);
    }
    held[masterId] = list;
  }

  return {
    changes,
    continuation: encodeContinuation({
      folder: 'calendar',
      link: page.delta ?? page.next ?? link,
      at: page.delta || !page.next ? 'delta' : 'next',
      fresh: round.fresh,
      started: round.started,
      ...(round.since ? { since: round.since } : {}),
      window,
      series: held,
    }),
    done: page.delta !== undefined || page.next === undefined,
    window,
    ...(rolled ? { restarted: true } : {}),
    ...(incomplete.length > 0 ? { incomplete } : {}),
  };
}

/**
 * Occurrences were removed (of a known series, or of none the continuation knows): a series deleted whole takes its
 * occurrences out of the view, but its master was never in it, so the suspected masters not on this page are looked
 * up, and a gone one is deleted with the occurrences reported of it.
 */
async function forgetGoneSeries(
  mailbox: GraphMailbox,
  held: HeldOccurrences,
  suspects: readonly string[],
  onPage: ReadonlyMap<string, GraphEvent[]>,
  singles: readonly GraphEvent[],
  changes: SyncChange[],
  options: SyncFolderOptions,
): Promise<void> {
  const candidates = suspects.filter((id) => held[id] && !onPage.has(id) && !singles.some((e) => e.id === id));
  const answers = await fetchAll(
    mailbox,
    candidates.map((id) => ({ id, url: `${itemPath(mailbox.path, 'event', id)}?$select=id,type` })),
    options,
  );
  for (const id of candidates) {
    const answer = answers.get(id);
    if (answer?.ok) continue;
    if (answer && !gone(answer.error)) itemFailure(answer.error as ExhError);
    changes.push({ type: 'delete', itemId: id });
    for (const occurrence of held[id] ?? []) changes.push({ type: 'delete', itemId: occurrence });
    delete held[id];
  }
}

/** The attachment names and ids of events reported with attachments; a failure makes the event unreadable. */
async function addAttachments(
  mailbox: GraphMailbox,
  events: GraphEvent[],
  unreadable: Map<string, { code: string; message: string }>,
  options: SyncFolderOptions,
): Promise<void> {
  const withAttachments = events.filter((e) => e.hasAttachments === true && !Array.isArray(e.attachments));
  const refs = await attachmentRefsOf(
    mailbox,
    withAttachments.map((e) => itemPath(mailbox.path, 'event', e.id as string)),
    options,
  );
  withAttachments.forEach((event, index) => {
    const found = refs[index];
    if (found instanceof Error) {
      if (!gone(found)) unreadable.set(event.id as string, itemFailure(found));
    } else event.attachments = (found ?? []) as GraphEvent['attachments'];
  });
}
