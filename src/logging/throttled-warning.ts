import type { ExhLogger } from './logger.js';

/**
 * A warning that anyone on the network can cause at will (a busy or too-slow connection, a refused notification): the
 * first at once, then at most one per interval saying how many were left out, so that a flood of connections cannot
 * flood the log too (docs/reliability.md, "Bad input").
 */
export function throttledWarning(log: ExhLogger, intervalMs = 10_000) {
  let last = Number.NEGATIVE_INFINITY;
  let leftOut = 0;
  return (fields: Record<string, unknown>, message: string) => {
    const now = Date.now();
    if (now - last < intervalMs) {
      leftOut++;
      return;
    }
    last = now;
    log.warn(
      { ...fields, leftOut },
      leftOut > 0 ? `${message} (and ${leftOut} more like it since the last such warning)` : message,
    );
    leftOut = 0;
  };
}
