import { errors } from '../../errors.js';
import type { ExchangePool } from '../../pool/exchange-pool.js';
import type {
  CallOptions,
  ExchangeCapabilities,
  ExchangePort,
  MailboxConnection,
  MailboxWriter,
} from '../../ports/exchange.port.js';
import { folderNames } from '../../ports/item-properties.js';
import { MemoryAdmin } from './admin.js';
import { MemoryConnection } from './connection.js';
import { MemoryMailbox } from './store.js';

export type { MemoryItemInput } from './admin.js';
export { MemoryAdmin } from './admin.js';

/**
 * An Exchange kept in this process's memory, behind the same ExchangePort as the connector's real adapter: a complete
 * backend (reading, writing, subscriptions) that knows nothing of any Exchange protocol, so that the sync core's
 * tests run on it and show that the core assumes only the port. Mailboxes hold every well-known folder; items are
 * kept by their neutral properties; continuations are this adapter's own (./sync.ts). `admin` acts as the mailboxes'
 * owners and as Exchange itself (./admin.ts). Nothing is kept after the process ends.
 *
 * Not modelled: recurrence patterns (a series is the occurrences it was made with), free/busy, time-zone rules,
 * server-side throttling (MemoryAdmin.failNext queues the errors a test wants), body conversion beyond the plain
 * (HTML ⇄ text by tags and line breaks), and mail to addresses this Exchange has no mailbox for (it goes nowhere).
 */

export interface MemoryExchangeOptions {
  /** The mailboxes there are. Without a list, connect() makes a mailbox for any user it is asked for. */
  mailboxes?: readonly string[];
  /** With a list: also make unknown mailboxes on connect() instead of refusing them. */
  createOnConnect?: boolean;
  /** The clock for created, lastModified, sent and received (default: the system's). */
  now?: () => Date;
  /** Runs every request through the pool, with its caller's priority and signal, as a remote backend would. */
  pool?: ExchangePool;
}

export const memoryCapabilities: ExchangeCapabilities = {
  notifications: ['streaming', 'pull'],
  folders: folderNames,
  writes: true,
};

export class MemoryExchange implements ExchangePort {
  readonly capabilities = memoryCapabilities;
  readonly admin: MemoryAdmin;
  readonly #mailboxes = new Map<string, MemoryMailbox>();
  readonly #createOnConnect: boolean;

  constructor(private readonly options: MemoryExchangeOptions = {}) {
    this.#createOnConnect = options.mailboxes === undefined || options.createOnConnect === true;
    const mailboxes = {
      find: (address: string) => this.#mailboxes.get(address.toLowerCase()),
      add: (address: string) => this.#add(address),
      all: () => [...this.#mailboxes.values()],
    };
    this.admin = new MemoryAdmin(mailboxes);
    for (const address of options.mailboxes ?? []) this.#add(address);
  }

  async connect(user: string, options: CallOptions): Promise<MailboxConnection & MailboxWriter> {
    if (options.signal.aborted) throw errors.poolAborted();
    const known = this.#mailboxes.get(user.toLowerCase());
    if (!known && !this.#createOnConnect) {
      throw errors.mailboxNotFound(user, 'no such mailbox in the in-memory Exchange');
    }
    const mailbox = known ?? this.#add(user);
    const find = (address: string) => this.#mailboxes.get(address.toLowerCase());
    return new MemoryConnection(mailbox, { find }, this.capabilities, this.options.pool);
  }

  #add(address: string): MemoryMailbox {
    const key = address.toLowerCase();
    let mailbox = this.#mailboxes.get(key);
    if (!mailbox) {
      mailbox = new MemoryMailbox(address, { now: this.options.now ?? (() => new Date()) });
      this.#mailboxes.set(key, mailbox);
    }
    return mailbox;
  }
}

/** An in-memory Exchange with `options`; see MemoryExchange. */
export function createMemoryExchange(options: MemoryExchangeOptions = {}): MemoryExchange {
  return new MemoryExchange(options);
}
