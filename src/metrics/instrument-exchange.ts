import type { ExchangePort, MailboxConnection, MailboxWriter, SubscriptionEvent } from '../ports/exchange.port.js';
import { itemTypeOfFolder } from '../sync/decisions/folders.js';
import type { Metrics } from './metrics.js';
import { timed } from './timed.js';

/**
 * The ExchangePort with metrics: every request timed by operation and outcome (the wait in the pool included, which
 * is what a user feels), subscriptions' ages, and the start of the notification-to-database lag.
 */
export function instrumentExchange(port: ExchangePort, metrics: Metrics): ExchangePort {
  const timer = (operation: string, outcome: 'ok' | 'error', seconds: number) =>
    metrics.exchangeRequestSeconds.observe({ operation, outcome }, seconds);
  return {
    capabilities: port.capabilities,
    connect: async (user, options) => {
      const started = performance.now();
      try {
        const connection = await port.connect(user, options);
        timer('connect', 'ok', (performance.now() - started) / 1000);
        return instrumentConnection(connection, metrics, timer);
      } catch (error) {
        timer('connect', 'error', (performance.now() - started) / 1000);
        throw error;
      }
    },
  };
}

type Connection = MailboxConnection & MailboxWriter;

function instrumentConnection(
  connection: Connection,
  metrics: Metrics,
  timer: (operation: string, outcome: 'ok' | 'error', seconds: number) => void,
): Connection {
  const user = connection.user;
  const instrumented = timed(connection, timer);
  const subscribe: Connection['subscribe'] = async (folders, kind, onEvent, options) => {
    const watch = (event: SubscriptionEvent) => {
      if (event.type === 'changed') metrics.notified(user, new Set(event.folders.map(itemTypeOfFolder)));
      else metrics.unsubscribed(user);
      onEvent(event);
    };
    const subscription = await instrumented.subscribe(folders, kind, watch, options);
    metrics.subscribed(user);
    return {
      id: subscription.id,
      close: () => {
        metrics.unsubscribed(user);
        return subscription.close();
      },
    };
  };
  return new Proxy(instrumented, {
    get: (target, property, receiver) =>
      property === 'subscribe' ? subscribe : Reflect.get(target, property, receiver),
  });
}
