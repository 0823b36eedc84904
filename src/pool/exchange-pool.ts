import PQueue from 'p-queue';
import { errors } from '../errors.js';

/**
 * Which Exchange work goes first when the pool is busy: a live notification (a user is waiting to see a change)
 * before catch-up after a restart, before a resynchronisation somebody asked for.
 */
export const priorities = { live: 2, catchUp: 1, resync: 0 } as const;
export type Priority = keyof typeof priorities;

export interface ExchangePoolStats {
  concurrency: number;
  /** Requests running now. */
  running: number;
  /** Requests waiting for a slot. */
  queued: number;
}

/**
 * The one bounded pool for all Exchange traffic (STYLE 10): every request of every mailbox goes through `run`, so
 * `exchange.concurrency` holds for the whole process; with `perMailbox`, a request naming its mailbox also waits
 * until fewer than that many of the same mailbox are in flight (Graph allows 4), before it takes a slot of the pool,
 * so one busy mailbox never holds slots the others could use. A promise actor passes its `signal`: when the actor
 * stops, a queued request leaves the queue without running and a running one sees the abort.
 */
export class ExchangePool {
  readonly #queue: PQueue;
  /** Aborted by close(): queued requests then reject instead of hanging (p-queue's clear() would leave them pending). */
  readonly #closing = new AbortController();
  /** Requests in flight per mailbox (lower-cased), and the ones waiting for one of them to end. */
  readonly #mailboxes = new Map<string, { running: number; waiting: Array<() => void> }>();

  /** Requests in flight per mailbox at most; undefined: only `concurrency` bounds them. */
  #perMailbox: number | undefined;

  constructor(
    readonly concurrency: number,
    perMailbox?: number,
  ) {
    this.#queue = new PQueue({ concurrency });
    this.#perMailbox = perMailbox;
  }

  get perMailbox(): number | undefined {
    return this.#perMailbox;
  }

  /** Sets the per-mailbox limit once the backend says it (ExchangeCapabilities.requestsPerMailbox), before any request. */
  limitPerMailbox(limit: number | undefined): void {
    if (limit !== undefined && (!Number.isInteger(limit) || limit < 1))
      throw new RangeError(`per-mailbox limit ${limit}`);
    this.#perMailbox = limit;
  }

  async run<T>(
    task: (signal: AbortSignal) => Promise<T>,
    options: {
      priority: Priority;
      signal: AbortSignal;
      mailbox?: string;
      /**
       * This request's backend's limit per mailbox (ExchangeCapabilities.requestsPerMailbox), where one process serves
       * mailboxes through backends with different limits; absent: the pool's own.
       */
      perMailbox?: number;
      /** CallOptions.mayStart: asked once the request has its place, right before it runs. */
      mayStart?: (() => void) | undefined;
    },
  ): Promise<T> {
    const signal = AbortSignal.any([options.signal, this.#closing.signal]);
    if (signal.aborted) throw errors.poolAborted();
    const limit = options.perMailbox ?? this.#perMailbox;
    const key = limit === undefined ? undefined : options.mailbox?.toLowerCase();
    if (key !== undefined) await this.#enter(key, limit ?? Number.POSITIVE_INFINITY, signal);
    try {
      const start = () => {
        options.mayStart?.();
        return task(signal);
      };
      return (await this.#queue.add(start, { priority: priorities[options.priority], signal })) as T;
    } catch (error) {
      throw signal.aborted ? errors.poolAborted() : error;
    } finally {
      if (key !== undefined) this.#leave(key);
    }
  }

  /** Waits for a place among the mailbox's requests in flight; rejects when the caller stops meanwhile. */
  #enter(key: string, limit: number, signal: AbortSignal): Promise<void> {
    let mailbox = this.#mailboxes.get(key);
    if (!mailbox) {
      mailbox = { running: 0, waiting: [] };
      this.#mailboxes.set(key, mailbox);
    }
    if (mailbox.running < limit) {
      mailbox.running += 1;
      return Promise.resolve();
    }
    const entry = mailbox;
    return new Promise((resolve, reject) => {
      const admit = () => {
        signal.removeEventListener('abort', abort);
        resolve();
      };
      const abort = () => {
        entry.waiting = entry.waiting.filter((waiter) => waiter !== admit);
        reject(errors.poolAborted());
      };
      entry.waiting.push(admit);
      signal.addEventListener('abort', abort, { once: true });
    });
  }

  /** Hands the place to the next waiting request of the mailbox, or frees it. */
  #leave(key: string): void {
    const mailbox = this.#mailboxes.get(key);
    if (!mailbox) return;
    const next = mailbox.waiting.shift();
    if (next) {
      next();
      return;
    }
    mailbox.running -= 1;
    if (mailbox.running === 0) this.#mailboxes.delete(key);
  }

  stats(): ExchangePoolStats {
    return { concurrency: this.concurrency, running: this.#queue.pending, queued: this.#queue.size };
  }

  /** At shutdown: queued requests reject, running ones see the abort; resolves when nothing runs any more. */
  async close(): Promise<void> {
    this.#closing.abort();
    await this.#queue.onIdle();
  }
}
