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
