import type { Config } from '../../config/schema.js';
import { errors, isExhError } from '../../errors.js';
import type { ExhLogger } from '../../logging/logger.js';
import type { ExchangePool } from '../../pool/exchange-pool.js';
import type {
  CallOptions,
  ExchangeCapabilities,
  ExchangePort,
  MailboxConnection,
  MailboxWriter,
} from '../../ports/exchange.port.js';
import { createGraphClient, type GraphClient, type TokenProvider } from './client.js';
import { GraphConnection, type WebhookSubscriber } from './connection.js';
import { userPath } from './ids.js';

/**
 * The Microsoft Graph adapter behind ExchangePort (Exchange Online, app-only; docs/exchange-online.md): every
 * request through the Graph client (./client.ts: the pool, 4 per mailbox, throttling, the catalogue's errors), the
 * items mapped to the neutral properties by ./map/, folders read by delta rounds (./sync.ts, the calendar within a
 * rolling window: ./calendar-window.ts), written by ./write.ts and ./attachments.ts. No Graph type leaves this
 * folder.
 */

export interface GraphExchangeDeps {
  config: Config['exchange'];
  sync: Config['sync'];
  pool: ExchangePool;
  logger: ExhLogger;
  tokens: TokenProvider;
  /** The client to send through (default: createGraphClient over exchange.graph.baseUrl with the pool and tokens). */
  client?: GraphClient;
  /** Webhook subscriptions (./subscribe.ts); without them the adapter offers polling only. */
  webhook?: WebhookSubscriber;
  /** The clock the calendar window rolls by (tests). */
  now?: () => Date;
}

export interface GraphExchange extends ExchangePort {
  close(): void;
}

/** The folders Graph reaches (well-known mail folders, the default calendar, contact folder and To Do list). */
export const graphFolders = ['calendar', 'contacts', 'tasks', 'inbox', 'sentitems', 'drafts'] as const;

export function graphCapabilities(webhook: boolean): ExchangeCapabilities {
  return {
    notifications: webhook ? ['poll', 'webhook'] : ['poll'],
    folders: graphFolders,
    writes: true,
    requestsPerMailbox: 4,
  };
}

export function createGraphExchange(deps: GraphExchangeDeps): GraphExchange {
  const { config } = deps;
  const log = deps.logger.child({ actor: 'exchange' });
  const client =
    deps.client ??
    createGraphClient({
      baseUrl: config.graph.baseUrl,
      tokens: deps.tokens,
      pool: deps.pool,
      timeoutMs: config.timeoutMs,
      logger: log,
      ...(config.graph.clientId ? { clientId: config.graph.clientId } : {}),
    });
  const capabilities = graphCapabilities(deps.webhook !== undefined);
  let closed = false;

  async function connect(user: string, options: CallOptions): Promise<MailboxConnection & MailboxWriter> {
    if (closed) throw errors.exchangeUnavailable(config.graph.baseUrl, 'the Graph adapter is closed');
    const path = userPath(user);
    try {
      // The cheapest request that proves the mailbox is there, in the cloud, and open to the application.
      await client.request({ method: 'GET', url: `${path}/mailFolders/inbox?$select=id`, mailbox: user }, options);
    } catch (error) {
      if (isExhError(error, 'EXH_EXCHANGE_ITEM_NOT_FOUND'))
        throw errors.mailboxNotFound(user, 'Graph has no inbox for it');
      throw error;
    }
    const todoListId = await defaultTodoList(client, user, options, log);
    log.info({ user, baseUrl: config.graph.baseUrl }, `Connected to the mailbox of ${user} through Microsoft Graph`);
    return new GraphConnection({
      user,
      baseUrl: config.graph.baseUrl,
      client,
      logger: deps.logger.child({ actor: 'exchange', user }),
      graph: config.graph,
      calendarWindow: deps.sync.calendarWindow,
      capabilities,
      todoListId,
      ...(deps.now ? { now: deps.now } : {}),
      ...(deps.webhook ? { webhook: deps.webhook } : {}),
    });
  }

  return {
    capabilities,
    connect,
    close: () => {
      closed = true;
    },
  };
}

/**
 * The To Do list behind Outlook's Tasks folder (wellknownListName defaultList). Without Tasks.ReadWrite.All the
 * mailbox still serves mail, calendar and contacts: the refusal is logged and tasks fail when they are read.
 */
async function defaultTodoList(
  client: GraphClient,
  user: string,
  options: CallOptions,
  log: ExhLogger,
): Promise<string | undefined> {
  try {
    let url: string | undefined = `${userPath(user)}/todo/lists`;
    while (url) {
      const answer: {
        body: { value?: Array<{ id?: string; wellknownListName?: string }>; '@odata.nextLink'?: string };
      } = await client.request({ method: 'GET', url, mailbox: user }, options);
      const found = (answer.body?.value ?? []).find((list) => list.wellknownListName === 'defaultList');
      if (found?.id) return found.id;
      url = answer.body?.['@odata.nextLink'];
    }
    log.warn({ user }, `${user} has no default To Do list: its tasks cannot be synchronised`);
    return undefined;
  } catch (error) {
    if (!isExhError(error) || error.retryable) throw error;
    log.warn({ user, code: error.code }, `The To Do lists of ${user} cannot be read: ${error.message}`);
    return undefined;
  }
}
