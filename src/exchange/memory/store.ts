import { randomBytes } from 'node:crypto';
import type { ExhError } from '../../errors.js';
import type { ExchangeValue, SubscriptionEvent } from '../../ports/exchange.port.js';
import { type FolderName, folderNames, type ItemProperty } from '../../ports/item-properties.js';

/**
 * The in-memory Exchange's store: mailboxes, each with every well-known folder, holding items by their neutral
 * properties (src/ports/item-properties.ts). Every change goes through a mailbox's `add`, `touch` or `remove`, which
 * give the item a new change key, append the change to its folder's journal (from which ./sync.ts computes pages)
 * and tell the mailbox's subscriptions. Items that leave a folder stay as tombstones, so that a page can still tell
 * whether a client that had seen the folder up to some point knew them.
 */

export type Properties = Partial<Record<ItemProperty, ExchangeValue>>;

export interface StoredAttachment {
  id: string;
  name: string;
  contentType: string;
  content: Buffer;
}

/**
 * One occurrence of a recurring series. Only what differs from the series is kept: the rest is read from the master,
 * so a change of the master shows in every occurrence, as in Exchange.
 */
export interface StoredOccurrence {
  id: string;
  changeKey: string;
  /** Where the occurrence sits in the pattern (its start, unless it was moved). */
  originalStart: string;
  properties: Properties;
}

export interface StoredItem {
  id: string;
  folder: FolderName;
  /** The store's message class (`IPM.Appointment`, `IPM.Note`, ...). */
  itemClass: string;
  /** Shared by every copy of a meeting. */
  uid?: string;
  changeKey: string;
  properties: Properties;
  attachments: StoredAttachment[];
  /** A recurring master's occurrences, in pattern order; empty for every other item. */
  occurrences: StoredOccurrence[];
  /** Journal positions: when the item came into its folder, and when it left it (deleted or moved). */
  createdSeq: number;
  deletedSeq?: number;
}

export type JournalKind = 'create' | 'update' | 'readFlag' | 'delete';

export interface JournalEntry {
  seq: number;
  itemId: string;
  kind: JournalKind;
}

export interface FolderState {
  /** Raised when the mailbox forgets the sync states it gave for this folder (MemoryAdmin.forgetSyncStates). */
  generation: number;
  journal: JournalEntry[];
  /**
   * Read only between these times, as Microsoft Graph reads a calendar (MemoryAdmin.readWithin): items outside are
   * neither reported nor deleted, and a new window starts a fresh round (SyncPage.restarted, SyncPage.window).
   */
  window?: { from: string; until: string };
}

interface Listener {
  folders: ReadonlySet<FolderName>;
  onEvent: (event: SubscriptionEvent) => void;
}

/** Ids, change keys and the time, shared by every mailbox of one in-memory Exchange. */
export interface StoreServices {
  now(): Date;
}

export const newId = (): string => randomBytes(15).toString('base64url');
const newChangeKey = (): string => randomBytes(9).toString('base64url');

export class MemoryMailbox {
  /** The last journal position given out, over every folder of the mailbox. */
  seq = 0;
  readonly items = new Map<string, StoredItem>();
  readonly folders = new Map<FolderName, FolderState>(
    folderNames.map((name) => [name, { generation: 1, journal: [] }]),
  );
  readonly listeners = new Map<string, Listener>();
  /** Errors the next requests of this mailbox fail with, in order (MemoryAdmin.failNext). */
  readonly faults: ExhError[] = [];
  /** Series whose occurrences cannot be read the next time, with the error (MemoryAdmin.failOccurrences). */
  readonly occurrenceFaults = new Map<string, ExhError>();

  constructor(
    readonly address: string,
    private readonly services: StoreServices,
  ) {}

  now(): string {
    return this.services.now().toISOString();
  }

  /** An item that is in a folder now (not deleted, not moved away). */
  live(itemId: string): StoredItem | undefined {
    const item = this.items.get(itemId);
    return item && item.deletedSeq === undefined ? item : undefined;
  }

  inFolder(folder: FolderName): StoredItem[] {
    return [...this.items.values()].filter((item) => item.folder === folder && item.deletedSeq === undefined);
  }

  /** The live series an occurrence id belongs to, and the occurrence. */
  occurrence(itemId: string): { master: StoredItem; occurrence: StoredOccurrence } | undefined {
    for (const master of this.items.values()) {
      if (master.deletedSeq !== undefined) continue;
      const occurrence = master.occurrences.find((candidate) => candidate.id === itemId);
      if (occurrence) return { master, occurrence };
    }
    return undefined;
  }

  /** Puts a new item into its folder. */
  add(item: Omit<StoredItem, 'id' | 'changeKey' | 'createdSeq' | 'deletedSeq'>): StoredItem {
    const stamp = this.now();
    const stored: StoredItem = {
      ...item,
      id: newId(),
      changeKey: newChangeKey(),
      properties: { ...item.properties, created: stamp, lastModified: stamp },
      createdSeq: this.#next(),
    };
    this.items.set(stored.id, stored);
    this.#record(stored, 'create');
    return stored;
  }

  /**
   * Records a change of an item already changed in place: a new change key (its occurrences' too: they show the
   * master), lastModified, and a journal entry. `readFlag`: only whether it was read changed.
   */
  touch(item: StoredItem, kind: 'update' | 'readFlag' = 'update'): void {
    item.changeKey = newChangeKey();
    for (const occurrence of item.occurrences) occurrence.changeKey = newChangeKey();
    item.properties.lastModified = this.now();
    this.#next();
    this.#record(item, kind);
  }

  /** Takes an item out of its folder for good (its tombstone stays for the journal). */
  remove(item: StoredItem): void {
    item.deletedSeq = this.#next();
    this.#record(item, 'delete');
  }

  /** Every sync state given for `folder` (or for every folder) becomes invalid. */
  forgetSyncStates(folder?: FolderName): void {
    for (const [name, state] of this.folders) if (!folder || name === folder) state.generation += 1;
  }

  subscribe(folders: readonly FolderName[], onEvent: (event: SubscriptionEvent) => void): string {
    const id = newId();
    this.listeners.set(id, { folders: new Set(folders), onEvent });
    return id;
  }

  /** Ends every subscription with `lost`, as an Exchange that dropped them (MemoryAdmin.endSubscriptions). */
  endSubscriptions(error: { code: string; message: string; retryable: boolean }): void {
    const listeners = [...this.listeners.values()];
    this.listeners.clear();
    for (const listener of listeners) queueMicrotask(() => listener.onEvent({ type: 'lost', error }));
  }

  #next(): number {
    this.seq += 1;
    return this.seq;
  }

  #record(item: StoredItem, kind: JournalKind): void {
    (this.folders.get(item.folder) as FolderState).journal.push({ seq: this.seq, itemId: item.id, kind });
    // After the caller's change is complete: a subscriber that reads at once sees it.
    for (const [id, listener] of this.listeners) {
      if (!listener.folders.has(item.folder)) continue;
      queueMicrotask(() => {
        // Closed meanwhile: a closed subscription says nothing more.
        if (this.listeners.has(id)) listener.onEvent({ type: 'changed', folders: [item.folder] });
      });
    }
  }
}
