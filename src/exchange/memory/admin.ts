import { type ExhError, errors } from '../../errors.js';
import type { ExchangeItem, FolderName } from '../../ports/exchange.port.js';
import { type MemoryMailbox, newId, type Properties, type StoredItem } from './store.js';
import { itemView, occurrenceView } from './values.js';
import { deleteItem, itemChanged, type Mailboxes, makeItem } from './writes.js';

/**
 * The in-memory Exchange seen from the other side: what tests (and a demo) do as the mailboxes' owners would in
 * Outlook — make, change, read and delete items, send mail, invite to meetings — so that sync states move and
 * subscriptions hear of it; and what Exchange itself may do to the connector: forget the sync states it gave, end
 * the subscriptions, fail the next requests or the reading of a series' occurrences. Values are given as the port reads them (src/ports/item-properties.ts:
 * ISO times, string arrays for addresses and categories); null removes a property.
 */

export interface MemoryItemInput {
  /** The store's message class: `IPM.Appointment`, `IPM.Contact`, `IPM.Task`, `IPM.Note`, `IPM.StickyNote`, ... */
  itemClass: string;
  /** Where it is made; an e-mail with `send` goes to Sent Items instead. */
  folder: FolderName;
  properties?: Properties;
  /** A meeting's UID (default: a new one for appointments). */
  uid?: string;
  /**
   * Makes a recurring series: one entry per occurrence with what the occurrence has of its own (its `start` and
   * `end` at least; `originalStart` defaults to `start`). Everything else is the master's. The master and its
   * occurrences read `isRecurring` true; there is no recurrence pattern behind them, only these occurrences.
   */
  occurrences?: Properties[];
  /** An e-mail: send it to its recipients (to, cc, bcc) and keep it in Sent Items, as Outlook does. */
  send?: boolean;
}

export class MemoryAdmin {
  constructor(
    private readonly mailboxes: Mailboxes & { add(address: string): MemoryMailbox; all(): MemoryMailbox[] },
  ) {}

  /** Adds a mailbox (nothing happens when it exists). */
  addMailbox(address: string): void {
    this.mailboxes.add(address);
  }

  mailboxNames(): string[] {
    return this.mailboxes.all().map((mailbox) => mailbox.address);
  }

  makeItem(user: string, input: MemoryItemInput): ExchangeItem {
    return itemView(makeItem(this.mailboxes, this.#mailbox(user), { ...input, properties: input.properties ?? {} }));
  }

  /** Sets the given properties (null removes one); the item gets a new change key. Occurrence ids are accepted. */
  changeItem(user: string, itemId: string, properties: Properties): ExchangeItem {
    const mailbox = this.#mailbox(user);
    const found = mailbox.occurrence(itemId);
    if (found) {
      merge(found.occurrence.properties, properties);
      mailbox.touch(found.master);
      return occurrenceView(found.master, found.occurrence);
    }
    const item = this.#item(mailbox, itemId);
    merge(item.properties, properties);
    const names = Object.keys(properties);
    itemChanged(this.mailboxes, mailbox, item, names.length > 0 && names.every((name) => name === 'isRead'));
    return itemView(item);
  }

  /** Marks an item read or unread (Exchange reports only the read flag). */
  markRead(user: string, itemId: string, isRead: boolean): ExchangeItem {
    return this.changeItem(user, itemId, { isRead });
  }

  /** As Outlook deletes: to Deleted Items (a new id), from there for good; an occurrence id drops the occurrence. */
  deleteItem(user: string, itemId: string): void {
    const mailbox = this.#mailbox(user);
    const found = mailbox.occurrence(itemId);
    if (found) {
      found.master.occurrences = found.master.occurrences.filter((o) => o !== found.occurrence);
      mailbox.touch(found.master);
      return;
    }
    deleteItem(this.mailboxes, mailbox, this.#item(mailbox, itemId));
  }

  /** Attaches a file, as a person would; returns the attachment's id. */
  attach(user: string, itemId: string, attachment: { name: string; contentType?: string; content: Buffer }): string {
    const mailbox = this.#mailbox(user);
    const item = this.#item(mailbox, itemId);
    const id = newId();
    item.attachments.push({ id, contentType: 'application/octet-stream', ...attachment });
    mailbox.touch(item);
    return id;
  }

  /** An item as the port reads it (occurrences too); null when there is none. */
  item(user: string, itemId: string): ExchangeItem | null {
    const mailbox = this.#mailbox(user);
    const found = mailbox.occurrence(itemId);
    if (found) return occurrenceView(found.master, found.occurrence);
    const item = mailbox.live(itemId);
    return item ? itemView(item) : null;
  }

  /** The items in a folder, oldest first. */
  listFolder(user: string, folder: FolderName): ExchangeItem[] {
    return this.#mailbox(user)
      .inFolder(folder)
      .sort((a, b) => a.createdSeq - b.createdSeq)
      .map((item) => itemView(item));
  }

  /** Exchange forgets the sync states it gave for a folder (or every folder): they are refused from now on. */
  forgetSyncStates(user: string, folder?: FolderName): void {
    this.#mailbox(user).forgetSyncStates(folder);
  }

  /**
   * From now on the folder is read only for items overlapping [from, until), as Microsoft Graph reads a calendar; a
   * window other than the one a continuation was made under starts the folder over (a rolled window). Undefined: the
   * whole folder again.
   */
  readWithin(user: string, folder: FolderName, window: { from: string; until: string } | undefined): void {
    const state = this.#mailbox(user).folders.get(folder);
    if (!state) throw new Error(`no folder ${folder}`);
    if (window) state.window = { ...window };
    else delete state.window;
  }

  /** Exchange ends every subscription of the mailbox; each subscriber is told `lost`. */
  endSubscriptions(user: string, reason = 'ended by the in-memory Exchange'): void {
    const error = errors.subscriptionLost(user, reason);
    this.#mailbox(user).endSubscriptions({ code: error.code, message: error.message, retryable: error.retryable });
  }

  /** The mailbox's next requests fail with these errors, one each, in order. */
  failNext(user: string, ...failures: ExhError[]): void {
    this.#mailbox(user).faults.push(...failures);
  }

  /** The next time the series' occurrences are read (a page with its master), they fail with `error`, once. */
  failOccurrences(user: string, masterId: string, error: ExhError): void {
    this.#mailbox(user).occurrenceFaults.set(masterId, error);
  }

  /** How many subscriptions the mailbox has open. */
  subscriptions(user: string): number {
    return this.#mailbox(user).listeners.size;
  }

  #mailbox(user: string): MemoryMailbox {
    const mailbox = this.mailboxes.find(user);
    if (!mailbox) throw errors.mailboxNotFound(user, 'no such mailbox in the in-memory Exchange');
    return mailbox;
  }

  #item(mailbox: MemoryMailbox, itemId: string): StoredItem {
    const item = mailbox.live(itemId);
    if (!item) throw errors.itemNotFound(mailbox.address, itemId);
    return item;
  }
}

function merge(target: Properties, changes: Properties): void {
  for (const [name, value] of Object.entries(changes) as Array<[keyof Properties, Properties[keyof Properties]]>) {
    if (value === null || value === undefined) delete target[name];
    else target[name] = Array.isArray(value) ? ([...value] as typeof value) : value;
  }
}
