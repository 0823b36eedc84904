import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { type RunningEmulator, startEmulator } from '../../../emulator/index.js';
import { configSchema } from '../../../src/config/schema.js';
import { errors, isExhError } from '../../../src/errors.js';
import { createGraphClient, type GraphClient, type TokenProvider } from '../../../src/exchange/graph/client.js';
import { createGraphExchange } from '../../../src/exchange/graph/index.js';
import {
  createWebhookSubscriber,
  resourceOf,
  subscribeWebhook,
  type WebhookDeps,
} from '../../../src/exchange/graph/subscribe.js';
import { type GraphWebhookReceiver, startGraphWebhookReceiver } from '../../../src/exchange/graph/webhook-receiver.js';
import { createLogging } from '../../../src/logging/logger.js';
import { ExchangePool } from '../../../src/pool/exchange-pool.js';
import type { FolderName, Subscription, SubscriptionEvent } from '../../../src/ports/exchange.port.js';
import { SimulatedClock } from '../../emulator/support/clock.js';

/**
 * Graph webhook subscriptions (src/exchange/graph/subscribe.ts) against the project's Graph emulator over real HTTP:
 * the emulator validates the receiver's URL, posts the mailbox's changes and the lifecycle events its admin API
 * raises to the real receiver (src/exchange/graph/webhook-receiver.ts), and the requests go through the real Graph
 * client. One simulated clock drives both the emulator (expiry, token lifetimes) and the subscriptions' timers
 * (renewal, polling), so renewal at two thirds is seen without waiting.
 */

const tenant = 'contoso.test';
const clientId = '00000000-0000-0000-0000-0000000e4e00';
const alice = 'alice@contoso.test';
const minutes = 60;
const pollIntervalMs = 60_000;

const lines: string[] = [];
const { logger } = createLogging({
  level: 'debug',
  format: 'json',
  stdout: { write: (line) => void lines.push(line) },
});
const clock = new SimulatedClock(Date.parse('2026-12-05T10:00:00Z'));
let emulator: RunningEmulator;
let receiver: GraphWebhookReceiver;
let client: GraphClient;
let notificationUrl: string;
const pool = new ExchangePool(8);

/** Tokens from the emulator's token endpoint, a fresh one each time: the simulated clock may outrun any lifetime. */
const tokens: TokenProvider = {
  async getToken() {
    const response = await fetch(`http://127.0.0.1:${emulator.port}/graph-login/${tenant}/oauth2/v2.0/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({
        grant_type: 'client_credentials',
        client_id: clientId,
        client_secret: 'exh-emulator-secret',
        scope: 'https://graph.microsoft.com/.default',
      }),
    });
    return ((await response.json()) as { access_token: string }).access_token;
  },
};

beforeAll(async () => {
  emulator = await startEmulator({ port: 0, clock });
  receiver = await startGraphWebhookReceiver({ host: '127.0.0.1', port: 0, path: '/exh/graph', logger });
  notificationUrl = `http://127.0.0.1:${receiver.address.port}/exh/graph`;
  client = createGraphClient({ baseUrl: emulator.graphUrl, tokens, pool, timeoutMs: 10_000, logger });
});
afterAll(async () => {
  await receiver?.close();
  await emulator?.close();
  await pool.close();
});

const open: Subscription[] = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((subscription) => subscription.close()));
});

function deps(overrides: Partial<WebhookDeps> = {}): WebhookDeps {
  return {
    client,
    receiver,
    notificationUrl,
    listener: `127.0.0.1:${receiver.address.port}`,
    subscriptionMinutes: minutes,
    pollIntervalMs,
    logger,
    clock,
    ...overrides,
  };
}

async function subscribe(folders: FolderName[], overrides: Partial<WebhookDeps> = {}) {
  const events: SubscriptionEvent[] = [];
  const subscription = await subscribeWebhook(deps(overrides), alice, folders, (event) => void events.push(event), {
    signal: new AbortController().signal,
    priority: 'live',
  });
  open.push(subscription);
  return { events, subscription };
}

const ofAlice = () => emulator.admin.graphSubscriptions().filter((s) => s.mailbox === alice);
const subscriptionOn = (folder: FolderName) => {
  const found = ofAlice().find((s) => s.resource === resourceOf(alice, folder));
  if (!found) throw new Error(`no subscription on ${folder}`);
  return found;
};
const changedFolders = (events: SubscriptionEvent[]) =>
  events.flatMap((event) => (event.type === 'changed' ? event.folders : []));

describe('subscribing', () => {
  it('subscribes inbox, sent items, events and contacts, with lifecycle URL and expiry, and never tasks', async () => {
    await subscribe(['inbox', 'sentitems', 'calendar', 'contacts', 'tasks']);
    expect(
      ofAlice()
        .map((s) => s.resource)
        .sort(),
    ).toEqual(
      [
        `users/${alice}/contacts`,
        `users/${alice}/events`,
        `users/${alice}/mailFolders('inbox')/messages`,
        `users/${alice}/mailFolders('sentitems')/messages`,
      ].sort(),
    );
    for (const s of ofAlice()) {
      expect(Date.parse(s.expirationDateTime)).toBe(clock.now() + minutes * 60_000);
    }
    // As Graph keeps them: changeType, both URLs and a clientState of at most 128 characters of its own each.
    const answer = await client.request<{ value: Array<Record<string, unknown>> }>(
      { method: 'GET', url: '/subscriptions' },
      { signal: new AbortController().signal, priority: 'live' },
    );
    const mine = answer.body.value.filter((s) => String(s.resource).startsWith(`users/${alice}/`));
    expect(mine).toHaveLength(4);
    for (const s of mine) {
      expect(s.changeType).toBe('created,updated,deleted');
      expect(s.notificationUrl).toBe(notificationUrl);
      expect(s.lifecycleNotificationUrl).toBe(`${notificationUrl}/lifecycle`);
      expect(String(s.clientState).length).toBeGreaterThanOrEqual(32);
      expect(String(s.clientState).length).toBeLessThanOrEqual(128);
    }
    expect(new Set(mine.map((s) => s.clientState)).size).toBe(4);
  });

  it('wakes the folder a change was made in, through the emulator and the receiver', async () => {
    const { events } = await subscribe(['inbox', 'calendar', 'contacts']);
    emulator.admin.createItem(alice, { kind: 'Message', folder: 'inbox', Subject: 'Hello' });
    await eventually(() => expect(changedFolders(events)).toContain('inbox'));
    expect(changedFolders(events)).not.toContain('contacts');
    emulator.admin.createItem(alice, { kind: 'Contact', GivenName: 'Ann', Surname: 'Example' });
    await eventually(() => expect(changedFolders(events)).toContain('contacts'));
    emulator.admin.createItem(alice, {
      kind: 'CalendarItem',
      Subject: 'Review',
      Start: '2026-12-07T09:00:00Z',
      End: '2026-12-07T09:30:00Z',
    });
    await eventually(() => expect(changedFolders(events)).toContain('calendar'));
    expect(events.every((event) => event.type === 'changed')).toBe(true);
    expect(receiver.counts().client_state_mismatch).toBe(0);
  });

  it('wakes a folder once for a batch of notifications', async () => {
    const { events } = await subscribe(['inbox']);
    // Three changes in one go: the emulator posts them in one batch, as Graph does.
    for (const subject of ['One', 'Two', 'Three'])
      emulator.admin.createItem(alice, { kind: 'Message', folder: 'inbox', Subject: subject });
    await eventually(() => expect(changedFolders(events)).toContain('inbox'));
    await settle();
    expect(events).toEqual([{ type: 'changed', folders: ['inbox'] }]);
    expect(receiver.counts().accepted).toBeGreaterThanOrEqual(3);
  });

  it('reports a failed handshake as EXH_EXCHANGE_WEBHOOK_FAILED naming the URL and the listener, and leaves nothing', async () => {
    const unreachable = `http://127.0.0.1:${receiver.address.port}/not-the-receivers-path`;
    const failure = await subscribe(['inbox', 'contacts'], { notificationUrl: unreachable }).catch((e: unknown) => e);
    expect(isExhError(failure, 'EXH_EXCHANGE_WEBHOOK_FAILED')).toBe(true);
    expect(failure).toMatchObject({ retryable: true });
    expect((failure as Error).message).toContain(`exchange.graph.notificationUrl (${unreachable})`);
    expect((failure as Error).message).toContain(`listeners.graph (127.0.0.1:${receiver.address.port})`);
    expect(ofAlice()).toEqual([]);
  });

  it('keeps the catalogue error of a refusal that is not the handshake (a mailbox on premises)', async () => {
    emulator.admin.markOnPremises(alice, true);
    try {
      const failure = await subscribe(['inbox']).catch((e: unknown) => e);
      expect(isExhError(failure, 'EXH_EXCHANGE_MAILBOX_NOT_IN_CLOUD')).toBe(true);
    } finally {
      emulator.admin.markOnPremises(alice, false);
    }
    expect(ofAlice()).toEqual([]);
  });

  it('deletes its subscriptions on close, and stops telling', async () => {
    const { events, subscription } = await subscribe(['inbox', 'contacts', 'tasks']);
    expect(ofAlice()).toHaveLength(2);
    await subscription.close();
    expect(ofAlice()).toEqual([]);
    const before = events.length;
    emulator.admin.createItem(alice, { kind: 'Message', folder: 'inbox', Subject: 'After close' });
    clock.advance(pollIntervalMs * 10);
    expect(events).toHaveLength(before);
  });
});

describe('renewal', () => {
  it('renews each subscription at two thirds of its life, again and again', async () => {
    await subscribe(['inbox', 'contacts']);
    const created = clock.now();
    const expiry = () => Date.parse(subscriptionOn('inbox').expirationDateTime);
    expect(expiry()).toBe(created + minutes * 60_000);
    clock.advance((minutes * 60_000 * 2) / 3 - 1_000);
    await settle();
    expect(expiry()).toBe(created + minutes * 60_000);
    const mark = clock.mark();
    clock.advance(1_000);
    const renewedAt = clock.now();
    await eventually(() => expect(expiry()).toBe(renewedAt + minutes * 60_000));
    await eventually(() =>
      expect(Date.parse(subscriptionOn('contacts').expirationDateTime)).toBe(renewedAt + minutes * 60_000),
    );
    // The next one two thirds of the new life later, well before the old expiry would have ended it: once both are
    // scheduled (after the answers came back), time moves on.
    const twoThirds = (minutes * 60_000 * 2) / 3;
    await eventually(() => expect(clock.pendingSince(mark).filter((delay) => delay === twoThirds)).toHaveLength(2));
    clock.advance(twoThirds);
    const again = clock.now();
    await eventually(() => expect(expiry()).toBe(again + minutes * 60_000));
    expect(ofAlice()).toHaveLength(2);
  });

  it('creates a subscription again that was gone when it was to be renewed, and wakes its folder', async () => {
    const { events } = await subscribe(['inbox', 'contacts']);
    const old = subscriptionOn('contacts').id;
    expect(emulator.admin.expireGraphSubscriptions({ subscriptionId: old })).toBe(1);
    events.length = 0;
    clock.advance((minutes * 60_000 * 2) / 3);
    await eventually(() => expect(subscriptionOn('contacts').id).not.toBe(old));
    await eventually(() => expect(changedFolders(events)).toContain('contacts'));
    expect(events.some((event) => event.type === 'lost')).toBe(false);
    // The new subscription delivers.
    events.length = 0;
    emulator.admin.createItem(alice, { kind: 'Contact', GivenName: 'Bo', Surname: 'Again' });
    await eventually(() => expect(changedFolders(events)).toContain('contacts'));
  });
});

describe('renewal refused', () => {
  it('reports a renewal refused for good (consent revoked) as lost, once, with the catalogue error', async () => {
    const { events } = await subscribe(['inbox', 'contacts']);
    emulator.admin.updateGraphApp({ consented: false });
    try {
      clock.advance((minutes * 60_000 * 2) / 3);
      await eventually(() => expect(events.filter((event) => event.type === 'lost')).toHaveLength(1));
      await settle();
      expect(events.filter((event) => event.type === 'lost')).toEqual([
        {
          type: 'lost',
          error: expect.objectContaining({ code: 'EXH_EXCHANGE_PERMISSION_DENIED', retryable: false }),
        },
      ]);
    } finally {
      emulator.admin.updateGraphApp({ consented: true });
    }
  });
});

/**
 * The emulator's subscriptions API answers every renewal it can; a Graph that is unavailable for a while is this
 * test double around the real client (what cannot run here): the first `times` PATCHes fail as the client reports a
 * 503, then they reach the emulator again.
 */
function unavailableRenewals(times: number): Pick<GraphClient, 'request'> & { refused: number } {
  const double = {
    refused: 0,
    request: ((request, options) => {
      if (request.method === 'PATCH' && double.refused < times) {
        double.refused++;
        return Promise.reject(errors.exchangeUnavailable(emulator.graphUrl, 'HTTP 503', undefined, 5_000));
      }
      return client.request(request, options);
    }) as GraphClient['request'],
  };
  return double;
}

describe('renewal refused for a while', () => {
  it('tries a renewal Graph refused (retryable) again a minute later, while there is time', async () => {
    const double = unavailableRenewals(2);
    const { events } = await subscribe(['inbox'], { client: double });
    const expiry = () => Date.parse(subscriptionOn('inbox').expirationDateTime);
    const created = clock.now();
    let mark = clock.mark();
    clock.advance((minutes * 60_000 * 2) / 3);
    await eventually(() => expect(double.refused).toBe(1));
    await eventually(() => expect(clock.pendingSince(mark)).toContain(60_000));
    mark = clock.mark();
    clock.advance(60_000);
    await eventually(() => expect(double.refused).toBe(2));
    await eventually(() => expect(clock.pendingSince(mark)).toContain(60_000));
    expect(expiry()).toBe(created + minutes * 60_000);
    clock.advance(60_000);
    const renewedAt = clock.now();
    await eventually(() => expect(expiry()).toBe(renewedAt + minutes * 60_000));
    expect(events.some((event) => event.type === 'lost')).toBe(false);
  });

  it('reports lost, retryable, when Graph refuses renewals until the subscription would expire', async () => {
    const double = unavailableRenewals(Number.POSITIVE_INFINITY);
    const { events } = await subscribe(['inbox'], { client: double });
    const lost = () => events.some((event) => event.type === 'lost');
    let mark = clock.mark();
    clock.advance((minutes * 60_000 * 2) / 3);
    // Renewals a minute apart until one more would come within a minute of the expiry: then lost, once.
    for (let i = 0; i < 40; i++) {
      await eventually(() => expect(lost() || clock.pendingSince(mark).includes(60_000)).toBe(true));
      if (lost()) break;
      mark = clock.mark();
      clock.advance(60_000);
    }
    expect(events.filter((event) => event.type === 'lost')).toEqual([
      { type: 'lost', error: expect.objectContaining({ code: 'EXH_EXCHANGE_UNAVAILABLE', retryable: true }) },
    ]);
    // Never after the subscription's end: the last try came at least a minute before it.
    expect(double.refused).toBeGreaterThan(1);
    expect(double.refused).toBeLessThanOrEqual(Math.floor((minutes * 60_000) / 3 / 60_000));
  });
});

describe('lifecycle notifications', () => {
  it('reauthorizes on reauthorizationRequired, and the held notifications come through', async () => {
    const { events } = await subscribe(['inbox']);
    const { id } = subscriptionOn('inbox');
    const delivered = await emulator.admin.graphLifecycle({ event: 'reauthorizationRequired', subscriptionId: id });
    expect(delivered).toEqual([{ subscriptionId: id, delivered: true }]);
    await eventually(() => expect(subscriptionOn('inbox').needsReauthorization).toBe(false));
    expect(subscriptionOn('inbox').id).toBe(id);
    emulator.admin.createItem(alice, { kind: 'Message', folder: 'inbox', Subject: 'After reauthorization' });
    await eventually(() => expect(changedFolders(events)).toContain('inbox'));
  });

  it('creates the subscription again on subscriptionRemoved, then wakes its folder', async () => {
    const { events } = await subscribe(['inbox', 'sentitems']);
    const old = subscriptionOn('sentitems').id;
    const untouched = subscriptionOn('inbox').id;
    await emulator.admin.graphLifecycle({ event: 'subscriptionRemoved', subscriptionId: old });
    await eventually(() => expect(subscriptionOn('sentitems').id).not.toBe(old));
    await eventually(() => expect(changedFolders(events)).toEqual(['sentitems']));
    expect(subscriptionOn('inbox').id).toBe(untouched);
    expect(ofAlice()).toHaveLength(2);
  });

  it('wakes the folder on missed', async () => {
    const { events } = await subscribe(['inbox', 'calendar']);
    await emulator.admin.graphLifecycle({ event: 'missed', subscriptionId: subscriptionOn('calendar').id });
    await eventually(() => expect(changedFolders(events)).toEqual(['calendar']));
  });

  it('reports lost when a removed subscription cannot be created again', async () => {
    const { events } = await subscribe(['contacts']);
    emulator.admin.markOnPremises(alice, true);
    try {
      await emulator.admin.graphLifecycle({ event: 'subscriptionRemoved', mailbox: alice });
      await eventually(() => expect(events.filter((event) => event.type === 'lost')).toHaveLength(1));
    } finally {
      emulator.admin.markOnPremises(alice, false);
    }
    const lost = events.find((event) => event.type === 'lost');
    expect(lost).toMatchObject({ error: { code: 'EXH_EXCHANGE_MAILBOX_NOT_IN_CLOUD' } });
    // Nothing more after lost: no polls, no renewals.
    const before = events.length;
    clock.advance(minutes * 60_000);
    await settle();
    expect(events).toHaveLength(before);
  });
});

describe('polling beside the webhook', () => {
  it('polls tasks every pollIntervalMs and every folder every ten of them', async () => {
    const { events } = await subscribe(['inbox', 'tasks']);
    clock.advance(pollIntervalMs - 1);
    expect(events).toEqual([]);
    clock.advance(1);
    expect(events).toEqual([{ type: 'changed', folders: ['tasks'] }]);
    clock.advance(pollIntervalMs * 9);
    expect(events.filter((event) => event.type === 'changed' && event.folders.includes('tasks'))).toHaveLength(11);
    expect(events.filter((event) => event.type === 'changed' && event.folders.includes('inbox'))).toEqual([
      { type: 'changed', folders: ['inbox', 'tasks'] },
    ]);
  });

  it('makes no Graph subscription for tasks alone', async () => {
    const { subscription } = await subscribe(['tasks']);
    expect(ofAlice()).toEqual([]);
    expect(subscription.id).toBe(`poll:${alice}`);
  });
});

describe('through the Graph adapter', () => {
  it('subscribes with kind webhook via createWebhookSubscriber, after deleting what an earlier run left at its URL', async () => {
    const config = configSchema.parse({
      database: { type: 'pglite' },
      exchange: {
        backend: 'graph',
        graph: {
          baseUrl: emulator.graphUrl,
          tenant,
          clientId,
          clientSecret: 'exh-emulator-secret',
          notifications: 'webhook',
          notificationUrl,
          subscriptionMinutes: minutes,
          pollIntervalMs,
        },
      },
      listeners: { graph: { port: receiver.address.port } },
    });
    const exchange = createGraphExchange({
      config: config.exchange,
      sync: config.sync,
      pool,
      logger,
      tokens,
      webhook: createWebhookSubscriber(config, receiver, { clock }),
    });
    expect(exchange.capabilities.notifications).toContain('webhook');
    const call = { signal: new AbortController().signal, priority: 'live' as const };
    // An earlier run's subscription at this URL (it ended without close()), and another application's elsewhere.
    const leftOver = async (url: string) =>
      (
        await client.request<{ id: string }>(
          {
            method: 'POST',
            url: '/subscriptions',
            body: {
              changeType: 'created,updated,deleted',
              notificationUrl: url,
              resource: 'users/bob@contoso.test/contacts',
              expirationDateTime: new Date(clock.now() + 3_600_000).toISOString(),
              clientState: 'an-earlier-run',
            },
          },
          call,
        )
      ).body.id;
    const stale = await leftOver(notificationUrl);
    const foreign = await leftOver(`${notificationUrl}?another=app`);
    const connection = await exchange.connect(alice, call);
    const events: SubscriptionEvent[] = [];
    const subscription = await connection.subscribe(['inbox', 'tasks'], 'webhook', (e) => void events.push(e), call);
    open.push(subscription);
    expect(ofAlice().map((s) => s.resource)).toEqual([resourceOf(alice, 'inbox')]);
    const ids = emulator.admin.graphSubscriptions().map((s) => s.id);
    expect(ids).not.toContain(stale);
    expect(ids).toContain(foreign);
    expect(lines.join('\n')).toContain('Deleted 1 Graph subscriptions an earlier run left');
    await client.request({ method: 'DELETE', url: `/subscriptions/${foreign}` }, call);
    emulator.admin.createItem(alice, { kind: 'Message', folder: 'inbox', Subject: 'Through the adapter' });
    await eventually(() => expect(changedFolders(events)).toContain('inbox'));
    exchange.close();
  });
});

/** Waits (real time, generously: other suites may load the machine) until `check` passes; asserts nothing about time. */
function eventually(check: () => void): Promise<void> {
  return vi.waitFor(check, { timeout: 15_000, interval: 10 });
}

/** Lets requests and deliveries already started run to their end (they take real I/O, no simulated time). */
async function settle(): Promise<void> {
  for (let i = 0; i < 20; i++) await new Promise((resolve) => setTimeout(resolve, 5));
}
