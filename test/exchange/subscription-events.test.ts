import { describe, expect, it } from 'vitest';
import { errors } from '../../src/errors.js';
import { fingerprint, notifySafely, toLost } from '../../src/exchange/subscription-events.js';
import { recordingLogger } from '../support/recording-logger.js';

describe('subscription events (every backend)', () => {
  it('shows a subscription id in the log as a short digest: never the id, always the same for the same id', () => {
    const id = 'AQAAAEJ1c2luZXNzQ2VudHJhbDEubWFpbC5jb250b3NvLnRlc3Q=';
    expect(fingerprint(id)).toMatch(/^#[0-9a-f]{8}$/);
    expect(fingerprint(id)).toBe(fingerprint(id));
    expect(fingerprint(id)).not.toBe(fingerprint(`${id}x`));
    expect(fingerprint(id)).not.toContain(id.slice(0, 6));
  });

  it("turns a catalogue error into a 'lost' event with its code, flags and the pause Exchange asked for", () => {
    const throttled = errors.exchangeThrottled('https://outlook.office365.com', 30_000);
    const lost = toLost(throttled);
    expect(lost).toMatchObject({ code: throttled.code, message: throttled.message, retryable: true });
    expect(lost.backOffMs).toBe(30_000);
    expect('backOffMs' in toLost(errors.subscriptionLost('ann@contoso.test', 'gone'))).toBe(false);
  });

  it("logs an owner's throw instead of letting it break the subscription's loop", () => {
    const { logger, records } = recordingLogger<{ msg: string; subscription: string; event: string }>('debug');
    const seen: string[] = [];
    notifySafely(logger, 'sub-1', (event) => seen.push(event.type), { type: 'changed', folders: ['inbox'] });
    expect(seen).toEqual(['changed']);
    expect(() =>
      notifySafely(
        logger,
        'sub-1',
        () => {
          throw new Error('owner broke');
        },
        { type: 'changed', folders: ['inbox'] },
      ),
    ).not.toThrow();
    expect(records.at(-1)).toMatchObject({ event: 'changed', subscription: fingerprint('sub-1') });
  });
});
