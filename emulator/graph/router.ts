import type { GraphResponse, MailboxRequest } from './http.js';
import { ok } from './http.js';
import { contactType, eventType, type ItemType, messageType, taskType } from './item-types.js';
import type { GraphOperation } from './operations.js';
import {
  addAttachment,
  attachmentValue,
  deleteAttachment,
  getAttachment,
  listAttachments,
} from './resources/attachments.js';
import { deltaResponse } from './resources/delta.js';
import { calendarView, calendarViewDelta, createEvent, instances, patchEvent } from './resources/events.js';
import {
  folderByGraphName,
  isMailFolder,
  renderCalendar,
  renderContactFolder,
  renderMailFolder,
  renderTodoList,
} from './resources/folders.js';
import { createItemIn, createResponse, deleteById, getItem, listItems, patchItem } from './resources/items.js';
import { moveMessage, sendDraft, sendMail } from './resources/messages.js';
import {
  addLinked,
  createTask,
  deleteLinked,
  getLinked,
  listLinked,
  patchLinked,
  todoList,
  todoLists,
} from './resources/todo.js';
import { translateExchangeIds } from './resources/translate.js';
import { createUploadSession } from './resources/upload.js';
import { getUser } from './resources/users.js';

/**
 * The routes under /users/{upn}: method, path pattern (`:name` is a parameter; literals compare case-insensitively,
 * as Graph's do), the operation's name (faults, request log) and the handler. Graph's `mailFolders('inbox')` form is
 * read as `mailFolders/inbox`.
 */

type Params = Record<string, string>;
type Handler = (request: MailboxRequest, params: Params) => GraphResponse;
interface Route {
  method: string;
  segments: string[];
  operation: GraphOperation;
  handler: Handler;
}

const routes: Route[] = [];

function add(method: string, pattern: string, operation: GraphOperation, handler: Handler): void {
  routes.push({ method, segments: pattern.split('/').filter(Boolean), operation, handler });
}

/** The item's path as the client named it (for the attachment's URL an upload answers with). */
function ownerPath(request: MailboxRequest, base: string, params: Params): string {
  const path = base.replace(/:(\w+)/g, (_m, name: string) => encodeURIComponent(params[name] ?? ''));
  return `/users/${encodeURIComponent(request.mailbox.address)}/${path}/${encodeURIComponent(params.id ?? '')}`;
}

/** The item routes of one resource below `base` (attachments included). */
function itemRoutes(base: string, type: ItemType, operation: GraphOperation, patch?: Handler): void {
  add('GET', `${base}/:id`, operation, (r, p) => getItem(r, type, p.id ?? ''));
  add('PATCH', `${base}/:id`, operation, patch ?? ((r, p) => patchItem(r, type, p.id ?? '')));
  add('DELETE', `${base}/:id`, operation, (r, p) => deleteById(r, type, p.id ?? ''));
  add('GET', `${base}/:id/attachments`, 'graph.attachments', (r, p) => listAttachments(r, type, p.id ?? ''));
  add('POST', `${base}/:id/attachments/createUploadSession`, 'graph.attachments.upload', (r, p) =>
    createUploadSession(r, type, p.id ?? '', ownerPath(r, base, p)),
  );
  add('POST', `${base}/:id/attachments`, 'graph.attachments', (r, p) => addAttachment(r, type, p.id ?? ''));
  add('GET', `${base}/:id/attachments/:aid/$value`, 'graph.attachments', (r, p) =>
    attachmentValue(r, type, p.id ?? '', p.aid ?? ''),
  );
  add('GET', `${base}/:id/attachments/:aid`, 'graph.attachments', (r, p) =>
    getAttachment(r, type, p.id ?? '', p.aid ?? ''),
  );
  add('DELETE', `${base}/:id/attachments/:aid`, 'graph.attachments', (r, p) =>
    deleteAttachment(r, type, p.id ?? '', p.aid ?? ''),
  );
}

const mailFolders = (r: MailboxRequest) => [...r.mailbox.folders.values()].filter(isMailFolder);
const contactFolder = (r: MailboxRequest, p: Params) => folderByGraphName(r.mailbox, p.folder ?? 'contacts');

add('GET', '', 'graph.user', (r) => getUser(r.mailbox, r.origin));
add('POST', 'translateExchangeIds', 'graph.translateExchangeIds', (r) => translateExchangeIds(r));
add('POST', 'sendMail', 'graph.sendMail', (r) => sendMail(r));

// Mail
add('GET', 'mailFolders', 'graph.mailFolders', (r) =>
  ok({
    value: mailFolders(r)
      .filter((f) => f.parentId === r.mailbox.folder('msgfolderroot').id)
      .map((f) => renderMailFolder(r.mailbox, f)),
  }),
);
add('GET', 'mailFolders/:folder', 'graph.mailFolders', (r, p) =>
  ok(renderMailFolder(r.mailbox, folderByGraphName(r.mailbox, p.folder ?? ''))),
);
add('GET', 'mailFolders/:folder/messages/delta', 'graph.messages.delta', (r, p) =>
  deltaResponse(r, messageType, folderByGraphName(r.mailbox, p.folder ?? '')),
);
add('GET', 'mailFolders/:folder/messages', 'graph.messages', (r, p) =>
  listItems(r, messageType, [folderByGraphName(r.mailbox, p.folder ?? '')]),
);
add('POST', 'mailFolders/:folder/messages', 'graph.messages', (r, p) =>
  createResponse(r, messageType, createItemIn(r, messageType, folderByGraphName(r.mailbox, p.folder ?? ''))),
);
add('POST', 'mailFolders/:folder/messages/:id/send', 'graph.messages.send', (r, p) => sendDraft(r, p.id ?? ''));
add('POST', 'mailFolders/:folder/messages/:id/move', 'graph.messages', (r, p) => moveMessage(r, p.id ?? ''));
itemRoutes('mailFolders/:folder/messages', messageType, 'graph.messages');
add('GET', 'messages', 'graph.messages', (r) => listItems(r, messageType, mailFolders(r)));
add('POST', 'messages', 'graph.messages', (r) =>
  createResponse(r, messageType, createItemIn(r, messageType, undefined)),
);
add('POST', 'messages/:id/send', 'graph.messages.send', (r, p) => sendDraft(r, p.id ?? ''));
add('POST', 'messages/:id/move', 'graph.messages', (r, p) => moveMessage(r, p.id ?? ''));
itemRoutes('messages', messageType, 'graph.messages');

// Calendar
add('GET', 'calendarView/delta', 'graph.calendarView.delta', (r) => calendarViewDelta(r));
add('GET', 'calendarView', 'graph.calendarView', (r) => calendarView(r));
add('GET', 'calendar', 'graph.events', (r) => ok(renderCalendar(r.mailbox, r.mailbox.folder('calendar'))));
for (const base of ['events', 'calendar/events']) {
  add('GET', base, 'graph.events', (r) => listItems(r, eventType, [r.mailbox.folder('calendar')]));
  add('POST', base, 'graph.events', (r) => createEvent(r));
  add('GET', `${base}/:id/instances`, 'graph.events', (r, p) => instances(r, p.id ?? ''));
  itemRoutes(base, eventType, 'graph.events', (r, p) => patchEvent(r, p.id ?? ''));
}

// Contacts
add('GET', 'contactFolders', 'graph.contactFolders', (r) =>
  ok({ value: [...r.mailbox.folders.values()].filter((f) => f.element === 'ContactsFolder').map(renderContactFolder) }),
);
add('GET', 'contactFolders/:folder', 'graph.contactFolders', (r, p) => ok(renderContactFolder(contactFolder(r, p))));
add('GET', 'contactFolders/:folder/contacts/delta', 'graph.contacts.delta', (r, p) =>
  deltaResponse(r, contactType, contactFolder(r, p)),
);
add('GET', 'contactFolders/:folder/contacts', 'graph.contacts', (r, p) =>
  listItems(r, contactType, [contactFolder(r, p)]),
);
add('POST', 'contactFolders/:folder/contacts', 'graph.contacts', (r, p) =>
  createResponse(r, contactType, createItemIn(r, contactType, contactFolder(r, p))),
);
itemRoutes('contactFolders/:folder/contacts', contactType, 'graph.contacts');
add('GET', 'contacts/delta', 'graph.contacts.delta', (r) =>
  deltaResponse(r, contactType, r.mailbox.folder('contacts')),
);
add('GET', 'contacts', 'graph.contacts', (r) => listItems(r, contactType, [r.mailbox.folder('contacts')]));
add('POST', 'contacts', 'graph.contacts', (r) =>
  createResponse(r, contactType, createItemIn(r, contactType, r.mailbox.folder('contacts'))),
);
itemRoutes('contacts', contactType, 'graph.contacts');

// To Do
add('GET', 'todo/lists', 'graph.todo.lists', (r) => todoLists(r));
add('GET', 'todo/lists/:list', 'graph.todo.lists', (r, p) => {
  const tasks = todoList(r, p.list ?? '');
  return ok(renderTodoList(tasks, tasks.id));
});
add('GET', 'todo/lists/:list/tasks/delta', 'graph.todo.tasks.delta', (r, p) =>
  deltaResponse(r, taskType, todoList(r, p.list ?? '')),
);
add('GET', 'todo/lists/:list/tasks', 'graph.todo.tasks', (r, p) => listItems(r, taskType, [todoList(r, p.list ?? '')]));
add('POST', 'todo/lists/:list/tasks', 'graph.todo.tasks', (r, p) => createTask(r, p.list ?? ''));
add('GET', 'todo/lists/:list/tasks/:id/linkedResources', 'graph.todo.linkedResources', (r, p) =>
  listLinked(r, p.id ?? ''),
);
add('POST', 'todo/lists/:list/tasks/:id/linkedResources', 'graph.todo.linkedResources', (r, p) =>
  addLinked(r, p.id ?? ''),
);
add('GET', 'todo/lists/:list/tasks/:id/linkedResources/:rid', 'graph.todo.linkedResources', (r, p) =>
  getLinked(r, p.id ?? '', p.rid ?? ''),
);
add('PATCH', 'todo/lists/:list/tasks/:id/linkedResources/:rid', 'graph.todo.linkedResources', (r, p) =>
  patchLinked(r, p.id ?? '', p.rid ?? ''),
);
add('DELETE', 'todo/lists/:list/tasks/:id/linkedResources/:rid', 'graph.todo.linkedResources', (r, p) =>
  deleteLinked(r, p.id ?? '', p.rid ?? ''),
);
itemRoutes('todo/lists/:list/tasks', taskType, 'graph.todo.tasks');

/** `mailFolders('inbox')/messages` → `mailFolders/inbox/messages`; segments decoded. */
export function segmentsOf(path: string): string[] {
  const normalized = path
    .replace(/%27/gi, "'")
    .replace(/%28/gi, '(')
    .replace(/%29/gi, ')')
    .replace(/([A-Za-z]+)\('([^']*)'\)/g, (_m, name: string, key: string) => `${name}/${key}`);
  return normalized
    .split('/')
    .filter(Boolean)
    .map((s) => {
      try {
        return decodeURIComponent(s);
      } catch {
        return s;
      }
    });
}

export interface Matched {
  operation: GraphOperation;
  run: (request: MailboxRequest) => GraphResponse;
}

/** The route for a method and the segments after /users/{upn}; undefined when none serves them. */
export function route(method: string, segments: string[]): Matched | 'method' | undefined {
  let pathMatched = false;
  for (const candidate of routes) {
    if (candidate.segments.length !== segments.length) continue;
    const params: Params = {};
    let ok = true;
    for (let i = 0; i < segments.length && ok; i++) {
      const pattern = candidate.segments[i] ?? '';
      const actual = segments[i] ?? '';
      if (pattern.startsWith(':')) params[pattern.slice(1)] = actual;
      else ok = pattern.toLowerCase() === actual.toLowerCase();
    }
    if (!ok) continue;
    pathMatched = true;
    if (candidate.method !== method) continue;
    return { operation: candidate.operation, run: (request) => candidate.handler(request, params) };
  }
  return pathMatched ? 'method' : undefined;
}
