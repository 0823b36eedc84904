import { afterEach, describe, expect, it, vi } from 'vitest';
import type { SubscriptionEvent } from '../../../src/ports/exchange.port.js';
import { alice, graphAdapter, live, startGraphEmulator } from './adapter-support.js';

const onPremises = 'onprem@contoso.test';
const emulator = await startGraphEmulator({ mailboxes: [alice, onPremises] });
emulator.admin.markOnPremises(onPremises);
const adapter = graphAdapter(emulator, { graph: { pollIntervalMs: 1_000 } });

afterEach(() => {
  vi.useRealTimers();
});

describe('connect', () => {
  it('declares what Graph can do', () => {
    expect(adapter.exchange.capabilities).toEqual({
      notifications: ['poll'],
      folders: ['calendar', 'contacts', 'tasks', 'inbox', 'sentitems', 'drafts'],
      writes: true,
      requestsPerMailbox: 4,
    });
  });

  it('refuses an unknown user, and a mailbox on premises as not in the cloud', async () => {
    await expect(adapter.connect('nobody@contoso.test')).rejects.toMatchObject({
      code: 'EXH_EXCHANGE_MAILBOX_NOT_FOUND',
    });
    await expect(adapter.connect(onPremises)).rejects.toMatchObject({ code: 'EXH_EXCHANGE_MAILBOX_NOT_IN_CLOUD' });
  });
});

describe('subscribe', () => {
  it('polls: every exchange.graph.pollIntervalMs the folders are said to have changed, until closed', async () => {
    const connection = await adapter.connect(alice);
    vi.useFakeTimers();
    const events: SubscriptionEvent[] = [];
    const subscription = await connection.subscribe(['inbox', 'calendar'], 'poll', (e) => events.push(e), live());
    vi.advanceTimersByTime(2_500);
    expect(events).toEqual([
      { type: 'changed', folders: ['inbox', 'calendar'] },
      { type: 'changed', folders: ['inbox', 'calendar'] },
    ]);
    await subscription.close();
    vi.advanceTimersByTime(5_000);
    expect(events).toHaveLength(2);
  });

  it('refuses a kind Graph does not have, and webhooks when the adapter was given none', async () => {
    const connection = await adapter.connect(alice);
    await expect(connection.subscribe(['inbox'], 'streaming', () => undefined, live())).rejects.toMatchObject({
      code: 'EXH_EXCHANGE_REQUEST_FAILED',
    });
    await expect(connection.subscribe(['inbox'], 'webhook', () => undefined, live())).rejects.toMatchObject({
      code: 'EXH_EXCHANGE_REQUEST_FAILED',
    });
  });
});
