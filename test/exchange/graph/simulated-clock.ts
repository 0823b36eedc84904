import type { Clock } from '../../../src/exchange/graph/throttle.js';

/** A clock whose time moves only when somebody sleeps on it: tests see every wait and never wait for real. */
export function simulatedClock(start = Date.parse('2026-12-05T10:00:00Z')) {
  let now = start;
  const sleeps: Array<{ at: number; ms: number }> = [];
  const clock: Clock & { sleeps: typeof sleeps; advance(ms: number): void } = {
    now: () => now,
    sleeps,
    advance: (ms) => {
      now += ms;
    },
    sleep: async (ms, signal) => {
      sleeps.push({ at: now, ms });
      if (signal.aborted) throw new Error('aborted');
      now += ms;
    },
  };
  return clock;
}

/**
 * A clock moved by hand: sleeps end only when the test advances time past them, so a test can look at what happened
 * (and what did not) while a mailbox is paused.
 */
export function manualClock(start = Date.parse('2026-12-05T10:00:00Z')) {
  let now = start;
  const timers: Array<{ at: number; resolve: () => void }> = [];
  const sleeps: number[] = [];
  return {
    now: () => now,
    sleeps,
    sleep: (ms: number, _signal: AbortSignal) =>
      new Promise<void>((resolve) => {
        sleeps.push(ms);
        timers.push({ at: now + ms, resolve });
      }),
    /** Timers waiting now. */
    waiting: () => timers.length,
    advance(ms: number) {
      now += ms;
      for (const timer of timers.filter((t) => t.at <= now)) {
        timers.splice(timers.indexOf(timer), 1);
        timer.resolve();
      }
    },
  } satisfies Clock & Record<string, unknown>;
}
