import { describe, expect, it } from 'vitest';
import { errors } from '../../src/errors.js';
import { instrumentExchange } from '../../src/metrics/instrument-exchange.js';
import { Metrics } from '../../src/metrics/metrics.js';
import type {
  CallOptions,
  ExchangePort,
  MailboxConnection,
  MailboxWriter,
  SubscriptionEvent,
} from '../../src/ports/exchange.port.js';

const alice = 'alice@contoso.test';
const options: CallOptions = { signal: new AbortController().signal, priority: 'live' };

/**
 * A port whose one mailbox answers syncFolder, fails readItem, and hands the test the subscription's callback, so
 * that the test plays Exchange's notifications itself.
 */
function fakePort() {
  const state = {
    onEvent: undefined as ((event: SubscriptionEvent) => void) | undefined,
    closed: 0,
    failConnect: undefined as Error | undefined,
  };
  const connection = {
    user: alice,
    capabilities: { notifications: ['streaming'], folders: ['calendar', 'inbox'], writes: true },
    endpoint: 'https://exchange.test/EWS/Exchange.asmx',
    syncFolder: async () => ({ changes: [], continuation: 's1', done: true }),
    readItem: async () => {
      throw errors.itemNotFound(alice, 'AAMk-gone');
    },
    subscribe: async (_folders: unknown, _kind: unknown, onEvent: (event: SubscriptionEvent) => void) => {
      state.onEvent = onEvent;
      return {
        id: 'sub-1',
        close: async () => {
          state.closed++;
        },
      };
    },
  } as unknown as MailboxConnection & MailboxWriter;
  const port: ExchangePort = {
    capabilities: connection.capabilities,
    connect: async () => {
      if (state.failConnect) throw state.failConnect;
      return connection;
    },
  };
  return { port, state };
}

const scrape = async (metrics: Metrics) => (await metrics.scrape()).body;
const count = (operation: string, outcome: string) =>
  `exh_exchange_request_duration_seconds_count{operation="${operation}",outcome="${outcome}"} 1`;

describe('instrumentExchange', () => {
  it('times connect and every request of a connection by outcome, and passes results and errors on unchanged', async () => {
    const metrics = new Metrics();
    const { port, state } = fakePort();
    const instrumented = instrumentExchange(port, metrics);
    expect(instrumented.capabilities).toBe(port.capabilities);
    const connection = await instrumented.connect(alice, options);
    expect(connection.user).toBe(alice);
    expect(connection.endpoint).toBe('https://exchange.test/EWS/Exchange.asmx');
    expect(await connection.syncFolder('calendar', null, { ...options, maxChanges: 10 })).toEqual({
      changes: [],
      continuation: 's1',
      done: true,
    });
    const refused = await connection.readItem('AAMk-gone', options).catch((error: unknown) => error);
    expect(refused).toMatchObject({ code: 'EXH_EXCHANGE_ITEM_NOT_FOUND' });
    const down = errors.exchangeUnavailable('https://exchange.test/EWS/Exchange.asmx', 'down');
    state.failConnect = down;
    expect(await instrumented.connect(alice, options).catch((error: unknown) => error)).toBe(down);
    const text = await scrape(metrics);
    for (const line of [
      count('connect', 'ok'),
      count('connect', 'error'),
      count('syncFolder', 'ok'),
      count('readItem', 'error'),
    ]) {
      expect(text).toContain(line);
    }
  });

  it('keeps a subscription’s age while it lives, and starts the notification lag of the item type its folder holds', async () => {
    let now = 1_000_000;
    const metrics = new Metrics(() => now);
    const { port, state } = fakePort();
    const connection = await instrumentExchange(port, metrics).connect(alice, options);
    const seen: SubscriptionEvent[] = [];
    const subscription = await connection.subscribe(['calendar', 'inbox'], 'streaming', (e) => seen.push(e), options);
    expect(subscription.id).toBe('sub-1');
    now += 5_000;
    expect(await scrape(metrics)).toContain(`exh_subscription_age_seconds{user="${alice}"} 5`);

    // A change in the calendar folder: the lag of calendar items runs from here until a calendar page commits.
    state.onEvent?.({ type: 'changed', folders: ['calendar'] });
    now += 1_500;
    metrics.committed(alice, 'email');
    metrics.committed(alice, 'calendar');
    const afterChange = await scrape(metrics);
    expect(afterChange).toContain('exh_notification_to_database_lag_seconds_sum{item_type="calendar"} 1.5');
    expect(afterChange).not.toContain('exh_notification_to_database_lag_seconds_count{item_type="email"}');

    // A lost subscription has no age any more; the owner still hears of it.
    const lost: SubscriptionEvent = {
      type: 'lost',
      error: { code: 'EXH_EXCHANGE_SUBSCRIPTION_LOST', message: 'expired', retryable: true },
    };
    state.onEvent?.(lost);
    expect(seen).toEqual([{ type: 'changed', folders: ['calendar'] }, lost]);
    expect(await scrape(metrics)).not.toContain('exh_subscription_age_seconds{user=');
  });

  it('forgets the age when the owner closes the subscription, and closes it at the adapter', async () => {
    const metrics = new Metrics();
    const { port, state } = fakePort();
    const connection = await instrumentExchange(port, metrics).connect(alice, options);
    const subscription = await connection.subscribe(['inbox'], 'streaming', () => {}, options);
    expect(await scrape(metrics)).toContain(`exh_subscription_age_seconds{user="${alice}"}`);
    await subscription.close();
    expect(state.closed).toBe(1);
    expect(await scrape(metrics)).not.toContain('exh_subscription_age_seconds{user=');
  });
});
