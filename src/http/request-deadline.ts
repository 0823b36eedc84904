import type { ServerOptions } from 'node:http';

/** listeners.http.requestTimeoutMs and listeners.exchange.requestTimeoutMs unless configured. */
export const defaultRequestTimeoutMs = 30_000;

/**
 * Fastify options for a listener anyone who reaches it may talk to (the HTTP listener, the push receiver): a request
 * must arrive whole, headers and body, within `ms` of its first byte (a connection that sends nothing, within `ms`
 * of connecting), or it gets 408 and the connection is closed. Without this, fastify's default (no request time-out)
 * lets a client that trickles a body a byte at a time, even one already answered 404, keep its connection for ever,
 * and enough of them take every file descriptor of the process, the database listener's included
 * (docs/reliability.md, "Bad input"). Node checks the deadlines every `connectionsCheckingInterval`: a second here,
 * not its 30 s, so that a deadline is not overrun by as much again.
 */
export function requestDeadline(ms: number = defaultRequestTimeoutMs): {
  requestTimeout: number;
  http: ServerOptions;
} {
  return {
    requestTimeout: ms,
    http: { headersTimeout: ms, requestTimeout: ms, connectionsCheckingInterval: Math.min(1_000, ms) },
  };
}
