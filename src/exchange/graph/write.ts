import type { Contact, Event } from '@microsoft/microsoft-graph-types';
import { errors } from '../../errors.js';
import type { CallOptions, ExchangeItem, ItemWrite, WriteResult } from '../../ports/exchange.port.js';
import { attachmentRefsOf } from './attachments.js';
import type { GraphMailbox } from './connection.js';
import {
  appItemIdExpand,
  ifMatch,
  itemPath,
  kindOfClass,
  type ResourceKind,
  stampProperty,
  transactionIdOf,
} from './ids.js';
import { locate, rememberKind } from './locate.js';
import { contactToGraph, needsCurrentContact } from './map/contact.js';
import { eventToGraph } from './map/event.js';
import { hasRecipients, messageExpand, messageSelect, messageToGraph } from './map/message.js';
import { type GraphTodoTask, linkedAppItemId, todoTaskToGraph } from './map/todo-task.js';
import { InvalidValue } from './map/values.js';
import { type DeltaEntry, itemFromGraph } from './sync.js';

/**
 * The database → Exchange half through Graph (MailboxWriter). Events: POST with the attendees in the body (Exchange
 * sends the invitations), a transactionId derived from the application's id (a retried create is not doubled) and
 * the stamp in the same request; only the organizer may PATCH. Contacts in the default folder, tasks in the default
 * To Do list (stamped by a linked resource). E-mail: a draft, then `send` when it has recipients; with immutable ids
 * the sent copy keeps the draft's id. A change key becomes If-Match (412 → EXH_EXCHANGE_CONFLICT).
 */

type Json = Record<string, unknown> & { id?: string; '@odata.etag'?: string; changeKey?: string; iCalUId?: string };

function listOf(mailbox: GraphMailbox): string {
  if (!mailbox.todoListId) {
    throw errors.exchangeRequestFailed(mailbox.endpoint, 'todoList', `${mailbox.user} has no default To Do list`);
  }
  return mailbox.todoListId;
}

function collectionOf(mailbox: GraphMailbox, kind: ResourceKind): string {
  switch (kind) {
    case 'event':
      return `${mailbox.path}/events`;
    case 'contact':
      return `${mailbox.path}/contacts`;
    case 'task':
      return `${mailbox.path}/todo/lists/${encodeURIComponent(listOf(mailbox))}/tasks`;
    case 'message':
      return `${mailbox.path}/messages`;
  }
}

/** Builds the JSON; a value Graph cannot take is EXH_EXCHANGE_REQUEST_FAILED naming the label, before any request. */
function build(mailbox: GraphMailbox, make: () => Record<string, unknown>): Record<string, unknown> {
  try {
    return make();
  } catch (error) {
    if (error instanceof InvalidValue) {
      throw errors.exchangeRequestFailed(mailbox.endpoint, 'ErrorInvalidValue', error.message);
    }
    throw error;
  }
}

function resultOf(json: Json, fallbackId: string): WriteResult {
  const result: WriteResult = { itemId: json.id ?? fallbackId, changeKey: json['@odata.etag'] ?? json.changeKey ?? '' };
  if (json.iCalUId) result.uid = json.iCalUId;
  return result;
}

export async function createItem(
  mailbox: GraphMailbox,
  write: ItemWrite & { appItemId: string; uid?: string },
  options: CallOptions,
): Promise<WriteResult> {
  const kind = kindOfClass(write.itemClass);
  const stamp = stampProperty(write.appItemId);
  const body = build(mailbox, () => {
    switch (kind) {
      case 'event':
        return eventToGraph(write.properties, write.labels, undefined, {
          transactionId: transactionIdOf(write.appItemId),
          singleValueExtendedProperties: stamp,
        });
      case 'contact':
        return contactToGraph(write.properties, write.labels, undefined, stamp);
      case 'task':
        return todoTaskToGraph(write.properties, write.labels, write.appItemId);
      case 'message':
        return messageToGraph(write.properties, write.labels, stamp);
    }
  });
  const created = await mailbox.send<Json>({ method: 'POST', url: collectionOf(mailbox, kind), body }, options);
  const json = created.body ?? {};
  if (!json.id) throw errors.exchangeRequestFailed(mailbox.endpoint, 'create', 'the answer has no item id');
  rememberKind(mailbox, json.id, kind);
  if (kind === 'message' && hasRecipients(write.properties)) {
    // With immutable ids the copy in Sent Items keeps the draft's id.
    await mailbox.send(
      { method: 'POST', url: `${itemPath(mailbox.path, 'message', json.id)}/send`, accept: [202] },
      options,
    );
  }
  return resultOf(json, json.id);
}

/**
 * A create asked for again after its item was found by the application's id (MailboxWriter.resumeCreate): an e-mail
 * with recipients is created as a draft and then sent, so a draft found still unsent (the send failed, or its answer
 * was lost) is sent now. Anything else was made in one step and is complete.
 */
export async function resumeCreate(
  mailbox: GraphMailbox,
  itemId: string,
  write: ItemWrite,
  options: CallOptions,
): Promise<void> {
  if (kindOfClass(write.itemClass) !== 'message' || !hasRecipients(write.properties)) return;
  const path = itemPath(mailbox.path, 'message', itemId);
  const answer = await mailbox.send<Json>({ method: 'GET', url: `${path}?$select=id,isDraft`, accept: [404] }, options);
  if (answer.status === 404 || answer.body?.isDraft !== true) return;
  await mailbox.send({ method: 'POST', url: `${path}/send`, accept: [202] }, options);
}

/** The current event: only its organizer may change it. */
async function organizerCheck(mailbox: GraphMailbox, itemId: string, options: CallOptions): Promise<Event & Json> {
  const answer = await mailbox.send<Event & Json>(
    {
      method: 'GET',
      url: `${itemPath(mailbox.path, 'event', itemId)}?$select=id,organizer,isOrganizer,attendees,isAllDay,originalStartTimeZone,iCalUId`,
    },
    options,
  );
  const event = answer.body ?? {};
  const organizer = event.organizer?.emailAddress?.address ?? '';
  const mine = organizer === '' ? event.isOrganizer !== false : organizer.toLowerCase() === mailbox.user.toLowerCase();
  if (!mine) throw errors.notOrganizer(mailbox.user, organizer || 'someone else', itemId);
  return event;
}

export async function updateItem(
  mailbox: GraphMailbox,
  itemId: string,
  write: ItemWrite,
  options: CallOptions & { changeKey?: string },
): Promise<WriteResult> {
  const kind = kindOfClass(write.itemClass);
  const path = itemPath(mailbox.path, kind, itemId, kind === 'task' ? listOf(mailbox) : undefined);
  let current: (Json & Event & Contact) | undefined;
  if (kind === 'event') current = await organizerCheck(mailbox, itemId, options);
  if (kind === 'contact' && needsCurrentContact(write.properties)) {
    const answer = await mailbox.send<Json & Contact>(
      { method: 'GET', url: `${path}?$select=id,emailAddresses,businessPhones,homePhones,businessAddress,homeAddress` },
      options,
    );
    current = answer.body;
  }
  const body = build(mailbox, () => {
    switch (kind) {
      case 'event':
        return eventToGraph(write.properties, write.labels, current);
      case 'contact':
        return contactToGraph(write.properties, write.labels, current);
      case 'task':
        return todoTaskToGraph(write.properties, write.labels);
      case 'message':
        return messageToGraph(write.properties, write.labels);
    }
  });
  const headers = options.changeKey ? { 'If-Match': ifMatch(options.changeKey) } : undefined;
  if (Object.keys(body).length === 0) {
    // Nothing to change: the item stays as it is, and a change key must still be the item's.
    const answer = await mailbox.send<Json>(
      { method: 'GET', url: `${path}${kind === 'task' ? '' : '?$select=id'}` },
      options,
    );
    const json = answer.body ?? {};
    const key = json['@odata.etag'] ?? json.changeKey ?? '';
    if (options.changeKey && options.changeKey !== key && ifMatch(options.changeKey) !== key) {
      throw errors.exchangeConflict(mailbox.user, itemId);
    }
    return resultOf({ ...json, ...(current?.iCalUId ? { iCalUId: current.iCalUId } : {}) }, itemId);
  }
  const answer = await mailbox.send<Json>(
    { method: 'PATCH', url: path, body, ...(headers ? { headers } : {}) },
    options,
  );
  rememberKind(mailbox, itemId, kind);
  const json = answer.body ?? {};
  return resultOf({ ...json, ...(current?.iCalUId && !json.iCalUId ? { iCalUId: current.iCalUId } : {}) }, itemId);
}

/** The query that reads an item whole: the mapped fields and the stamp. */
function readQuery(kind: ResourceKind): string {
  switch (kind) {
    case 'message':
      return `?$select=${messageSelect}&$expand=${messageExpand}`;
    case 'task':
      return '?$expand=linkedResources';
    default:
      return `?$expand=${appItemIdExpand}`;
  }
}

export async function readItem(
  mailbox: GraphMailbox,
  itemId: string,
  options: CallOptions,
): Promise<ExchangeItem | null> {
  const kind = await locate(mailbox, itemId, options);
  if (!kind) return null;
  const path = itemPath(mailbox.path, kind, itemId, mailbox.todoListId);
  const answer = await mailbox.send<DeltaEntry>(
    { method: 'GET', url: `${path}${readQuery(kind)}`, accept: [404], prefer: ['outlook.body-content-type="html"'] },
    options,
  );
  if (answer.status === 404 || !answer.body) return null;
  const entry = answer.body;
  if (entry.hasAttachments === true) {
    const [refs] = await attachmentRefsOf(mailbox, [path], options);
    if (refs instanceof Error) throw refs;
    entry.attachments = refs ?? [];
  }
  const item = itemFromGraph(kind, entry);
  if (kind === 'task' && item.properties.appItemId === null) {
    item.properties.appItemId = linkedAppItemId(entry.linkedResources as GraphTodoTask['linkedResources']);
  }
  return item;
}

export async function deleteItem(mailbox: GraphMailbox, itemId: string, options: CallOptions): Promise<void> {
  const kind = await locate(mailbox, itemId, options);
  // Already gone: what the caller wanted is true.
  if (!kind) return;
  await mailbox.send(
    { method: 'DELETE', url: itemPath(mailbox.path, kind, itemId, mailbox.todoListId), accept: [404] },
    options,
  );
  mailbox.kinds.delete(itemId);
}
