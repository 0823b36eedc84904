import { type ExhError, errors, isExhError } from '../../errors.js';
import { fromNetworkError } from '../network-errors.js';
import { safeUrl } from './errors.js';

/**
 * One HTTP exchange with Graph over Node's fetch: the time-out (exchange.timeoutMs) and the caller's signal cover the
 * whole exchange, the answer included; answers are read up to a size limit; redirects are never followed (a bearer
 * token must not travel to another origin). Everything that goes wrong without an HTTP answer is the catalogue's
 * error here; what an answer means is errors.ts's business.
 */

export interface HttpExchange {
  method: string;
  url: string;
  headers: Headers;
  body?: string | Buffer;
}

export interface HttpAnswer {
  status: number;
  headers: Headers;
  bytes: Buffer;
}

export interface HttpOptions {
  /** The caller's (the pool's) signal. */
  signal: AbortSignal;
  timeoutMs: number;
  maxBodyBytes: number;
  /** For messages: the mailbox, and the application that logs on. */
  user: string;
  account: string;
}

/** 64 MiB: more than any JSON page or attachment Graph sends in one answer (attachments above 3 MB are uncommon). */
export const defaultMaxBodyBytes = 64 * 1024 * 1024;

export async function exchange(request: HttpExchange, options: HttpOptions): Promise<HttpAnswer> {
  const timeout = AbortSignal.timeout(options.timeoutMs);
  const signal = AbortSignal.any([options.signal, timeout]);
  const url = safeUrl(request.url);
  const fail = (cause: unknown): ExhError => {
    if (isExhError(cause)) return cause;
    if (options.signal.aborted) return isExhError(options.signal.reason) ? options.signal.reason : errors.poolAborted();
    if (timeout.aborted) return errors.exchangeTimeout(url, options.timeoutMs);
    return fromNetworkError(rootCause(cause), { url });
  };
  try {
    const response = await fetch(request.url, {
      method: request.method,
      headers: request.headers,
      ...(request.body === undefined ? {} : { body: request.body }),
      redirect: 'manual',
      signal,
    });
    const bytes = await readBody(response, url, options.maxBodyBytes);
    return { status: response.status, headers: response.headers, bytes };
  } catch (error) {
    throw fail(error);
  }
}

/** The answer's bytes, refused beyond `max` (by Content-Length before reading, else while reading). */
async function readBody(response: Response, url: string, max: number): Promise<Buffer> {
  const tooLarge = (size: string) =>
    errors.exchangeRequestFailed(
      url,
      'answer too large',
      `the answer has ${size} bytes, more than the ${max} exh reads (a broken proxy or a wrong URL)`,
    );
  const declared = Number(response.headers.get('content-length'));
  if (Number.isFinite(declared) && declared > max) {
    await response.body?.cancel().catch(() => undefined);
    throw tooLarge(String(declared));
  }
  if (!response.body) return Buffer.alloc(0);
  const chunks: Buffer[] = [];
  let size = 0;
  const reader = response.body.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > max) {
      await reader.cancel().catch(() => undefined);
      throw tooLarge(`more than ${max}`);
    }
    chunks.push(Buffer.from(value.buffer, value.byteOffset, value.byteLength));
  }
  return Buffer.concat(chunks, size);
}

/** fetch wraps socket errors ("fetch failed", cause: the errno error): the innermost error with a code says why. */
function rootCause(error: unknown): unknown {
  let current = error;
  for (let depth = 0; depth < 5; depth += 1) {
    const next = (current as { cause?: unknown } | undefined)?.cause;
    if ((current as { code?: unknown } | undefined)?.code !== undefined || next === undefined) return current;
    current = next;
  }
  return current;
}

/** Whether an answer is JSON by its Content-Type (application/json, application/…+json). */
export function isJson(headers: Headers): boolean {
  return /^application\/([\w.-]+\+)?json\b/i.test(headers.get('content-type') ?? '');
}

/**
 * The body of a successful answer: parsed JSON, undefined when empty (204, 202), else the bytes ($value, MIME).
 * Broken JSON is EXH_EXCHANGE_REQUEST_FAILED naming the URL and the first bytes.
 */
export function decodeBody(answer: HttpAnswer, url: string): unknown {
  if (answer.bytes.length === 0) return undefined;
  if (!isJson(answer.headers)) return answer.bytes;
  const text = answer.bytes.toString('utf8');
  try {
    return JSON.parse(text);
  } catch (error) {
    throw errors.exchangeRequestFailed(
      safeUrl(url),
      'invalid JSON',
      `the answer (HTTP ${answer.status}, ${answer.bytes.length} bytes) is not JSON: ${(error as Error).message}; ` +
        `it starts with ${JSON.stringify(text.slice(0, 120))}`,
    );
  }
}
