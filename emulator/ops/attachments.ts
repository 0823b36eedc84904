import type { OperationContext } from '../context.js';
import { resolveItemId } from '../items/calendar.js';
import { readAttachment } from '../items/read.js';
import { isoSeconds } from '../items/values.js';
import { versionRank } from '../soap/envelope.js';
import { EwsError } from '../soap/response-codes.js';
import { changeKeyOf } from '../store/ids.js';
import type { StoredAttachment, StoredItem } from '../store/model.js';
import { child, children, type XmlNode } from '../xml/node.js';
import { el, textEl } from '../xml/write.js';
import { responseMessages } from './common.js';

/** CreateAttachment, GetAttachment and DeleteAttachment for file attachments. */

/** AttachmentInfoResponseMessageType requires Attachments even in an error message. */
const emptyAttachments = () => '<m:Attachments/>';

function find(ctx: OperationContext, id: string | undefined): { item: StoredItem; attachment: StoredAttachment } {
  if (!id) throw new EwsError('ErrorInvalidIdEmpty');
  for (const item of ctx.mailbox.items.values()) {
    const attachment = item.attachments?.find((a) => a.id === id);
    if (attachment) return { item, attachment };
  }
  throw new EwsError('ErrorInvalidAttachmentId', 'The attachment was not found.');
}

function attachmentIdXml(attachment: StoredAttachment, item: StoredItem): string {
  return el('t:AttachmentId', {
    Id: attachment.id,
    RootItemId: item.id,
    RootItemChangeKey: changeKeyOf(item.id, item.version),
  });
}

export function createAttachments(request: XmlNode, ctx: OperationContext): string {
  const parent = child(request, 'ParentItemId');
  const attachments = children(child(request, 'Attachments'));
  let item: StoredItem | undefined;
  let failure: EwsError | undefined;
  try {
    const ref = resolveItemId(ctx.mailbox, { n: 'ItemId', a: parent?.a ?? {} });
    if (ref.view.occurrence)
      throw new EwsError('ErrorInvalidRequest', 'The emulator attaches files to whole items only.');
    item = ref.view.item;
  } catch (error) {
    if (!(error instanceof EwsError)) throw error;
    failure = error;
  }
  const created: StoredAttachment[] = [];
  const out = responseMessages(
    'CreateAttachment',
    attachments,
    (node) => {
      if (failure || !item) throw failure ?? new EwsError('ErrorItemNotFound');
      const attachment = readAttachment(node, ctx.core.now());
      item.attachments = [...(item.attachments ?? []), attachment];
      created.push(attachment);
      return `<m:Attachments>${el(`t:${node.n}`, undefined, '@@ID@@')}</m:Attachments>`;
    },
    emptyAttachments,
  );
  if (!item || created.length === 0) return out;
  ctx.mailbox.touch(item);
  // The root item's ChangeKey in the answer is the one after all attachments were added, as on Exchange.
  let index = 0;
  return out.replace(/@@ID@@/g, () => attachmentIdXml(created[index++] as StoredAttachment, item as StoredItem));
}

export function getAttachments(request: XmlNode, ctx: OperationContext): string {
  const ids = children(child(request, 'AttachmentIds'));
  return responseMessages(
    'GetAttachment',
    ids,
    (node) => {
      const { attachment } = find(ctx, node.a?.Id);
      // The AttachmentId alone (no RootItemId) and, before Exchange2010, none of the properties that version added:
      // Microsoft's GetAttachment examples, of Exchange 2007 and of Exchange 2013 answering Exchange2007_SP1.
      let inner = el('t:AttachmentId', { Id: attachment.id }) + textEl('t:Name', attachment.name);
      if (attachment.contentType) inner += textEl('t:ContentType', attachment.contentType);
      if (attachment.contentId) inner += textEl('t:ContentId', attachment.contentId);
      if (versionRank(ctx.version) >= versionRank('Exchange2010')) {
        inner += textEl('t:Size', attachment.size);
        inner += textEl('t:LastModifiedTime', isoSeconds(attachment.lastModified));
        inner += textEl('t:IsInline', attachment.isInline);
        inner += textEl('t:IsContactPhoto', attachment.isContactPhoto === true);
      }
      inner += textEl('t:Content', attachment.content);
      return `<m:Attachments>${el('t:FileAttachment', undefined, inner)}</m:Attachments>`;
    },
    emptyAttachments,
  );
}

export function deleteAttachments(request: XmlNode, ctx: OperationContext): string {
  const ids = children(child(request, 'AttachmentIds'));
  return responseMessages('DeleteAttachment', ids, (node) => {
    const { item, attachment } = find(ctx, node.a?.Id);
    item.attachments = (item.attachments ?? []).filter((a) => a !== attachment);
    ctx.mailbox.touch(item);
    return el('m:RootItemId', { RootItemId: item.id, RootItemChangeKey: changeKeyOf(item.id, item.version) });
  });
}
