import type { Attachment, Message, SingleValueLegacyExtendedProperty } from '@microsoft/microsoft-graph-types';
import type { AttachmentRef, ExchangeItem, ExchangeValue, ItemProperty } from '../../../ports/exchange.port.js';
import { appItemIdPropertyId, stampOf } from '../ids.js';
import {
  address,
  addresses,
  bodyContentType,
  fromCode,
  importanceCodes,
  iso,
  type Labels,
  put,
  splitList,
  strings,
  text,
  toBoolean,
  toCode,
  toRecipients,
  toText,
  type Values,
} from './values.js';

/**
 * A Graph message (inbox, sentitems, drafts) ↔ the neutral properties of an e-mail. Meeting requests, responses and
 * cancellations come as eventMessage and get the message class Outlook gives them (IPM.Schedule.Meeting.*), so the
 * core skips them unless sync.meetingRequestsResponses. `inReplyTo` is PidTagInReplyToId (`String 0x1042`, expanded
 * and written as an extended property: Graph has no property for it), else the In-Reply-To header; Graph has no
 * sensitivity on messages (not read).
 */

/** A message as Graph gives it with the fields of messageSelect, @odata.type and @odata.etag included. */
export type GraphMessage = Message & {
  '@odata.type'?: string;
  '@odata.etag'?: string;
  meetingMessageType?: string | null;
  responseType?: string | null;
};

/** PidTagInReplyToId: the Message-ID a message replies to. */
export const inReplyToPropertyId = 'String 0x1042';

/** PR_MESSAGE_CLASS: the class Outlook keeps (IPM.Note, IPM.Note.SMIME, IPM.Schedule.Meeting.Request, …). */
export const messageClassPropertyId = 'String 0x001A';

/**
 * `$expand` of a message: the stamp, the Message-ID it replies to (sent ones carry no In-Reply-To header) and the
 * message class.
 */
export const messageExpand =
  `singleValueExtendedProperties($filter=id eq '${appItemIdPropertyId}' or id eq '${inReplyToPropertyId}'` +
  ` or id eq '${messageClassPropertyId}')`;

export const messageSelect = [
  'id',
  'changeKey',
  'subject',
  'body',
  'from',
  'sender',
  'toRecipients',
  'ccRecipients',
  'bccRecipients',
  'replyTo',
  'receivedDateTime',
  'sentDateTime',
  'isRead',
  'internetMessageId',
  'internetMessageHeaders',
  'conversationId',
  'hasAttachments',
  'importance',
  'categories',
  'createdDateTime',
  'lastModifiedDateTime',
].join(',');

const meetingClasses: Record<string, string> = {
  meetingRequest: 'IPM.Schedule.Meeting.Request',
  meetingCancelled: 'IPM.Schedule.Meeting.Canceled',
  meetingAccepted: 'IPM.Schedule.Meeting.Resp.Pos',
  meetingTenativelyAccepted: 'IPM.Schedule.Meeting.Resp.Tent',
  meetingDeclined: 'IPM.Schedule.Meeting.Resp.Neg',
  accepted: 'IPM.Schedule.Meeting.Resp.Pos',
  tentativelyAccepted: 'IPM.Schedule.Meeting.Resp.Tent',
  declined: 'IPM.Schedule.Meeting.Resp.Neg',
};

/** The message class of a message as Outlook keeps it (PR_MESSAGE_CLASS), else as its Graph type says. */
export function messageClassOf(message: GraphMessage): string {
  const kept = extended(message.singleValueExtendedProperties, messageClassPropertyId);
  if (kept) return kept;
  const type = (message['@odata.type'] ?? '').replace(/^#?microsoft\.graph\./, '');
  if (!type.startsWith('eventMessage')) return 'IPM.Note';
  const kind = message.meetingMessageType ?? message.responseType ?? '';
  if (meetingClasses[kind]) return meetingClasses[kind];
  if (type === 'eventMessageResponse') return 'IPM.Schedule.Meeting.Resp';
  return type === 'eventMessageRequest' ? 'IPM.Schedule.Meeting.Request' : 'IPM.Schedule.Meeting';
}

export function attachmentRefs(list: readonly Attachment[] | null | undefined): AttachmentRef[] | null {
  const refs = (list ?? []).flatMap((a) => (a.id ? [{ name: a.name ?? '', id: a.id }] : []));
  return refs.length > 0 ? refs : null;
}

export function bodyType(contentType: string | null | undefined): string | null {
  if (!contentType) return null;
  return contentType.toLowerCase() === 'text' ? 'Text' : 'HTML';
}

function header(message: GraphMessage, name: string): string | null {
  const found = (message.internetMessageHeaders ?? []).find((h) => h.name?.toLowerCase() === name.toLowerCase());
  return text(found?.value?.trim());
}

/** An extended property's id compared as Graph means it: case aside, a tag by its number (`0x1a` is `0x001A`). */
function sameId(a: string, b: string): boolean {
  const norm = (id: string) =>
    id
      .trim()
      .toLowerCase()
      .replace(/ 0x([0-9a-f]+)$/, (_, hex: string) => ` tag:${Number.parseInt(hex, 16)}`);
  return norm(a) === norm(b);
}

function extended(list: readonly SingleValueLegacyExtendedProperty[] | null | undefined, id: string): string | null {
  return text((list ?? []).find((p) => p.id !== undefined && p.id !== null && sameId(p.id, id))?.value);
}

export function messageFromGraph(message: GraphMessage): ExchangeItem {
  const properties: Partial<Record<ItemProperty, ExchangeValue>> = {
    subject: text(message.subject),
    body: text(message.body?.content),
    bodyType: bodyType(message.body?.contentType),
    categories: strings(message.categories),
    importance: fromCode(message.importance),
    created: iso(message.createdDateTime),
    lastModified: iso(message.lastModifiedDateTime),
    attachments: attachmentRefs(message.attachments),
    appItemId: stampOf(message.singleValueExtendedProperties),
    from: address(message.from),
    sender: address(message.sender),
    to: addresses(message.toRecipients),
    cc: addresses(message.ccRecipients),
    bcc: addresses(message.bccRecipients),
    replyTo: addresses(message.replyTo),
    received: iso(message.receivedDateTime),
    sent: iso(message.sentDateTime),
    isRead: message.isRead ?? null,
    internetMessageId: text(message.internetMessageId),
    conversationId: text(message.conversationId),
    inReplyTo: header(message, 'In-Reply-To') ?? extended(message.singleValueExtendedProperties, inReplyToPropertyId),
    hasAttachments: message.hasAttachments ?? null,
  };
  return {
    id: message.id ?? '',
    changeKey: message['@odata.etag'] ?? message.changeKey ?? '',
    itemClass: messageClassOf(message),
    properties,
  };
}

/**
 * The JSON of a POST (a draft) or PATCH of a message; `extra` are extended properties to set besides inReplyTo (the
 * stamp, on create). Recipients cleared with '' become empty lists.
 */
export function messageToGraph(
  values: Values,
  labels: Labels = {},
  extra: SingleValueLegacyExtendedProperty[] = [],
): Record<string, unknown> {
  const json: Record<string, unknown> = {};
  put(json, 'subject', values, labels, 'subject', toText);
  put(json, 'body', values, labels, 'body', (v) => ({ contentType: bodyContentType(v, values), content: toText(v) }), {
    contentType: 'text',
    content: '',
  });
  put(json, 'toRecipients', values, labels, 'to', toRecipients, []);
  put(json, 'ccRecipients', values, labels, 'cc', toRecipients, []);
  put(json, 'bccRecipients', values, labels, 'bcc', toRecipients, []);
  put(json, 'replyTo', values, labels, 'replyTo', toRecipients, []);
  put(json, 'isRead', values, labels, 'isRead', toBoolean);
  put(json, 'importance', values, labels, 'importance', (v) => toCode(v, importanceCodes), 'normal');
  put(json, 'categories', values, labels, 'categories', splitList, []);
  const properties = [...extra];
  const inReplyTo: Record<string, unknown> = {};
  put(inReplyTo, 'value', values, labels, 'inReplyTo', toText, '');
  if ('value' in inReplyTo) properties.push({ id: inReplyToPropertyId, value: inReplyTo.value as string });
  if (properties.length > 0) json.singleValueExtendedProperties = properties;
  return json;
}

/** The recipients an e-mail goes to; none: it stays a draft. */
export function hasRecipients(values: Values): boolean {
  return (['to', 'cc', 'bcc'] as const).some((name) => {
    const value = values[name];
    return value !== null && value !== undefined && value !== '' && splitList(value).length > 0;
  });
}
