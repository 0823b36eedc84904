import type { Core } from '../context.js';
import type { Mailbox } from '../store/mailbox.js';

/**
 * One Graph request as the emulator's handlers see it, whether it came over HTTP or inside a JSON `$batch`, and the
 * answer they give. Errors are Graph's: `{"error": {"code", "message"}}` with the HTTP status Microsoft documents
 * (https://learn.microsoft.com/graph/errors).
 */

export interface GraphRequest {
  core: Core;
  method: string;
  /** The path below /graph/v1.0, without the query, e.g. `/users/alice@contoso.test/messages`. */
  path: string;
  query: URLSearchParams;
  /** Header names in lower case. */
  headers: Record<string, string | undefined>;
  /** Parsed JSON for JSON bodies, a Buffer for others, undefined without a body. */
  body: unknown;
  /** The app the bearer token was issued to. */
  appId: string;
  /** http://HOST:PORT, for links and upload URLs. */
  origin: string;
  /** The operation's name for faults and the request log (graph.messages.delta, …), set by the router. */
  operation?: string;
}

export interface GraphResponse {
  status: number;
  headers?: Record<string, string>;
  /** JSON-serialisable, a Buffer (raw content), or undefined for an empty answer. */
  body?: unknown;
}

/** What a handler gets: the request and the mailbox it acts on (for paths under /users/{upn}). */
export interface MailboxRequest extends GraphRequest {
  mailbox: Mailbox;
}

/** A link to another page or round of the same resource: the request's path with these query options. */
export function linkTo(request: GraphRequest, query: URLSearchParams): string {
  const text = query.toString();
  return `${request.origin}/graph/v1.0${request.path}${text ? `?${text}` : ''}`;
}

export class GraphError extends Error {
  override readonly name = 'GraphError';
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }
}

export function errorResponse(error: GraphError, now: number): GraphResponse {
  return {
    status: error.status,
    headers: error.headers,
    body: {
      error: {
        code: error.code,
        message: error.message,
        innerError: { date: new Date(now).toISOString().slice(0, 19), 'request-id': crypto.randomUUID() },
      },
    },
  };
}

export const badRequest = (message: string, code = 'BadRequest') => new GraphError(400, code, message);
export const notFound = (message = 'The specified object was not found in the store.', code = 'ErrorItemNotFound') =>
  new GraphError(404, code, message);

export function ok(body: unknown, status = 200, headers?: Record<string, string>): GraphResponse {
  return headers ? { status, body, headers } : { status, body };
}

/** The JSON body of a write as an object, or a 400 naming what was wrong. */
export function jsonBody(request: GraphRequest): Record<string, unknown> {
  const body = request.body;
  if (body === undefined || Buffer.isBuffer(body))
    throw badRequest('Empty or non-JSON payload: send a JSON object (Content-Type: application/json).');
  if (typeof body !== 'object' || body === null || Array.isArray(body))
    throw badRequest('The request body must be a JSON object.');
  return body as Record<string, unknown>;
}
