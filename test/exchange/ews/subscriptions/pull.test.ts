import { describe, expect, it, vi } from 'vitest';
import type { SubscriptionEvent } from '../../../../src/ports/exchange.port.js';
import { alice, bob, live, startTestEmulator, testAdapter } from '../support.js';

const emulator = await startTestEmulator({ mailboxes: [alice, bob] });
const adapter = testAdapter(emulator, {}, { tuning: { pullIntervalMs: 30 } });

async function subscribe(user: string) {
  const events: SubscriptionEvent[] = [];
  const connection = await adapter.connect(user);
  const subscription = await connection.subscribe(['calendar', 'inbox'], 'pull', (e) => void events.push(e), live());
  return { events, subscription };
}

describe('pull subscriptions', () => {
  it('asks GetEvents on its interval and reports the folders that changed', async () => {
    const { events, subscription } = await subscribe(alice);
    emulator.admin.createItem(bob, { kind: 'Message', send: true, Subject: 'Pull me', ToRecipients: [alice] });
    await vi.waitFor(() => expect(events).toContainEqual({ type: 'changed', folders: ['inbox'] }));
    emulator.admin.createItem(alice, {
      kind: 'CalendarItem',
      Subject: 'Pull',
      Start: '2026-05-01T09:00:00Z',
      End: '2026-05-01T10:00:00Z',
    });
    await vi.waitFor(() => expect(events).toContainEqual({ type: 'changed', folders: ['calendar'] }));
    expect(events.filter((e) => e.type === 'lost')).toEqual([]);
    await subscription.close();
    expect(emulator.admin.subscriptions().map((s) => s.id)).not.toContain(subscription.id);
  });

  it('is lost when Exchange dropped the subscription (ErrorSubscriptionNotFound)', async () => {
    const { events } = await subscribe(bob);
    emulator.admin.expireSubscriptions({ mailbox: bob, kind: 'pull' });
    await vi.waitFor(() => expect(events.filter((e) => e.type === 'lost')).toHaveLength(1));
    expect(events.find((e) => e.type === 'lost')).toMatchObject({
      error: { code: 'EXH_EXCHANGE_SUBSCRIPTION_LOST', message: expect.stringContaining('ErrorSubscriptionNotFound') },
    });
  });

  it('is lost on an invalid watermark', async () => {
    const { events, subscription } = await subscribe(alice);
    emulator.admin.faults.add({ kind: 'invalidWatermark', calls: 1 });
    await vi.waitFor(() => expect(events.filter((e) => e.type === 'lost')).toHaveLength(1));
    expect(events.find((e) => e.type === 'lost')).toMatchObject({ error: { code: 'EXH_EXCHANGE_SUBSCRIPTION_LOST' } });
    await subscription.close();
  });
});
