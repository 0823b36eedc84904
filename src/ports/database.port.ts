/**
 * DatabasePort: everything the runtime and the sync core ask of the application database. PostgreSQL, PGlite,
 * SQL Server and DB2 are adapters behind it (src/db/adapters/); machines and actors see only this interface.
 *
 * Contract for every adapter:
 * - Errors are ExhError (src/errors.ts): from connect() the cause's own code (EXH_DB_DATABASE_NOT_FOUND,
 *   EXH_DB_LOGIN_FAILED, EXH_DB_HOST_UNKNOWN, EXH_DB_CONNECTION_REFUSED, EXH_DB_TLS_REQUIRED, EXH_DB_TLS_FAILED, else
 *   EXH_DB_UNREACHABLE); EXH_DB_CONNECTION_LOST from any call whose connection went away (the supervisor's database
 *   machine then goes to `lost`); EXH_DB_POOL_EXHAUSTED when every pooled connection stayed busy (back-pressure: the
 *   caller tries again, the database is not lost); EXH_DB_BASE_PROJECT_MISSING when an exh_ object does not exist;
 *   EXH_DB_PROCEDURE_FAILED when a procedure raised its own error (an item-level failure, recorded, not a connection
 *   loss).
 * - probe() answers whatever the load: it never waits behind other calls for a pooled connection.
 * - connect() may be called again after close(); close() is idempotent.
 * - writeSetUp() is idempotent (upsert of the three exh_set_up rows).
 * - applyChanges() runs every change, the item versions they carry and the new watermark in ONE transaction: all or
 *   nothing.
 */

import type { ExhError } from '../errors.js';

/** An item type by its definition's name (calendar, contact, email, task, or one registered: src/items/index.ts). */
export type ItemTypeName = string;

export type DatabaseType = 'postgres' | 'pglite' | 'sqlserver' | 'db2';

/** One row of exh_get_users. */
export interface UserRegistration {
  user: string;
  /** Where catch-up resumes per item type (opaque to the database; null: never synchronised). */
  watermarks: Record<ItemTypeName, string | null>;
  /** Which item types this user synchronises (sync_calendar, ...). */
  sync: Record<ItemTypeName, boolean>;
  /**
   * exh_backend, the optional column of exh_user_source: 'ews' or 'graph' overrides exchange.backend for this user
   * (docs/database.md, "Start-up"). As the database gave it, trimmed; absent when NULL or empty. Any other value is
   * reported (W, naming the user and the value) where the backend is chosen, and the configured one is used.
   */
  backend?: string;
}

/** What the connector writes into exh_set_up at start-up (docs/database.md, "Start-up"). */
export interface SetUp {
  ipAddress: string;
  port: number;
  /** The token every request on the database listener must carry. */
  token: string;
  /**
   * Several instances (docs/senders.md, "Several instances"): every live instance's listener as `host:port`, in
   * exh_ip_addresses, where a sender turns when exh_ip_address does not answer. Written only in a cluster.
   */
  addresses?: string[];
}

export type ItemAction = 'add' | 'chg' | 'del';
export type FieldValue = string | number | boolean | Date | null;

/** One change from Exchange, as parameters of exh_from_exh_{action}_{itemType}. */
export interface ItemChange {
  action: ItemAction;
  /** By field name without the exh_ prefix. null leaves a value unchanged, '' clears it. */
  fields: Record<string, FieldValue>;
  /**
   * The change key of the Exchange version the row reflects once this change is applied, kept in exh_item_version in
   * the same transaction (docs/reliability.md, "Conflicts"); null forgets the item's (deleted, or a change whose key
   * Exchange did not say); absent leaves it as it is.
   */
  changeKey?: string | null;
  /** Outbox rows of this item up to this id lost a conflict to this change: the outbox fails them when it meets them. */
  supersedes?: string;
}

/** What the connector knows of one Exchange item (exh_item_version). */
export interface ItemVersion {
  /** The change key of the version the application's row reflects (applied from Exchange, or written by exh). */
  changeKey: string;
  /** Outbox rows of the item up to this id lost a conflict to Exchange; null: none. */
  supersededUntil: string | null;
}

export interface ChangeBatch {
  user: string;
  itemType: ItemTypeName;
  changes: ItemChange[];
  /**
   * The new watermark for (user, itemType), stored in the same transaction as the changes; absent: left as it is
   * (a resynchronisation by exh_sync_item applies changes without moving the live sync's place).
   */
  watermark?: string;
  /** Meetings whose application id is known, remembered by UID in the same transaction (exh_meeting). */
  meetings?: MeetingLink[];
  /**
   * Several instances: the batch is applied only while this instance holds the user's lease with this token, checked
   * in the same transaction; otherwise EXH_CLUSTER_LEASE_LOST and nothing is written. Absent: a single instance, unchecked.
   */
  fence?: Fence;
  /**
   * The application's pending changes the page was weighed against (the sync's reconcile, docs/reliability.md,
   * "Conflicts"): their outbox ids. Checked last in the transaction: a pending change (chg, del) of the user and type
   * that names one of the page's items (its item id or application id found in the row's payload) and is not among
   * them was written by the application while the page was on its way, and the page would overwrite it in the row.
   * Then the transaction is rolled back and EXH_SYNC_PAGE_OVERTAKEN thrown; the caller weighs the page again. The
   * check may name a change that does not concern the page (an id found inside another value): that costs one more try.
   */
  reconciledWith?: { pendingIds: readonly string[] } | undefined;
  /**
   * Rows whose item has a new id, moved to it before the changes, in the same transaction, through
   * exh_from_exh_new_id_{type} (a user switched between EWS and Graph: docs/database.md, "Switching backends"). The
   * connector forgets what it knew of the old ids (exh_item_version).
   */
  renames?: ItemRename[];
}

/** An item's id as the old backend named it and as the new one does. */
export interface ItemRename {
  from: string;
  to: string;
}

/** A meeting's iCalendar UID (the same in every copy) and the application's id of it. */
export interface MeetingLink {
  uid: string;
  appItemId: string;
}

export interface OutboxEntry {
  id: string;
  user: string;
  itemType: ItemTypeName;
  action: ItemAction;
  fields: Record<string, FieldValue>;
  createdAt: Date;
  attempts: number;
}

/**
 * Outbox rows that are requests rather than item changes: exh_sync_users, exh_sync_item, exh_get_attachment; and
 * `invalid`, a row the connector cannot read (a payload that is not JSON, a value of the wrong kind, an unknown item
 * type), handed out so that it is recorded as failed with its problem instead of stopping the outbox.
 */
export type OutboxCommandAction = 'sync_users' | 'sync_item' | 'get_attachment' | 'invalid';

export interface OutboxCommandEntry {
  id: string;
  /** null for sync_users (every user). */
  user: string | null;
  itemType: ItemTypeName | null;
  action: OutboxCommandAction;
  /** The procedure's parameters as it wrote them, keyed by parameter name (exh_sync_direction, exh_item_id, ...). */
  parameters: Record<string, unknown>;
  createdAt: Date;
  attempts: number;
}

/** Item changes and commands come out of readOutbox together; this tells them apart. */
export function isOutboxItem(entry: OutboxEntry | OutboxCommandEntry): entry is OutboxEntry {
  return entry.action === 'add' || entry.action === 'chg' || entry.action === 'del';
}

/** exh_get_item_{type}'s date ranges (exh_sync_item): items whose field falls in [from, until). */
export interface ItemRanges {
  created?: { from?: Date; until?: Date };
  modified?: { from?: Date; until?: Date };
  received?: { from?: Date; until?: Date };
  start?: { from?: Date; until?: Date };
}

export interface OutboxOutcome {
  /** 0 ok, 1 general error, 521 connector offline, 522 connecting to Exchange failed (docs/database.md, "Exit codes"). */
  exitCode: number;
  outputValue: string | null;
  errorMessage: string | null;
}

/** What the connector learned of an item by writing it: its new change key, or null (gone, or key unknown). */
export interface ItemVersionWrite {
  user: string;
  itemType: ItemTypeName;
  itemId: string;
  changeKey: string | null;
}

export interface ConnectorLogEntry {
  user?: string;
  itemType?: ItemTypeName;
  code: string;
  message: string;
}

export type OutboxRowState = 'pending' | 'done' | 'failed';

/** exh outbox list: which rows, newest first. */
export interface OutboxListFilter {
  state?: OutboxRowState;
  user?: string;
  limit: number;
}

/** exh outbox retry: failed rows to set pending again; no field set means every failed row. */
export interface OutboxRetryFilter {
  id?: string;
  user?: string;
}

/** One exh_outbox row as an operator sees it (the payload is left out: it may be large and personal). */
export interface OutboxRecord {
  id: string;
  user: string | null;
  itemType: string | null;
  action: string;
  state: OutboxRowState;
  attempts: number;
  exitCode: number | null;
  errorMessage: string | null;
  createdAt: Date;
  completedAt: Date | null;
}

/**
 * Several instances sharing one database (docs/scale-out.md). Time is the database's clock everywhere, so hosts'
 * clocks need not agree.
 */

/** One running instance of exh, as it registered itself in exh_member. */
export interface Member {
  /** Stable for the life of the process (`cluster.instanceId`, default host name and process id). */
  instanceId: string;
  /** Where its database listener is reached (what exh_set_up holds for a single instance). */
  address: string;
  port: number;
  startedAt: Date;
  /** Its last heartbeat, by the database's clock. */
  heartbeatAt: Date;
}

/** An instance's claim on one user's mailbox (exh_lease): it alone runs the mailbox while the lease lasts. */
export interface Lease {
  /** As exh_get_users gave it; leases compare users case-blind, like the rest of the base project. */
  user: string;
  instanceId: string;
  /** The fencing token: a new, larger value each time the lease changes hands (bigint as decimal text). */
  fence: string;
  /** By the database's clock. */
  expiresAt: Date;
}

/** What a fenced write carries: it is applied only while `instanceId` still holds the user's lease with `token`. */
export interface Fence {
  instanceId: string;
  token: string;
}

/** readOutbox for one instance among several: only what that instance is to drain. */
export interface OutboxScope {
  /** Rows of users whose unexpired lease this instance holds. */
  instanceId: string;
  /** Also the commands without a user (exh_sync_users): one instance takes them (the coordinator, docs/scale-out.md). */
  commandsWithoutUser: boolean;
}

/**
 * A member without a heartbeat for this long is deleted by the next heartbeat of any instance (every dialect): an
 * instance id per process (the default: host and process id) would otherwise leave a row per restart. Its leases' rows
 * stay, with their fences; until then the dashboard shows it as not live.
 */
export const goneAfterHours = 24;

/** The cluster as the database holds it, for the dashboard and `exh status`. */
export interface ClusterView {
  members: Member[];
  leases: Lease[];
}

/**
 * Membership and leases, one round trip per call. Adapters that share a database between instances implement it;
 * a single instance (no `cluster` configuration) never calls it and behaves as before.
 */
export interface ClusterPort {
  /**
   * Registers or refreshes this instance (its heartbeat now) and returns the live members: those whose heartbeat is
   * within `leaseSeconds`, this one included, ordered by instanceId.
   */
  heartbeat(member: Pick<Member, 'instanceId' | 'address' | 'port'>, leaseSeconds: number): Promise<Member[]>;
  /**
   * For each of `users`: extends this instance's lease, or takes the lease when nobody holds it or its holder's lease
   * has expired (a new fence). Leases held by another instance and not expired are left alone. Returns the leases this
   * instance holds among `users` afterwards. Concurrent claims of one user by two instances: exactly one wins.
   */
  claimLeases(instanceId: string, users: readonly string[], leaseSeconds: number): Promise<Lease[]>;
  /** Gives up this instance's leases of `users` (after their mailboxes stopped), so that another may take them at once. */
  releaseLeases(instanceId: string, users: readonly string[]): Promise<void>;
  /**
   * A clean stop: this instance's member row is removed and every lease it holds ends now. The lease rows stay with
   * their fence, so a fence only ever grows, also for an instance that comes back under the same id.
   */
  leaveCluster(instanceId: string): Promise<void>;
  /** Every member (live or not, with its heartbeat) and every unexpired lease: who runs which mailbox now. */
  clusterView(): Promise<ClusterView>;
}

export interface DatabasePort {
  readonly type: DatabaseType;
  /** Where the database is, printable: host, port and database name, never a password. */
  readonly target: string;
  connect(): Promise<void>;
  /** A cheap round trip (SELECT 1); throws EXH_DB_CONNECTION_LOST when the connection is gone. */
  probe(): Promise<void>;
  close(): Promise<void>;
  writeSetUp(setUp: SetUp): Promise<void>;
  getUsers(): Promise<UserRegistration[]>;
  applyChanges(batch: ChangeBatch): Promise<void>;
  /**
   * Links meetings to application ids ahead of creating them in Exchange, so no attendee's copy arrives unlinked: all
   * of them in one statement (the outbox links a run of creates at once).
   */
  rememberMeetings(links: readonly MeetingLink[]): Promise<void>;
  /** The application ids of meetings by UID, for the UIDs that have one (attendees' copies carry the organizer's). */
  meetingAppItemIds(uids: readonly string[]): Promise<Map<string, string>>;
  /** Pending outbox rows, oldest first (per user in order): item changes and commands; `scope`: one instance's share. */
  readOutbox(limit: number, scope?: OutboxScope): Promise<Array<OutboxEntry | OutboxCommandEntry>>;
  /**
   * Records a row's outcome; with `version`, also what its write left (as rememberItemVersion), in the same
   * transaction and one database round trip: the row is done exactly when the version it wrote is known. With `fence`
   * (a row that has a user, several instances), only while this instance holds the user's lease with that token,
   * checked in the same transaction; otherwise EXH_CLUSTER_LEASE_LOST and the row stays pending.
   */
  completeOutbox(id: string, outcome: OutboxOutcome, version?: ItemVersionWrite, fence?: Fence): Promise<void>;
  /**
   * Where the database can say so (PostgreSQL's NOTIFY): calls `onUser` when a new outbox row is written, so the
   * outbox is drained at once rather than at the next poll. Listening ends with the returned function or the connection.
   * `onError` is told (a coded error with its cause) when the listening connection fails later: notifications have
   * stopped then; the caller logs it and relies on polling.
   */
  watchOutbox?(onUser: (user: string) => void, onError?: (error: ExhError) => void): Promise<() => Promise<void>>;
  /**
   * The application's items of one user and type (exh_get_item_{type}), within the ranges: what exh_sync_item compares
   * with Exchange. Fields by name without the exh_ prefix.
   */
  getItems(itemType: ItemTypeName, user: string, ranges: ItemRanges): Promise<Array<Record<string, FieldValue>>>;
  /** exh_set_up as the connector wrote it at its last start (what a sender needs); rows not there are left out. */
  readSetUp(): Promise<Partial<SetUp>>;
  /** Outbox rows for operators (exh outbox list), newest first. */
  listOutbox(filter: OutboxListFilter): Promise<OutboxRecord[]>;
  /** Failed outbox rows set pending again, their last outcome cleared; resolves with how many. */
  retryOutbox(filter: OutboxRetryFilter): Promise<{ retried: number }>;
  /** Records an error the connector wants the application to see (exh_log). */
  logError(entry: ConnectorLogEntry): Promise<void>;
  /** What the connector knows of these Exchange items (exh_item_version), for those it knows. */
  itemVersions(itemIds: readonly string[]): Promise<Map<string, ItemVersion>>;
  /**
   * After the connector wrote an item to Exchange: its new change key (the row reflects that version now), or null
   * when the item is gone or its key is unknown. Kept rows' supersededUntil stays.
   */
  rememberItemVersion(entry: ItemVersionWrite): Promise<void>;
  /**
   * Pending exh_outbox item changes (add, chg, del) of one user (case-blind) and item type, oldest first: the
   * application's changes on their way to Exchange, which a change arriving from Exchange must not overwrite unseen.
   */
  pendingItemChanges(user: string, itemType: ItemTypeName): Promise<OutboxEntry[]>;
  /** Several instances sharing this database (docs/scale-out.md); absent where the adapter cannot share it. */
  readonly cluster?: ClusterPort;
}
