/**
 * The emulator's sense of time: what time it is and when to do something later (subscription expiry, push retries
 * and status events, streaming keep-alives and ConnectionTimeout, latency faults). Tests pass a simulated clock and
 * move it, so they check the delays the emulator schedules instead of waiting for them.
 */
export interface EmulatorClock {
  now(): number;
  setTimeout(run: () => void, ms: number): TimerHandle;
  clearTimeout(handle: TimerHandle | undefined): void;
}

/** Opaque to the emulator: whatever the clock hands out. */
export type TimerHandle = object;

/** Real time. Timers do not keep the process alive: the HTTP server and its connections do. */
export function systemClock(now: () => number = Date.now): EmulatorClock {
  return {
    now,
    setTimeout(run, ms) {
      const timer = setTimeout(run, ms);
      timer.unref();
      return timer;
    },
    clearTimeout(handle) {
      if (handle) clearTimeout(handle as NodeJS.Timeout);
    },
  };
}
