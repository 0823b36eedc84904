/**
 * Waits until `check` holds, looking every `intervalMs`; fails after `timeoutMs` with `what` and, if given, the
 * state `describe` returns then. Every wait in the fault suite is bounded by one of these.
 */
export async function until(
  what: string,
  check: () => boolean | Promise<boolean>,
  options: { timeoutMs?: number; intervalMs?: number; describe?: () => string | Promise<string> } = {},
): Promise<number> {
  const { timeoutMs = 30_000, intervalMs = 25 } = options;
  const started = Date.now();
  for (;;) {
    if (await check()) return Date.now();
    if (Date.now() - started > timeoutMs) {
      const state = options.describe ? `; ${await options.describe()}` : '';
      throw new Error(`${what}: not within ${timeoutMs / 1000} s${state}`);
    }
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Seconds with one decimal, for the figures the cases print. */
export const secs = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
