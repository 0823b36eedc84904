import { errors, isExhError } from '../../errors.js';
import type { CallOptions } from '../../ports/exchange.port.js';
import type { GraphBatchRequest, GraphBatchResult, GraphRequest, GraphResponse } from './client.js';
import { fromGraphStatus, type GraphErrorContext, retryAfterMs } from './errors.js';
import type { MailboxThrottle } from './throttle.js';

/**
 * JSON batching (https://learn.microsoft.com/graph/json-batching): many requests in envelopes of at most 20, POSTed
 * to {baseUrl}/$batch, at most 4 envelopes in flight (each is a request of its mailbox, so they count against the
 * mailbox's 4 in the pool too). Graph answers each sub-request on its own, in any order: a sub-response's 429 or 503
 * pauses the mailbox for its Retry-After and that sub-request alone goes again in a later envelope; the others keep
 * their answers. A body Graph could not give as JSON comes base64-encoded (the docs' "non-JSON content").
 */

/** Graph's limit of requests per envelope. */
export const maxPerEnvelope = 20;
/** Envelopes in flight at once: Outlook's 4 concurrent requests per mailbox. */
export const envelopesInFlight = 4;

export interface BatchDeps {
  /** The client's request: the envelope gets the client's 401, throttling and error handling. */
  send(request: GraphRequest, call: CallOptions): Promise<GraphResponse>;
  throttle: MailboxThrottle;
  throttleRetries: number;
  backOff(attempt: number): number;
  baseUrl: string;
  /** Whom a sub-request's error names. */
  context(url: string): GraphErrorContext;
  /** The Prefer values every request carries (the envelope's headers do not reach its sub-requests). */
  prefer: readonly string[];
}

interface SubResponse {
  id?: unknown;
  status?: unknown;
  headers?: unknown;
  body?: unknown;
}

export async function runBatch(
  requests: readonly GraphBatchRequest[],
  call: CallOptions & { mailbox?: string },
  deps: BatchDeps,
): Promise<GraphBatchResult[]> {
  const results = new Array<GraphBatchResult | undefined>(requests.length);
  const attempts = new Array<number>(requests.length).fill(0);
  let pending = requests.map((_, index) => index);
  while (pending.length > 0) {
    const envelopes: number[][] = [];
    for (let start = 0; start < pending.length; start += maxPerEnvelope) {
      envelopes.push(pending.slice(start, start + maxPerEnvelope));
    }
    const again: number[] = [];
    await inParallel(envelopes, envelopesInFlight, async (indices) => {
      const answer = await deps.send(
        {
          method: 'POST',
          url: '/$batch',
          body: {
            requests: indices.map((index) => subRequest(String(index), requests[index] as GraphBatchRequest, deps)),
          },
          ...(call.mailbox === undefined ? {} : { mailbox: call.mailbox }),
        },
        call,
      );
      const answered = new Map<number, SubResponse>();
      const responses = (answer.body as { responses?: unknown } | undefined)?.responses;
      if (Array.isArray(responses)) {
        for (const response of responses as SubResponse[]) answered.set(Number(response?.id), response);
      }
      for (const index of indices) {
        const request = requests[index] as GraphBatchRequest;
        const response = answered.get(index);
        const context = deps.context(request.url);
        if (!response || typeof response.status !== 'number') {
          results[index] = {
            id: request.id,
            ok: false,
            error: errors.exchangeRequestFailed(
              context.url,
              '$batch',
              'the batch answer has no response for this request',
            ),
          };
          continue;
        }
        const headers = new Headers(plainHeaders(response.headers));
        const status = response.status;
        if (status >= 200 && status < 300) {
          try {
            results[index] = {
              id: request.id,
              ok: true,
              response: { status, headers, body: subBody(response.body, headers, context.url) },
            };
          } catch (error) {
            if (!isExhError(error)) throw error;
            results[index] = { id: request.id, ok: false, error };
          }
          continue;
        }
        const throttled = status === 429 || status === 503 || status === 504;
        const waitMs = retryAfterMs(headers.get('retry-after'), deps.throttle.clock.now());
        const backOffMs = waitMs ?? (throttled ? deps.backOff(attempts[index] ?? 0) : undefined);
        if (throttled) deps.throttle.pause(call.mailbox, backOffMs ?? 0);
        if (throttled && (attempts[index] ?? 0) < deps.throttleRetries) {
          attempts[index] = (attempts[index] ?? 0) + 1;
          again.push(index);
          continue;
        }
        results[index] = {
          id: request.id,
          ok: false,
          error: fromGraphStatus(status, headers, response.body, context, backOffMs),
        };
      }
    });
    // The next round's envelope waits out the pause in the client's request (MailboxThrottle.wait).
    pending = again.sort((a, b) => a - b);
  }
  return results as GraphBatchResult[];
}

function subRequest(id: string, request: GraphBatchRequest, deps: BatchDeps): Record<string, unknown> {
  const headers: Record<string, string> = { ...request.headers };
  const names = new Set(Object.keys(headers).map((name) => name.toLowerCase()));
  if (!names.has('prefer')) headers.Prefer = deps.prefer.join(', ');
  let url = request.url;
  if (url.toLowerCase().startsWith(deps.baseUrl.toLowerCase())) url = url.slice(deps.baseUrl.length);
  const sub: Record<string, unknown> = { id, method: request.method, url, headers };
  if (request.body !== undefined) {
    if (Buffer.isBuffer(request.body)) {
      // Non-JSON bodies travel base64-encoded with their own Content-Type.
      sub.body = request.body.toString('base64');
    } else {
      sub.body = request.body;
      if (!names.has('content-type')) headers['Content-Type'] = 'application/json';
    }
  }
  return sub;
}

/** A sub-response's body: JSON as it is; a string is base64 (non-JSON content, or JSON Graph chose to encode). */
function subBody(body: unknown, headers: Headers, url: string): unknown {
  if (typeof body !== 'string') return body;
  const json = /json/i.test(headers.get('content-type') ?? '');
  if (!/^[A-Za-z0-9+/=\s]*$/.test(body)) {
    if (json) return body;
    throw errors.exchangeRequestFailed(url, '$batch', 'a non-JSON answer in the batch is not base64');
  }
  const bytes = Buffer.from(body, 'base64');
  if (!json) return bytes;
  try {
    return JSON.parse(bytes.toString('utf8'));
  } catch {
    return body;
  }
}

function plainHeaders(value: unknown): Record<string, string> {
  const out: Record<string, string> = {};
  if (value === null || typeof value !== 'object') return out;
  for (const [name, header] of Object.entries(value as Record<string, unknown>)) {
    if (typeof header === 'string') out[name] = header;
    else if (typeof header === 'number') out[name] = String(header);
  }
  return out;
}

/** Runs `work` over `items`, at most `limit` at a time; the first failure rejects once the running ones settle. */
async function inParallel<T>(items: readonly T[], limit: number, work: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  let failure: { error: unknown } | undefined;
  const worker = async () => {
    while (failure === undefined && next < items.length) {
      const item = items[next] as T;
      next += 1;
      try {
        await work(item);
      } catch (error) {
        failure ??= { error };
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  if (failure) throw failure.error;
}
