import { isoSeconds } from '../items/values.js';
import { changeKeyOf } from '../store/ids.js';
import type { Mailbox } from '../store/mailbox.js';
import type { MailboxEvent } from '../store/model.js';
import { el, textEl } from '../xml/write.js';

/** Watermarks (positions in a mailbox's event log) and events as EWS writes them. */

export function watermarkOf(mailbox: Mailbox, seq: number): string {
  return mailbox.seal.seal('wm', [mailbox.epoch, seq]);
}

/** The sequence number a watermark stands for, or undefined when it is not this mailbox's. */
export function readWatermark(mailbox: Mailbox, token: string): number | undefined {
  const fields = mailbox.seal.open('wm', token.trim());
  if (fields?.length !== 2 || fields[0] !== mailbox.epoch) return undefined;
  const seq = Number(fields[1]);
  return Number.isInteger(seq) && seq >= 0 && seq <= mailbox.seq ? seq : undefined;
}

function folderIdXml(name: string, mailbox: Mailbox, folderId: string): string {
  const folder = mailbox.folders.get(folderId);
  return el(`t:${name}`, { Id: folderId, ChangeKey: changeKeyOf(folderId, folder?.version ?? 1) });
}

/**
 * One event. Pull and push events carry their Watermark; streaming ones do not (Microsoft's GetStreamingEvents
 * examples: a streaming subscription is not resumed from a watermark).
 */
export function renderEvent(mailbox: Mailbox, event: MailboxEvent, withWatermark = true): string {
  let inner = withWatermark ? textEl('t:Watermark', watermarkOf(mailbox, event.seq)) : '';
  inner += textEl('t:TimeStamp', isoSeconds(event.time));
  if (event.itemId) inner += el('t:ItemId', { Id: event.itemId, ChangeKey: event.changeKey });
  else if (event.folderId) inner += el('t:FolderId', { Id: event.folderId, ChangeKey: event.folderChangeKey });
  inner += folderIdXml('ParentFolderId', mailbox, event.parentFolderId);
  if (event.type === 'MovedEvent' || event.type === 'CopiedEvent') {
    if (event.oldItemId) inner += el('t:OldItemId', { Id: event.oldItemId });
    if (event.oldParentFolderId) inner += folderIdXml('OldParentFolderId', mailbox, event.oldParentFolderId);
  }
  if (event.type === 'ModifiedEvent' && event.unreadCount !== undefined)
    inner += textEl('t:UnreadCount', event.unreadCount);
  return el(`t:${event.type}`, undefined, inner);
}

export function statusEvent(mailbox: Mailbox, seq: number): string {
  return el('t:StatusEvent', undefined, textEl('t:Watermark', watermarkOf(mailbox, seq)));
}

/**
 * A Notification element, always `m:Notification`: GetEvents and SendNotification declare it so, and in
 * GetStreamingEvents Exchange writes it so too although the schema says `t:Notification` there (the emulator copies
 * Exchange; docs/emulator.md lists the deviation). Streaming notifications carry no PreviousWatermark or MoreEvents.
 */
export function notificationXml(
  subscriptionId: string,
  events: string,
  previous: { watermark: string; more: boolean } | undefined,
): string {
  let inner = textEl('t:SubscriptionId', subscriptionId);
  if (previous) inner += textEl('t:PreviousWatermark', previous.watermark) + textEl('t:MoreEvents', previous.more);
  return `<m:Notification>${inner}${events}</m:Notification>`;
}
