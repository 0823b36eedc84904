import { type ExhError, errors } from '../../errors.js';
import type { CallOptions, ExchangeItem, FolderName, ItemWrite, WriteResult } from '../../ports/exchange.port.js';
import type { EwsMailbox } from './connection.js';
import { fromResponseCode, responseMessageFault } from './errors.js';
import { getItems } from './items.js';
import { appItemIdFieldUri } from './properties.js';
import { errorContext, soapCall } from './soap.js';
import {
  createXml,
  elementOf,
  extendedPropertyOrder,
  hasAttendees,
  hasRecipients,
  InvalidFieldValue,
  isEmailClass,
  updateXml,
} from './write-fields.js';
import { all, at, entries, escapeXml, idAttr, textOf, type XmlValue } from './xml.js';

/**
 * The database → Exchange half of a mailbox connection (MailboxWriter): CreateItem, UpdateItem, DeleteItem, FindItem
 * on the connector's extended property and GetAttachment, written by hand (write-fields.ts builds the item XML) so
 * that every value is escaped and the elements keep the schema's order. Each request runs through the pool with the
 * caller's priority and signal (EwsMailbox.request).
 */

/** A sent e-mail's copy reaches Sent Items after the CreateItem answer on a busy server: look a few times. */
const sentCopyAttempts = 5;
const sentCopyDelayMs = 200;

type Call = (operation: string, body: string, itemId?: string) => Promise<XmlValue>;

function caller(mailbox: EwsMailbox, options: CallOptions): Call {
  return (operation, body, itemId) =>
    mailbox.request(options, itemId ? { itemId } : {}, (signal) =>
      soapCall(mailbox.transport, mailbox.target, operation, body, signal, itemId ? { itemId } : {}),
    );
}

/** The single response message of an answer; a failed one becomes the catalogue's error. */
function message(mailbox: EwsMailbox, response: XmlValue, operation: string, itemId?: string): XmlValue {
  const first = all(at(response, 'ResponseMessages'), `${operation}ResponseMessage`)[0];
  const fault = responseMessageFault(first);
  if (fault) throw fromResponseCode(fault, errorContext(mailbox.target, itemId ? { itemId } : {}));
  if (first === undefined) {
    throw errors.exchangeRequestFailed(mailbox.target.url, operation, `the answer has no ${operation}ResponseMessage`);
  }
  return first;
}

function itemIdOf(node: XmlValue | undefined): { itemId: string; changeKey: string } | undefined {
  const [first] = entries(at(node, 'Items'));
  const id = at(first?.[1], 'ItemId');
  const itemId = idAttr(id);
  return itemId ? { itemId, changeKey: idAttr(id, 'ChangeKey') ?? '' } : undefined;
}

function invalidValue(mailbox: EwsMailbox, error: unknown): ExhError | unknown {
  return error instanceof InvalidFieldValue
    ? errors.exchangeRequestFailed(mailbox.target.url, 'ErrorInvalidValue', error.message)
    : error;
}

function build<T>(mailbox: EwsMailbox, run: () => T): T {
  try {
    return run();
  } catch (error) {
    throw invalidValue(mailbox, error);
  }
}

interface CalendarFacts {
  itemId: string;
  changeKey: string;
  organizer: string | undefined;
  uid: string | undefined;
}

/** The item's current id and ChangeKey, and for a calendar item its UID and organizer (GetItem). */
async function calendarFacts(mailbox: EwsMailbox, call: Call, itemId: string, calendar = true): Promise<CalendarFacts> {
  const additional = calendar
    ? '<t:AdditionalProperties><t:FieldURI FieldURI="calendar:UID"/><t:FieldURI FieldURI="calendar:Organizer"/>' +
      '</t:AdditionalProperties>'
    : '';
  const body =
    `<m:GetItem><m:ItemShape><t:BaseShape>IdOnly</t:BaseShape>${additional}</m:ItemShape>` +
    `<m:ItemIds><t:ItemId Id="${escapeXml(itemId)}"/></m:ItemIds></m:GetItem>`;
  const answer = message(mailbox, await call('GetItem', body, itemId), 'GetItem', itemId);
  const [first] = entries(at(answer, 'Items'));
  const node = first?.[1];
  const id = at(node, 'ItemId');
  return {
    itemId: idAttr(id) ?? itemId,
    changeKey: idAttr(id, 'ChangeKey') ?? '',
    organizer: textOf(node, 'Organizer', 'Mailbox', 'EmailAddress') || undefined,
    uid: textOf(node, 'UID') || undefined,
  };
}

export async function createItem(
  mailbox: EwsMailbox,
  write: ItemWrite & { appItemId: string; uid?: string },
  options: CallOptions,
): Promise<WriteResult> {
  const call = caller(mailbox, options);
  const extra = [
    {
      order: extendedPropertyOrder,
      xml: `<t:ExtendedProperty>${appItemIdFieldUri}<t:Value>${escapeXml(write.appItemId)}</t:Value></t:ExtendedProperty>`,
    },
  ];
  const element = elementOf(write.itemClass);
  // UID is the first element of the calendar part, after the base item's ones.
  if (element === 'CalendarItem' && write.uid) extra.push({ order: 30, xml: `<t:UID>${escapeXml(write.uid)}</t:UID>` });
  const itemXml = build(mailbox, () => createXml(write.itemClass, write.properties, extra, write.labels));
  let attributes = '';
  let savedIn = '';
  const email = element === 'Message' && isEmailClass(write.itemClass);
  const send = email && hasRecipients(write.properties);
  const folderXml = (folder: string) =>
    `<m:SavedItemFolderId><t:DistinguishedFolderId Id="${escapeXml(folder)}"/></m:SavedItemFolderId>`;
  if (element === 'CalendarItem') {
    attributes = ` SendMeetingInvitations="${hasAttendees(write.properties) ? 'SendToAllAndSaveCopy' : 'SendToNone'}"`;
  } else if (email) {
    // An e-mail with recipients is sent (its copy kept in Sent Items); without, it is saved as a draft.
    attributes = ` MessageDisposition="${send ? 'SendAndSaveCopy' : 'SaveOnly'}"`;
    savedIn = folderXml(send ? 'sentitems' : 'drafts');
  } else if (element === 'Message') {
    // Any other message class (a sticky note, a post) is saved in the type's folder.
    attributes = ' MessageDisposition="SaveOnly"';
    savedIn = folderXml(write.folder);
  }
  const body = `<m:CreateItem${attributes}>${savedIn}<m:Items>${itemXml}</m:Items></m:CreateItem>`;
  const answer = message(mailbox, await call('CreateItem', body), 'CreateItem');
  // What is read after the write is not a write: its caller's check before each write (CallOptions.mayStart) does not
  // apply, so that a lease ending now does not make a made (or sent) item look unmade.
  const after: CallOptions = { signal: options.signal, priority: options.priority };
  if (send) return sentCopy(mailbox, write.appItemId, after);
  const created = itemIdOf(answer);
  if (!created) throw errors.exchangeRequestFailed(mailbox.target.url, 'CreateItem', 'the answer has no item id');
  if (element !== 'CalendarItem') return created;
  const uid = write.uid ?? (await calendarFacts(mailbox, caller(mailbox, after), created.itemId)).uid;
  return uid ? { ...created, uid } : created;
}

/** A sent e-mail's CreateItem answer has no id (Exchange's rule): its copy in Sent Items is found by the stamp. */
async function sentCopy(mailbox: EwsMailbox, appItemId: string, options: CallOptions): Promise<WriteResult> {
  for (let attempt = 1; attempt <= sentCopyAttempts; attempt++) {
    const found = await findIn(mailbox, 'sentitems', appItemId, options);
    if (found) return found;
    if (attempt < sentCopyAttempts) await delay(sentCopyDelayMs * attempt, options.signal);
  }
  throw errors.exchangeRequestFailed(
    mailbox.target.url,
    'CreateItem',
    `the e-mail ${appItemId} was sent, but its copy has not appeared in Sent Items`,
  );
}

function delay(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) return reject(errors.poolAborted());
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', abort);
      resolve();
    }, ms);
    const abort = () => {
      clearTimeout(timer);
      reject(errors.poolAborted());
    };
    signal.addEventListener('abort', abort, { once: true });
  });
}

export async function updateItem(
  mailbox: EwsMailbox,
  itemId: string,
  write: ItemWrite,
  options: CallOptions & { changeKey?: string },
): Promise<WriteResult> {
  const call = caller(mailbox, options);
  const element = elementOf(write.itemClass);
  const updates = build(mailbox, () => updateXml(write.itemClass, write.properties, write.labels));
  let facts: CalendarFacts | undefined;
  // With the change key the write is based on, Exchange refuses it when the item changed since (a person's edit the
  // sync has not brought in yet): the caller's conflict rule decides then (docs/reliability.md, "Conflicts").
  const { changeKey } = options;
  let attributes = ` ConflictResolution="${changeKey ? 'NeverOverwrite' : 'AlwaysOverwrite'}"`;
  if (element === 'CalendarItem') {
    facts = await calendarFacts(mailbox, call, itemId);
    if (facts.organizer && facts.organizer.toLowerCase() !== mailbox.user.toLowerCase()) {
      throw errors.notOrganizer(mailbox.user, facts.organizer, itemId);
    }
    attributes += ' SendMeetingInvitationsOrCancellations="SendToAllAndSaveCopy"';
  }
  if (element === 'Message') attributes += ' MessageDisposition="SaveOnly"';
  if (updates.length === 0) {
    // Nothing to change (every field null): Exchange refuses an empty Updates, and the item stays as it is.
    const current = facts ?? (await calendarFacts(mailbox, call, itemId, false));
    if (changeKey && current.changeKey !== changeKey) throw errors.exchangeConflict(mailbox.user, itemId);
    return result(current);
  }
  const idAttributes = `Id="${escapeXml(itemId)}"${changeKey ? ` ChangeKey="${escapeXml(changeKey)}"` : ''}`;
  const body =
    `<m:UpdateItem${attributes}><m:ItemChanges><t:ItemChange><t:ItemId ${idAttributes}/>` +
    `<t:Updates>${updates.join('')}</t:Updates></t:ItemChange></m:ItemChanges></m:UpdateItem>`;
  const answer = message(mailbox, await call('UpdateItem', body, itemId), 'UpdateItem', itemId);
  const updated = itemIdOf(answer) ?? { itemId, changeKey: '' };
  return facts?.uid ? { ...updated, uid: facts.uid } : updated;
}

function result(facts: CalendarFacts): WriteResult {
  return facts.uid
    ? { itemId: facts.itemId, changeKey: facts.changeKey, uid: facts.uid }
    : { itemId: facts.itemId, changeKey: facts.changeKey };
}

/** The item as it is now, every property the definitions read (GetItem); null when it is gone. */
export async function readItem(
  mailbox: EwsMailbox,
  itemId: string,
  options: CallOptions,
): Promise<ExchangeItem | null> {
  const [result] = await mailbox.request(options, { itemId }, (signal) =>
    getItems(mailbox.transport, mailbox.target, [{ id: itemId }], 'html', signal),
  );
  if (result && 'item' in result) return result.item;
  if (!result || result.fault.responseCode === 'ErrorItemNotFound') return null;
  throw fromResponseCode(result.fault, errorContext(mailbox.target, { itemId }));
}

export async function deleteItem(mailbox: EwsMailbox, itemId: string, options: CallOptions): Promise<void> {
  const body =
    '<m:DeleteItem DeleteType="MoveToDeletedItems" SendMeetingCancellations="SendToAllAndSaveCopy" ' +
    `AffectedTaskOccurrences="AllOccurrences"><m:ItemIds><t:ItemId Id="${escapeXml(itemId)}"/></m:ItemIds>` +
    '</m:DeleteItem>';
  try {
    message(mailbox, await caller(mailbox, options)('DeleteItem', body, itemId), 'DeleteItem', itemId);
  } catch (error) {
    // Already gone: what the caller wanted is true.
    if ((error as ExhError).code === 'EXH_EXCHANGE_ITEM_NOT_FOUND') return;
    throw error;
  }
}

async function findIn(
  mailbox: EwsMailbox,
  folder: string,
  appItemId: string,
  options: CallOptions,
): Promise<WriteResult | undefined> {
  const body =
    '<m:FindItem Traversal="Shallow"><m:ItemShape><t:BaseShape>IdOnly</t:BaseShape></m:ItemShape>' +
    '<m:IndexedPageItemView MaxEntriesReturned="1" Offset="0" BasePoint="Beginning"/>' +
    `<m:Restriction><t:IsEqualTo>${appItemIdFieldUri}<t:FieldURIOrConstant>` +
    `<t:Constant Value="${escapeXml(appItemId)}"/></t:FieldURIOrConstant></t:IsEqualTo></m:Restriction>` +
    `<m:ParentFolderIds><t:DistinguishedFolderId Id="${folder}"/></m:ParentFolderIds></m:FindItem>`;
  const answer = message(mailbox, await caller(mailbox, options)('FindItem', body), 'FindItem');
  const [first] = entries(at(answer, 'RootFolder', 'Items'));
  const id = at(first?.[1], 'ItemId');
  const itemId = idAttr(id);
  return itemId ? { itemId, changeKey: idAttr(id, 'ChangeKey') ?? '' } : undefined;
}

export async function findByAppItemId(
  mailbox: EwsMailbox,
  folders: readonly FolderName[],
  appItemId: string,
  options: CallOptions,
): Promise<string | null> {
  for (const folder of folders) {
    const found = await findIn(mailbox, folder, appItemId, options);
    if (found) return found.itemId;
  }
  return null;
}

export async function addAttachment(
  mailbox: EwsMailbox,
  itemId: string,
  attachment: { name: string; contentType: string; content: Buffer },
  options: CallOptions,
): Promise<{ attachmentId: string }> {
  const body =
    `<m:CreateAttachment><m:ParentItemId Id="${escapeXml(itemId)}"/><m:Attachments><t:FileAttachment>` +
    `<t:Name>${escapeXml(attachment.name)}</t:Name><t:ContentType>${escapeXml(attachment.contentType)}</t:ContentType>` +
    `<t:Content>${attachment.content.toString('base64')}</t:Content></t:FileAttachment></m:Attachments>` +
    '</m:CreateAttachment>';
  const answer = message(
    mailbox,
    await caller(mailbox, options)('CreateAttachment', body, itemId),
    'CreateAttachment',
    itemId,
  );
  const [first] = entries(at(answer, 'Attachments'));
  const attachmentId = idAttr(at(first?.[1], 'AttachmentId'));
  if (!attachmentId) {
    throw errors.exchangeRequestFailed(mailbox.target.url, 'CreateAttachment', 'the answer carries no attachment id');
  }
  return { attachmentId };
}

export async function getAttachment(
  mailbox: EwsMailbox,
  itemId: string,
  attachmentId: string,
  options: CallOptions & { maxBytes: number },
): Promise<{ name: string; contentType: string; content: Buffer }> {
  const body = `<m:GetAttachment><m:AttachmentIds><t:AttachmentId Id="${escapeXml(attachmentId)}"/></m:AttachmentIds></m:GetAttachment>`;
  const answer = message(
    mailbox,
    await caller(mailbox, options)('GetAttachment', body, itemId),
    'GetAttachment',
    itemId,
  );
  const [first] = entries(at(answer, 'Attachments'));
  if (first?.[0] !== 'FileAttachment') {
    throw errors.exchangeRequestFailed(
      mailbox.target.url,
      'GetAttachment',
      `attachment ${attachmentId} is ${first ? `an ${first[0]}, not a file` : 'missing from the answer'}`,
    );
  }
  const node = first[1];
  const size = Number(textOf(node, 'Size'));
  const base64 = textOf(node, 'Content') ?? '';
  // Checked before decoding: base64 is a third larger than the bytes it carries.
  const estimated = Number.isFinite(size) && size > 0 ? size : Math.floor((base64.length * 3) / 4);
  if (estimated > options.maxBytes)
    throw errors.attachmentTooLarge(mailbox.user, attachmentId, estimated, options.maxBytes);
  const content = Buffer.from(base64, 'base64');
  if (content.length > options.maxBytes) {
    throw errors.attachmentTooLarge(mailbox.user, attachmentId, content.length, options.maxBytes);
  }
  return {
    name: textOf(node, 'Name') ?? '',
    contentType: textOf(node, 'ContentType') ?? 'application/octet-stream',
    content,
  };
}
