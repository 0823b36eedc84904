import type { FileAttachment } from '@microsoft/microsoft-graph-types';
import { isoSeconds } from '../../items/values.js';
import { newAttachmentId } from '../../store/ids.js';
import type { StoredAttachment, StoredItem } from '../../store/model.js';
import { badRequest, GraphError, type GraphResponse, jsonBody, type MailboxRequest, notFound, ok } from '../http.js';
import { ewsIdOf, restIdOf } from '../ids.js';
import type { ItemType } from '../item-types.js';
import { parseQuery, shape } from '../query.js';
import { viewById } from '../writes.js';

/**
 * File attachments of messages, events and tasks (https://learn.microsoft.com/graph/api/resources/fileattachment):
 * list, get, `$value` (the raw bytes), add under 3 MB by POST, delete. Larger ones go through an upload session
 * (upload.ts).
 */

export const inlineLimit = 3 * 1024 * 1024;

/** To Do tasks have taskFileAttachments (https://learn.microsoft.com/graph/api/resources/taskfileattachment). */
function odataType(type: ItemType): string {
  return type.graphType === 'todoTask' ? '#microsoft.graph.taskFileAttachment' : '#microsoft.graph.fileAttachment';
}

export function renderAttachment(
  attachment: StoredAttachment,
  withContent = true,
  odata = '#microsoft.graph.fileAttachment',
): FileAttachment & Record<string, unknown> {
  return {
    '@odata.type': odata,
    id: restIdOf(attachment.id),
    lastModifiedDateTime: isoSeconds(attachment.lastModified),
    name: attachment.name,
    contentType: attachment.contentType ?? 'application/octet-stream',
    size: attachment.size,
    isInline: attachment.isInline,
    contentId: attachment.contentId ?? null,
    ...(withContent ? { contentBytes: attachment.content } : {}),
  };
}

function owner(request: MailboxRequest, type: ItemType, id: string): StoredItem {
  const view = viewById(request.mailbox, id, type.kinds);
  if (view.occurrence) throw badRequest('Attachments of a single occurrence cannot be reached here; use the series.');
  return view.item;
}

function find(item: StoredItem, attachmentId: string): StoredAttachment {
  const found = (item.attachments ?? []).find((a) => a.id === ewsIdOf(attachmentId));
  if (!found) throw notFound('The attachment was not found.', 'ErrorItemNotFound');
  return found;
}

export function listAttachments(request: MailboxRequest, type: ItemType, id: string): GraphResponse {
  const item = owner(request, type, id);
  const options = parseQuery(request.query);
  return ok({
    value: (item.attachments ?? []).map((a) => shape(renderAttachment(a, true, odataType(type)), undefined, options)),
  });
}

export function getAttachment(
  request: MailboxRequest,
  type: ItemType,
  id: string,
  attachmentId: string,
): GraphResponse {
  return ok(renderAttachment(find(owner(request, type, id), attachmentId), true, odataType(type)));
}

export function attachmentValue(
  request: MailboxRequest,
  type: ItemType,
  id: string,
  attachmentId: string,
): GraphResponse {
  const attachment = find(owner(request, type, id), attachmentId);
  return {
    status: 200,
    headers: { 'content-type': attachment.contentType ?? 'application/octet-stream' },
    body: Buffer.from(attachment.content, 'base64'),
  };
}

export function addAttachment(request: MailboxRequest, type: ItemType, id: string): GraphResponse {
  const item = owner(request, type, id);
  const body = jsonBody(request);
  if (body['@odata.type'] !== odataType(type))
    throw badRequest(`The emulator stores file attachments only: '@odata.type': '${odataType(type)}'.`);
  const content = typeof body.contentBytes === 'string' ? body.contentBytes.replace(/\s+/g, '') : '';
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(content)) throw badRequest('contentBytes must be base64.');
  const size = Buffer.from(content, 'base64').length;
  if (size > inlineLimit)
    throw new GraphError(
      413,
      'ErrorRequestEntityTooLarge',
      `The attachment is ${size} bytes: attachments of 3 MB and more go through attachments/createUploadSession.`,
    );
  const attachment = storeAttachment(request, item, {
    name: typeof body.name === 'string' ? body.name : 'attachment',
    contentType: typeof body.contentType === 'string' ? body.contentType : undefined,
    isInline: body.isInline === true,
    contentId: typeof body.contentId === 'string' ? body.contentId : undefined,
    content,
  });
  return ok(renderAttachment(attachment, true, odataType(type)), 201);
}

export function storeAttachment(
  request: Pick<MailboxRequest, 'core' | 'mailbox'>,
  item: StoredItem,
  input: {
    name: string;
    contentType: string | undefined;
    isInline: boolean;
    contentId: string | undefined;
    content: string;
  },
): StoredAttachment {
  const attachment: StoredAttachment = {
    id: newAttachmentId(),
    name: input.name,
    isInline: input.isInline,
    content: input.content,
    size: Buffer.from(input.content, 'base64').length,
    lastModified: request.core.now(),
    ...(input.contentType ? { contentType: input.contentType } : {}),
    ...(input.contentId ? { contentId: input.contentId } : {}),
  };
  item.attachments = [...(item.attachments ?? []), attachment];
  request.mailbox.touch(item);
  return attachment;
}

export function deleteAttachment(
  request: MailboxRequest,
  type: ItemType,
  id: string,
  attachmentId: string,
): GraphResponse {
  const item = owner(request, type, id);
  const attachment = find(item, attachmentId);
  item.attachments = (item.attachments ?? []).filter((a) => a !== attachment);
  request.mailbox.touch(item);
  return { status: 204 };
}
