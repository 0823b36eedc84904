import { describe, expect, it, vi } from 'vitest';
import { EwsTransport } from '../../../../src/exchange/ews/transport.js';
import type { FolderName, SubscriptionEvent } from '../../../../src/ports/exchange.port.js';
import { alice, bob, live, startTestEmulator, testAdapter } from '../support.js';

// An EWS "minute" of 200 ms: ConnectionTimeout 1 ends every stream after 200 ms; keep-alives every 50 ms. A group's
// stream opens 50 ms after the last subscribe (streamRegroupMs), which resolves before that, once Subscribe answers.
const emulator = await startTestEmulator({ mailboxes: [alice, bob], minuteMs: 200, keepAliveMs: 50 });
const tuning = { minuteMs: 200, streamingConnectionMinutes: 1, streamSilenceMs: 400, streamRegroupMs: 50 };
const adapter = testAdapter(emulator, {}, { tuning });

/** The subscriptions the emulator's streaming connections carry now. */
const streamed = () => emulator.admin.streamingConnections().flatMap((c) => c.subscriptions);

function recorder() {
  const events: SubscriptionEvent[] = [];
  return {
    events,
    onEvent: (event: SubscriptionEvent) => void events.push(event),
    changed: () => new Set(events.flatMap((e) => (e.type === 'changed' ? e.folders : []))),
    lost: () => events.filter((e) => e.type === 'lost'),
  };
}

async function subscribe(user: string, folders: FolderName[]) {
  const connection = await adapter.connect(user);
  const events = recorder();
  const subscription = await connection.subscribe(folders, 'streaming', events.onEvent, live());
  return { connection, events, subscription };
}

describe('streaming subscriptions', () => {
  it('turns a burst of changes into changed events for the folders concerned', async () => {
    const { events, subscription } = await subscribe(alice, ['calendar', 'contacts', 'tasks']);
    for (let i = 0; i < 5; i++) {
      emulator.admin.createItem(alice, {
        kind: 'CalendarItem',
        Subject: `Burst ${i}`,
        Start: '2026-05-01T09:00:00Z',
        End: '2026-05-01T10:00:00Z',
      });
    }
    emulator.admin.createItem(alice, { kind: 'Contact', GivenName: 'Burst' });
    await vi.waitFor(() => expect(events.changed()).toEqual(new Set(['calendar', 'contacts'])));
    expect(events.lost()).toEqual([]);
    await subscription.close();
  });

  it('names only the folder that changed', async () => {
    const { events, subscription } = await subscribe(alice, ['calendar', 'contacts', 'tasks']);
    emulator.admin.createItem(alice, { kind: 'Task', Subject: 'Only tasks' });
    await vi.waitFor(() => expect(events.events).toContainEqual({ type: 'changed', folders: ['tasks'] }));
    expect(events.changed()).toEqual(new Set(['tasks']));
    await subscription.close();
  });

  it('opens the stream again when Exchange ends it after ConnectionTimeout, and keeps delivering', async () => {
    const open = vi.spyOn(EwsTransport.prototype, 'openStream');
    try {
      const { events, subscription } = await subscribe(alice, ['inbox']);
      await vi.waitFor(() => expect(open.mock.calls.length).toBeGreaterThanOrEqual(4), { timeout: 5000 });
      emulator.admin.createItem(bob, {
        kind: 'Message',
        send: true,
        Subject: 'After reconnects',
        ToRecipients: [alice],
      });
      await vi.waitFor(() => expect(events.changed()).toEqual(new Set(['inbox'])));
      expect(events.lost()).toEqual([]);
      await subscription.close();
    } finally {
      open.mockRestore();
    }
  });

  it('an HTTP 503 on the stream is one lost event (no unhandled rejection), and nothing after it', async () => {
    const { events } = await subscribe(alice, ['calendar']);
    emulator.admin.faults.add({ kind: 'httpStatus', status: 503, calls: 1, operations: ['GetStreamingEvents'] });
    await vi.waitFor(() => expect(events.lost()).toHaveLength(1), { timeout: 5000 });
    expect(events.lost()[0]).toEqual({
      type: 'lost',
      error: { code: 'EXH_EXCHANGE_UNAVAILABLE', message: expect.stringContaining('HTTP 503'), retryable: true },
    });
    emulator.admin.createItem(alice, { kind: 'Task', Subject: 'Unseen' });
    emulator.admin.createItem(alice, {
      kind: 'CalendarItem',
      Subject: 'Unseen',
      Start: '2026-05-01T09:00:00Z',
      End: '2026-05-01T10:00:00Z',
    });
    // One more full ConnectionTimeout: a subscription that went on would have reconnected and reported it by now.
    await new Promise((resolve) => setTimeout(resolve, 400));
    expect(events.events.filter((e) => e.type === 'changed')).toEqual([]);
  });

  it('an expired subscription is lost with EXH_EXCHANGE_SUBSCRIPTION_LOST', async () => {
    const { events, subscription } = await subscribe(bob, ['calendar']);
    emulator.admin.expireSubscriptions({ mailbox: bob });
    await vi.waitFor(() => expect(events.lost()).toHaveLength(1));
    expect(events.lost()[0]).toMatchObject({ error: { code: 'EXH_EXCHANGE_SUBSCRIPTION_LOST', retryable: true } });
    await subscription.close();
  });

  it('a stream gone silent (no keep-alives) is lost with EXH_EXCHANGE_TIMEOUT', async () => {
    const { events, subscription } = await subscribe(alice, ['contacts']);
    const stall = emulator.admin.faults.add({ kind: 'stallStreaming', mailbox: alice });
    try {
      await vi.waitFor(() => expect(events.lost()).toHaveLength(1), { timeout: 5000 });
      expect(events.lost()[0]).toMatchObject({ error: { code: 'EXH_EXCHANGE_TIMEOUT' } });
    } finally {
      emulator.admin.faults.remove(stall.id);
    }
    await subscription.close();
  });

  it('close ends the stream and the subscription at Exchange; no event after it', async () => {
    const { events, subscription } = await subscribe(bob, ['tasks']);
    expect(emulator.admin.subscriptions().map((s) => s.id)).toContain(subscription.id);
    await subscription.close();
    expect(emulator.admin.subscriptions().map((s) => s.id)).not.toContain(subscription.id);
    emulator.admin.createItem(bob, { kind: 'Task', Subject: 'After close' });
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(events.events).toEqual([]);
  });

  it('subscribe resolves when Subscribe answers; what changes before the stream opens is told once it does', async () => {
    const { events, subscription } = await subscribe(alice, ['tasks']);
    // No stream carries it yet: the mailbox's catch-up may start now, the events meanwhile wait at Exchange.
    expect(streamed()).not.toContain(subscription.id);
    emulator.admin.createItem(alice, { kind: 'Task', Subject: 'Before the stream' });
    await vi.waitFor(() => expect(events.events).toEqual([{ type: 'changed', folders: ['tasks'] }]));
    expect(streamed()).toContain(subscription.id);
    await subscription.close();
  });

  it('a throttled first stream is a lost event with its BackOffMilliseconds, so that the mailbox backs off', async () => {
    emulator.admin.faults.add({ kind: 'serverBusy', backOffMs: 500, calls: 1, operations: ['GetStreamingEvents'] });
    const { events, subscription } = await subscribe(bob, ['tasks']);
    expect(streamed()).not.toContain(subscription.id);
    await vi.waitFor(() => expect(events.lost()).toHaveLength(1));
    expect(events.events).toEqual([
      {
        type: 'lost',
        error: { code: 'EXH_EXCHANGE_THROTTLED', message: expect.any(String), retryable: true, backOffMs: 500 },
      },
    ]);
    // The subscription is over: the group opens no stream for it again, and nothing follows the lost event.
    emulator.admin.createItem(bob, { kind: 'Task', Subject: 'After the throttled stream' });
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(streamed()).not.toContain(subscription.id);
    expect(events.events).toHaveLength(1);
    await subscription.close();
  });
});
