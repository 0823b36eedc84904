import type { FastifyReply, FastifyRequest } from 'fastify';

export interface SseStream {
  send(event: string, data: unknown): void;
  close(): void;
}

/** Most event streams (/api/events and /api/inspect together) open at once; the next one gets 503. */
export const maxSseClients = 64;

/**
 * Bytes written to a stream and not yet taken by its client (Node's buffer and the socket's) above which the client
 * is dropped: one that stopped reading would otherwise make the connector's memory grow with every transition, as
 * the log feed drops stalled telnet clients.
 */
export const maxSseBufferedBytes = 256 * 1024;

export interface SseOptions {
  /** Told once when the client is dropped for not reading (then `onClose` runs as for any close). */
  onStalled?: (bufferedBytes: number) => void;
  /** Tests lower it. */
  maxBufferedBytes?: number;
}

/**
 * Turns a request into a server-sent-events stream (text/event-stream): `send` writes one event, a comment every
 * 15 s keeps proxies from closing an idle stream, and `onClose` runs once when either side ends it. A client whose
 * unread bytes pass `maxSseBufferedBytes` is dropped (its connection destroyed).
 */
export function openSse(
  request: FastifyRequest,
  reply: FastifyReply,
  onClose: () => void,
  options: SseOptions = {},
): SseStream {
  const limit = options.maxBufferedBytes ?? maxSseBufferedBytes;
  reply.hijack();
  const response = reply.raw;
  response.writeHead(200, {
    'content-type': 'text/event-stream; charset=utf-8',
    'cache-control': 'no-cache, no-transform',
    connection: 'keep-alive',
    'x-accel-buffering': 'no',
  });
  let closed = false;
  const close = () => {
    if (closed) return;
    closed = true;
    clearInterval(keepAlive);
    onClose();
    response.end();
  };
  const write = (text: string) => {
    if (closed) return;
    // writableLength of a response counts what waits in the response and in its socket.
    if (response.write(text) || response.writableLength <= limit) return;
    const buffered = response.writableLength;
    closed = true;
    clearInterval(keepAlive);
    onClose();
    options.onStalled?.(buffered);
    // end() would wait for the client to read what is buffered; it never will.
    response.destroy();
  };
  const keepAlive = setInterval(() => write(': keep-alive\n\n'), 15_000);
  keepAlive.unref();
  write(': exh\n\n');
  request.raw.on('close', close);
  return {
    send: (event, data) => write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`),
    close,
  };
}
