import type { OperationContext } from '../context.js';
import { EwsError, SoapFault } from '../soap/response-codes.js';
import { newAttachmentId } from '../store/ids.js';
import type { ExtendedProp, PropValue, StoredAttachment } from '../store/model.js';
import { child, children, text, type XmlNode } from '../xml/node.js';
import { readExtended, upsertExtended } from './extended.js';
import { type FieldDef, fieldByElement, type ItemKind } from './fields.js';
import { parseRecurrence } from './recurrence.js';
import { canonicalText, mailboxNode, normalizeDate } from './values.js';

/** Reads an item element from a request (CreateItem, or the item inside a SetItemField) into stored form. */

export interface ReadItem {
  props: Record<string, PropValue>;
  ext: ExtendedProp[];
  attachments: StoredAttachment[];
}

const recipientLists = new Set(['ToRecipients', 'CcRecipients', 'BccRecipients', 'ReplyTo']);
const singleRecipients = new Set(['From', 'Sender']);
const attendeeLists = new Set(['RequiredAttendees', 'OptionalAttendees', 'Resources']);

function normalizeMailbox(node: XmlNode | undefined, ctx: OperationContext): XmlNode | undefined {
  const address = text(node, 'EmailAddress')?.trim();
  if (!address) return undefined;
  const known = ctx.core.store.get(address);
  const name = text(node, 'Name') || known?.displayName || address;
  return mailboxNode(known ? known.address : address, name, known !== undefined);
}

/** Recipients and attendees as Exchange returns them: Name, EmailAddress, RoutingType, MailboxType filled in. */
export function normalizeXmlProp(node: XmlNode, ctx: OperationContext): XmlNode {
  if (recipientLists.has(node.n)) {
    const c = children(node, 'Mailbox')
      .map((m) => normalizeMailbox(m, ctx))
      .filter((m): m is XmlNode => m !== undefined);
    return c.length > 0 ? { n: node.n, c } : { n: node.n };
  }
  if (singleRecipients.has(node.n)) {
    const mailbox = normalizeMailbox(child(node, 'Mailbox'), ctx);
    return mailbox ? { n: node.n, c: [mailbox] } : { n: node.n };
  }
  if (attendeeLists.has(node.n)) {
    const c: XmlNode[] = [];
    for (const attendee of children(node, 'Attendee')) {
      const mailbox = normalizeMailbox(child(attendee, 'Mailbox'), ctx);
      if (!mailbox) continue;
      const parts: XmlNode[] = [mailbox, { n: 'ResponseType', t: text(attendee, 'ResponseType') || 'Unknown' }];
      const last = text(attendee, 'LastResponseTime');
      if (last) parts.push({ n: 'LastResponseTime', t: normalizeDate(last, 'LastResponseTime') });
      c.push({ n: 'Attendee', c: parts });
    }
    return c.length > 0 ? { n: node.n, c } : { n: node.n };
  }
  return node;
}

/** One property's stored value from its request element. */
export function readValue(def: FieldDef, node: XmlNode, ctx: OperationContext): PropValue {
  if ((def.storage !== 'xml' || node.n === 'Body') && node.c) {
    // What Exchange's schema validation says when a client forgets to escape markup in a text element.
    throw new SoapFault(
      'ErrorSchemaValidation',
      `The request failed schema validation: The element '${node.n}' cannot contain child element '${node.c[0]?.n}' because the parent element's content model is text only.`,
    );
  }
  if (def.storage === 'date') return normalizeDate(node.t ?? '', node.n);
  if (def.storage === 'text') return canonicalText(def.el, node.t ?? '');
  if (node.n === 'Recurrence' && (node.c ?? []).length > 0 && !node.c?.some((p) => p.n.endsWith('Regeneration'))) {
    // Refuse a pattern Exchange would refuse, at write time.
    parseRecurrence(node);
  }
  if (node.n === 'Body')
    return { n: 'Body', a: { BodyType: node.a?.BodyType === 'Text' ? 'Text' : 'HTML' }, t: node.t ?? '' };
  return normalizeXmlProp(node, ctx);
}

/** Time-zone elements are read into the emulator's own fields (`_tz` and friends). */
function readZone(node: XmlNode, props: Record<string, PropValue>): boolean {
  if (node.n === 'StartTimeZone' || node.n === 'MeetingTimeZone') {
    const id = node.a?.Id ?? node.a?.TimeZoneName;
    if (id) props._tz = id;
    if (node.a?.Name) props._tzName = node.a.Name;
    return true;
  }
  if (node.n === 'EndTimeZone') {
    if (node.a?.Id) props._endTz = node.a.Id;
    return true;
  }
  return false;
}

export function readAttachment(node: XmlNode, now: number): StoredAttachment {
  if (node.n !== 'FileAttachment') {
    throw new EwsError('ErrorInvalidRequest', 'The emulator stores file attachments only (FileAttachment).');
  }
  const content = (text(node, 'Content') ?? '').replace(/\s+/g, '');
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(content)) {
    throw new EwsError('ErrorInvalidRequest', 'The attachment content is not base64.');
  }
  const attachment: StoredAttachment = {
    id: newAttachmentId(),
    name: text(node, 'Name') ?? 'attachment',
    isInline: text(node, 'IsInline') === 'true',
    content,
    size: Buffer.from(content, 'base64').length,
    lastModified: now,
  };
  const contentType = text(node, 'ContentType');
  if (contentType) attachment.contentType = contentType;
  const contentId = text(node, 'ContentId');
  if (contentId) attachment.contentId = contentId;
  if (text(node, 'IsContactPhoto') === 'true') attachment.isContactPhoto = true;
  return attachment;
}

export function readItem(node: XmlNode, kind: ItemKind, ctx: OperationContext): ReadItem {
  const out: ReadItem = { props: {}, ext: [], attachments: [] };
  for (const part of node.c ?? []) {
    if (part.n === 'ExtendedProperty') {
      const prop = readExtended(part);
      if (prop) out.ext = upsertExtended(out.ext, prop);
      continue;
    }
    if (part.n === 'Attachments') {
      for (const attachment of part.c ?? []) out.attachments.push(readAttachment(attachment, ctx.core.now()));
      continue;
    }
    if (readZone(part, out.props)) continue;
    const def = fieldByElement(kind, part.n);
    // Read-only and unknown properties are ignored rather than refused; docs/emulator.md lists this.
    if (!def || def.storage === 'computed') continue;
    out.props[def.el] = readValue(def, part, ctx);
  }
  return out;
}
