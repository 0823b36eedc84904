import { afterAll, afterEach, describe, expect, it, vi } from 'vitest';
import { createWebhookSubscriber } from '../../../src/exchange/graph/subscribe.js';
import { startGraphWebhookReceiver } from '../../../src/exchange/graph/webhook-receiver.js';
import { createLogging } from '../../../src/logging/logger.js';
import type { SubscriptionEvent } from '../../../src/ports/exchange.port.js';
import { alice, bob, graphAdapter, graphConfig, live, startGraphEmulator } from './adapter-support.js';

const onPremises = 'onprem@contoso.test';
const emulator = await startGraphEmulator({ mailboxes: [alice, bob, onPremises] });
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

const { logger } = createLogging({ level: 'silent', format: 'json', stdout: { write: () => {} } });
const receiver = await startGraphWebhookReceiver({ host: '127.0.0.1', port: 0, path: '/graph', logger });
afterAll(() => receiver.close());
const notificationUrl = `http://127.0.0.1:${receiver.address.port}/graph`;
const webhooks = graphAdapter(emulator, {
  graph: { notifications: 'webhook', notificationUrl },
  webhook: createWebhookSubscriber(graphConfig(emulator, { notifications: 'webhook', notificationUrl }), receiver),
});

describe('webhook notifications', () => {
  it('hands the subscription to the webhook subscriber it was given (subscribe.ts): a new message wakes its folder', async () => {
    expect(webhooks.exchange.capabilities.notifications).toEqual(['poll', 'webhook']);
    const connection = await webhooks.connect(alice);
    let wake: (event: SubscriptionEvent) => void = () => {};
    const woken = new Promise<SubscriptionEvent>((resolve) => {
      wake = resolve;
    });
    const subscription = await connection.subscribe(['inbox'], 'webhook', (event) => wake(event), live());
    try {
      emulator.admin.createItem(bob, { kind: 'Message', send: true, Subject: 'Ping', ToRecipients: [alice] });
      expect(await woken).toEqual({ type: 'changed', folders: ['inbox'] });
    } finally {
      await subscription.close();
    }
  });
});
