/**
 * How long to wait after an expected failure: short first, then doubling up to a ceiling (docs/reliability.md,
 * "Recovery"). A fault that lasts a second costs about a second; one that lasts an hour settles on the ceiling.
 */
export interface BackoffPolicy {
  /** The first pause. */
  firstMs: number;
  /** The longest pause (the pause Exchange asks for may still be longer). */
  maxMs: number;
}

/** A mailbox after a transient Exchange error: 1, 2, 4 … s, at most a minute (`retry.exchangeBackoff`). */
export const defaultExchangeBackoff: BackoffPolicy = { firstMs: 1_000, maxMs: 60_000 };

/**
 * Exponential back-off with ±20 % jitter, so that many mailboxes failing together (Exchange restarting) do not come
 * back together; never shorter than the pause Exchange asked for, even above the ceiling.
 * `attempt` counts from 1.
 */
export function backoffDelay(
  attempt: number,
  hintMs: number | undefined,
  random: number,
  policy: BackoffPolicy = defaultExchangeBackoff,
): number {
  const jittered = Math.round(doubling(attempt, policy) * (0.8 + 0.4 * random));
  return Math.max(Math.min(jittered, policy.maxMs), hintMs ?? 0);
}

/**
 * The database after a loss or a failed attempt: `firstMs`, then doubling to `maxMs` (the five-minute loop of
 * docs/reliability.md), without jitter (there is one database). `attempt` counts from 1.
 */
export function retryDelay(attempt: number, policy: BackoffPolicy): number {
  return doubling(attempt, policy);
}

function doubling(attempt: number, { firstMs, maxMs }: BackoffPolicy): number {
  // 2 ** 40 is already beyond any ceiling; capping the exponent keeps the product finite for any attempt count.
  return Math.min(maxMs, firstMs * 2 ** Math.min(40, Math.max(0, attempt - 1)));
}
