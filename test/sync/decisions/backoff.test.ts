import { describe, expect, it } from 'vitest';
import { backoffDelay, defaultExchangeBackoff, retryDelay } from '../../../src/sync/decisions/backoff.js';

describe('retryDelay (the database)', () => {
  const schedule = { firstMs: 1_000, maxMs: 300_000 };

  it('starts at firstMs and doubles up to the five-minute ceiling, then stays there', () => {
    const waits = Array.from({ length: 12 }, (_, i) => retryDelay(i + 1, schedule));
    expect(waits).toEqual([
      1_000, 2_000, 4_000, 8_000, 16_000, 32_000, 64_000, 128_000, 256_000, 300_000, 300_000, 300_000,
    ]);
  });

  it('never exceeds the ceiling, whatever the attempt count, and a first wait above it is the ceiling', () => {
    expect(retryDelay(10_000, schedule)).toBe(300_000);
    expect(retryDelay(1, { firstMs: 600_000, maxMs: 300_000 })).toBe(300_000);
  });
});

describe('backoffDelay (a mailbox after a transient Exchange error)', () => {
  it('by default waits 1, 2, 4 … s with ±20 % jitter and never more than a minute', () => {
    for (let attempt = 1; attempt <= 12; attempt++) {
      const nominal = Math.min(60_000, 1_000 * 2 ** (attempt - 1));
      expect(backoffDelay(attempt, undefined, 0)).toBe(Math.round(nominal * 0.8));
      expect(backoffDelay(attempt, undefined, 1)).toBe(Math.min(60_000, Math.round(nominal * 1.2)));
    }
    expect(defaultExchangeBackoff).toEqual({ firstMs: 1_000, maxMs: 60_000 });
  });

  it("always honours Exchange's BackOffMilliseconds, even above the ceiling", () => {
    expect(backoffDelay(1, 45_000, 0.5)).toBe(45_000);
    expect(backoffDelay(20, 180_000, 1)).toBe(180_000);
    expect(backoffDelay(3, 10, 0.5)).toBe(4_000);
  });

  it('follows a configured policy', () => {
    expect(backoffDelay(1, undefined, 0.5, { firstMs: 250, maxMs: 2_000 })).toBe(250);
    expect(backoffDelay(8, undefined, 0.5, { firstMs: 250, maxMs: 2_000 })).toBe(2_000);
  });
});
