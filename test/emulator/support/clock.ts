import type { EmulatorClock, TimerHandle } from '../../../emulator/index.js';

interface Timer {
  due: number;
  delay: number;
  order: number;
  run: () => void;
}

/**
 * A clock the test moves: the emulator schedules its timers (push retries and status events, keep-alives,
 * ConnectionTimeout, latency faults) here, the test sees which delays were scheduled and runs them by advancing time.
 * Nothing waits on real time.
 */
export class SimulatedClock implements EmulatorClock {
  private time: number;
  private timers: Timer[] = [];
  /** Every delay ever scheduled, in order (a timer's `order` is its index here). */
  private readonly history: number[] = [];
  private order = 0;
  private readonly waiters = new Set<() => void>();

  constructor(start = Date.UTC(2024, 0, 1)) {
    this.time = start;
  }

  now(): number {
    return this.time;
  }

  setTimeout(run: () => void, ms: number): TimerHandle {
    const timer: Timer = { due: this.time + ms, delay: ms, order: this.order++, run };
    this.timers.push(timer);
    this.history.push(ms);
    for (const wake of [...this.waiters]) wake();
    return timer;
  }

  clearTimeout(handle: TimerHandle | undefined): void {
    this.timers = this.timers.filter((t) => t !== handle);
  }

  /** The delays of the timers waiting to run, in the order they were scheduled. */
  get pending(): number[] {
    return [...this.timers].sort((a, b) => a.order - b.order).map((t) => t.delay);
  }

  /** Moves time on by `ms`, running every timer that falls due (also those scheduled meanwhile), in time order. */
  advance(ms: number): void {
    const until = this.time + ms;
    for (;;) {
      const next = this.timers.filter((t) => t.due <= until).sort((a, b) => a.due - b.due || a.order - b.order)[0];
      if (!next) break;
      this.timers = this.timers.filter((t) => t !== next);
      this.time = next.due;
      next.run();
    }
    this.time = until;
  }

  /** The delays of the timers scheduled since `mark` that are still waiting. */
  pendingSince(mark: number): number[] {
    return this.timers.filter((t) => t.order >= mark).map((t) => t.delay);
  }

  /** A point in the history of scheduled timers, for `next`. */
  mark(): number {
    return this.order;
  }

  /**
   * The delay of the first timer scheduled since `mark`, once there is one: what the emulator decided to wait, which
   * may happen after some I/O the test cannot see.
   */
  next(mark: number): Promise<number> {
    return new Promise((resolve) => {
      const check = () => {
        const delay = this.history[mark];
        if (delay === undefined) return;
        this.waiters.delete(check);
        resolve(delay);
      };
      this.waiters.add(check);
      check();
    });
  }
}
