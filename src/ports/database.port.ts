/**
 * DatabasePort: everything the runtime and the sync core ask of the application database. PostgreSQL, PGlite,
 * SQL Server and DB2 are adapters behind it (src/db/adapters/); machines and actors see only this interface.
 *
 * Contract for every adapter:
 * - Errors are ExhError (src/errors.ts): EXH_DB_UNREACHABLE from connect(); EXH_DB_CONNECTION_LOST from any call whose
 *   connection went away (the supervisor's database machine then goes to `lost`); EXH_DB_BASE_PROJECT_MISSING when an
 *   exh_ object does not exist; EXH_DB_PROCEDURE_FAILED when a procedure raised its own error (an item-level failure,
 *   recorded, not a connection loss).
 * - connect() may be called again after close(); close() is idempotent.
 * - writeSetUp() is idempotent (upsert of the three exh_set_up rows).
 * - applyChanges() runs every change and the new watermark in ONE transaction: all or nothing.
 */

export const itemTypeNames = ['calendar', 'contact', 'email', 'task'] as const;
export type ItemTypeName = (typeof itemTypeNames)[number];

export type DatabaseType = 'postgres' | 'pglite' | 'sqlserver' | 'db2';

/** One row of exh_get_users. */
export interface UserRegistration {
  user: string;
  /** Where catch-up resumes per item type (opaque to the database; null: never synchronised). */
  watermarks: Record<ItemTypeName, string | null>;
  /** Which item types this user synchronises (sync_calendar, ...). */
  sync: Record<ItemTypeName, boolean>;
}

/** What the connector writes into exh_set_up at start-up (seed §Initialization 2). */
export interface SetUp {
  ipAddress: string;
  port: number;
  /** The token every request on the database listener must carry. */
  token: string;
}

export type ItemAction = 'add' | 'chg' | 'del';
export type FieldValue = string | number | boolean | Date | null;

/** One change from Exchange, as parameters of exh_from_exh_{action}_{itemType}. */
export interface ItemChange {
  action: ItemAction;
  /** By field name without the exh_ prefix. null leaves a value unchanged, '' clears it. */
  fields: Record<string, FieldValue>;
}

export interface ChangeBatch {
  user: string;
  itemType: ItemTypeName;
  changes: ItemChange[];
  /** The new watermark for (user, itemType), stored in the same transaction as the changes. */
  watermark: string;
  /** Meetings whose application id is known, remembered by UID in the same transaction (exh_meeting). */
  meetings?: MeetingLink[];
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

export interface OutboxOutcome {
  /** 0 ok, 1 general error, 521 connector offline, 522 connecting to Exchange failed (seed §Business logic). */
  exitCode: number;
  outputValue: string | null;
  errorMessage: string | null;
}

export interface ConnectorLogEntry {
  user?: string;
  itemType?: ItemTypeName;
  code: string;
  message: string;
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
  /** Links meetings to application ids ahead of creating them in Exchange, so no attendee's copy arrives unlinked. */
  rememberMeetings(links: readonly MeetingLink[]): Promise<void>;
  /** The application ids of meetings by UID, for the UIDs that have one (attendees' copies carry the organizer's). */
  meetingAppItemIds(uids: readonly string[]): Promise<Map<string, string>>;
  /** Pending outbox rows, oldest first (per user in order). */
  readOutbox(limit: number): Promise<OutboxEntry[]>;
  completeOutbox(id: string, outcome: OutboxOutcome): Promise<void>;
  /** Records an error the connector wants the application to see (exh_log). */
  logError(entry: ConnectorLogEntry): Promise<void>;
}
