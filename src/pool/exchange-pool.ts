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
 * The one bounded pool for all Exchange traffic (STYLE 10): every EWS request of every mailbox goes through `run`,
 * so `exchange.concurrency` holds for the whole process. A promise actor passes its `signal`: when the actor stops,
 * a queued request leaves the queue without running and a running one sees the abort.
 */
export class ExchangePool {
  readonly #queue: PQueue;
  /** Aborted by close(): queued requests then reject instead of hanging (p-queue's clear() would leave them pending). */
  readonly #closing = new AbortController();

  constructor(readonly concurrency: number) {
    this.#queue = new PQueue({ concurrency });
  }

  run<T>(task: (signal: AbortSignal) => Promise<T>, options: { priority: Priority; signal: AbortSignal }): Promise<T> {
    const signal = AbortSignal.any([options.signal, this.#closing.signal]);
    if (signal.aborted) return Promise.reject(errors.poolAborted());
    return this.#queue
      .add(() => task(signal), { priority: priorities[options.priority], signal })
      .catch((error: unknown) => {
        throw signal.aborted ? errors.poolAborted() : error;
      }) as Promise<T>;
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
