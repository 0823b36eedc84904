import type { Config } from '../config/schema.js';
import { isExhError } from '../errors.js';
import type { ExhLogger } from '../logging/logger.js';
import type { ExchangePool } from '../pool/exchange-pool.js';
import { AutodiscoverV2 } from './autodiscover-v2.js';
import { ewsCapabilities } from './ews/capabilities.js';
import { createEwsExchange, type EwsExchange, type Tuning } from './ews/index.js';
import { createGraphClient, type TokenProvider } from './graph/client.js';
import { createGraphExchange, type GraphExchange, graphCapabilities } from './graph/index.js';
import { createWebhookSubscriber } from './graph/subscribe.js';
import { type MsalOptions, msalTokenProvider } from './graph/token.js';
import type { GraphWebhookReceiver } from './graph/webhook-receiver.js';
import type { PushReceiver } from './push-receiver.js';
import { RoutingExchange } from './routing.js';
import { translateItemIds } from './switch-backend.js';

/**
 * The routing port as configured (docs/exchange-online.md, "Routing"): the EWS adapter (one per Autodiscover v2 URL,
 * built when a user first needs it, so that a Graph-only configuration without EWS credentials logs nothing about
 * them), the Graph adapter when exchange.graph names an app registration, and Autodiscover v2 for `auto`. One Graph
 * client serves the adapter and the id translation of switched users.
 */
export interface RoutedExchange {
  port: RoutingExchange;
  close(): void;
}

export interface RouteOptions {
  push?: PushReceiver;
  graphWebhook?: GraphWebhookReceiver;
  tuning?: Partial<Tuning>;
  /** msal-node's network and metadata (tests: the emulator's token endpoint, which msal reaches only this way). */
  msal?: MsalOptions;
}

/** Why Graph cannot serve anyone, or undefined when exchange.graph names an app registration with a credential. */
export function graphMissing(graph: Config['exchange']['graph']): string | undefined {
  if (graph.tenant && graph.clientId && (graph.clientSecret || graph.clientCertificate)) return undefined;
  return 'exchange.graph.tenant, clientId and clientCertificate (or clientSecret) are not all set (docs/exchange-online.md)';
}

export function routeConfigured(
  config: Config,
  logger: ExhLogger,
  pool: ExchangePool,
  options: RouteOptions = {},
): RoutedExchange {
  const exchange = config.exchange;
  const ews: EwsExchange[] = [];
  let graph: GraphExchange | undefined;
  let missing = graphMissing(exchange.graph);
  let tokens: TokenProvider | undefined;
  if (!missing) {
    try {
      tokens = msalTokenProvider(exchange.graph, options.msal);
    } catch (error) {
      // A certificate file that cannot be read: Graph users are refused with the reason, EWS users go on.
      if (!isExhError(error) || exchange.backend === 'graph') throw error;
      missing = error.message;
    }
  }
  const client =
    tokens &&
    createGraphClient({
      baseUrl: exchange.graph.baseUrl,
      tokens,
      pool,
      timeoutMs: exchange.timeoutMs,
      logger: logger.child({ actor: 'exchange' }),
      ...(exchange.graph.clientId ? { clientId: exchange.graph.clientId } : {}),
    });
  const webhook = options.graphWebhook ? createWebhookSubscriber(config, options.graphWebhook) : undefined;
  const port = new RoutingExchange({
    backend: exchange.backend,
    ews: {
      capabilities: ewsCapabilities,
      port: (url) => {
        const built = createEwsExchange({
          exchange: url ? { ...exchange, staticEwsUrl: url } : exchange,
          pool,
          logger,
          ...(options.push ? { push: options.push } : {}),
          ...(options.tuning ? { tuning: options.tuning } : {}),
        });
        ews.push(built);
        return built;
      },
    },
    graph:
      client && tokens
        ? {
            capabilities: graphCapabilities(webhook !== undefined),
            port: () => {
              graph = createGraphExchange({
                config: exchange,
                sync: config.sync,
                pool,
                logger,
                tokens: tokens as TokenProvider,
                client,
                ...(webhook ? { webhook } : {}),
              });
              return graph;
            },
          }
        : (missing as string),
    ...(exchange.backend === 'auto'
      ? {
          autodiscover: new AutodiscoverV2({
            url: exchange.graph.autodiscoverUrl,
            pool,
            timeoutMs: exchange.timeoutMs,
          }),
        }
      : {}),
    ...(client ? { translate: (request, call) => translateItemIds(client, request, call) } : {}),
    logger,
  });
  return {
    port,
    close: () => {
      for (const built of ews) built.close();
      graph?.close();
    },
  };
}
