import { randomBytes } from 'node:crypto';
import type { LinkedResource } from '@microsoft/microsoft-graph-types';
import { viewOf } from '../../items/calendar.js';
import type { StoredItem } from '../../store/model.js';
import { linkedResourceOf, linkedResourcesOf } from '../convert/task.js';
import { badRequest, type GraphResponse, jsonBody, type MailboxRequest, notFound, ok } from '../http.js';
import { taskType } from '../item-types.js';
import { matches, parseQuery } from '../query.js';
import { viewById } from '../writes.js';
import { renderTodoList } from './folders.js';
import { createItemIn, createResponse, renderView } from './items.js';

/**
 * Microsoft To Do (https://learn.microsoft.com/graph/api/resources/todo-overview) over the store's Tasks folder: one
 * list, wellknownListName defaultList, whose tasks are the folder's EWS tasks; a task's linkedResources are kept with
 * it (convert/task.ts) and changing them changes the task (its delta reports it).
 */

export function todoLists(request: MailboxRequest): GraphResponse {
  const tasks = request.mailbox.folder('tasks');
  const options = parseQuery(request.query);
  const lists = [renderTodoList(tasks, tasks.id)];
  return ok({ value: lists.filter((list) => matches(options.filter, { ext: [] } as unknown as StoredItem, list)) });
}

/** The list an id names: only the default list exists. */
export function todoList(request: MailboxRequest, id: string) {
  const tasks = request.mailbox.folder('tasks');
  const rendered = renderTodoList(tasks, tasks.id);
  if (rendered.id !== id && id.toLowerCase() !== 'defaultlist' && id.toLowerCase() !== 'tasks')
    throw notFound('The list was not found.', 'ErrorItemNotFound');
  return tasks;
}

function withLinked(item: StoredItem, resources: LinkedResource[]): void {
  if (resources.length > 0) item.props._linkedResources = JSON.stringify(resources);
  else delete item.props._linkedResources;
}

export function createTask(request: MailboxRequest, listId: string): GraphResponse {
  const folder = todoList(request, listId);
  const body = jsonBody(request);
  const linked = body.linkedResources;
  if (linked !== undefined && !Array.isArray(linked)) throw badRequest('linkedResources: expected an array.');
  const item = createItemIn(request, taskType, folder);
  if (Array.isArray(linked) && linked.length > 0)
    withLinked(
      item,
      linked.map((r) => linkedResourceOf(r, crypto.randomUUID())),
    );
  return createResponse(request, taskType, item);
}

function task(request: MailboxRequest, id: string): StoredItem {
  return viewById(request.mailbox, id, taskType.kinds).item;
}

export function listLinked(request: MailboxRequest, id: string): GraphResponse {
  return ok({ value: linkedResourcesOf(task(request, id).props) });
}

export function addLinked(request: MailboxRequest, id: string): GraphResponse {
  const item = task(request, id);
  const resource = linkedResourceOf(jsonBody(request), randomBytes(16).toString('hex'));
  withLinked(item, [...linkedResourcesOf(item.props), resource]);
  request.mailbox.touch(item);
  return ok(resource, 201);
}

function linked(item: StoredItem, resourceId: string): LinkedResource {
  const found = linkedResourcesOf(item.props).find((r) => r.id === resourceId);
  if (!found) throw notFound('The linked resource was not found.');
  return found;
}

export function getLinked(request: MailboxRequest, id: string, resourceId: string): GraphResponse {
  return ok(linked(task(request, id), resourceId));
}

export function patchLinked(request: MailboxRequest, id: string, resourceId: string): GraphResponse {
  const item = task(request, id);
  const current = linked(item, resourceId);
  const updated = linkedResourceOf({ ...current, ...jsonBody(request) }, resourceId);
  withLinked(
    item,
    linkedResourcesOf(item.props).map((r) => (r.id === resourceId ? updated : r)),
  );
  request.mailbox.touch(item);
  return ok(updated);
}

export function deleteLinked(request: MailboxRequest, id: string, resourceId: string): GraphResponse {
  const item = task(request, id);
  linked(item, resourceId);
  withLinked(
    item,
    linkedResourcesOf(item.props).filter((r) => r.id !== resourceId),
  );
  request.mailbox.touch(item);
  return { status: 204 };
}

export function getTask(request: MailboxRequest, id: string): GraphResponse {
  return ok(renderView(taskType, viewOf(task(request, id)), request));
}
