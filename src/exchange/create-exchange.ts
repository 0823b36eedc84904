import type { Config } from '../config/schema.js';
import { errors } from '../errors.js';
import type { ExhLogger } from '../logging/logger.js';
import type { ExchangePool } from '../pool/exchange-pool.js';
import type { ExchangePort } from '../ports/exchange.port.js';
import type { Tuning } from './ews/index.js';
import type { MsalOptions } from './graph/token.js';
import { startConfiguredGraphWebhook } from './graph/webhook-receiver.js';
import { type PushReceiver, startPushReceiver } from './push-receiver.js';
import { type RoutedExchange, routeConfigured } from './route-configured.js';

export interface ExchangeBackend {
  /** Builds the port over the runtime's pool (src/runtime.ts calls it once). */
  port: (pool: ExchangePool) => ExchangePort;
  /** The Graph webhook receiver's notifications by outcome (exh_graph_notifications_total); absent without it. */
  graphNotifications?: () => Readonly<Record<string, number>>;
  /** Closes the push listener and the transport's connections; after the runtime has stopped. */
  close(): Promise<void>;
}

/**
 * The Exchange side as configured: the EWS adapter, and for `exchange.notifications: push` the listener Exchange
 * posts to (`listeners.exchange`), started first so that the subscriptions can name its URL.
 */
export async function createExchangeBackend(
  config: Config,
  logger: ExhLogger,
  /** Timings the configuration does not name (src/exchange/ews/tuning.ts); tests shorten them with the emulator's. */
  options: { tuning?: Partial<Tuning>; msal?: MsalOptions } = {},
): Promise<ExchangeBackend> {
  let push: PushReceiver | undefined;
  const listener = config.listeners.exchange;
  if (config.exchange.notifications === 'push') {
    if (!listener.enabled) {
      throw errors.configInvalid('configuration', [
        'listeners.exchange.enabled: must be true when exchange.notifications is "push" (Exchange posts notifications to it)',
      ]);
    }
    // Throws EXH_LISTENER_FAILED naming listeners.exchange itself when the port cannot be had.
    push = await startPushReceiver({
      host: listener.host,
      port: listener.port,
      requestTimeoutMs: listener.requestTimeoutMs,
      logger,
      ...(listener.publicUrl ? { publicUrl: listener.publicUrl } : {}),
    });
  }
  // Graph's change notifications (exchange.graph.notifications "webhook"): listeners.graph, behind notificationUrl.
  const graphWebhook = await startConfiguredGraphWebhook(config, logger).catch(async (error: unknown) => {
    await push?.close();
    throw error;
  });
  // EWS, Graph or both, chosen per user (exchange.backend, exh_backend; src/exchange/route-configured.ts).
  let routed: RoutedExchange | undefined;
  return {
    ...(graphWebhook ? { graphNotifications: () => graphWebhook.counts() } : {}),
    port: (pool) => {
      routed = routeConfigured(config, logger, pool, {
        ...(push ? { push } : {}),
        ...(graphWebhook ? { graphWebhook } : {}),
        ...(options.tuning ? { tuning: options.tuning } : {}),
        ...(options.msal ? { msal: options.msal } : {}),
      });
      return routed.port;
    },
    close: async () => {
      routed?.close();
      await push?.close();
      await graphWebhook?.close();
    },
  };
}
