import type { MailboxConnection, MailboxWriter } from '../ports/exchange.port.js';

/**
 * The open Exchange connection of each mailbox. Connections are objects with sockets and credentials, so they stay
 * out of machine context (which is JSON-safe): the mailbox's `connect` actor puts one here, and its subscription
 * and item-type actors take it by user.
 *
 * Users are keyed case-insensitively, as exh_get_users de-duplicates them: a request or outbox row for
 * `Alice@contoso.test` finds the mailbox of `alice@contoso.test`.
 */
export class Connections {
  /** What ExchangePort.connect gave: a writer too when its backend `writes` (ExchangeCapabilities). */
  readonly #byUser = new Map<string, MailboxConnection & Partial<MailboxWriter>>();

  set(user: string, connection: MailboxConnection & Partial<MailboxWriter>): void {
    this.#byUser.set(keyOf(user), connection);
  }

  get(user: string): MailboxConnection {
    const connection = this.#byUser.get(keyOf(user));
    // Only reachable through a bug (an item type running before its mailbox connected): crash, do not guess.
    if (!connection) throw new Error(`no Exchange connection for ${user}: the mailbox has not connected`);
    return connection;
  }

  /** The mailbox's connection if it is connected now (undefined otherwise: starting, backing off, disabled). */
  find(user: string): MailboxConnection | undefined {
    return this.#byUser.get(keyOf(user));
  }

  /** The mailbox's writer (database → Exchange) if it is connected now and its backend can write. */
  writer(user: string): MailboxWriter | undefined {
    const connection = this.#byUser.get(keyOf(user));
    return connection?.capabilities.writes ? (connection as MailboxConnection & MailboxWriter) : undefined;
  }

  delete(user: string): void {
    this.#byUser.delete(keyOf(user));
  }

  /**
   * Removes the user's connection only if it is still `connection`: a mailbox that stops late must not remove the
   * connection of the mailbox that replaced it.
   */
  release(user: string, connection: MailboxConnection): void {
    if (this.#byUser.get(keyOf(user)) === connection) this.#byUser.delete(keyOf(user));
  }

  /** Subscriptions closing (a stopped mailbox's: Graph deletes them, EWS unsubscribes): awaited before the pool closes. */
  readonly #closing = new Set<Promise<unknown>>();

  /** A mailbox's subscription that is being closed in the background (a callback actor's cleanup cannot await). */
  closing(closed: Promise<unknown>): void {
    const tracked = closed.catch(() => {}).finally(() => this.#closing.delete(tracked));
    this.#closing.add(tracked);
  }

  /**
   * At shutdown, before the Exchange pool closes: the subscriptions being closed finish (Exchange would otherwise keep
   * them: Graph posts to a webhook until it expires), for at most `timeoutMs`; resolves whether or not they did.
   */
  async closed(timeoutMs: number): Promise<boolean> {
    if (this.#closing.size === 0) return true;
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<false>((resolve) => {
      timer = setTimeout(() => resolve(false), timeoutMs);
    });
    const done = Promise.allSettled([...this.#closing]).then(() => true as const);
    try {
      return await Promise.race([done, late]);
    } finally {
      clearTimeout(timer);
    }
  }
}

const keyOf = (user: string) => user.toLowerCase();
