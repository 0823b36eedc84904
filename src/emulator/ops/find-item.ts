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
 */

function calendarView(view: XmlNode, items: Iterable<ItemView>): { list: ItemView[]; max: number } {
  const from = Date.parse(normalizeDate(view.a?.StartDate ?? '', 'StartDate'));
  const to = Date.parse(normalizeDate(view.a?.EndDate ?? '', 'EndDate'));
  if (to < from) throw new EwsError('ErrorCalendarEndDateIsEarlierThanStartDate');
  const out: ItemView[] = [];
  for (const item of items) {
    if (item.kind !== 'CalendarItem') continue;
    if (seriesOf(item.item)) {
      out.push(...occurrencesIn(item.item, from, to));
      continue;
    }
    const start = timeOf(item.props.Start) ?? 0;
    const end = timeOf(item.props.End) ?? start;
    if ((end > from && start < to) || (start === end && start >= from && start < to)) out.push(item);
  }
  out.sort((a, b) => (timeOf(a.props.Start) ?? 0) - (timeOf(b.props.Start) ?? 0));
  return { list: out, max: intAttr(view, 'MaxEntriesReturned', Number.MAX_SAFE_INTEGER) };
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
    if (calendar) {
      if (restriction)
        throw new EwsError('ErrorInvalidRestriction', 'Restrictions cannot be used with a CalendarView.');
      const { list, max } = calendarView(calendar, stored);
      page = list.slice(0, max);
      attrs = { TotalItemsInView: list.length, IncludesLastItemInRange: page.length === list.length };
    } else {
      let list = restriction ? stored.filter(compileRestriction(restriction, ctx)) : stored;
      if (contacts) list = contactsView(contacts, list);
      const sort = compileSort(child(request, 'SortOrder'), ctx);
      list.sort(sort ?? ((a, b) => b.item.created - a.item.created || b.item.createdSeq - a.item.createdSeq));
      if (fractional) {
        const numerator = intAttr(fractional, 'Numerator', 0);
        const denominator = Math.max(1, intAttr(fractional, 'Denominator', 1));
        const max = intAttr(fractional, 'MaxEntriesReturned', list.length || 1);
        const offset = Math.floor((numerator / denominator) * list.length);
        page = list.slice(offset, offset + max);
        attrs = {
          NumeratorOffset: offset + page.length,
          AbsoluteDenominator: list.length,
          TotalItemsInView: list.length,
          IncludesLastItemInRange: offset + page.length >= list.length,
        };
      } else {
        const offset = intAttr(indexed, 'Offset', 0);
        const max = intAttr(indexed ?? contacts, 'MaxEntriesReturned', list.length || 1);
        const ordered = indexed?.a?.BasePoint === 'End' ? [...list].reverse() : list;
        page = ordered.slice(offset, offset + max);
        attrs = {
          IndexedPagingOffset: offset + page.length,
          TotalItemsInView: list.length,
          IncludesLastItemInRange: offset + page.length >= list.length,
        };
      }
    }
    const items = page.map((view) => renderItem(view, shape, ctx)).join('');
    return el('m:RootFolder', attrs, `<t:Items>${items}</t:Items>`);
  });
}
