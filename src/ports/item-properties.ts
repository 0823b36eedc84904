/**
 * The neutral vocabulary of item properties and folders that the item-type definitions (src/items) name and every
 * Exchange adapter (EWS in src/exchange/ews/, Graph later) maps to its own protocol. A new item type made only of
 * properties listed here needs no change to any adapter (docs/extending.md); a property that is new to this list is
 * a change to the port, made for every adapter.
 *
 * Value conventions (ExchangeItem.properties, ItemWrite.properties):
 * - times are ISO-8601 UTC (`2026-01-05T09:00:00.000Z`); an all-day appointment keeps its dates as midnight UTC of
 *   each local date, whatever zone it was made in; a `date` (birthday) is `YYYY-MM-DD`;
 * - addresses are SMTP addresses; lists of them, and categories, are string arrays when read;
 * - `bodyType` is `HTML` or `Text`; `attachments` is AttachmentRef[];
 * - `isRecurring` is true for the master, the occurrences and the exceptions of a series;
 * - `appItemId` is the application's id that the connector stamps on the items it writes.
 */

const common = [
  'subject',
  'body',
  'bodyType',
  'categories',
  'importance',
  'sensitivity',
  'created',
  'lastModified',
  'attachments',
  'appItemId',
] as const;

const appointment = [
  'location',
  'start',
  'end',
  'isAllDay',
  'timeZone',
  'organizer',
  'requiredAttendees',
  'optionalAttendees',
  'resources',
  'freeBusy',
  'reminderSet',
  'reminderMinutes',
  'isRecurring',
  'recurrence',
  'originalStart',
  'isCancelled',
  'isMeeting',
] as const;

const message = [
  'from',
  'sender',
  'to',
  'cc',
  'bcc',
  'replyTo',
  'received',
  'sent',
  'isRead',
  'internetMessageId',
  'conversationId',
  'inReplyTo',
  'hasAttachments',
] as const;

const addressParts = ['street', 'city', 'state', 'postalCode', 'country'] as const;

const contact = [
  'displayName',
  'givenName',
  'middleName',
  'surname',
  'initials',
  'nickname',
  'company',
  'department',
  'jobTitle',
  'birthday',
  'fileAs',
  'email1',
  'email2',
  'email3',
  'businessPhone',
  'homePhone',
  'mobilePhone',
  'businessFax',
  ...addressParts.map((part) => `businessAddress.${part}` as const),
  ...addressParts.map((part) => `homeAddress.${part}` as const),
] as const;

const task = ['startDate', 'dueDate', 'status', 'percentComplete', 'completeDate', 'reminderDueBy', 'owner'] as const;

/** Every property an adapter reads and, where Exchange lets it, writes. */
export const itemProperties = [...common, ...appointment, ...message, ...contact, ...task] as const;
export type ItemProperty = (typeof itemProperties)[number];

/**
 * What the sync core fills in itself rather than reading from Exchange: the item's id, the mailbox it was read from,
 * and the label and direction of the folder it was read from (the definition's folder entry).
 */
export const derivedProperties = ['itemId', 'mailbox', 'folderLabel', 'folderDirection'] as const;
export type DerivedProperty = (typeof derivedProperties)[number];

/**
 * Folders every mailbox has, by the names Exchange gives them in both of its APIs (EWS distinguished folder ids,
 * Graph's well-known folder names). An item type lives in one or more of them.
 */
export const folderNames = [
  'calendar',
  'contacts',
  'tasks',
  'inbox',
  'sentitems',
  'drafts',
  'notes',
  'deleteditems',
  'junkemail',
  'outbox',
  'journal',
] as const;
export type FolderName = (typeof folderNames)[number];
