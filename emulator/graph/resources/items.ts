import type { ItemView } from '../../items/calendar.js';
import { viewOf } from '../../items/calendar.js';
import { deleteItem } from '../../ops/items.js';
import type { StoredFolder, StoredItem } from '../../store/model.js';
import type { RenderContext } from '../convert/context.js';
import { type GraphResponse, jsonBody, linkTo, type MailboxRequest, ok } from '../http.js';
import type { ItemType } from '../item-types.js';
import { preferencesOf } from '../prefer.js';
import { matches, parseQuery, type QueryOptions, shape } from '../query.js';
import { checkIfMatch, createStored, operationContext, updateStored, viewById } from '../writes.js';

/** List, get, create, PATCH and DELETE for messages, events, contacts and todoTasks over the store. */

export function renderContext(request: MailboxRequest): RenderContext {
  return { core: request.core, mailbox: request.mailbox, prefs: preferencesOf(request) };
}

export function preferenceHeaders(request: MailboxRequest): Record<string, string> {
  const applied = preferencesOf(request).applied;
  return applied.length > 0 ? { 'preference-applied': applied.join(', ') } : {};
}

export function renderView(
  type: ItemType,
  view: ItemView,
  request: MailboxRequest,
  options: QueryOptions = parseQuery(request.query),
): Record<string, unknown> {
  return shape(type.render(view, renderContext(request), options), view.item, options);
}

const defaultPageSize = 10;

function sortKey(type: ItemType, rendered: Record<string, unknown>): string {
  if (type.graphType === 'message') return String(rendered.receivedDateTime ?? '');
  return '';
}

export function listItems(
  request: MailboxRequest,
  type: ItemType,
  folders: StoredFolder[],
  contextPath?: string,
): GraphResponse {
  const options = parseQuery(request.query);
  const rctx = renderContext(request);
  const found: { item: StoredItem; rendered: Record<string, unknown> }[] = [];
  for (const folder of folders) {
    for (const item of request.mailbox.itemsIn(folder.id).values()) {
      if (!type.kinds.includes(item.kind)) continue;
      // The stamp filter needs only the stored item: look before rendering (a find by app id in a big folder).
      if (options.filter?.kind === 'extended' && !matches(options.filter, item, {})) continue;
      const rendered = type.render(viewOf(item), rctx, options);
      if (matches(options.filter, item, rendered)) found.push({ item, rendered });
    }
  }
  if (type.graphType === 'message')
    found.sort((a, b) => sortKey(type, b.rendered).localeCompare(sortKey(type, a.rendered)));
  const pageSize = options.top ?? preferencesOf(request).maxPageSize ?? defaultPageSize;
  const page = found.slice(options.skip, options.skip + pageSize);
  const body: Record<string, unknown> = {
    '@odata.context': `${request.origin}/graph/v1.0/$metadata#${contextPath ?? type.graphType}s`,
    value: page.map((f) => shape(f.rendered, f.item, options)),
  };
  if (options.skip + pageSize < found.length) {
    const query = new URLSearchParams(request.query);
    query.set('$skip', String(options.skip + pageSize));
    body['@odata.nextLink'] = linkTo(request, query);
  }
  return ok(body, 200, preferenceHeaders(request));
}

export function getItem(request: MailboxRequest, type: ItemType, id: string): GraphResponse {
  const view = viewById(request.mailbox, id, type.kinds);
  return ok(renderView(type, view, request), 200, preferenceHeaders(request));
}

export function createItemIn(request: MailboxRequest, type: ItemType, folder: StoredFolder | undefined): StoredItem {
  const changes = type.changes(jsonBody(request), undefined);
  return createStored(request.core, request.mailbox, type.createKind, changes.set, folder);
}

export function createResponse(request: MailboxRequest, type: ItemType, item: StoredItem): GraphResponse {
  return ok(renderView(type, viewOf(item), request), 201, preferenceHeaders(request));
}

export function patchItem(request: MailboxRequest, type: ItemType, id: string): GraphResponse {
  const view = viewById(request.mailbox, id, type.kinds);
  checkIfMatch(view, request.headers['if-match']);
  const changes = type.changes(jsonBody(request), view);
  const updated = updateStored(request.core, request.mailbox, view, changes);
  return ok(renderView(type, updated, request), 200, preferenceHeaders(request));
}

/** DELETE moves the item to Deleted Items (events: cancellations to attendees), as Outlook does. */
export function deleteById(request: MailboxRequest, type: ItemType, id: string): GraphResponse {
  const view = viewById(request.mailbox, id, type.kinds);
  checkIfMatch(view, request.headers['if-match']);
  deleteItem(operationContext(request.core, request.mailbox), view, 'MoveToDeletedItems', 'SendToAllAndSaveCopy');
  return { status: 204 };
}
