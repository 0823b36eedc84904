import { EwsError } from '../soap/response-codes.js';
import { changeKeyOf, isWellFormedId, occurrenceId, parseOccurrenceId } from '../store/ids.js';
import type { Mailbox } from '../store/mailbox.js';
import type { OccurrenceException, PropValue, StoredItem } from '../store/model.js';
import type { XmlNode } from '../xml/node.js';
import type { ItemKind } from './fields.js';
import { expand, occurrenceAt, parseRecurrence, type SeriesRule } from './recurrence.js';
import { ianaOf } from './timezone.js';
import { isoSeconds, timeOf } from './values.js';

/**
 * What a client sees of a stored item: the item itself, or one occurrence of a recurring series (the master's
 * properties with the exception's changes on top, its own id and times).
 */
export interface ItemView {
  item: StoredItem;
  kind: ItemKind;
  id: string;
  changeKey: string;
  props: Record<string, PropValue>;
  occurrence?: { index: number; originalStart: number; exception: boolean };
}

export function viewOf(item: StoredItem): ItemView {
  return { item, kind: item.kind, id: item.id, changeKey: changeKeyOf(item.id, item.version), props: item.props };
}

export interface Series {
  rule: SeriesRule;
  zone: string;
  start: number;
  duration: number;
}

/** The series of a recurring master (calendar items and meeting requests with a calendar Recurrence). */
export function seriesOf(item: StoredItem): Series | undefined {
  const recurrence = item.props.Recurrence;
  if (item.kind !== 'CalendarItem' || typeof recurrence !== 'object' || !recurrence.c?.length) return undefined;
  const start = timeOf(item.props.Start);
  const end = timeOf(item.props.End);
  if (start === undefined) return undefined;
  return {
    rule: parseRecurrence(recurrence),
    zone: ianaOf(typeof item.props._tz === 'string' ? item.props._tz : undefined),
    start,
    duration: Math.max(0, (end ?? start) - start),
  };
}

const occurrenceOmits = new Set(['Recurrence']);

function occurrenceView(item: StoredItem, series: Series, index: number, originalStart: number): ItemView {
  const key = isoSeconds(originalStart);
  const exception = item.exceptions?.[key];
  const props: Record<string, PropValue> = {};
  for (const [name, value] of Object.entries(item.props)) if (!occurrenceOmits.has(name)) props[name] = value;
  props.Start = isoSeconds(originalStart);
  props.End = isoSeconds(originalStart + series.duration);
  if (exception) Object.assign(props, exception.props);
  const id = occurrenceId(item.id, key);
  return {
    item,
    kind: item.kind,
    id,
    changeKey: changeKeyOf(id, item.version * 1000 + (exception?.version ?? 0)),
    props,
    occurrence: { index, originalStart, exception: exception !== undefined },
  };
}

/**
 * Occurrences of a master that overlap [from, to), exceptions included, deleted ones left out, in start order. With
 * `limit`, expansion stops once that many were found (a CalendarView needs no more than the find count limit).
 */
export function occurrencesIn(item: StoredItem, from: number, to: number, limit?: number): ItemView[] {
  const series = seriesOf(item);
  if (!series) return [];
  const deleted = new Set(item.deletedOccurrences ?? []);
  const day = 86_400_000;
  const found = new Map<number, ItemView>();
  // Deleted and moved occurrences may drop out of the window after expansion: expand enough to make up for them.
  const slack = (item.deletedOccurrences?.length ?? 0) + Object.keys(item.exceptions ?? {}).length;
  const bound = limit === undefined ? undefined : { limit: limit + slack, countFrom: from - series.duration };
  for (const occurrence of expand(
    series.rule,
    series.start,
    series.zone,
    from - series.duration - day,
    to + day,
    bound,
  )) {
    if (deleted.has(isoSeconds(occurrence.start))) continue;
    found.set(occurrence.start, occurrenceView(item, series, occurrence.index, occurrence.start));
  }
  // An exception may have moved far from its original start.
  for (const key of Object.keys(item.exceptions ?? {})) {
    const original = Date.parse(key);
    if (found.has(original) || deleted.has(key)) continue;
    const [match] = expand(series.rule, series.start, series.zone, original, original + 1);
    if (match) found.set(original, occurrenceView(item, series, match.index, original));
  }
  return [...found.values()]
    .filter((view) => {
      const start = timeOf(view.props.Start) ?? 0;
      const end = timeOf(view.props.End) ?? start;
      return (end > from && start < to) || (start === end && start >= from && start < to);
    })
    .sort((a, b) => (timeOf(a.props.Start) ?? 0) - (timeOf(b.props.Start) ?? 0));
}

/** The occurrence at a 1-based index (OccurrenceItemId InstanceIndex), as Exchange's errors have it. */
export function occurrenceByIndex(item: StoredItem, index: number): ItemView {
  const series = seriesOf(item);
  if (!series) throw new EwsError('ErrorItemNotFound', 'The item is not a recurring master.');
  const occurrence = occurrenceAt(series.rule, series.start, series.zone, index);
  if (!occurrence) throw new EwsError('ErrorCalendarOccurrenceIndexIsOutOfRecurrenceRange');
  if (item.deletedOccurrences?.includes(isoSeconds(occurrence.start))) {
    throw new EwsError('ErrorCalendarOccurrenceIsDeletedFromRecurrence');
  }
  return occurrenceView(item, series, occurrence.index, occurrence.start);
}

export function occurrenceByStart(item: StoredItem, originalStart: string): ItemView {
  const series = seriesOf(item);
  if (!series) throw new EwsError('ErrorItemNotFound');
  const ms = Date.parse(originalStart);
  const [match] = expand(series.rule, series.start, series.zone, ms, ms + 1);
  if (!match || match.start !== ms) throw new EwsError('ErrorItemNotFound');
  if (item.deletedOccurrences?.includes(isoSeconds(ms)))
    throw new EwsError('ErrorCalendarOccurrenceIsDeletedFromRecurrence');
  return occurrenceView(item, series, match.index, match.start);
}

/** The exception record of one occurrence, created empty when the occurrence is first changed. */
export function exceptionOf(item: StoredItem, originalStart: number): OccurrenceException {
  const key = isoSeconds(originalStart);
  if (!item.exceptions) item.exceptions = {};
  let exception = item.exceptions[key];
  if (!exception) {
    exception = { props: {}, version: 0, modified: 0 };
    item.exceptions[key] = exception;
  }
  return exception;
}

export interface IdRef {
  view: ItemView;
  /** The ChangeKey the client sent, if any. */
  changeKey: string | undefined;
}

function lookup(mailbox: Mailbox, id: string | undefined): StoredItem {
  if (!id) throw new EwsError('ErrorInvalidIdEmpty');
  if (!isWellFormedId(id)) throw new EwsError('ErrorInvalidIdMalformed');
  const item = mailbox.items.get(id);
  if (!item) throw new EwsError('ErrorItemNotFound');
  return item;
}

/** Resolves ItemId, OccurrenceItemId or RecurringMasterItemId to what it names in this mailbox. */
export function resolveItemId(mailbox: Mailbox, node: XmlNode): IdRef {
  const attrs = node.a ?? {};
  if (node.n === 'OccurrenceItemId') {
    const master = lookup(mailbox, attrs.RecurringMasterId);
    const index = Number(attrs.InstanceIndex);
    if (!Number.isInteger(index) || index < 1) throw new EwsError('ErrorCalendarOccurrenceIndexIsOutOfRecurrenceRange');
    return { view: occurrenceByIndex(master, index), changeKey: attrs.ChangeKey };
  }
  if (node.n === 'RecurringMasterItemId') {
    const occurrence = resolveItemId(mailbox, { n: 'ItemId', a: { Id: attrs.OccurrenceId ?? '' } });
    return { view: viewOf(occurrence.view.item), changeKey: attrs.ChangeKey };
  }
  const id = attrs.Id;
  const parsed = id ? parseOccurrenceId(id) : undefined;
  if (parsed) {
    const master = lookup(mailbox, parsed.masterId);
    return { view: occurrenceByStart(master, parsed.originalStart), changeKey: attrs.ChangeKey };
  }
  return { view: viewOf(lookup(mailbox, id)), changeKey: attrs.ChangeKey };
}
