import { describe, expect, it } from 'vitest';
import { errors } from '../../../../src/errors.js';
import type { EwsMailbox } from '../../../../src/exchange/ews/connection.js';
import {
  fingerprint,
  notifySafely,
  toLost,
  unsubscribeQuietly,
} from '../../../../src/exchange/ews/subscriptions/lifecycle.js';
import type { CallOptions, SubscriptionEvent } from '../../../../src/ports/exchange.port.js';
import { recordingLogger } from '../../../support/recording-logger.js';

// An EWS subscription id starts with its server's name in base64, the same for every subscription of that server.
const subscriptionId = 'JQBtYWlsMDEuY29udG9zby50ZXN0EAAAAJ1Jq8kFlrtGpUbQ0vqFNuw=';

describe('fingerprint', () => {
  it('names a value by a short digest: the same for the same value, never the value or its start', () => {
    const print = fingerprint(subscriptionId);
    expect(print).toMatch(/^#[0-9a-f]{8}$/);
    expect(fingerprint(subscriptionId)).toBe(print);
    expect(fingerprint(`${subscriptionId.slice(0, -2)}x=`)).not.toBe(print);
    expect(print).not.toContain(subscriptionId.slice(0, 4));
  });
});

describe('toLost', () => {
  it("carries the error's code, message and retryable, and Exchange's back-off only when it named one", () => {
    const lost = errors.subscriptionLost('alice@contoso.test', 'expired');
    expect(toLost(lost)).toEqual({ code: lost.code, message: lost.message, retryable: lost.retryable });
    expect(toLost(errors.exchangeThrottled('https://mail/EWS/Exchange.asmx', 1_500))).toMatchObject({
      code: 'EXH_EXCHANGE_THROTTLED',
      retryable: true,
      backOffMs: 1_500,
    });
  });
});

describe('notifySafely', () => {
  it("logs an owner's throw with the event and the subscription's fingerprint, and does not pass it on", () => {
    const { logger, records } = recordingLogger('debug');
    const changed: SubscriptionEvent = { type: 'changed', folders: ['inbox'] };
    const seen: SubscriptionEvent[] = [];
    notifySafely(logger, subscriptionId, (event) => seen.push(event), changed);
    expect(seen).toEqual([changed]);
    expect(() =>
      notifySafely(
        logger,
        subscriptionId,
        () => {
          throw new Error('owner broke');
        },
        changed,
      ),
    ).not.toThrow();
    expect(records).toEqual([
      expect.objectContaining({
        cat: 'E',
        msg: 'The subscription owner failed on an event',
        subscription: fingerprint(subscriptionId),
        event: 'changed',
      }),
    ]);
    expect(JSON.stringify(records)).not.toContain(subscriptionId);
  });
});

describe('unsubscribeQuietly', () => {
  function mailbox(logger: ReturnType<typeof recordingLogger>['logger']) {
    const calls: CallOptions[] = [];
    const fake = {
      logger,
      transport: { timeoutMs: 5_000 },
      request: (options: CallOptions, _extra: unknown, task: (signal: AbortSignal) => Promise<unknown>) => {
        calls.push(options);
        return task(options.signal);
      },
    } as unknown as EwsMailbox;
    return { fake, calls };
  }

  it('unsubscribes through the pool at live priority, with a time-out of its own', async () => {
    const { logger } = recordingLogger('debug');
    const { fake, calls } = mailbox(logger);
    let unsubscribed = 0;
    await unsubscribeQuietly(fake, async () => {
      unsubscribed++;
    });
    expect(unsubscribed).toBe(1);
    expect(calls).toHaveLength(1);
    expect(calls[0]?.priority).toBe('live');
    expect(calls[0]?.signal.aborted).toBe(false);
  });

  it('swallows a failure with a debug record: Exchange drops an unused subscription by itself', async () => {
    const { logger, records } = recordingLogger('debug');
    const { fake } = mailbox(logger);
    await expect(
      unsubscribeQuietly(fake, async () => {
        throw errors.exchangeUnavailable('https://mail/EWS/Exchange.asmx', 'down');
      }),
    ).resolves.toBeUndefined();
    expect(records).toEqual([
      expect.objectContaining({ cat: 'M', msg: 'Unsubscribe failed (the subscription expires by itself)' }),
    ]);
  });
});
