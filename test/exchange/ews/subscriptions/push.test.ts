import { afterAll, describe, expect, it, vi } from 'vitest';
import type { NotificationSummary } from '../../../../src/exchange/ews/subscriptions/events.js';
import { type PushReceiver, startPushReceiver } from '../../../../src/exchange/push-receiver.js';
import { createLogging } from '../../../../src/logging/logger.js';
import type { SubscriptionEvent } from '../../../../src/ports/exchange.port.js';
import { alice, bob, live, startTestEmulator, testAdapter } from '../support.js';

// An EWS "minute" of 200 ms: StatusFrequency 1 brings a StatusEvent every 200 ms when nothing happens.
const emulator = await startTestEmulator({ mailboxes: [alice, bob], minuteMs: 200 });
const { logger } = createLogging({ level: 'debug', format: 'json', stdout: { write: () => {} } });
const tuning = { minuteMs: 200, pushStatusFrequencyMinutes: 1 };

async function receiverFor(): Promise<{ receiver: PushReceiver; seen: NotificationSummary[] }> {
  const receiver = await startPushReceiver({ host: '127.0.0.1', port: 0, logger, registrationGraceMs: 200 });
  afterAll(() => receiver.close());
  // Watch what reaches the receiver, without changing what it does.
  const seen: NotificationSummary[] = [];
  const register = receiver.register.bind(receiver);
  receiver.register = (id, handler) =>
    register(id, (n) => {
      seen.push(n);
      handler(n);
    });
  return { receiver, seen };
}

const shared = await receiverFor();
const adapter = testAdapter(emulator, { notifications: 'push' }, { tuning, push: shared.receiver });

describe('push subscriptions through the push receiver', () => {
  it('round trip: Exchange posts, the receiver answers OK, the subscription reports the folder', async () => {
    const events: SubscriptionEvent[] = [];
    const subscription = await (await adapter.connect(alice)).subscribe(
      ['tasks'],
      'push',
      (e) => void events.push(e),
      live(),
    );
    emulator.admin.createItem(alice, { kind: 'Task', Subject: 'Pushed' });
    await vi.waitFor(() => expect(events).toContainEqual({ type: 'changed', folders: ['tasks'] }));
    // Status events keep a quiet subscription alive: several arrive, and it is not lost.
    const statusFrom = shared.seen.length;
    await vi.waitFor(() =>
      expect(shared.seen.slice(statusFrom).filter((n) => n.status).length).toBeGreaterThanOrEqual(3),
    );
    expect(events.filter((e) => e.type === 'lost')).toEqual([]);
    await subscription.close();
    // Closing unregisters: the next post gets Unsubscribe, and Exchange drops the subscription.
    await vi.waitFor(() => expect(emulator.admin.subscriptions().map((s) => s.id)).not.toContain(subscription.id));
  });

  it('a subscription silent for twice StatusFrequency is lost', async () => {
    const own = await receiverFor();
    const silent = testAdapter(emulator, { notifications: 'push' }, { tuning, push: own.receiver });
    const events: SubscriptionEvent[] = [];
    await (await silent.connect(bob)).subscribe(['calendar'], 'push', (e) => void events.push(e), live());
    await vi.waitFor(() => expect(own.seen.length).toBeGreaterThan(0));
    // The receiver goes away: Exchange's posts fail and nothing reaches the subscription any more.
    await own.receiver.close();
    await vi.waitFor(() => expect(events.filter((e) => e.type === 'lost')).toHaveLength(1));
    expect(events.find((e) => e.type === 'lost')).toMatchObject({
      error: { code: 'EXH_EXCHANGE_SUBSCRIPTION_LOST', message: expect.stringContaining('twice StatusFrequency') },
    });
  });

  it('without a push receiver, subscribe says what to configure', async () => {
    const none = testAdapter(emulator, { notifications: 'push' }, { tuning });
    await expect((await none.connect(alice)).subscribe(['inbox'], 'push', () => {}, live())).rejects.toMatchObject({
      code: 'EXH_EXCHANGE_PUSH_UNAVAILABLE',
      message: expect.stringContaining('listeners.exchange'),
    });
  });
});
