import { defineItemType, field } from './definition.js';

/**
 * Incoming (Inbox) and outgoing (Sent Items) emails. Beyond the seed, the application can send one: an email added
 * with recipients is sent and saved in Sent Items; without recipients it is saved as a draft (not synchronised back).
 */
export const email = defineItemType({
  name: 'email',
  code: 2,
  description: 'Incoming and outgoing emails.',
  hasAttachments: true,
  fields: [
    field('subject', 'text', 'Subject', 'Subject.'),
    field('body', 'body', 'Body', 'Body, text or HTML (see body_type).'),
    field('body_type', 'code', 'Body.BodyType', 'Text or HTML.'),
    field('from', 'text', 'From', 'The address the email is from.'),
    field('sender', 'text', 'Sender', 'The address that sent it (differs from "from" when sent on behalf).'),
    field('to', 'longText', 'ToRecipients', 'To recipients, separated by ";".'),
    field('cc', 'longText', 'CcRecipients', 'Cc recipients, separated by ";".'),
    field('bcc', 'longText', 'BccRecipients', 'Bcc recipients, separated by ";" (outgoing emails only).'),
    field('reply_to', 'longText', 'ReplyTo', 'Reply-to addresses, separated by ";".'),
    field('received', 'timestamp', 'DateTimeReceived', 'When the email was received.'),
    field('sent', 'timestamp', 'DateTimeSent', 'When the email was sent.'),
    field('is_read', 'boolean', 'IsRead', 'Whether the email has been read.'),
    field('importance', 'code', 'Importance', 'Low, Normal or High.'),
    field('direction', 'code', 'exh:Direction', 'incoming (Inbox) or outgoing (Sent Items).'),
    field('folder', 'text', 'ParentFolderId', 'The folder the email is in (Inbox, Sent Items).'),
    field('internet_message_id', 'text', 'InternetMessageId', 'The Message-ID header.'),
    field('conversation_id', 'itemId', 'ConversationId', 'The Exchange conversation (thread) id.'),
    field('in_reply_to', 'text', 'InReplyTo', 'The Message-ID this email replies to.'),
    field('has_attachments', 'boolean', 'HasAttachments', 'Whether the email has attachments.'),
    field('categories', 'longText', 'Categories', 'Categories, separated by ";".'),
  ],
});
