import type { Core } from '../context.js';
import { newAttachmentId } from '../store/ids.js';
import type { Mailbox } from '../store/mailbox.js';
import type { ExtendedProp, PropValue, StoredAttachment } from '../store/model.js';
import { addressesOf, mailboxNode } from './values.js';

/**
 * Sending e-mail between mailboxes of this emulator: every To, Cc and Bcc recipient with a mailbox here receives the
 * message in the Inbox (unread, with a NewMailEvent); other recipients are accepted and go nowhere, as if they were
 * on the internet. Bcc is not shown to recipients. Custom extended properties do not travel, as on Exchange.
 */
export function deliver(
  core: Core,
  sender: Mailbox,
  props: Record<string, PropValue>,
  attachments: StoredAttachment[] | undefined,
  _ext: ExtendedProp[] | undefined,
): number {
  const recipients = new Set<string>();
  for (const list of ['ToRecipients', 'CcRecipients', 'BccRecipients']) {
    for (const { address } of addressesOf(props[list])) recipients.add(address.toLowerCase());
  }
  const from = mailboxNode(sender.address, sender.displayName, true);
  let delivered = 0;
  for (const address of recipients) {
    const box = core.store.get(address);
    if (!box) continue;
    const copy: Record<string, PropValue> = { ...props };
    delete copy.BccRecipients;
    delete copy._draft;
    copy.From = props.From ?? { n: 'From', c: [from] };
    copy.Sender = { n: 'Sender', c: [from] };
    copy.IsRead = 'false';
    copy._received = new Date(core.now()).toISOString();
    copy._imid = String(props._imid ?? '');
    box.deliverItem(box.folder('inbox').id, {
      kind: 'Message',
      props: copy,
      ...(attachments ? { attachments: attachments.map((a) => ({ ...a, id: newAttachmentId() })) } : {}),
    });
    delivered++;
  }
  return delivered;
}
