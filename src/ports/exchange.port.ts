/**
 * ExchangePort: everything the sync core asks of Exchange, free of EWS types so that a Microsoft Graph adapter can
 * stand behind it as well as the EWS one (src/exchange/ews/). Every call takes the caller's AbortSignal and a pool
 * priority: adapters run each request through the ExchangePool, so a stopped actor cancels its queued work.
 *
 * Errors are ExhError (src/errors.ts), EXH_EXCHANGE_*: `retryable` says whether backing off helps, `details.backOffMs`
 * carries Exchange's BackOffMilliseconds when it sent one. EXH_EXCHANGE_INVALID_SYNC_STATE asks for a full resync of
 * that folder; EXH_EXCHANGE_ITEM_NOT_FOUND is an item-level outcome (the item was deleted meanwhile), not a failure.
 * Not retryable, a person must act: EXH_EXCHANGE_MAILBOX_NOT_FOUND (unknown user), EXH_EXCHANGE_IMPERSONATION_DENIED,
 * EXH_EXCHANGE_AUTH_FAILED (HTTP 401), EXH_EXCHANGE_PUSH_UNAVAILABLE,
 * EXH_EXCHANGE_REQUEST_FAILED (also a field value Exchange cannot take, refused before sending, naming the field),
 * EXH_EXCHANGE_NOT_ORGANIZER (MailboxWriter.updateItem), EXH_EXCHANGE_ATTACHMENT_TOO_LARGE (getAttachment). Retryable: EXH_EXCHANGE_THROTTLED, EXH_EXCHANGE_TIMEOUT, EXH_EXCHANGE_UNAVAILABLE,
 * EXH_EXCHANGE_TLS, EXH_EXCHANGE_MAILBOX_MOVING, EXH_EXCHANGE_SUBSCRIPTION_LOST, EXH_EXCHANGE_AUTODISCOVER_FAILED.
 * A stopped caller's request rejects with EXH_POOL_ABORTED.
 */
import type { Priority } from '../pool/exchange-pool.js';
import type { FieldValue, ItemTypeName } from './database.port.js';

/**
 * The folders the connector reads: one per item type, two for e-mail; and Drafts, where an e-mail the application
 * saved without recipients lives (not synchronised, but a resync must know those items still exist).
 */
export const folderNames = ['calendar', 'contacts', 'tasks', 'inbox', 'sentitems', 'drafts'] as const;
export type FolderName = (typeof folderNames)[number];

/** A property value as the definitions' `exchangeProperty` names it (src/items); see ExchangeItem. */
export type ExchangeValue = string | number | boolean | null | string[] | AttachmentRef[];

export interface AttachmentRef {
  name: string;
  id: string;
}

/**
 * One item with its properties keyed by the item-type definitions' `exchangeProperty` strings: `Subject`, `Start`
 * (ISO-8601 UTC), `Body` and `Body.BodyType` (`HTML` | `Text`), recipients as arrays of SMTP addresses,
 * `PhoneNumbers[BusinessPhone]`, `PhysicalAddresses[Home].City`, `Attachments` as AttachmentRef[], `Recurrence` in
 * readable form, `exh:AppItemId` read from the connector's extended property. Absent keys are unknown, null is empty.
 */
export interface ExchangeItem {
  id: string;
  changeKey: string;
  /** EWS: CalendarItem, Message, MeetingRequest, Contact, Task, ...; lets the core skip what a folder holds besides. */
  kind: string;
  /** Same for every copy of a meeting (organizer's and attendees'): iCalendar UID. */
  uid?: string;
  properties: Record<string, ExchangeValue>;
}

export type SyncChange =
  | { type: 'create' | 'update'; item: ExchangeItem }
  | { type: 'delete'; itemId: string }
  | { type: 'readFlag'; itemId: string; isRead: boolean }
  /** Reported as changed, but Exchange would not give the item (corrupt, refused): recorded, not silently dropped. */
  | { type: 'unreadable'; itemId: string; error: { code: string; message: string } };

export interface SyncPage {
  changes: SyncChange[];
  /** Opaque; stored with the page's changes in one transaction (the watermark). */
  syncState: string;
  /** False while more pages are waiting (EWS IncludesLastItemInRange = false). */
  done: boolean;
}

/** How an item's body is read (sync.htmlBody): HTML or plain text; Exchange converts when needed. */
export type BodyType = 'html' | 'text';

export interface CallOptions {
  signal: AbortSignal;
  priority: Priority;
}

export type NotificationKind = 'streaming' | 'push' | 'pull';

/** What a subscription tells its owner. A notification only says "look again"; what changed is read with syncFolder. */
export type SubscriptionEvent =
  | { type: 'changed'; folders: FolderName[] }
  /** The subscription ended (connection lost, expired, unsubscribed by Exchange): subscribe again and catch up. */
  | { type: 'lost'; error: { code: string; message: string; retryable: boolean; backOffMs?: number } };

export interface Subscription {
  readonly id: string;
  close(): Promise<void>;
}

export interface MailboxConnection {
  readonly user: string;
  /** Where the mailbox's EWS (or Graph) endpoint is; for logs. */
  readonly endpoint: string;
  /** One page of changes after `syncState` (null: from the beginning), at most `maxChanges` (1–512). */
  syncFolder(
    folder: FolderName,
    syncState: string | null,
    options: CallOptions & { maxChanges: number; bodyType?: BodyType },
  ): Promise<SyncPage>;
  /** Occurrences and exceptions of a recurring series (CalendarView), in start order, at most `max`. */
  occurrences(masterId: string, options: CallOptions & { max: number; bodyType?: BodyType }): Promise<ExchangeItem[]>;
  subscribe(
    folders: FolderName[],
    kind: NotificationKind,
    onEvent: (event: SubscriptionEvent) => void,
    options: CallOptions,
  ): Promise<Subscription>;
}

/** A change the application asks for (database → Exchange), in the definitions' terms (src/items). */
export interface ItemWrite {
  itemType: ItemTypeName;
  /**
   * By field name without the exh_ prefix, only the fields to write. The seed's rule: null leaves a value unchanged
   * (the property is not touched), '' clears it (the property is deleted). Key fields (item_id, app_item_id, user) and
   * read-only ones (created, last_modified, attachments, is_recurring, ...) are ignored.
   */
  fields: Record<string, FieldValue>;
}

export interface WriteResult {
  itemId: string;
  changeKey: string;
  /** Calendar items: the iCalendar UID every copy of the meeting shares. */
  uid?: string;
}

/** The database → Exchange half of a mailbox connection (issue 6). */
export interface MailboxWriter {
  /**
   * Creates the item in the user's default folder for its type, stamped with the application's id (the connector's
   * extended property) so that its echo finds the row. Appointments with attendees send invitations; `uid` sets the
   * meeting's UID (so the link UID → application id can be written before the invitations go out).
   */
  createItem(write: ItemWrite & { appItemId: string; uid?: string }, options: CallOptions): Promise<WriteResult>;
  /**
   * Only the organizer may change a meeting: anyone else gets EXH_EXCHANGE_NOT_ORGANIZER and nothing changes. With
   * `changeKey`, the write happens only if the item is still at that version; otherwise EXH_EXCHANGE_CONFLICT and
   * nothing changes (EWS: NeverOverwrite). Without it, the write overwrites whatever changed meanwhile.
   */
  updateItem(itemId: string, write: ItemWrite, options: CallOptions & { changeKey?: string }): Promise<WriteResult>;
  /** The item as it is now (its change key, LastModifiedTime and every property the definitions read); null once gone. */
  readItem(itemId: string, options: CallOptions): Promise<ExchangeItem | null>;
  /**
   * Idempotent: an item that is already gone counts as deleted. Moves it to Deleted Items; a meeting deleted by its
   * organizer is cancelled for the attendees.
   */
  deleteItem(itemId: string, options: CallOptions): Promise<void>;
  /** The item created earlier for this application id, if any: makes a create retried after a crash happen once. */
  findByAppItemId(itemType: ItemTypeName, appItemId: string, options: CallOptions): Promise<string | null>;
  /** One attachment's bytes; EXH_EXCHANGE_ATTACHMENT_TOO_LARGE past `maxBytes`. */
  getAttachment(
    itemId: string,
    attachmentId: string,
    options: CallOptions & { maxBytes: number },
  ): Promise<{ name: string; contentType: string; content: Buffer }>;
  /** Attaches a file to an item (beyond the seed); resolves with the new attachment's id. */
  addAttachment(
    itemId: string,
    attachment: { name: string; contentType: string; content: Buffer },
    options: CallOptions,
  ): Promise<{ attachmentId: string }>;
}

export interface ExchangePort {
  /**
   * Autodiscover (or the static EWS URL) for one user, and a connection acting as that user (impersonation), which
   * reads (MailboxConnection) and writes (MailboxWriter) the mailbox.
   */
  connect(user: string, options: CallOptions): Promise<MailboxConnection & MailboxWriter>;
}
