import { deliver } from '../../items/mail.js';
import { createItem } from '../../ops/items.js';
import { badRequest, type GraphResponse, jsonBody, type MailboxRequest } from '../http.js';
import { messageType } from '../item-types.js';
import { operationContext, viewById } from '../writes.js';
import { folderByGraphName } from './folders.js';
import { createResponse } from './items.js';

/**
 * POST messages/{id}/send (https://learn.microsoft.com/graph/api/message-send) and POST sendMail: as EWS SendItem and
 * CreateItem with SendAndSaveCopy, the message goes to every recipient with a mailbox here (their Inbox) and the
 * draft moves to Sent Items (a new regular id, the same immutable id). Both answer 202 Accepted without a body.
 */

export function sendDraft(request: MailboxRequest, id: string): GraphResponse {
  const view = viewById(request.mailbox, id, ['Message']);
  const item = view.item;
  const { core, mailbox } = request;
  if (item.props._draft !== 'true' && item.folderId !== mailbox.folder('drafts').id)
    throw badRequest('Only a draft can be sent.', 'ErrorInvalidOperation');
  deliver(core, mailbox, item.props, item.attachments, item.ext);
  delete item.props._draft;
  item.props._sent = new Date(core.now()).toISOString();
  mailbox.moveItem(item, mailbox.folder('sentitems').id);
  return { status: 202 };
}

export function sendMail(request: MailboxRequest): GraphResponse {
  const body = jsonBody(request);
  if (typeof body.message !== 'object' || body.message === null) throw badRequest('sendMail needs a message.');
  const changes = messageType.changes(body.message as Record<string, unknown>, undefined);
  const save = body.saveToSentItems !== false;
  createItem(
    operationContext(request.core, request.mailbox),
    { n: 'Message', c: changes.set },
    { messageDisposition: save ? 'SendAndSaveCopy' : 'SendOnly', sendInvitations: undefined, folder: undefined },
  );
  return { status: 202 };
}

/** POST messages/{id}/move `{destinationId}`: the message in another folder (a new regular id, the same immutable one). */
export function moveMessage(request: MailboxRequest, id: string): GraphResponse {
  const view = viewById(request.mailbox, id, messageType.kinds);
  const destination = jsonBody(request).destinationId;
  if (typeof destination !== 'string' || !destination) throw badRequest('move needs a destinationId.');
  const folder = folderByGraphName(request.mailbox, destination);
  const moved = request.mailbox.moveItem(view.item, folder.id);
  return createResponse(request, messageType, moved);
}
