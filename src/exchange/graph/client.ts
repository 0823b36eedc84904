/**
 * The Microsoft Graph client's contract: a small client over Node's fetch that the Graph adapter (this folder) sends
 * every request through. It knows HTTP, tokens, throttling and Graph's error bodies; it knows nothing of items.
 * docs/exchange-online.md says what Graph asks of a client; no Graph type leaves src/exchange/graph/.
 */
import type { CallOptions } from '../../ports/exchange.port.js';

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
   * mailbox's pause after a 429/503. Absent: a tenant-level request (subscriptions, translateExchangeIds).
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
