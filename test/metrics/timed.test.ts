import { describe, expect, it } from 'vitest';
import { timed } from '../../src/metrics/timed.js';

class Target {
  calls = 0;
  readonly label = 'target';

  async fetch(id: string): Promise<string> {
    this.calls++;
    return `item ${id}`;
  }

  async fail(): Promise<never> {
    throw new Error('refused');
  }

  size(): number {
    return this.calls;
  }
}

function recorder() {
  const timings: Array<[string, string, number]> = [];
  const successes: Array<[string, unknown[], unknown]> = [];
  return {
    timings,
    successes,
    timer: (operation: string, outcome: 'ok' | 'error', seconds: number) => timings.push([operation, outcome, seconds]),
    after: (operation: string, args: unknown[], result: unknown) => successes.push([operation, args, result]),
  };
}

describe('timed', () => {
  it('times each promise by method and outcome, shows successes to `after`, and passes results and errors on', async () => {
    const target = new Target();
    const { timings, successes, timer, after } = recorder();
    const proxy = timed(target, timer, after);
    expect(await proxy.fetch('A')).toBe('item A');
    // Called on the target itself: its own state changes, not the proxy's.
    expect(target.calls).toBe(1);
    await expect(proxy.fail()).rejects.toThrow('refused');
    expect(timings.map(([operation, outcome]) => [operation, outcome])).toEqual([
      ['fetch', 'ok'],
      ['fail', 'error'],
    ]);
    for (const [, , seconds] of timings) expect(seconds).toBeGreaterThanOrEqual(0);
    expect(successes).toEqual([['fetch', ['A'], 'item A']]);
  });

  it('leaves methods that return no promise and other properties untimed, and wraps each method once', async () => {
    const target = new Target();
    const { timings, timer } = recorder();
    const proxy = timed(target, timer);
    expect(proxy.size()).toBe(0);
    expect(proxy.label).toBe('target');
    expect(timings).toEqual([]);
    // The same function every time: callers may keep it, and nothing is allocated per call.
    expect(proxy.fetch).toBe(proxy.fetch);
  });
});
