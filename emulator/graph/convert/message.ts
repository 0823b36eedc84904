import { createHash } from 'node:crypto';
import type { Message } from '@microsoft/microsoft-graph-types';
import type { ItemView } from '../../items/calendar.js';
import { addressesOf, isoSeconds, textOf, timeOf } from '../../items/values.js';
import type { XmlNode } from '../../xml/node.js';
import { badRequest } from '../http.js';
import { folderGraphId, graphIdOf } from '../ids.js';
import {
  bodyElement,
  bodyOf,
  lowerFirst,
  mailboxElement,
  previewOf,
  recipientOf,
  recipientsElement,
  recipientsOf,
  stringList,
  stringsOf,
  text,
  upperFirst,
} from './common.js';
import type { RenderContext } from './context.js';

/**
 * Graph's message (https://learn.microsoft.com/graph/api/resources/message) from and to the store's EWS properties:
 * subject ↔ Subject, body ↔ Body, toRecipients ↔ ToRecipients, importance ↔ Importance, isRead ↔ IsRead, …
 * Meeting requests and cancellations in a mail folder are eventMessages.
 */

export function renderMessage(view: ItemView, ctx: RenderContext): Message & Record<string, unknown> {
  const { item, props } = view;
  const drafts = ctx.mailbox.byDistinguished.get('drafts')?.id;
  const from = addressesOf(props.From)[0];
  const sender = addressesOf(props.Sender)[0] ?? from;
  const meeting = item.kind === 'MeetingRequest' || item.kind === 'MeetingCancellation';
  const imid = createHash('sha1')
    .update(textOf(props._imid) ?? item.id)
    .digest('hex')
    .slice(0, 24);
  return {
    '@odata.type': meeting ? '#microsoft.graph.eventMessage' : '#microsoft.graph.message',
    '@odata.etag': `W/"${view.changeKey}"`,
    id: graphIdOf(item, ctx.prefs.immutableIds),
    createdDateTime: isoSeconds(item.created),
    lastModifiedDateTime: isoSeconds(item.modified),
    changeKey: view.changeKey,
    categories: stringsOf(props.Categories),
    receivedDateTime: isoSeconds(timeOf(props._received) ?? item.created),
    sentDateTime: isoSeconds(timeOf(props._sent) ?? item.created),
    hasAttachments: (item.attachments?.length ?? 0) > 0,
    internetMessageId: `<${imid}@emulator.exh>`,
    subject: textOf(props.Subject) ?? '',
    bodyPreview: previewOf(props.Body),
    importance: lowerFirst(textOf(props.Importance), 'Normal') as Message['importance'],
    parentFolderId: folderGraphId(item.folderId),
    conversationId: `AAQk${createHash('sha1')
      .update(textOf(props.Subject) ?? '')
      .digest('base64url')
      .slice(0, 24)}`,
    isDeliveryReceiptRequested: textOf(props.IsDeliveryReceiptRequested) === 'true',
    isReadReceiptRequested: textOf(props.IsReadReceiptRequested) === 'true',
    isRead: textOf(props.IsRead) === 'true',
    isDraft: (item.kind === 'Message' && item.folderId === drafts) || props._draft === 'true',
    body: bodyOf(props.Body, ctx.prefs.bodyType),
    ...(sender ? { sender: recipientOf(sender) } : {}),
    ...(from ? { from: recipientOf(from) } : {}),
    toRecipients: recipientsOf(props.ToRecipients),
    ccRecipients: recipientsOf(props.CcRecipients),
    bccRecipients: recipientsOf(props.BccRecipients),
    replyTo: recipientsOf(props.ReplyTo),
    flag: { flagStatus: 'notFlagged' },
    ...(textOf(props.InReplyTo)
      ? { internetMessageHeaders: [{ name: 'In-Reply-To', value: textOf(props.InReplyTo) }] }
      : {}),
  };
}

const importance = ['Low', 'Normal', 'High'] as const;

/** One writable Graph property as the EWS element the store keeps (an empty element deletes it). */
export function messageElement(name: string, value: unknown): XmlNode | undefined {
  switch (name) {
    case 'subject':
      return value === null ? { n: 'Subject' } : { n: 'Subject', t: text(value, 'subject') };
    case 'body':
      return value === null ? { n: 'Body' } : bodyElement(value);
    case 'toRecipients':
      return recipientsElement('ToRecipients', value);
    case 'ccRecipients':
      return recipientsElement('CcRecipients', value);
    case 'bccRecipients':
      return recipientsElement('BccRecipients', value);
    case 'replyTo':
      return recipientsElement('ReplyTo', value);
    case 'from':
      return value === null ? { n: 'From' } : { n: 'From', c: [mailboxElement(value, 'from')] };
    case 'sender':
      return value === null ? { n: 'Sender' } : { n: 'Sender', c: [mailboxElement(value, 'sender')] };
    case 'importance':
      return value === null ? { n: 'Importance' } : { n: 'Importance', t: upperFirst(value, 'importance', importance) };
    case 'isRead':
      return { n: 'IsRead', t: String(value === true) };
    case 'isDeliveryReceiptRequested':
      return { n: 'IsDeliveryReceiptRequested', t: String(value === true) };
    case 'isReadReceiptRequested':
      return { n: 'IsReadReceiptRequested', t: String(value === true) };
    case 'categories':
      return stringList('Categories', value);
    default:
      return undefined;
  }
}

/** Properties Graph accepts on a message but the emulator ignores (computed, or kept by Exchange itself). */
export const messageIgnored = new Set([
  'id',
  '@odata.type',
  '@odata.etag',
  'changeKey',
  'createdDateTime',
  'lastModifiedDateTime',
  'receivedDateTime',
  'sentDateTime',
  'hasAttachments',
  'internetMessageId',
  'bodyPreview',
  'parentFolderId',
  'conversationId',
  'conversationIndex',
  'isDraft',
  'webLink',
  'inferenceClassification',
  'flag',
  'uniqueBody',
  'internetMessageHeaders',
]);

export function refuseUnknown(kind: string, name: string): never {
  throw badRequest(`The property '${name}' does not exist on type 'microsoft.graph.${kind}' or cannot be written.`);
}
