import { errors } from '../../errors.js';

/**
 * Graph throttles per application and mailbox (docs/exchange-online.md, "Throttling"): a 429 or 503 on one mailbox
 * pauses that mailbox for its Retry-After (or, when Graph does not say, an exponential back-off with jitter), while
 * the others go on. Requests of a paused mailbox wait here, before ExchangePool.run, so that waiting holds no slot
 * of the global pool. Time is injected (clock and sleep) so that a simulated clock can prove no request leaves
 * before its Retry-After.
 */

export interface Clock {
  now(): number;
  /** Resolves after `ms` of this clock's time; rejects with EXH_POOL_ABORTED when `signal` aborts first. */
  sleep(ms: number, signal: AbortSignal): Promise<void>;
}

/** Real time. */
export const systemClock: Clock = {
  now: () => Date.now(),
  sleep: (ms, signal) =>
    new Promise((resolve, reject) => {
      if (signal.aborted) {
        reject(errors.poolAborted());
        return;
      }
      const abort = () => {
        clearTimeout(timer);
        reject(errors.poolAborted());
      };
      const timer = setTimeout(() => {
        signal.removeEventListener('abort', abort);
        resolve();
      }, ms);
      signal.addEventListener('abort', abort, { once: true });
    }),
};

export interface BackOffOptions {
  /** The first wait without Retry-After. */
  baseMs?: number;
  /** The longest wait without Retry-After. */
  maxMs?: number;
  /** 0 ≤ random() < 1, for the jitter. */
  random?: () => number;
}

/**
 * The wait before attempt `attempt` + 1 when Graph gave no Retry-After: base × 2^attempt, capped, with "equal jitter"
 * (half fixed, half random), so that many clients throttled together do not come back together.
 */
export function exponentialBackOff(attempt: number, options: BackOffOptions = {}): number {
  const base = options.baseMs ?? 1_000;
  const max = options.maxMs ?? 60_000;
  const ceiling = Math.min(max, base * 2 ** Math.max(0, attempt));
  const random = options.random ?? Math.random;
  return Math.round(ceiling / 2 + (ceiling / 2) * random());
}

/** The pause of each mailbox (lower-cased; '' for tenant-level requests). */
export class MailboxThrottle {
  readonly #pausedUntil = new Map<string, number>();

  constructor(readonly clock: Clock = systemClock) {}

  /** Pauses the mailbox for `ms` from now; a longer pause already running stays. */
  pause(mailbox: string | undefined, ms: number): void {
    const key = keyOf(mailbox);
    const until = this.clock.now() + Math.max(0, ms);
    if ((this.#pausedUntil.get(key) ?? 0) < until) this.#pausedUntil.set(key, until);
  }

  /** How long the mailbox is still paused (0: not). */
  remainingMs(mailbox: string | undefined): number {
    const key = keyOf(mailbox);
    const until = this.#pausedUntil.get(key);
    if (until === undefined) return 0;
    const left = until - this.clock.now();
    if (left <= 0) this.#pausedUntil.delete(key);
    return Math.max(0, left);
  }

  /** Resolves once the mailbox is not paused (a pause that grows meanwhile is waited out too). */
  async wait(mailbox: string | undefined, signal: AbortSignal): Promise<void> {
    for (let left = this.remainingMs(mailbox); left > 0; left = this.remainingMs(mailbox)) {
      await this.clock.sleep(left, signal);
    }
    if (signal.aborted) throw errors.poolAborted();
  }
}

function keyOf(mailbox: string | undefined): string {
  return (mailbox ?? '').toLowerCase();
}
