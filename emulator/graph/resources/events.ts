import { occurrencesIn, viewOf } from '../../items/calendar.js';
import { organizedBy } from '../../items/meetings.js';
import type { StoredItem } from '../../store/model.js';
import { instantOf } from '../convert/common.js';
import { badRequest, GraphError, type GraphResponse, jsonBody, linkTo, type MailboxRequest, ok } from '../http.js';
import { eventType } from '../item-types.js';
import { preferencesOf } from '../prefer.js';
import { parseQuery, shape } from '../query.js';
import { checkIfMatch, updateStored, viewById } from '../writes.js';
import { deltaResponse } from './delta.js';
import { createItemIn, createResponse, preferenceHeaders, renderContext, renderView } from './items.js';

/**
 * Events (https://learn.microsoft.com/graph/api/user-post-events): a POST with attendees sends invitations through
 * the emulator's meeting logic; a repeated POST with the same `transactionId` returns the first event instead of a
 * second; only the organizer changes a meeting (an attendee may change its own categories, reminder and showAs);
 * calendarView and calendarView/delta expand series into occurrences and exceptions within the window.
 */

function calendar(request: MailboxRequest) {
  return request.mailbox.folder('calendar');
}

export function createEvent(request: MailboxRequest): GraphResponse {
  const body = jsonBody(request);
  const transactionId = typeof body.transactionId === 'string' && body.transactionId ? body.transactionId : undefined;
  if (transactionId) {
    for (const item of request.mailbox.itemsIn(calendar(request).id).values()) {
      if (item.props._transactionId === transactionId && organizedBy(item, request.mailbox))
        return createResponse(request, eventType, item);
    }
  }
  const item: StoredItem = createItemIn(request, eventType, calendar(request));
  if (transactionId) item.props._transactionId = transactionId;
  return createResponse(request, eventType, item);
}

const attendeeMayChange = new Set(['categories', 'isReminderOn', 'reminderMinutesBeforeStart', 'showAs']);

export function patchEvent(request: MailboxRequest, id: string): GraphResponse {
  const view = viewById(request.mailbox, id, eventType.kinds);
  checkIfMatch(view, request.headers['if-match']);
  const body = jsonBody(request);
  if (!organizedBy(view.item, request.mailbox)) {
    const refused = Object.keys(body).filter((k) => !attendeeMayChange.has(k) && !k.startsWith('@odata'));
    if (refused.length > 0)
      throw new GraphError(
        403,
        'ErrorAccessDenied',
        `Only the organizer can change ${refused.join(', ')} of a meeting; an attendee may change ${[...attendeeMayChange].join(', ')}.`,
      );
  }
  const updated = updateStored(request.core, request.mailbox, view, eventType.changes(body, view));
  return ok(renderView(eventType, updated, request), 200, preferenceHeaders(request));
}

function windowOf(request: MailboxRequest): { from: number; to: number } {
  const start = request.query.get('startDateTime') ?? request.query.get('StartDateTime');
  const end = request.query.get('endDateTime') ?? request.query.get('EndDateTime');
  if (!start || !end)
    throw badRequest(
      'This request requires a time window specified by the query string parameters StartDateTime and EndDateTime.',
      'ErrorInvalidParameter',
    );
  const from = instantOf({ dateTime: start, timeZone: 'UTC' }, 'startDateTime').ms;
  const to = instantOf({ dateTime: end, timeZone: 'UTC' }, 'endDateTime').ms;
  if (to <= from) throw badRequest('endDateTime must be after startDateTime.', 'ErrorInvalidParameter');
  return { from, to };
}

export function calendarView(request: MailboxRequest): GraphResponse {
  const window = windowOf(request);
  const options = parseQuery(request.query);
  const rctx = renderContext(request);
  const out: Record<string, unknown>[] = [];
  for (const item of request.mailbox.itemsIn(calendar(request).id).values()) {
    if (item.kind !== 'CalendarItem') continue;
    const views = item.props.Recurrence ? occurrencesIn(item, window.from, window.to) : [viewOf(item)];
    for (const view of views) {
      const rendered = eventType.render(view, rctx, options);
      if (item.props.Recurrence || overlaps(view.props.Start, view.props.End, window))
        out.push(shape(rendered, item, options));
    }
  }
  out.sort((a, b) =>
    String((a.start as { dateTime: string }).dateTime).localeCompare(
      String((b.start as { dateTime: string }).dateTime),
    ),
  );
  const pageSize = options.top ?? preferencesOf(request).maxPageSize ?? 10;
  const page = out.slice(options.skip, options.skip + pageSize);
  const body: Record<string, unknown> = { value: page };
  if (options.skip + pageSize < out.length) {
    const query = new URLSearchParams(request.query);
    query.set('$skip', String(options.skip + pageSize));
    body['@odata.nextLink'] = linkTo(request, query);
  }
  return ok(body, 200, preferenceHeaders(request));
}

function overlaps(start: unknown, end: unknown, window: { from: number; to: number }): boolean {
  const s = Date.parse(String(start));
  const e = Date.parse(String(end ?? start));
  return (e > window.from && s < window.to) || (s === e && s >= window.from && s < window.to);
}

export function calendarViewDelta(request: MailboxRequest): GraphResponse {
  for (const option of ['$select', '$expand', '$filter', '$orderby'])
    if (request.query.has(option))
      throw badRequest(`${option} is not supported on calendarView delta in v1.0.`, 'ErrorInvalidUrlQuery');
  const token = request.query.get('$deltatoken') ?? request.query.get('$skiptoken');
  const window = token === null ? windowOf(request) : { from: 0, to: 0 };
  return deltaResponse(request, eventType, calendar(request), window);
}

/** GET events/{id}/instances?startDateTime=&endDateTime=: the series' occurrences and exceptions in the window. */
export function instances(request: MailboxRequest, id: string): GraphResponse {
  const view = viewById(request.mailbox, id, eventType.kinds);
  const window = windowOf(request);
  const options = parseQuery(request.query);
  const rctx = renderContext(request);
  const value = occurrencesIn(view.item, window.from, window.to).map((occurrence) =>
    shape(eventType.render(occurrence, rctx, options), view.item, options),
  );
  return ok({ value }, 200, preferenceHeaders(request));
}
