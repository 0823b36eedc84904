import { type ItemView, occurrencesIn, seriesOf, viewOf } from '../items/calendar.js';
import { isoSeconds, timeOf } from '../items/values.js';
import { occurrenceId } from '../store/ids.js';
import type { Mailbox } from '../store/mailbox.js';
import type { StoredItem, Tombstone } from '../store/model.js';
import { GraphError } from './http.js';
import { findImmutable, graphOccurrenceId, restIdOf, tombstoneId } from './ids.js';

/**
 * Delta rounds (https://learn.microsoft.com/graph/delta-query-overview) over one folder of the store. A round is the
 * changes with a sequence number in (seen, end], `end` being the mailbox's sequence when the round began; pages follow
 * in sequence order, each with an `@odata.nextLink` ($skiptoken: the round and the last entry given) until the last,
 * which has an `@odata.deltaLink` ($deltatoken: seen = end). Tokens are sealed by the store's secret, so they are
 * opaque and cannot be forged, and they survive a restart with --data. The same token gives the same page again
 * (replays are harmless). A calendarView round is bounded by its window (in the token) and reports occurrences and
 * exceptions of a series as events of their own, as Graph does; an event that left the window comes as
 * `@removed: {reason: "changed"}`, as does an item moved to another folder; a deleted one (gone, or in Deleted
 * Items) as "deleted".
 */

export interface DeltaState {
  epoch: string;
  scope: string;
  seen: number;
  end: number;
  /** The last entry given in this round: sequence and index within it. */
  cursorSeq: number;
  cursorIndex: number;
  initial: boolean;
  window?: { from: number; to: number };
}

const tokenKind = 'graph-delta';

export function sealState(mailbox: Mailbox, state: DeltaState): string {
  return mailbox.seal.seal(tokenKind, [
    state.epoch,
    state.scope,
    state.seen,
    state.end,
    state.cursorSeq,
    state.cursorIndex,
    state.initial ? 1 : 0,
    state.window?.from ?? '',
    state.window?.to ?? '',
  ]);
}

/** The state a token holds, or undefined when it is not one of this mailbox's (forged, garbled, or from before a reset). */
export function openState(mailbox: Mailbox, token: string): DeltaState | undefined {
  const fields = mailbox.seal.open(tokenKind, token.replaceAll('-', '+').replaceAll('_', '/'));
  if (fields?.length !== 9) return undefined;
  const [epoch, scope, seen, end, cursorSeq, cursorIndex, initial, from, to] = fields;
  if (epoch !== mailbox.epoch || scope === undefined) return undefined;
  const state: DeltaState = {
    epoch,
    scope,
    seen: Number(seen),
    end: Number(end),
    cursorSeq: Number(cursorSeq),
    cursorIndex: Number(cursorIndex),
    initial: initial === '1',
  };
  if (from && to) state.window = { from: Number(from), to: Number(to) };
  if (state.end > mailbox.seq || state.seen > state.end) return undefined;
  return state;
}

/** URL-safe form of a sealed token (it goes into a query string). */
export function urlToken(token: string): string {
  return token.replaceAll('+', '-').replaceAll('/', '_');
}

export type DeltaEntry =
  | { seq: number; index: number; view: ItemView }
  | { seq: number; index: number; removed: { id: string; reason: 'deleted' | 'changed' } };

/** Which series' occurrences (original starts) a client was given, by master immutable id: to report them deleted. */
const givenOccurrences = new WeakMap<Mailbox, Map<string, Set<string>>>();

function given(mailbox: Mailbox): Map<string, Set<string>> {
  let map = givenOccurrences.get(mailbox);
  if (!map) {
    map = new Map();
    givenOccurrences.set(mailbox, map);
  }
  return map;
}

function overlaps(view: ItemView, window: { from: number; to: number }): boolean {
  const start = timeOf(view.props.Start) ?? 0;
  const end = timeOf(view.props.End) ?? start;
  return (end > window.from && start < window.to) || (start === end && start >= window.from && start < window.to);
}

function removedOccurrenceId(master: { id: string; immutableId?: string }, key: string, immutable: boolean): string {
  if (immutable && master.immutableId)
    return graphOccurrenceId({ immutableId: master.immutableId } as StoredItem, Date.parse(key), true);
  return restIdOf(occurrenceId(master.id, key));
}

function calendarEntries(mailbox: Mailbox, item: StoredItem, state: DeltaState, immutable: boolean): DeltaEntry[] {
  const window = state.window ?? { from: 0, to: 0 };
  const seq = item.changeSeq;
  if (!seriesOf(item)) {
    const view = viewOf(item);
    if (overlaps(view, window)) return [{ seq, index: 0, view }];
    return state.initial
      ? []
      : [{ seq, index: 0, removed: { id: restOrImmutable(item, immutable), reason: 'changed' } }];
  }
  const occurrences = occurrencesIn(item, window.from, window.to);
  const entries: DeltaEntry[] = occurrences.map((view, index) => ({ seq, index, view }));
  const key = item.immutableId ?? item.id;
  const now = new Set(occurrences.map((v) => isoSeconds(v.occurrence?.originalStart ?? 0)));
  const before = given(mailbox).get(key) ?? new Set<string>();
  let index = entries.length;
  for (const start of before) {
    const ms = Date.parse(start);
    if (now.has(start) || ms < window.from - 86_400_000 || ms >= window.to) continue;
    entries.push({
      seq,
      index: index++,
      removed: { id: removedOccurrenceId(item, start, immutable), reason: 'deleted' },
    });
  }
  given(mailbox).set(key, new Set([...before, ...now]));
  return entries;
}

function restOrImmutable(item: StoredItem, immutable: boolean): string {
  return immutable && item.immutableId ? item.immutableId : restIdOf(item.id);
}

function tombstoneEntries(mailbox: Mailbox, tombstone: Tombstone, immutable: boolean, calendar: boolean): DeltaEntry[] {
  // Moved to another folder: it left this one ("changed"); in Deleted Items or gone: deleted.
  const deletedItems = mailbox.byDistinguished.get('deleteditems')?.id;
  const movedTo = tombstone.immutableId ? findImmutable(mailbox, tombstone.immutableId) : undefined;
  const reason = movedTo && movedTo.folderId !== deletedItems ? 'changed' : 'deleted';
  const out: DeltaEntry[] = [
    { seq: tombstone.seq, index: 0, removed: { id: tombstoneId(tombstone, immutable), reason } },
  ];
  if (calendar) {
    const starts = given(mailbox).get(tombstone.immutableId ?? tombstone.id) ?? new Set<string>();
    let index = 1;
    for (const start of starts)
      out.push({
        seq: tombstone.seq,
        index: index++,
        removed: { id: removedOccurrenceId(tombstone, start, immutable), reason },
      });
  }
  return out;
}

export interface DeltaPage {
  entries: DeltaEntry[];
  /** The state for the next link: a $skiptoken (more in this round) or a $deltatoken (round done). */
  next: DeltaState;
  done: boolean;
}

/** One page of a round in a folder; `kinds` are the store kinds the resource shows. */
export function deltaPage(
  mailbox: Mailbox,
  folderId: string,
  state: DeltaState,
  options: { pageSize: number; immutable: boolean; kinds: string[]; calendar: boolean },
): DeltaPage {
  const entries: DeltaEntry[] = [];
  const after = (e: DeltaEntry) =>
    e.seq > state.cursorSeq || (e.seq === state.cursorSeq && e.index > state.cursorIndex);
  for (const item of mailbox.itemsIn(folderId).values()) {
    if (item.changeSeq <= state.seen || item.changeSeq > state.end || !options.kinds.includes(item.kind)) continue;
    if (item.changeSeq < state.cursorSeq) continue;
    if (options.calendar) entries.push(...calendarEntries(mailbox, item, state, options.immutable));
    else entries.push({ seq: item.changeSeq, index: 0, view: viewOf(item) });
  }
  if (!state.initial) {
    for (const tombstone of mailbox.tombstones.get(folderId) ?? []) {
      if (tombstone.seq <= state.seen || tombstone.seq > state.end || tombstone.seq < state.cursorSeq) continue;
      entries.push(...tombstoneEntries(mailbox, tombstone, options.immutable, options.calendar));
    }
  }
  const pending = entries.filter(after).sort((a, b) => a.seq - b.seq || a.index - b.index);
  const page = pending.slice(0, options.pageSize);
  const done = page.length === pending.length;
  const last = page[page.length - 1];
  const next: DeltaState = done
    ? {
        ...state,
        seen: state.end,
        end: state.end,
        cursorSeq: state.end,
        cursorIndex: Number.MAX_SAFE_INTEGER,
        initial: false,
      }
    : { ...state, cursorSeq: last?.seq ?? state.cursorSeq, cursorIndex: last?.index ?? state.cursorIndex };
  return { entries: page, next, done };
}

/** The state a delta request starts from: its token's, or a new round from the beginning. */
export function startState(
  mailbox: Mailbox,
  scope: string,
  token: string | null,
  window: { from: number; to: number } | undefined,
): DeltaState | undefined {
  if (token === null) {
    return {
      epoch: mailbox.epoch,
      scope,
      seen: 0,
      end: mailbox.seq,
      cursorSeq: 0,
      cursorIndex: -1,
      initial: true,
      ...(window ? { window } : {}),
    };
  }
  const state = openState(mailbox, token);
  if (!state) return undefined;
  if (state.scope !== scope)
    throw new GraphError(400, 'syncStateInvalid', 'The delta token belongs to another folder or resource.');
  // A deltaLink starts the next round at the mailbox's current sequence.
  if (state.seen === state.end && state.cursorIndex === Number.MAX_SAFE_INTEGER)
    return { ...state, end: mailbox.seq, cursorSeq: state.seen, cursorIndex: Number.MAX_SAFE_INTEGER };
  return state;
}
