import type { OperationContext } from '../context.js';
import { type ItemView, occurrencesIn, seriesOf, viewOf } from '../items/calendar.js';
import { parseShape, renderItem } from '../items/render.js';
import { normalizeDate, textOf, timeOf } from '../items/values.js';
import { EwsError } from '../soap/response-codes.js';
import { child, children, type XmlNode } from '../xml/node.js';
import { el } from '../xml/write.js';
import { intAttr, resolveFolder, responseMessages } from './common.js';
import { compileRestriction, compileSort } from './restriction.js';

/**
 * FindItem: paged views of a folder with restrictions and sort orders, and CalendarView, which expands recurring
 * series into their occurrences and exceptions (and leaves deleted occurrences out) within a time window.
 *
 * EWSFindCountLimit (settings.findCountLimit, 1000 by default) bounds every answer, as on Exchange: a paged view
 * (MaxEntriesReturned given) gets at most that many items and IncludesLastItemInRange false; an unpaged request
 * whose result is larger is refused with ErrorExceededFindCountLimit; a CalendarView without MaxEntriesReturned that
 * holds more is refused with ErrorCalendarViewRangeTooBig. Series are expanded no further than the answer needs.
 */

function calendarView(
  view: XmlNode,
  items: Iterable<ItemView>,
  limit: number,
): { page: ItemView[]; complete: boolean } {
  const from = Date.parse(normalizeDate(view.a?.StartDate ?? '', 'StartDate'));
  const to = Date.parse(normalizeDate(view.a?.EndDate ?? '', 'EndDate'));
  if (to < from) throw new EwsError('ErrorCalendarEndDateIsEarlierThanStartDate');
  const asked = view.a?.MaxEntriesReturned === undefined ? undefined : intAttr(view, 'MaxEntriesReturned', 0);
  const wanted = Math.min(asked ?? limit, limit);
  const out: ItemView[] = [];
  for (const item of items) {
    if (item.kind !== 'CalendarItem') continue;
    if (seriesOf(item.item)) {
      // One more than wanted tells whether the view holds more than the answer can.
      out.push(...occurrencesIn(item.item, from, to, wanted + 1));
      continue;
    }
    const start = timeOf(item.props.Start) ?? 0;
    const end = timeOf(item.props.End) ?? start;
    if ((end > from && start < to) || (start === end && start >= from && start < to)) out.push(item);
  }
  out.sort((a, b) => (timeOf(a.props.Start) ?? 0) - (timeOf(b.props.Start) ?? 0));
  if (asked === undefined && out.length > limit) throw new EwsError('ErrorCalendarViewRangeTooBig');
  const page = out.slice(0, wanted);
  return { page, complete: page.length === out.length };
}

/** The page size of a paged view, or undefined for an unpaged request (no view, or no MaxEntriesReturned). */
function pageSize(view: XmlNode | undefined, limit: number): number | undefined {
  if (view?.a?.MaxEntriesReturned === undefined) return undefined;
  return Math.min(intAttr(view, 'MaxEntriesReturned', 0), limit);
}

/** An unpaged request answers with everything from `offset` on, which must fit in the find count limit. */
function unpaged(list: ItemView[], offset: number, limit: number): number {
  const rest = Math.max(0, list.length - offset);
  if (rest > limit) throw new EwsError('ErrorExceededFindCountLimit');
  return rest;
}

function contactsView(view: XmlNode, items: ItemView[]): ItemView[] {
  const initial = view.a?.InitialName?.toLowerCase();
  const final = view.a?.FinalName?.toLowerCase();
  return items.filter((item) => {
    const name = (textOf(item.props.FileAs) ?? textOf(item.props.DisplayName) ?? '').toLowerCase();
    return (initial === undefined || name >= initial) && (final === undefined || name <= final);
  });
}

export function findItems(request: XmlNode, ctx: OperationContext): string {
  const shape = parseShape(child(request, 'ItemShape'), true);
  const traversal = request.a?.Traversal ?? 'Shallow';
  const restriction = (child(request, 'Restriction')?.c ?? [])[0];
  const parents = children(child(request, 'ParentFolderIds'));
  return responseMessages('FindItem', parents, (parentId) => {
    const folder = resolveFolder(ctx, parentId);
    // Soft-deleted and associated items are not kept by the emulator: those traversals find nothing.
    const stored = traversal === 'Shallow' ? [...ctx.mailbox.itemsIn(folder.id).values()].map(viewOf) : [];
    const calendar = child(request, 'CalendarView');
    const indexed = child(request, 'IndexedPageItemView');
    const fractional = child(request, 'FractionalPageItemView');
    const contacts = child(request, 'ContactsView');
    let attrs: Record<string, string | number | boolean>;
    let page: ItemView[];
    const limit = ctx.core.settings.findCountLimit;
    if (calendar) {
      if (restriction)
        throw new EwsError('ErrorInvalidRestriction', 'Restrictions cannot be used with a CalendarView.');
      const view = calendarView(calendar, stored, limit);
      page = view.page;
      // The view was expanded only as far as the answer needs: the total is what it holds.
      attrs = { TotalItemsInView: page.length, IncludesLastItemInRange: view.complete };
    } else {
      let list = restriction ? stored.filter(compileRestriction(restriction, ctx)) : stored;
      if (contacts) list = contactsView(contacts, list);
      const sort = compileSort(child(request, 'SortOrder'), ctx);
      list.sort(sort ?? ((a, b) => b.item.created - a.item.created || b.item.createdSeq - a.item.createdSeq));
      if (fractional) {
        const numerator = intAttr(fractional, 'Numerator', 0);
        const denominator = Math.max(1, intAttr(fractional, 'Denominator', 1));
        const offset = Math.floor((numerator / denominator) * list.length);
        const max = pageSize(fractional, limit) ?? unpaged(list, offset, limit);
        page = list.slice(offset, offset + max);
        attrs = {
          NumeratorOffset: offset + page.length,
          AbsoluteDenominator: list.length,
          TotalItemsInView: list.length,
          IncludesLastItemInRange: offset + page.length >= list.length,
        };
      } else {
        const offset = intAttr(indexed, 'Offset', 0);
        const max = pageSize(indexed ?? contacts, limit) ?? unpaged(list, offset, limit);
        const ordered = indexed?.a?.BasePoint === 'End' ? [...list].reverse() : list;
        page = ordered.slice(offset, offset + max);
        // Without a paged view Exchange writes no IndexedPagingOffset (Microsoft's FindItem example).
        attrs = {
          ...(indexed || contacts ? { IndexedPagingOffset: offset + page.length } : {}),
          TotalItemsInView: list.length,
          IncludesLastItemInRange: offset + page.length >= list.length,
        };
      }
    }
    const items = page.map((view) => renderItem(view, shape, ctx)).join('');
    return el('m:RootFolder', attrs, `<t:Items>${items}</t:Items>`);
  });
}
