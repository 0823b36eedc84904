/**
 * ExchangePort: everything the sync core asks of Exchange, free of EWS types so that a Microsoft Graph adapter can
 * stand behind it as well as the EWS one (src/exchange/ews/). Every call takes the caller's AbortSignal and a pool
 * priority: adapters run each request through the ExchangePool, so a stopped actor cancels its queued work.
 *
 * Errors are ExhError (src/errors.ts), EXH_EXCHANGE_*: `retryable` says whether backing off helps, `details.backOffMs`
 * carries how long Exchange asked the caller to wait, when it said. EXH_EXCHANGE_INVALID_SYNC_STATE asks for a full
 * resync of that folder; EXH_EXCHANGE_ITEM_NOT_FOUND is an item-level outcome (the item was deleted meanwhile), not a failure.
 * Not retryable, a person must act: EXH_EXCHANGE_MAILBOX_NOT_FOUND (unknown user), EXH_EXCHANGE_IMPERSONATION_DENIED,
 * EXH_EXCHANGE_AUTH_FAILED (HTTP 401), EXH_EXCHANGE_PUSH_UNAVAILABLE,
 * EXH_EXCHANGE_REQUEST_FAILED (also a field value Exchange cannot take, refused before sending, naming the field),
 * EXH_EXCHANGE_NOT_ORGANIZER (MailboxWriter.updateItem), EXH_EXCHANGE_ATTACHMENT_TOO_LARGE (getAttachment). Retryable: EXH_EXCHANGE_THROTTLED, EXH_EXCHANGE_TIMEOUT, EXH_EXCHANGE_UNAVAILABLE,
 * EXH_EXCHANGE_TLS, EXH_EXCHANGE_MAILBOX_MOVING, EXH_EXCHANGE_SUBSCRIPTION_LOST, EXH_EXCHANGE_AUTODISCOVER_FAILED.
 * A stopped caller's request rejects with EXH_POOL_ABORTED.
 */
import type { Priority } from '../pool/exchange-pool.js';
import type { FieldValue } from './database.port.js';

import type { FolderName, ItemProperty } from './item-properties.js';

export { type FolderName, folderNames, type ItemProperty } from './item-properties.js';

/** A property value (src/ports/item-properties.ts says how each is written); see ExchangeItem. */
export type ExchangeValue = string | number | boolean | null | string[] | AttachmentRef[];

export interface AttachmentRef {
  name: string;
  id: string;
}

/**
 * One item with its properties keyed by the neutral names of src/ports/item-properties.ts (`subject`, `start`,
 * `businessPhone`, `homeAddress.city`, ...), every property of its class that the adapter reads: null when Exchange
 * has no value, absent when unknown.
 */
export interface ExchangeItem {
  id: string;
  changeKey: string;
  /**
   * The item's message class as the Exchange store keeps it: the definitions' `itemClasses` (src/items) say which
   * classes a type synchronises.
   */
  itemClass: string;
  /** Same for every copy of a meeting (organizer's and attendees'): iCalendar UID. */
  uid?: string;
  properties: Partial<Record<ItemProperty, ExchangeValue>>;
}

/**
 * One change of a page. Any change of an item that is still there, a read flag's included, comes as the whole item
 * (`update`): the core needs its class to know whether the type synchronises it at all (a skipped meeting request
 * must stay skipped) and maps every field, so no half-empty row can appear. `create` is an item the continuation had
 * not reported before, `update` one it had.
 */
export type SyncChange =
  | { type: 'create' | 'update'; item: ExchangeItem }
  | { type: 'delete'; itemId: string }
  /**
   * Reported as changed, but Exchange would not give the item (corrupt, refused), or a series' occurrences
   * (SyncPage.incomplete): recorded, not silently dropped.
   */
  | { type: 'unreadable'; itemId: string; error: { code: string; message: string } };

export interface SyncPage {
  changes: SyncChange[];
  /**
   * Where the next page starts: opaque, the adapter's alone. The core stores it verbatim with the page's changes in
   * one transaction (the watermark) and passes it back as it is; whatever the adapter must remember between pages
   * (its backend's sync state, the occurrences it reported per series) travels in it.
   */
  continuation: string;
  /** False while more pages are waiting. */
  done: boolean;
  /**
   * Recurring masters on this page whose occurrences could not be read this time (SyncFolderOptions.occurrences),
   * each also reported as an `unreadable` change with the reason. Their occurrences are neither reported nor deleted
   * on this page, and the adapter keeps what it had reported of them, so the core must not read the absence of an
   * occurrence as its deletion: a comparison from the beginning (exh_sync_item) leaves occurrence rows alone when a
   * page names any. Absent or empty: every series on the page is complete.
   */
  incomplete?: string[];
  /**
   * The adapter began the folder again from the beginning on its own (a backend that reads a calendar only within a
   * window starts a fresh round when the window rolls, docs/exchange-online.md): what was deleted in between is found
   * the way it is after EXH_EXCHANGE_INVALID_SYNC_STATE, by comparing with the rows once the round is done.
   */
  restarted?: boolean;
  /**
   * The folder is read only for items whose time overlaps [from, until) (ISO-8601 UTC; Graph's calendarView): items
   * outside are neither reported nor deleted, so a comparison from the beginning judges only rows whose start and
   * end overlap it. Absent: the whole folder is read.
   */
  window?: { from: string; until: string };
}

/** How an item's body is read (sync.htmlBody): HTML or plain text; Exchange converts when needed. */
export type BodyType = 'html' | 'text';

export interface CallOptions {
  signal: AbortSignal;
  priority: Priority;
  /**
   * Asked right before each request is sent, after any wait for a place in the pool or for Exchange's back-off (and
   * again before each retry): a throw sends nothing and is the call's error. The outbox passes its lease check in a
   * cluster (src/sync/executors/outbox.ts), so a write that waited past the lease is not sent. Absent: always sent.
   */
  mayStart?: (() => void) | undefined;
}

/** Occurrence ids reported per recurring master: master id → occurrence ids. */
export type ReportedOccurrences = Readonly<Record<string, readonly string[]>>;

export interface SyncFolderOptions extends CallOptions {
  /** Changes of the backend per page (1–512); the occurrences of a series come on top of it, after their master. */
  maxChanges: number;
  bodyType?: BodyType;
  /**
   * Recurring series expanded (the core passes sync.maxSyncedRecurrences for types whose definition has
   * `behaviour.series`; docs/database.md, "Recurring appointments"). Above 0, every occurrence and exception of a
   * series created or updated on the page comes as an item of its own right after its master: the first this many by
   * their position in the pattern, each with `originalStart`, `create` when the continuation had not reported it,
   * else `update`. An occurrence reported before and gone now (deleted, the series deleted or no longer recurring,
   * or no longer expanded because this is 0) comes as a `delete`, after its master's change. Occurrences the adapter
   * cannot read this time are neither reported nor deleted: the master is named in SyncPage.incomplete. 0 or absent:
   * masters only, and the occurrences reported before are deleted as their masters come by.
   */
  occurrences?: number;
  /**
   * Migration aid, for a watermark written before the adapters kept their series themselves (its top-level `series`,
   * src/sync/decisions/watermark.ts): the occurrence ids the core had reported per master. The core passes them once, with the
   * first call for each folder after reading such a watermark; the adapter takes them as what it had reported only
   * when `continuation` carries no series of its own (the EWS adapter: a bare sync state, as it was written then),
   * and carries them in its continuation from then on. An adapter whose continuations always carried their series
   * ignores it.
   */
  knownOccurrences?: ReportedOccurrences;
}

/**
 * How a mailbox hears of changes: EWS streaming, push or pull subscriptions (exchange.notifications); Microsoft Graph
 * change notifications posted to a webhook, or polling its delta links (exchange.graph.notifications).
 */
export type NotificationKind = 'streaming' | 'push' | 'pull' | 'poll' | 'webhook';

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
  /** Its backend's (ExchangePort.capabilities). */
  readonly capabilities: ExchangeCapabilities;
  /** Where the mailbox's EWS (or Graph) endpoint is; for logs. */
  readonly endpoint: string;
  /**
   * Switching a user between backends (docs/exchange-online.md, "Migrating users"), offered by a port that serves
   * more than one (src/exchange/routing.ts). Whether `continuation` was written by this connection's backend; false:
   * the user was served by another one before, whose item ids this backend does not know. Absent: every
   * continuation is its own.
   */
  ownsContinuation?(continuation: string): boolean;
  /**
   * The ids this backend gives the items the other backend named `ids` (Graph's translateExchangeIds), for those it
   * could translate; the rest are matched by the application's id and the meeting's UID.
   */
  adoptItemIds?(ids: readonly string[], options: CallOptions): Promise<Map<string, string>>;
  /**
   * One page of the folder's changes after `continuation` (null: from the beginning, every item as `create`), the
   * occurrences of recurring series included as SyncFolderOptions says. EXH_EXCHANGE_INVALID_SYNC_STATE: the
   * backend no longer takes the continuation; start the folder again from null.
   */
  syncFolder(folder: FolderName, continuation: string | null, options: SyncFolderOptions): Promise<SyncPage>;
  subscribe(
    folders: FolderName[],
    kind: NotificationKind,
    onEvent: (event: SubscriptionEvent) => void,
    options: CallOptions,
  ): Promise<Subscription>;
}

/** A change the application asks for (database → Exchange), in neutral properties. */
export interface ItemWrite {
  /** The message class of the item to create (the type's first): the adapter picks the kind of item by it. */
  itemClass: string;
  /** Where an item is created: the type's first folder. */
  folder: FolderName;
  /**
   * Only the properties to write. Null leaves a value unchanged (the property is not touched), '' clears it (the
   * property is deleted) (docs/database.md, "NULL and empty text"). Properties the adapter cannot write are ignored;
   * a value Exchange cannot take is refused before anything is sent, naming the property.
   */
  properties: Partial<Record<ItemProperty, FieldValue>>;
  /** How the caller names each property in an error (the application's column, `exh_start`); else the property. */
  labels?: Partial<Record<ItemProperty, string>>;
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
   * nothing changes. Without it, the write overwrites whatever changed meanwhile.
   */
  updateItem(itemId: string, write: ItemWrite, options: CallOptions & { changeKey?: string }): Promise<WriteResult>;
  /** The item as it is now (its change key, `lastModified` and every property the definitions read); null once gone. */
  readItem(itemId: string, options: CallOptions): Promise<ExchangeItem | null>;
  /**
   * Idempotent: an item that is already gone counts as deleted. Moves it to Deleted Items; a meeting deleted by its
   * organizer is cancelled for the attendees.
   */
  deleteItem(itemId: string, options: CallOptions): Promise<void>;
  /**
   * Finishes a create that may have stopped half-way, for an item findByAppItemId found when the create was asked for
   * again: a backend that creates in more than one step (Microsoft Graph sends e-mail as a draft, then sends it)
   * completes the steps that did not happen (a stamped draft with recipients is sent), so a retried create is done
   * once and in full. Absent: the backend's creates are single steps (EWS), and the item found is the item made.
   */
  resumeCreate?(itemId: string, write: ItemWrite & { appItemId: string }, options: CallOptions): Promise<void>;
  /** The item created earlier for this application id, if any: makes a create retried after a crash happen once. */
  findByAppItemId(folders: readonly FolderName[], appItemId: string, options: CallOptions): Promise<string | null>;
  /** One attachment's bytes; EXH_EXCHANGE_ATTACHMENT_TOO_LARGE past `maxBytes`. */
  getAttachment(
    itemId: string,
    attachmentId: string,
    options: CallOptions & { maxBytes: number },
  ): Promise<{ name: string; contentType: string; content: Buffer }>;
  /** Attaches a file to an item (docs/protocol.md, "`addAttachment` (new in exh)"); resolves with the new attachment's id. */
  addAttachment(
    itemId: string,
    attachment: { name: string; contentType: string; content: Buffer },
    options: CallOptions,
  ): Promise<{ attachmentId: string }>;
}

/**
 * What a backend can do, declared rather than found out by trying: the core adapts to it (which notifications to ask
 * for, whether the database → Exchange half runs, how many requests a mailbox may have in flight).
 */
export interface ExchangeCapabilities {
  /**
   * The notification kinds it subscribes with; the configured kind for its backend (exchange.notifications for EWS,
   * exchange.graph.notifications for Graph) must be one of them. Each mailbox subscribes with the first configured
   * kind its connection's backend offers (MailboxConnection.capabilities).
   */
  readonly notifications: readonly NotificationKind[];
  /** The folders it reads and writes; an item type living elsewhere cannot be synchronised through it. */
  readonly folders: readonly FolderName[];
  /** Whether it writes items (MailboxWriter): the database → Exchange half. */
  readonly writes: boolean;
  /** Requests in flight per mailbox at most (Microsoft Graph: 4); absent: only the pool's total bounds them. */
  readonly requestsPerMailbox?: number;
}

export interface ExchangePort {
  readonly capabilities: ExchangeCapabilities;
  /**
   * A connection to one user's mailbox, acting as that user, which reads (MailboxConnection) and, when the backend
   * `writes`, writes (MailboxWriter) it. Finding where the mailbox is served and how to act as its user is the
   * adapter's own business (src/exchange/ews/ says how the EWS adapter does it).
   */
  connect(user: string, options: ConnectOptions): Promise<MailboxConnection & MailboxWriter>;
}

export interface ConnectOptions extends CallOptions {
  /**
   * exh_get_users' exh_backend for the user as the database gave it ('ews' or 'graph'): a port serving more than one
   * backend connects through that one (src/exchange/routing.ts); a port serving one ignores it.
   */
  backend?: string;
}
