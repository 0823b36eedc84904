import { errors } from '../../errors.js';
import type { ExchangePool } from '../../pool/exchange-pool.js';
import type {
  CallOptions,
  ExchangeCapabilities,
  ExchangeItem,
  FolderName,
  ItemWrite,
  MailboxConnection,
  MailboxWriter,
  NotificationKind,
  Subscription,
  SubscriptionEvent,
  SyncFolderOptions,
  SyncPage,
  WriteResult,
} from '../../ports/exchange.port.js';
import { type MemoryMailbox, newId, type StoredItem } from './store.js';
import { syncFolderPage } from './sync.js';
import { applyWrite, InvalidValue, itemView, occurrenceView, type PreparedWrite, prepareWrite } from './values.js';
import {
  attendeesOf,
  deleteItem,
  isAppointment,
  isEmail,
  isOrganizer,
  itemChanged,
  type Mailboxes,
  makeItem,
} from './writes.js';

/**
 * One user's connection to the in-memory Exchange: both halves of the port (reading: MailboxConnection, writing:
 * MailboxWriter) on that user's mailbox, with the port's contracts (src/ports/exchange.port.ts). Each call goes
 * through the ExchangePool when one is given, else only honours the caller's signal; a fault queued with
 * MemoryAdmin.failNext fails the next call.
 */
export class MemoryConnection implements MailboxConnection, MailboxWriter {
  readonly endpoint: string;

  constructor(
    private readonly mailbox: MemoryMailbox,
    private readonly mailboxes: Mailboxes,
    readonly capabilities: ExchangeCapabilities,
    private readonly pool: ExchangePool | undefined,
  ) {
    this.endpoint = `memory://${mailbox.address}`;
  }

  get user(): string {
    return this.mailbox.address;
  }

  syncFolder(folder: FolderName, continuation: string | null, options: SyncFolderOptions): Promise<SyncPage> {
    return this.#call(options, () => syncFolderPage(this.mailbox, folder, continuation, options));
  }

  /** Every kind is served alike: the subscriber is told of each change in its folders as it happens. */
  subscribe(
    folders: FolderName[],
    kind: NotificationKind,
    onEvent: (event: SubscriptionEvent) => void,
    options: CallOptions,
  ): Promise<Subscription> {
    return this.#call(options, () => {
      if (!this.capabilities.notifications.includes(kind)) {
        throw errors.exchangeRequestFailed(this.endpoint, 'unsupported', `no ${kind} notifications here`);
      }
      const id = this.mailbox.subscribe(folders, onEvent);
      return {
        id,
        close: async () => {
          this.mailbox.listeners.delete(id);
        },
      };
    });
  }

  createItem(write: ItemWrite & { appItemId: string; uid?: string }, options: CallOptions): Promise<WriteResult> {
    return this.#call(options, () => {
      const properties = Object.fromEntries(this.#prepare(write).filter(([, value]) => value !== null));
      const item = makeItem(this.mailboxes, this.mailbox, {
        itemClass: write.itemClass,
        folder: isEmail(write.itemClass) ? 'drafts' : write.folder,
        properties: { ...properties, appItemId: write.appItemId },
        ...(write.uid ? { uid: write.uid } : {}),
        send: true,
      });
      return result(item);
    });
  }

  updateItem(itemId: string, write: ItemWrite, options: CallOptions & { changeKey?: string }): Promise<WriteResult> {
    return this.#call(options, () => {
      const found = this.mailbox.occurrence(itemId);
      const item = found?.master ?? this.#item(itemId);
      if (!isOrganizer(this.mailbox, item)) {
        throw errors.notOrganizer(this.user, String(item.properties.organizer), itemId);
      }
      const current = found?.occurrence.changeKey ?? item.changeKey;
      if (options.changeKey !== undefined && options.changeKey !== current) {
        throw errors.exchangeConflict(this.user, itemId);
      }
      const prepared = this.#prepare(write);
      if (found) {
        // A changed occurrence is an exception: it keeps its own values from now on.
        if (applyWrite(found.occurrence.properties, prepared).length > 0) {
          this.mailbox.touch(item);
          found.occurrence.changeKey = newId();
        }
        return { itemId, changeKey: found.occurrence.changeKey, ...(item.uid ? { uid: item.uid } : {}) };
      }
      const changed = applyWrite(item.properties, prepared);
      if (changed.length > 0) {
        if (isAppointment(item.itemClass)) item.properties.isMeeting = attendeesOf(item.properties).length > 0;
        itemChanged(
          this.mailboxes,
          this.mailbox,
          item,
          changed.every((name) => name === 'isRead'),
        );
      }
      return result(item);
    });
  }

  readItem(itemId: string, options: CallOptions): Promise<ExchangeItem | null> {
    return this.#call(options, () => {
      const found = this.mailbox.occurrence(itemId);
      if (found) return occurrenceView(found.master, found.occurrence, 'html');
      const item = this.mailbox.live(itemId);
      return item ? itemView(item, 'html') : null;
    });
  }

  deleteItem(itemId: string, options: CallOptions): Promise<void> {
    return this.#call(options, () => {
      const found = this.mailbox.occurrence(itemId);
      if (found) {
        found.master.occurrences = found.master.occurrences.filter((o) => o !== found.occurrence);
        this.mailbox.touch(found.master);
        return;
      }
      const item = this.mailbox.live(itemId);
      // Already gone: what the caller wanted is true.
      if (item) deleteItem(this.mailboxes, this.mailbox, item);
    });
  }

  findByAppItemId(folders: readonly FolderName[], appItemId: string, options: CallOptions): Promise<string | null> {
    return this.#call(options, () => {
      for (const folder of folders) {
        const found = this.mailbox.inFolder(folder).find((item) => item.properties.appItemId === appItemId);
        if (found) return found.id;
      }
      return null;
    });
  }

  getAttachment(
    itemId: string,
    attachmentId: string,
    options: CallOptions & { maxBytes: number },
  ): Promise<{ name: string; contentType: string; content: Buffer }> {
    return this.#call(options, () => {
      const attachment = this.#item(itemId).attachments.find((a) => a.id === attachmentId);
      if (!attachment) throw errors.itemNotFound(this.user, attachmentId);
      if (attachment.content.length > options.maxBytes) {
        throw errors.attachmentTooLarge(this.user, attachmentId, attachment.content.length, options.maxBytes);
      }
      const { name, contentType, content } = attachment;
      return { name, contentType, content: Buffer.from(content) };
    });
  }

  addAttachment(
    itemId: string,
    attachment: { name: string; contentType: string; content: Buffer },
    options: CallOptions,
  ): Promise<{ attachmentId: string }> {
    return this.#call(options, () => {
      const item = this.#item(itemId);
      const attachmentId = newId();
      item.attachments.push({ id: attachmentId, ...attachment, content: Buffer.from(attachment.content) });
      this.mailbox.touch(item);
      return { attachmentId };
    });
  }

  /** A live item of this mailbox, or EXH_EXCHANGE_ITEM_NOT_FOUND. */
  #item(itemId: string): StoredItem {
    const item = this.mailbox.live(itemId);
    if (!item) throw errors.itemNotFound(this.user, itemId);
    return item;
  }

  #prepare(write: ItemWrite): PreparedWrite {
    try {
      return prepareWrite(write.properties, write.labels);
    } catch (error) {
      if (error instanceof InvalidValue)
        throw errors.exchangeRequestFailed(this.endpoint, 'invalidValue', error.message);
      throw error;
    }
  }

  async #call<T>(options: CallOptions, work: () => T | Promise<T>): Promise<T> {
    const run = async () => {
      const fault = this.mailbox.faults.shift();
      if (fault) throw fault;
      return work();
    };
    if (this.pool)
      return this.pool.run(run, {
        priority: options.priority,
        signal: options.signal,
        mailbox: this.user,
        mayStart: options.mayStart,
      });
    if (options.signal.aborted) throw errors.poolAborted();
    options.mayStart?.();
    return run();
  }
}

function result(item: StoredItem): WriteResult {
  return { itemId: item.id, changeKey: item.changeKey, ...(item.uid ? { uid: item.uid } : {}) };
}
