import { afterAll } from 'vitest';
import { type EmulatorOptions, type RunningEmulator, startEmulator } from '../../../emulator/index.js';
import { type Config, configSchema } from '../../../src/config/schema.js';
import { createGraphClient, type GraphRequest, type TokenProvider } from '../../../src/exchange/graph/client.js';
import { createGraphExchange, type GraphExchange, type GraphExchangeDeps } from '../../../src/exchange/graph/index.js';
import { createLogging } from '../../../src/logging/logger.js';
import { ExchangePool } from '../../../src/pool/exchange-pool.js';
import type {
  CallOptions,
  FolderName,
  MailboxConnection,
  MailboxWriter,
  SyncChange,
  SyncFolderOptions,
  SyncPage,
} from '../../../src/ports/exchange.port.js';

/**
 * The Graph adapter's tests run the project's emulator (EWS and Graph over one mailbox store) over real HTTP on a
 * free port, and the adapter against its Graph endpoint with a token from the emulator's own token endpoint
 * (client credentials with the emulator's default app registration).
 */

export const alice = 'alice@contoso.test';
export const bob = 'bob@contoso.test';

export const emulatorApp = {
  tenant: 'contoso.test',
  clientId: '00000000-0000-0000-0000-0000000e4e00',
  clientSecret: 'exh-emulator-secret',
};

export async function startGraphEmulator(options: EmulatorOptions = {}): Promise<RunningEmulator> {
  const emulator = await startEmulator({ port: 0, graph: true, ...options });
  afterAll(() => emulator.close());
  return emulator;
}

/** Client credentials against the emulator's token endpoint, cached until a refresh is asked for. */
export function emulatorTokens(emulator: RunningEmulator): TokenProvider {
  const url = `${new URL(emulator.graphUrl).origin}/graph-login/${emulatorApp.tenant}/oauth2/v2.0/token`;
  let token: string | undefined;
  return {
    async getToken({ forceRefresh }) {
      if (token && !forceRefresh) return token;
      const answer = await fetch(url, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({
          grant_type: 'client_credentials',
          client_id: emulatorApp.clientId,
          client_secret: emulatorApp.clientSecret,
          scope: 'https://graph.microsoft.com/.default',
        }),
      });
      const body = (await answer.json()) as { access_token?: string };
      if (!body.access_token) throw new Error(`no token from ${url}: ${JSON.stringify(body)}`);
      token = body.access_token;
      return token;
    },
  };
}

export function graphConfig(
  emulator: RunningEmulator,
  graph: Record<string, unknown> = {},
  sync: Record<string, unknown> = {},
): Config {
  return configSchema.parse({
    database: { type: 'pglite' },
    exchange: {
      backend: 'graph',
      timeoutMs: 5_000,
      graph: { baseUrl: emulator.graphUrl, ...emulatorApp, ...graph },
    },
    sync,
  });
}

export interface GraphTestAdapter {
  exchange: GraphExchange;
  pool: ExchangePool;
  config: Config;
  connect(user?: string): Promise<MailboxConnection & MailboxWriter>;
}

/** The adapter against the emulator; closed (with its pool) after the file. */
export function graphAdapter(
  emulator: RunningEmulator,
  options: {
    graph?: Record<string, unknown>;
    sync?: Record<string, unknown>;
    /** Every request the adapter sends through the (real) client is appended here. */
    record?: GraphRequest[];
  } & Partial<Pick<GraphExchangeDeps, 'now' | 'webhook' | 'client'>> = {},
): GraphTestAdapter {
  const { logger } = createLogging({ level: 'warn', format: 'json', stdout: { write: () => undefined } });
  const config = graphConfig(emulator, options.graph, options.sync);
  const pool = new ExchangePool(config.exchange.concurrency, 4);
  if (options.record && !options.client) {
    const client = createGraphClient({
      baseUrl: config.exchange.graph.baseUrl,
      tokens: emulatorTokens(emulator),
      pool,
      timeoutMs: config.exchange.timeoutMs,
      logger,
    });
    const record = options.record;
    options.client = {
      request: (request, call) => {
        record.push(request);
        return client.request(request, call);
      },
      batch: (requests, call) => client.batch(requests, call),
    };
  }
  const exchange = createGraphExchange({
    config: config.exchange,
    sync: config.sync,
    pool,
    logger,
    tokens: emulatorTokens(emulator),
    ...(options.now ? { now: options.now } : {}),
    ...(options.webhook ? { webhook: options.webhook } : {}),
    ...(options.client ? { client: options.client } : {}),
  });
  afterAll(async () => {
    exchange.close();
    await pool.close();
  });
  return { exchange, pool, config, connect: (user = alice) => exchange.connect(user, live()) };
}

/** Call options of a caller that never stops. */
export function live(signal: AbortSignal = new AbortController().signal): CallOptions {
  return { signal, priority: 'live' };
}

/** Every page of a folder from `from` to the end of the round. */
export async function syncAll(
  connection: MailboxConnection,
  folder: FolderName,
  from: string | null = null,
  options: Partial<SyncFolderOptions> = {},
): Promise<{ changes: SyncChange[]; continuation: string; pages: SyncPage[] }> {
  const changes: SyncChange[] = [];
  const pages: SyncPage[] = [];
  let continuation = from;
  for (;;) {
    const page = await connection.syncFolder(folder, continuation, { ...live(), maxChanges: 512, ...options });
    pages.push(page);
    changes.push(...page.changes);
    continuation = page.continuation;
    if (page.done) return { changes, continuation, pages };
  }
}
