/**
 * ControlPort: what operators and the application can ask of a running connector beyond item changes —
 * exh_sync_users and exh_sync_item, and replaying failed work. The database listener (senders, `exh sync-items`),
 * the outbox (command rows) and the dashboard's admin actions all go through it; src/control/control.ts implements it
 * and src/runtime.ts hands it out as `runtime.control`.
 */
import type { ItemTypeName } from './database.port.js';

/** An inclusive-exclusive time range; either end may be open. */
export interface TimeRange {
  from?: Date;
  until?: Date;
}

/** exh_sync_item's parameters (docs/database.md, "Resynchronising: `exh_sync_item`"). */
export interface SyncItemsRequest {
  /** 0 Exchange → database (including items deleted in Exchange), 1 database → Exchange (exh_get_item_{type}). */
  direction: 0 | 1;
  /** A mailbox, or null for every registered user. */
  user: string | null;
  /** One type, or null for every type the user synchronises. */
  itemType: ItemTypeName | null;
  add: boolean;
  chg: boolean;
  del: boolean;
  created?: TimeRange;
  modified?: TimeRange;
  received?: TimeRange;
  start?: TimeRange;
}

export interface SyncItemsProgress {
  user: string;
  itemType: ItemTypeName;
  /** Items looked at so far for this user and type. */
  done: number;
  /** Known once the database side has been read (direction 1), else null. */
  total: number | null;
}

export interface SyncItemsOutcome {
  added: number;
  changed: number;
  deleted: number;
  /** Items that could not be applied: recorded in exh_log with their error. */
  failed: number;
}

export interface ControlPort {
  /** exh_sync_users: read exh_get_users again and apply the difference; disabled mailboxes start again. */
  syncUsers(): void;
  /** exh_sync_item; resolves when every mailbox and type asked for is done. */
  syncItems(request: SyncItemsRequest, onProgress?: (progress: SyncItemsProgress) => void): Promise<SyncItemsOutcome>;
  /**
   * Retries failed work (optionally of one user): failed outbox rows are set pending again (`retried` says how many),
   * and every connected mailbox asked for is read again into the database (add and change, no deletions), which
   * re-applies items that failed on their way in (exh_log). That reading runs after the answer (`rereading` names
   * the mailboxes) and logs its outcome per mailbox.
   */
  retryFailed(filter: { user?: string }): Promise<{ retried: number; rereading: string[] }>;
}
