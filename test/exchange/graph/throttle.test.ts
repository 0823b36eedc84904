import { describe, expect, it } from 'vitest';
import { isExhError } from '../../../src/errors.js';
import { exponentialBackOff, MailboxThrottle } from '../../../src/exchange/graph/throttle.js';
import { simulatedClock } from './simulated-clock.js';

describe('MailboxThrottle', () => {
  it('pauses one mailbox for the time asked, case-blind, and leaves the others alone', async () => {
    const clock = simulatedClock();
    const throttle = new MailboxThrottle(clock);
    throttle.pause('Ann@Contoso.test', 30_000);
    expect(throttle.remainingMs('ann@contoso.test')).toBe(30_000);
    expect(throttle.remainingMs('bob@contoso.test')).toBe(0);
    expect(throttle.remainingMs(undefined)).toBe(0);
    const signal = new AbortController().signal;
    await throttle.wait('bob@contoso.test', signal);
    expect(clock.sleeps).toEqual([]);
    const start = clock.now();
    await throttle.wait('ann@contoso.test', signal);
    expect(clock.now() - start).toBe(30_000);
    expect(throttle.remainingMs('ann@contoso.test')).toBe(0);
  });

  it('keeps the longer of two pauses, and waits out a pause that grows while waiting', async () => {
    const clock = simulatedClock();
    const throttle = new MailboxThrottle(clock);
    throttle.pause('ann', 10_000);
    throttle.pause('ann', 2_000);
    expect(throttle.remainingMs('ann')).toBe(10_000);

    // Another request of the mailbox is throttled again (5 s more) while this one sleeps out the first pause.
    const growing = simulatedClock();
    const sleep = growing.sleep;
    const regrowing = new MailboxThrottle({
      now: growing.now,
      sleep: async (ms, signal) => {
        await sleep(ms, signal);
        if (growing.sleeps.length === 1) regrowing.pause('ann', 5_000);
      },
    });
    regrowing.pause('ann', 10_000);
    const start = growing.now();
    await regrowing.wait('ann', new AbortController().signal);
    expect(growing.sleeps.map((s) => s.ms)).toEqual([10_000, 5_000]);
    expect(growing.now() - start).toBe(15_000);
  });

  it('stops waiting with EXH_POOL_ABORTED when the caller stops', async () => {
    const throttle = new MailboxThrottle();
    throttle.pause('ann', 60_000);
    const controller = new AbortController();
    const waiting = throttle.wait('ann', controller.signal);
    controller.abort();
    const error = await waiting.catch((e: unknown) => e);
    expect(isExhError(error, 'EXH_POOL_ABORTED')).toBe(true);
  });
});

describe('exponentialBackOff', () => {
  it('doubles from the base up to the cap, with half of it random', () => {
    expect(exponentialBackOff(0, { baseMs: 1_000, random: () => 0 })).toBe(500);
    expect(exponentialBackOff(0, { baseMs: 1_000, random: () => 0.999999 })).toBe(1_000);
    expect(exponentialBackOff(3, { baseMs: 1_000, random: () => 0 })).toBe(4_000);
    expect(exponentialBackOff(30, { baseMs: 1_000, maxMs: 60_000, random: () => 0.5 })).toBe(45_000);
    for (let attempt = 0; attempt < 20; attempt += 1) {
      const ms = exponentialBackOff(attempt);
      expect(ms).toBeGreaterThanOrEqual(Math.min(60_000, 1_000 * 2 ** attempt) / 2);
      expect(ms).toBeLessThanOrEqual(60_000);
    }
  });
});
