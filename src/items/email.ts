import { defineItemType, field, readOnlyField } from './definition.js';

/** Meeting requests, responses and cancellations arrive as e-mail; synchronised with sync.meetingRequestsResponses. */
const meetingMessage = /^ipm\.schedule\.meeting(\.|$)/i;

/**
 * Incoming (Inbox) and outgoing (Sent Items) emails. The application can send one: an email added with recipients is
 * sent and saved in Sent Items; without recipients it is saved as a draft, not synchronised back (docs/database.md,
 * "E-mail from the application").
 */
export const email = defineItemType({
  name: 'email',
  code: 2,
  description: 'Incoming and outgoing emails.',
  folders: [
    { name: 'inbox', label: 'Inbox', direction: 'incoming' },
    { name: 'sentitems', label: 'Sent Items', direction: 'outgoing' },
  ],
  // An e-mail the application saved without recipients is a draft: not synchronised, but it exists (resync).
  alsoIn: ['drafts'],
  createdIn: ['sentitems', 'drafts'],
  itemClasses: ['IPM.Note'],
  hasAttachments: true,
  behaviour: {
    alsoSynchronises: (itemClass, settings) => settings.meetingRequestsResponses && meetingMessage.test(itemClass),
  },
  fields: [
    field('subject', 'text', 'subject', 'Subject.'),
    field('body', 'body', 'body', 'Body, text or HTML (see body_type).'),
    field('body_type', 'code', 'bodyType', 'Text or HTML.'),
    readOnlyField('from', 'text', 'from', 'The address the email is from.'),
    readOnlyField('sender', 'text', 'sender', 'The address that sent it (differs from "from" when sent on behalf).'),
    field('to', 'longText', 'to', 'To recipients, separated by ";".'),
    field('cc', 'longText', 'cc', 'Cc recipients, separated by ";".'),
    field('bcc', 'longText', 'bcc', 'Bcc recipients, separated by ";" (outgoing emails only).'),
    field('reply_to', 'longText', 'replyTo', 'Reply-to addresses, separated by ";".'),
    readOnlyField('received', 'timestamp', 'received', 'When the email was received.'),
    readOnlyField('sent', 'timestamp', 'sent', 'When the email was sent.'),
    field('is_read', 'boolean', 'isRead', 'Whether the email has been read.'),
    field('importance', 'code', 'importance', 'Low, Normal or High.'),
    field('direction', 'code', 'folderDirection', 'incoming (Inbox) or outgoing (Sent Items).'),
    field('folder', 'text', 'folderLabel', 'The folder the email is in (Inbox, Sent Items).'),
    readOnlyField('internet_message_id', 'text', 'internetMessageId', 'The Message-ID header.'),
    readOnlyField('conversation_id', 'itemId', 'conversationId', 'The Exchange conversation (thread) id.'),
    field('in_reply_to', 'text', 'inReplyTo', 'The Message-ID this email replies to.'),
    readOnlyField('has_attachments', 'boolean', 'hasAttachments', 'Whether the email has attachments.'),
    field('categories', 'longText', 'categories', 'Categories, separated by ";".'),
  ],
});
