/**
 * The Microsoft Graph client's contract: a small client over Node's fetch that the Graph adapter (this folder) sends
 * every request through. It knows HTTP, tokens, throttling and Graph's error bodies; it knows nothing of items.
 * docs/exchange-online.md says what Graph asks of a client; no Graph type leaves src/exchange/graph/.
 */
import { randomUUID } from 'node:crypto';
import { errors, isExhError } from '../../errors.js';
import type { ExhLogger } from '../../logging/logger.js';
import type { ExchangePool } from '../../pool/exchange-pool.js';
import type { CallOptions } from '../../ports/exchange.port.js';
import { runBatch } from './batch.js';
import {
  fromGraphStatus,
  type GraphErrorContext,
  mailboxOf,
  parseGraphError,
  retryAfterMs,
  safeUrl,
} from './errors.js';
import { decodeBody, defaultMaxBodyBytes, exchange, type HttpAnswer } from './http.js';
import { type Clock, exponentialBackOff, MailboxThrottle, systemClock } from './throttle.js';

/** Where an access token for Graph comes from (token.ts: msal-node; tests: a static one). */
export interface TokenProvider {
  /** A valid token (cached, renewed before it expires); `forceRefresh` after Graph answered 401 to one. */
  getToken(options: { signal: AbortSignal; forceRefresh?: boolean }): Promise<string>;
}

export interface GraphRequest {
  method: 'GET' | 'POST' | 'PATCH' | 'PUT' | 'DELETE';
  /** A path under exchange.graph.baseUrl (`/users/a@b.test/messages`) or an absolute URL Graph gave (next/delta links). */
  url: string;
  /** Sent as JSON. */
  body?: unknown;
  /** Sent as it is instead of `body` (attachment upload ranges), with `headers` naming its type and range. */
  rawBody?: Buffer;
  headers?: Record<string, string>;
  /** Prefer values besides the ones every request sends (IdType="ImmutableId", outlook.timezone="UTC"). */
  prefer?: string[];
  /**
   * The mailbox the request is for: it counts against that mailbox's requests in flight (4) and waits out that
   * mailbox's pause after a 429/503. Absent: the {u} of a /users/{u}/… URL, else a tenant-level request
   * (subscriptions, $batch without a mailbox).
   */
  mailbox?: string;
  /** Statuses that are answers for the caller rather than errors (404 on a read of a deleted item, 410 on delta). */
  accept?: readonly number[];
  /** No Authorization header (an upload session's URL carries its own). */
  anonymous?: boolean;
}

export interface GraphResponse<T = unknown> {
  status: number;
  headers: Headers;
  /** The parsed JSON body; undefined for 204 and empty bodies; a Buffer when the answer is not JSON ($value). */
  body: T;
}

/** One request of a JSON $batch; `id` is the caller's. */
export interface GraphBatchRequest {
  id: string;
  method: GraphRequest['method'];
  /** Relative to the base URL, as $batch wants it: `/users/a@b.test/events/{id}`. */
  url: string;
  body?: unknown;
  headers?: Record<string, string>;
}

export type GraphBatchResult =
  | { id: string; ok: true; response: GraphResponse }
  /** The sub-request failed for good (after its own 429s were retried alone): the catalogue's error. */
  | { id: string; ok: false; error: Error };

export interface GraphClient {
  /** Rejects with the catalogue's error (src/errors.ts) for every status not 2xx and not in `accept`. */
  request<T = unknown>(request: GraphRequest, options: CallOptions): Promise<GraphResponse<T>>;
  /**
   * Many requests in JSON $batch envelopes of at most 20, at most 4 envelopes at a time; each sub-response's
   * 429/503 is retried alone after its Retry-After. Results in the order of `requests`.
   */
  batch(
    requests: readonly GraphBatchRequest[],
    options: CallOptions & { mailbox?: string },
  ): Promise<GraphBatchResult[]>;
}

export interface GraphClientOptions {
  /** exchange.graph.baseUrl: relative request URLs are appended to it; the bearer token goes to its origin only. */
  baseUrl: string;
  tokens: TokenProvider;
  /** The one pool of all Exchange traffic (STYLE 10). */
  pool: ExchangePool;
  /** exchange.timeoutMs: for one HTTP exchange, the answer's body included. */
  timeoutMs: number;
  logger: ExhLogger;
  /** exchange.graph.clientId, named in error messages. */
  clientId?: string;
  /** Requests in flight per mailbox (Outlook allows 4). */
  perMailbox?: number;
  /** Answers larger than this are refused (default 64 MiB). */
  maxBodyBytes?: number;
  /** How often the client itself retries a request Graph throttled (429, 503, 504) before it reports it (default 3). */
  throttleRetries?: number;
  /** Back-off without Retry-After: first wait and cap (default 1 s, 60 s). */
  backOff?: { baseMs?: number; maxMs?: number };
  /** Time for pauses after 429/503 (tests: a simulated clock). */
  clock?: Clock;
  /** 0 ≤ random() < 1, for back-off jitter. */
  random?: () => number;
}

/** What the client sends every request (docs/exchange-online.md): immutable ids, UTC times. */
const standardPrefer = ['IdType="ImmutableId"', 'outlook.timezone="UTC"'];

/** Statuses after which Graph asks to wait and try again (docs/exchange-online.md, "Throttling"). */
// 504 too: Graph's gateway timed out, and its Retry-After (when it gives one) is as binding as a 503's.
const throttledStatuses = new Set([429, 503, 504]);

/**
 * The Graph client (the contract above). Each attempt of a request waits out its mailbox's pause, then goes through
 * ExchangePool.run with the mailbox and its limit of 4, gets its token inside the slot (msal answers from its cache)
 * and makes one HTTP exchange (http.ts). A 401 refreshes the token once; a 429 or 503 pauses the mailbox for
 * Retry-After and is retried up to `throttleRetries` times; everything else not 2xx and not accepted is the
 * catalogue's error (errors.ts), logged with the client-request-id the request carried and Graph's request-id.
 */
export function createGraphClient(options: GraphClientOptions): GraphClient {
  const base = new URL(options.baseUrl);
  const baseUrl = options.baseUrl.replace(/\/+$/, '');
  const perMailbox = options.perMailbox ?? 4;
  const maxBodyBytes = options.maxBodyBytes ?? defaultMaxBodyBytes;
  const throttleRetries = options.throttleRetries ?? 3;
  const clock = options.clock ?? systemClock;
  const throttle = new MailboxThrottle(clock);
  const account = options.clientId ?? 'exh';
  const log = options.logger;
  const backOff = (attempt: number) => exponentialBackOff(attempt, { ...options.backOff, random: options.random });

  /** The absolute URL of a request, and whether it may carry the token. */
  function target(request: GraphRequest): { url: string; foreign: boolean } {
    if (!/^[a-z][a-z0-9+.-]*:/i.test(request.url)) {
      return { url: `${baseUrl}${request.url.startsWith('/') ? '' : '/'}${request.url}`, foreign: false };
    }
    let parsed: URL;
    try {
      parsed = new URL(request.url);
    } catch {
      throw errors.exchangeRequestFailed(safeUrl(request.url), 'invalid URL', 'the URL cannot be parsed');
    }
    if (parsed.origin === base.origin) return { url: request.url, foreign: false };
    if (request.anonymous) return { url: request.url, foreign: true };
    throw errors.exchangeRequestFailed(
      safeUrl(request.url),
      'foreign URL',
      `exh sends its Graph token only to ${base.origin} (exchange.graph.baseUrl), not to ${parsed.origin}`,
    );
  }

  function headersOf(request: GraphRequest, foreign: boolean, clientRequestId: string, token?: string): Headers {
    const headers = new Headers(request.headers);
    if (token) headers.set('authorization', `Bearer ${token}`);
    if (!headers.has('accept')) headers.set('accept', 'application/json');
    headers.set('client-request-id', clientRequestId);
    headers.set('return-client-request-id', 'true');
    if (!foreign) for (const value of [...standardPrefer, ...(request.prefer ?? [])]) headers.append('prefer', value);
    if (request.body !== undefined && request.rawBody === undefined && !headers.has('content-type'))
      headers.set('content-type', 'application/json');
    return headers;
  }

  async function request<T>(request: GraphRequest, call: CallOptions): Promise<GraphResponse<T>> {
    const { url, foreign } = target(request);
    // A /users/{u}/… request counts against its mailbox even when the caller did not name it: Outlook limits it so.
    const mailbox = request.mailbox ?? mailboxOf(url);
    const user = mailbox ?? 'the tenant';
    const context: GraphErrorContext = { url, method: request.method, user, account };
    const body = request.rawBody ?? (request.body === undefined ? undefined : JSON.stringify(request.body));
    let refresh = false;
    let refreshed = false;
    let throttled = 0;
    for (;;) {
      await throttle.wait(mailbox, call.signal);
      const clientRequestId = randomUUID();
      let token: string | undefined;
      const answer = await options.pool.run(
        async (signal) => {
          if (!request.anonymous) token = await options.tokens.getToken({ signal, forceRefresh: refresh });
          const headers = headersOf(request, foreign, clientRequestId, token);
          try {
            return await exchange(
              { method: request.method, url, headers, ...(body === undefined ? {} : { body }) },
              { signal, timeoutMs: options.timeoutMs, maxBodyBytes, user, account },
            );
          } catch (error) {
            // No answer (time-out, network, an unreadable body): logged with the id Graph's support would ask for.
            if (isExhError(error) && error.code !== 'EXH_POOL_ABORTED') {
              Object.assign(error.details, { clientRequestId });
              log.warn(
                { user, code: error.code, clientRequestId, method: request.method, url: safeUrl(url) },
                `Graph request failed: ${error.message}`,
              );
            }
            throw error;
          }
        },
        {
          priority: call.priority,
          signal: call.signal,
          mayStart: call.mayStart,
          ...(mailbox === undefined ? {} : { mailbox, perMailbox }),
        },
      );
      const { status } = answer;
      const accepted = request.accept?.includes(status) === true;
      if ((status >= 200 && status < 300) || accepted) {
        const parsed = status >= 200 && status < 300 ? decodeBody(answer, url) : decodeLeniently(answer);
        return { status, headers: answer.headers, body: parsed as T };
      }
      if (status === 401 && !refreshed && !request.anonymous) {
        log.info({ user, clientRequestId, url: safeUrl(url) }, 'Graph refused the token (401): fetching a new one');
        refresh = true;
        refreshed = true;
        continue;
      }
      refresh = false;
      if (throttledStatuses.has(status)) {
        const waitMs = retryAfterMs(answer.headers.get('retry-after'), clock.now()) ?? backOff(throttled);
        throttle.pause(mailbox, waitMs);
        if (throttled < throttleRetries) {
          throttled += 1;
          log.warn(
            { user, status, waitMs, attempt: throttled, clientRequestId, url: safeUrl(url) },
            `Graph throttled a request (HTTP ${status}): ${mailbox ?? 'the tenant'} pauses for ${waitMs} ms`,
          );
          continue;
        }
        throw failure(answer, context, clientRequestId, token, waitMs);
      }
      const waitMs = retryAfterMs(answer.headers.get('retry-after'), clock.now());
      throw failure(answer, context, clientRequestId, token, waitMs);
    }
  }

  /** The catalogue's error for an answer, logged, with the request's and Graph's ids in its details. */
  function failure(
    answer: HttpAnswer,
    context: GraphErrorContext,
    clientRequestId: string,
    token: string | undefined,
    backOffMs: number | undefined,
  ) {
    const graphError = parseGraphError(answer.bytes);
    const error = fromGraphStatus(answer.status, answer.headers, answer.bytes, context, backOffMs);
    if (error.code === 'EXH_EXCHANGE_PERMISSION_DENIED' && token && rolesOf(token)?.length === 0) {
      // The token carries no application permission at all: nobody consented to any (docs/exchange-online.md).
      Object.assign(error.details, { consented: false });
      error.message += ' Its token carries no application permission at all: admin consent is missing.';
    }
    const requestId = answer.headers.get('request-id') ?? graphError?.requestId;
    Object.assign(error.details, { clientRequestId, ...(requestId ? { requestId } : {}) });
    log.warn(
      {
        user: context.user,
        status: answer.status,
        graphCode: graphError?.code,
        code: error.code,
        clientRequestId,
        requestId,
        method: context.method,
        url: safeUrl(context.url),
      },
      `Graph refused ${context.method} ${safeUrl(context.url)}: HTTP ${answer.status}${graphError?.code ? ` ${graphError.code}` : ''}`,
    );
    return error;
  }

  const client: GraphClient = {
    request,
    batch: (requests, call) =>
      runBatch(requests, call, {
        send: (envelope, envelopeCall) => request(envelope, envelopeCall),
        throttle,
        throttleRetries,
        backOff,
        baseUrl,
        context: (url) => ({
          url: `${baseUrl}${url.startsWith('/') ? '' : '/'}${url}`,
          method: 'POST',
          user: call.mailbox ?? mailboxOf(url) ?? 'the tenant',
          account,
        }),
        prefer: standardPrefer,
      }),
  };
  return client;
}

/** An accepted error answer's body: JSON when it is JSON, else the bytes; never a failure of its own. */
function decodeLeniently(answer: HttpAnswer): unknown {
  try {
    return decodeBody(answer, '');
  } catch (error) {
    if (isExhError(error)) return answer.bytes;
    throw error;
  }
}

/** The `roles` claim of an access token, read without verifying it (Graph verified it); undefined if unreadable. */
function rolesOf(token: string): string[] | undefined {
  try {
    const payload = JSON.parse(Buffer.from(token.split('.')[1] ?? '', 'base64url').toString('utf8')) as {
      roles?: unknown;
    };
    return Array.isArray(payload.roles) ? payload.roles.filter((role) => typeof role === 'string') : [];
  } catch {
    return undefined;
  }
}
