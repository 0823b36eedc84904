import { AsyncLocalStorage } from 'node:async_hooks';
import http, { type IncomingHttpHeaders, type IncomingMessage } from 'node:http';
import https from 'node:https';
import { pipeline, type Readable } from 'node:stream';
import { createGunzip, createInflate } from 'node:zlib';
import type { IXHRApi, IXHROptions, IXHRProgress } from 'ews-javascript-api';
import { type ExhError, errors, isExhError } from '../../errors.js';
import type { ExhLogger } from '../../logging/logger.js';
import { fingerprint } from '../subscription-events.js';
import { EnvelopeSplitter, subscriptionIdsOf } from './envelopes.js';
import { type ErrorContext, fromHttpStatus, fromNetworkError } from './errors.js';
import { NtlmConnections, type NtlmCredentials, type Sent } from './ntlm.js';
import { hasDtd } from './xml.js';

/**
 * The one HTTP client of the EWS adapter, set as ews-javascript-api's `service.XHRApi` and used directly for what the
 * adapter sends itself (Autodiscover, GetFolder, GetStreamingEvents). It replaces @ewsjs/xhr because of what that one
 * does wrong for a service: no time-out, no cancellation, HTTP errors on streams lost as unhandled rejections, and
 * envelopes lost when two share a chunk.
 *
 * - Every request has `exchange.timeoutMs` (for a stream: until the answer's headers) and the pool's AbortSignal.
 * - Failures are ExhErrors of the catalogue. The library re-wraps whatever the transport rejects with, so the
 *   transport also leaves its error in the request's scope (`requestScope`), where the adapter picks it up.
 * - `ignoreSsl` turns certificate checks off for this client's agent only, never process-wide.
 * - With NTLM every request goes over a connection that did the handshake (ntlm.ts); the time-out covers the
 *   handshake and the request together.
 */

/** Per request: the pool's signal and whom the request acts for; the transport leaves its error here. */
export interface RequestScope {
  signal: AbortSignal;
  context: Omit<ErrorContext, 'url'>;
  error?: ExhError;
}

/** Carries the scope through ews-javascript-api's promise chains into xhr(). */
export const requestScope = new AsyncLocalStorage<RequestScope>();

export interface TransportOptions {
  timeoutMs: number;
  ignoreSsl: boolean;
  /** The Authorization header of every request (Basic or Bearer); unused with `ntlm`. */
  authorization: string;
  /** NTLM instead: each connection authenticates once, with these credentials. */
  ntlm?: NtlmCredentials;
  /** The account that logs on, for error messages. */
  account: string;
  /** Where the transport reports what it drops (a notification stream that ends inside an envelope). */
  logger?: ExhLogger;
}

export interface HttpAnswer {
  status: number;
  headers: IncomingHttpHeaders;
  body: string;
}

export interface StreamHandlers {
  /** Each complete SOAP envelope of the answer, in order. */
  onEnvelope(envelope: string): void;
  /** Called once: without an error when the server ended the answer, with one when it broke, fell silent or failed. */
  onEnd(error?: ExhError): void;
  /** No bytes for this long ends the stream with EXH_EXCHANGE_TIMEOUT (Exchange sends keep-alives). */
  silenceMs: number;
}

export interface OpenStream {
  headers: IncomingHttpHeaders;
  /** Ends the stream without calling onEnd. */
  close(): void;
}

type XhrResponse = Awaited<ReturnType<IXHRApi['xhr']>>;

interface Started extends Sent {
  fail: (cause: unknown) => ExhError;
  disarm: () => void;
}

function decoded(response: IncomingMessage, onError: (error: Error) => void): Readable {
  const encoding = String(response.headers['content-encoding'] ?? '').toLowerCase();
  if (encoding !== 'gzip' && encoding !== 'deflate') return response;
  const inflate = encoding === 'gzip' ? createGunzip() : createInflate();
  return pipeline(response, inflate, (error) => {
    if (error) onError(error);
  });
}

function xhrResponse(url: string, answer: HttpAnswer): XhrResponse {
  const header = (name: string) => {
    const value = answer.headers[name.toLowerCase()];
    return value === undefined ? null : Array.isArray(value) ? value.join(', ') : value;
  };
  return {
    status: answer.status,
    statusText: http.STATUS_CODES[answer.status] ?? '',
    responseText: answer.body,
    response: answer.body,
    responseURL: url,
    headers: answer.headers,
    getResponseHeader: header,
    getAllResponseHeaders: () =>
      Object.entries(answer.headers)
        .map(([name, value]) => `${name}: ${Array.isArray(value) ? value.join(', ') : value}\r\n`)
        .join(''),
  } as unknown as XhrResponse;
}

export class EwsTransport implements IXHRApi {
  readonly apiName = 'exh';
  readonly #options: TransportOptions;
  readonly #httpAgent = new http.Agent({ keepAlive: true });
  readonly #httpsAgent: https.Agent;
  /** Streams the library opened through xhrStream, which its disconnect() ends. */
  readonly #libraryStreams = new Set<() => void>();
  readonly #open = new Set<() => void>();
  readonly #ntlm: NtlmConnections | undefined;

  constructor(options: TransportOptions) {
    this.#options = options;
    this.#httpsAgent = new https.Agent({ keepAlive: true, rejectUnauthorized: !options.ignoreSsl });
    this.#ntlm = options.ntlm ? new NtlmConnections(options.ntlm, options.ignoreSsl) : undefined;
  }

  get timeoutMs(): number {
    return this.#options.timeoutMs;
  }

  /**
   * Starts a POST; resolves with the response once its headers arrive. Rejects with an ExhError: the caller's abort
   * (EXH_POOL_ABORTED), the time-out, or the network's failure. The time-out and the abort stay armed until the caller
   * disarms them (after the body, or for a stream once it is open).
   */
  #start(
    url: string,
    body: string,
    headers: Record<string, string>,
    signal: AbortSignal | undefined,
    context: ErrorContext,
  ): Promise<Started> {
    let target: URL;
    try {
      target = new URL(url);
    } catch {
      return Promise.reject(
        errors.exchangeRequestFailed(url, 'invalid URL', 'the EWS or Autodiscover URL cannot be parsed'),
      );
    }
    const deadline = Date.now() + this.#options.timeoutMs;
    const attempt = (agent: http.Agent, authorization: string | undefined, payload: string) =>
      this.#attempt(target, agent, authorization, payload, headers, signal, context, deadline);
    if (this.#ntlm) return this.#ntlm.start(target, body, attempt);
    const agent = target.protocol === 'https:' ? this.#httpsAgent : this.#httpAgent;
    return attempt(agent, this.#options.authorization, body);
  }

  /** One HTTP exchange of a request (with NTLM there can be three); its timer runs until `deadline`. */
  #attempt(
    target: URL,
    agent: http.Agent,
    authorization: string | undefined,
    body: string,
    headers: Record<string, string>,
    signal: AbortSignal | undefined,
    context: ErrorContext,
    deadline: number,
  ): Promise<Started> {
    const url = context.url;
    return new Promise((resolve, reject) => {
      const secure = target.protocol === 'https:';
      let timedOut = false;
      const fail = (cause: unknown): ExhError => {
        if (timedOut) return errors.exchangeTimeout(url, this.#options.timeoutMs);
        if (signal?.aborted) return isExhError(signal.reason) ? signal.reason : errors.poolAborted();
        return fromNetworkError(cause, context);
      };
      const request = (secure ? https : http).request(target, {
        method: 'POST',
        agent,
        headers: {
          ...headers,
          ...(authorization ? { authorization } : {}),
          'content-length': String(Buffer.byteLength(body)),
        },
      });
      const timer = setTimeout(
        () => {
          timedOut = true;
          request.destroy(new Error('time-out'));
        },
        Math.max(0, deadline - Date.now()),
      );
      const onAbort = () => request.destroy(new Error('aborted'));
      signal?.addEventListener('abort', onAbort, { once: true });
      const disarm = () => {
        clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
      };
      const cancel = () => {
        disarm();
        request.destroy();
      };
      this.#open.add(cancel);
      request.on('close', () => {
        disarm();
        this.#open.delete(cancel);
      });
      request.on('error', (error) => {
        disarm();
        reject(fail(error));
      });
      request.on('response', (response) => {
        const discard = () =>
          new Promise<void>((done, failed) => {
            const stop = (error: unknown) => {
              disarm();
              failed(fail(error));
            };
            response.on('error', stop);
            response.on('close', () => {
              if (!response.complete) stop(new Error('the connection closed before the answer was complete'));
            });
            response.on('end', () => {
              disarm();
              done();
            });
            response.resume();
          });
        resolve({ request, response, fail, disarm, discard });
      });
      if (signal?.aborted) onAbort();
      request.end(body);
    });
  }

  /** One request, answer read to the end within the time-out; any HTTP status resolves. */
  async send(
    url: string,
    body: string,
    headers: Record<string, string>,
    signal: AbortSignal | undefined,
    context: Omit<ErrorContext, 'url'>,
  ): Promise<HttpAnswer> {
    const full = { ...context, url };
    const { response, fail, disarm } = await this.#start(url, body, headers, signal, full);
    return new Promise((resolve, reject) => {
      const chunks: Buffer[] = [];
      let settled = false;
      const stop = (error: unknown) => {
        if (settled) return;
        settled = true;
        disarm();
        reject(fail(error));
      };
      const stream = decoded(response, stop);
      stream.on('data', (chunk: Buffer) => chunks.push(chunk));
      stream.on('error', stop);
      response.on('close', () => {
        if (!response.complete) stop(new Error('the connection closed before the answer was complete'));
      });
      stream.on('end', () => {
        if (settled) return;
        settled = true;
        disarm();
        const text = Buffer.concat(chunks).toString('utf8');
        resolve({ status: response.statusCode ?? 0, headers: response.headers, body: text });
      });
    });
  }

  /**
   * A hanging request (GetStreamingEvents): resolves once the answer's headers are in with status 200, then hands
   * over complete envelopes as they arrive. Any other status rejects with the catalogue's error for it.
   */
  async openStream(
    url: string,
    body: string,
    headers: Record<string, string>,
    signal: AbortSignal | undefined,
    context: Omit<ErrorContext, 'url'>,
    handlers: StreamHandlers,
  ): Promise<OpenStream> {
    const full = { ...context, url };
    const { request, response, fail, disarm } = await this.#start(url, body, headers, signal, full);
    if (response.statusCode !== 200) {
      // The error's body (a SOAP fault says which) is read within the same time-out.
      const answer = await collect(response).catch(() => '');
      disarm();
      request.destroy();
      throw fromHttpStatus(response.statusCode ?? 0, answer, response.headers, full);
    }
    disarm();
    const splitter = new EnvelopeSplitter();
    let ended = false;
    let silence: NodeJS.Timeout | undefined;
    const end = (error?: ExhError) => {
      if (ended) return;
      ended = true;
      clearTimeout(silence);
      this.#warnUnclosed(splitter, body, full, error);
      signal?.removeEventListener('abort', close);
      request.destroy();
      handlers.onEnd(error);
    };
    const close = () => {
      if (ended) return;
      ended = true;
      clearTimeout(silence);
      signal?.removeEventListener('abort', close);
      request.destroy();
    };
    const watch = () => {
      clearTimeout(silence);
      silence = setTimeout(
        () => end(errors.exchangeTimeout(url, handlers.silenceMs, 'keep-alive on the notification stream')),
        handlers.silenceMs,
      );
    };
    signal?.addEventListener('abort', close, { once: true });
    const stream = decoded(response, (error) => end(fromNetworkError(error, full)));
    stream.on('data', (chunk: Buffer) => {
      if (ended) return;
      watch();
      try {
        for (const envelope of splitter.push(chunk)) {
          if (ended) return;
          handlers.onEnvelope(envelope);
        }
      } catch (error) {
        end(errors.exchangeRequestFailed(url, 'GetStreamingEvents', String((error as Error).message ?? error)));
      }
    });
    stream.on('error', (error) => end(isExhError(error) ? error : fromNetworkError(error, full)));
    stream.on('end', () => end());
    response.on('close', () => {
      // A socket that closes without a clean end (reset, proxy gone) is a broken stream.
      if (!response.complete) end(fail(new Error('the notification stream broke off')));
    });
    watch();
    return { headers: response.headers, close };
  }

  /**
   * A notification stream that ended inside an envelope lost what that envelope held (the events of one or more of
   * its subscriptions): said with the subscriptions' fingerprints, as the streaming groups name them, not dropped.
   */
  #warnUnclosed(splitter: EnvelopeSplitter, body: string, context: ErrorContext, error: ExhError | undefined): void {
    if (splitter.pending === 0) return;
    const subscriptions = subscriptionIdsOf(body).map(fingerprint);
    this.#options.logger?.warn(
      {
        user: context.user,
        url: context.url,
        subscriptions,
        chars: splitter.pending,
        ...(error ? { code: error.code } : {}),
      },
      `The notification stream ended inside an envelope (${splitter.pending} characters unread): the events it held for subscription(s) ${subscriptions.join(', ')} are lost`,
    );
  }

  // ews-javascript-api's IXHRApi.

  async xhr(options: IXHROptions): Promise<XhrResponse> {
    const scope = requestScope.getStore();
    const context = scope?.context ?? { user: '', account: this.#options.account };
    try {
      const answer = await this.send(
        options.url,
        String(options.data ?? ''),
        plainHeaders(options.headers),
        scope?.signal,
        context,
      );
      if (answer.status === 200 && hasDtd(answer.body)) {
        // The library's parser (xmldom) would read it, keeping the entity references as text: a sync state of
        // "&xxe;" would become the watermark. Refused as the adapter's own parser refuses it.
        throw errors.exchangeRequestFailed(
          options.url,
          operationOf(String(options.data ?? '')),
          'the answer is not XML: a DTD is not allowed in SOAP',
        );
      }
      if (answer.status === 200) return xhrResponse(options.url, answer);
      throw fromHttpStatus(answer.status, answer.body, answer.headers, { ...context, url: options.url });
    } catch (error) {
      const exh = isExhError(error) ? error : fromNetworkError(error, { ...context, url: options.url });
      if (scope) scope.error = exh;
      // The library turns a rejection into SoapFaultDetails; the adapter reads scope.error instead.
      throw exh;
    }
  }

  /**
   * The library's streaming entry (StreamingSubscriptionConnection): one `data` progress per complete envelope, HTTP
   * and stream failures as an `error` progress and a rejection the library handles, never an unhandled one.
   */
  async xhrStream(options: IXHROptions, progress: (data: IXHRProgress) => void): Promise<XhrResponse> {
    const scope = requestScope.getStore();
    const context = scope?.context ?? { user: '', account: this.#options.account };
    return new Promise<XhrResponse>((resolve, reject) => {
      const fail = (error: ExhError) => {
        progress({ type: 'error', error });
        reject(error);
      };
      let stop: (() => void) | undefined;
      this.openStream(options.url, String(options.data ?? ''), plainHeaders(options.headers), scope?.signal, context, {
        silenceMs: 2 * 45_000,
        onEnvelope: (envelope) => progress({ type: 'data', data: envelope }),
        onEnd: (error) => {
          if (stop) this.#libraryStreams.delete(stop);
          if (error) fail(error);
          else {
            progress({ type: 'end' });
            resolve(xhrResponse(options.url, { status: 200, headers: {}, body: '' }));
          }
        },
      }).then(
        (open) => {
          stop = () => {
            open.close();
            resolve(xhrResponse(options.url, { status: 200, headers: {}, body: '' }));
          };
          this.#libraryStreams.add(stop);
          progress({ type: 'header', headers: open.headers });
        },
        (error: unknown) => fail(isExhError(error) ? error : fromNetworkError(error, { ...context, url: options.url })),
      );
    });
  }

  disconnect(): void {
    for (const stop of [...this.#libraryStreams]) stop();
    this.#libraryStreams.clear();
  }

  /** Ends every request in flight and the idle sockets. */
  close(): void {
    this.disconnect();
    for (const cancel of [...this.#open]) cancel();
    this.#httpAgent.destroy();
    this.#httpsAgent.destroy();
    this.#ntlm?.close();
  }
}

/** The EWS operation of a SOAP request (the first element of its Body), for messages. */
function operationOf(request: string): string {
  return /<(?:[\w-]+:)?Body[^>]*>\s*<(?:[\w-]+:)?([\w-]+)/.exec(request)?.[1] ?? 'EWS';
}

function plainHeaders(headers: unknown): Record<string, string> {
  const out: Record<string, string> = {};
  if (headers === null || typeof headers !== 'object') return out;
  for (const [name, value] of Object.entries(headers as Record<string, unknown>)) {
    if (value === undefined || value === null) continue;
    // The transport sets Authorization (from the configuration) and Content-Length itself.
    const lower = name.toLowerCase();
    if (lower === 'authorization' || lower === 'content-length' || lower === 'host') continue;
    out[name] = String(value);
  }
  return out;
}

function collect(response: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    const stream = decoded(response, reject);
    stream.on('data', (chunk: Buffer) => chunks.push(chunk));
    stream.on('error', reject);
    stream.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
  });
}
