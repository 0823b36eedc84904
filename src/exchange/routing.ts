import type { exchangeBackends } from '../config/schema.js';
import { errors, isExhError } from '../errors.js';
import type { ExhLogger } from '../logging/logger.js';
import type {
  CallOptions,
  ConnectOptions,
  ExchangeCapabilities,
  ExchangePort,
  MailboxConnection,
  MailboxWriter,
} from '../ports/exchange.port.js';
import type { AutodiscoverV2 } from './autodiscover-v2.js';
import { type BackendName, continuationBackend } from './switch-backend.js';

/**
 * One ExchangePort over the EWS and the Graph adapters, choosing per user (docs/exchange-online.md, "Routing"):
 * exh_backend when the database names one ('ews' or 'graph'), else exchange.backend; `auto` asks Autodiscover v2,
 * which sends Exchange Online mailboxes to Graph and on-premises ones to EWS at the URL it gave. The answer is
 * cached (./autodiscover-v2.ts) and asked again when a mailbox fails in a way that says it moved.
 *
 * Each connection is its own backend's, capabilities included, so the core subscribes each mailbox with its
 * backend's notification kind and each backend's requests carry their own per-mailbox limit (ExchangePool.run);
 * the port's capabilities are the union, with no per-mailbox limit of its own. The connections it gives also tell
 * the core whose a continuation is and translate the other backend's ids (MailboxConnection.ownsContinuation,
 * adoptItemIds), for users switched between backends.
 */

export interface RoutedBackend {
  readonly capabilities: ExchangeCapabilities;
  /**
   * The backend's port, built on first use. For EWS, `url` is where Autodiscover v2 found the mailbox (one port per
   * URL, acting as exchange.staticEwsUrl for it); undefined: the EWS adapter finds it itself.
   */
  port(url?: string): ExchangePort;
}

export interface RoutingOptions {
  /** exchange.backend. */
  backend: (typeof exchangeBackends)[number];
  ews: RoutedBackend;
  /**
   * The Graph backend; a string instead when it cannot be built (Graph is not configured): a user routed to it is
   * refused with that reason, the others are served.
   */
  graph: RoutedBackend | string;
  /** Needed for `auto`. */
  autodiscover?: AutodiscoverV2;
  /**
   * Item ids translated between the backends for a switched user (./switch-backend.ts, translateItemIds over Graph);
   * absent: none are, and the core matches rows by application id and UID alone.
   */
  translate?: (
    request: { user: string; ids: readonly string[]; from: BackendName; to: BackendName },
    options: CallOptions,
  ) => Promise<Map<string, string>>;
  logger: ExhLogger;
}

/** Errors of a mailbox that has moved between on-premises and Exchange Online (or is moving). */
const movedCodes = new Set([
  'EXH_EXCHANGE_MAILBOX_NOT_IN_CLOUD',
  'EXH_EXCHANGE_MAILBOX_MOVING',
  'EXH_EXCHANGE_MAILBOX_NOT_FOUND',
]);

/** Errors of a mailbox Graph cannot reach at all (so neither can its translateExchangeIds). */
const unreachableCodes = new Set(['EXH_EXCHANGE_MAILBOX_NOT_IN_CLOUD', 'EXH_EXCHANGE_MAILBOX_NOT_FOUND']);

export function unionCapabilities(list: readonly ExchangeCapabilities[]): ExchangeCapabilities {
  return {
    notifications: [...new Set(list.flatMap((c) => c.notifications))],
    folders: [...new Set(list.flatMap((c) => c.folders))],
    writes: list.every((c) => c.writes),
  };
}

export class RoutingExchange implements ExchangePort {
  readonly capabilities: ExchangeCapabilities;
  readonly #ews = new Map<string, ExchangePort>();
  #graph: ExchangePort | undefined;
  /** (user, value) pairs already reported as unknown exh_backend values: once each, not at every reconnect. */
  readonly #reported = new Set<string>();
  readonly #log: ExhLogger;

  constructor(private readonly options: RoutingOptions) {
    this.capabilities = unionCapabilities(
      typeof options.graph === 'string'
        ? [options.ews.capabilities]
        : [options.ews.capabilities, options.graph.capabilities],
    );
    this.#log = options.logger.child({ actor: 'exchange' });
    if (options.backend === 'auto' && !options.autodiscover) {
      throw new Error('exchange.backend "auto" needs Autodiscover v2');
    }
  }

  async connect(user: string, options: ConnectOptions): Promise<MailboxConnection & MailboxWriter> {
    const route = await this.#route(user, options);
    const port = this.#port(user, route);
    let connection: MailboxConnection & MailboxWriter;
    try {
      connection = await port.connect(user, { signal: options.signal, priority: options.priority });
    } catch (error) {
      this.#noteFailure(user, route, error);
      throw error;
    }
    return this.#wrap(connection, route);
  }

  /** The backend for the user: exh_backend, else exchange.backend, `auto` by Autodiscover v2. */
  async #route(user: string, options: ConnectOptions): Promise<Route> {
    const named = options.backend?.trim().toLowerCase();
    if (named === 'ews' || named === 'graph') return { backend: named, discovered: false };
    if (options.backend !== undefined && options.backend.trim() !== '') this.#reportUnknown(user, options.backend);
    if (this.options.backend !== 'auto') return { backend: this.options.backend, discovered: false };
    const location = await (this.options.autodiscover as AutodiscoverV2).locate(user, options);
    return location.backend === 'graph'
      ? { backend: 'graph', discovered: true }
      : { backend: 'ews', url: location.url, discovered: true };
  }

  #reportUnknown(user: string, value: string): void {
    const key = `${user.toLowerCase()}\u0000${value}`;
    if (this.#reported.has(key)) return;
    this.#reported.add(key);
    this.#log.warn(
      { user, exhBackend: value, backend: this.options.backend },
      `exh_backend of ${user} is "${value}", neither "ews" nor "graph": using exchange.backend ("${this.options.backend}")`,
    );
  }

  #port(user: string, route: Route): ExchangePort {
    if (route.backend === 'graph') {
      const graph = this.options.graph;
      if (typeof graph === 'string') {
        throw errors.configInvalid('configuration', [`${user} is served by Microsoft Graph, but ${graph}`]);
      }
      this.#graph ??= graph.port();
      return this.#graph;
    }
    const key = route.url ?? '';
    let port = this.#ews.get(key);
    if (!port) {
      port = this.options.ews.port(route.url);
      this.#ews.set(key, port);
    }
    return port;
  }

  /** A mailbox that looks moved is asked about again at its next connect. */
  #noteFailure(user: string, route: Route, error: unknown): void {
    if (!route.discovered || !isExhError(error) || !movedCodes.has(error.code)) return;
    this.options.autodiscover?.forget(user);
    this.#log.info(
      { user, code: error.code },
      `The mailbox of ${user} may have moved (${error.code}): Autodiscover v2 is asked again at its next connect`,
    );
  }

  /** The backend's connection, plus what the core needs for a user switched from the other backend. */
  #wrap(connection: MailboxConnection & MailboxWriter, route: Route): MailboxConnection & MailboxWriter {
    const user = connection.user;
    const from: BackendName = route.backend === 'graph' ? 'ews' : 'graph';
    const translate = this.options.translate;
    const guard =
      <A extends unknown[], R>(call: (...args: A) => Promise<R>) =>
      async (...args: A): Promise<R> => {
        try {
          return await call(...args);
        } catch (error) {
          this.#noteFailure(user, route, error);
          throw error;
        }
      };
    return {
      user,
      capabilities: connection.capabilities,
      endpoint: connection.endpoint,
      ownsContinuation: (continuation) => continuationBackend(continuation) === route.backend,
      adoptItemIds: async (ids, options) => {
        if (!translate) return new Map<string, string>();
        try {
          return await translate({ user, ids, from, to: route.backend }, options);
        } catch (error) {
          // A mailbox back on premises is out of Graph's reach, ids and all: its rows are matched the other ways.
          if (!isExhError(error) || !unreachableCodes.has(error.code)) throw error;
          this.#log.warn(
            { user, code: error.code },
            `Graph cannot translate the item ids of ${user} (${error.code}): its rows are matched by application id and UID`,
          );
          return new Map<string, string>();
        }
      },
      syncFolder: guard(connection.syncFolder.bind(connection)),
      subscribe: guard(connection.subscribe.bind(connection)),
      createItem: guard(connection.createItem.bind(connection)),
      updateItem: guard(connection.updateItem.bind(connection)),
      readItem: guard(connection.readItem.bind(connection)),
      deleteItem: guard(connection.deleteItem.bind(connection)),
      findByAppItemId: guard(connection.findByAppItemId.bind(connection)),
      ...(connection.resumeCreate ? { resumeCreate: guard(connection.resumeCreate.bind(connection)) } : {}),
      getAttachment: guard(connection.getAttachment.bind(connection)),
      addAttachment: guard(connection.addAttachment.bind(connection)),
    };
  }
}

interface Route {
  backend: BackendName;
  /** EWS at the URL Autodiscover v2 gave. */
  url?: string;
  /** Chosen by Autodiscover v2 (so a failure that says the mailbox moved asks it again). */
  discovered: boolean;
}
