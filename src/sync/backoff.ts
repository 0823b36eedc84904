/** The first pause after an expected failure, and the longest. */
export const backoffBaseMs = 5_000;
export const backoffMaxMs = 5 * 60_000;

/**
 * Exponential back-off with ±20 % jitter, so that many mailboxes failing together (Exchange restarting) do not come
 * back together; never shorter than what Exchange asked for (BackOffMilliseconds).
 */
export function backoffDelay(attempt: number, hintMs: number | undefined, random: number): number {
  const exponential = Math.min(backoffMaxMs, backoffBaseMs * 2 ** Math.max(0, attempt - 1));
  const jittered = Math.round(exponential * (0.8 + 0.4 * random));
  return Math.max(jittered, hintMs ?? 0);
}
