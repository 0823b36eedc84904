import { createHash, timingSafeEqual } from 'node:crypto';
import { type AddressInfo, createServer as createTcpServer, type Server, type Socket } from 'node:net';
import { createServer as createTlsServer } from 'node:tls';
import { describe, errors, isExhError } from '../errors.js';
import type { ExhLogger } from '../logging/logger.js';
import { type DatabaseRequest, parseRequest } from './messages.js';
import { failure, type Reply, replyForError, replySchema } from './replies.js';

/**
 * The database listener (`listeners.database`): the database's senders open a TCP connection, send ONE request as a
 * line of JSON and read ONE reply line (docs/protocol.md). Everything a client can do wrong — garbage, a half
 * request, an endless line, a wrong token, an abrupt close — ends that one connection with a reply where possible
 * and never reaches `handle`; the listener keeps serving.
 */

export interface RequestContext {
  remoteAddress: string;
  /**
   * Writes a progress line (`{"progress": {...}}`) before the reply, for requests that asked for it (`"progress":
   * true` on syncItems); senders that did not ask never see one.
   */
  progress(value: Record<string, unknown>): void;
}

export type RequestHandler = (request: DatabaseRequest, context: RequestContext) => Promise<Reply>;

export interface DatabaseListenerOptions {
  host: string;
  /** 0 picks a free port; `address` reports the real one. */
  port: number;
  /** The token every request must carry (exh_listener_token in exh_set_up). */
  token: string;
  handle: RequestHandler;
  logger: ExhLogger;
  /** Longest request line in bytes, without its `\n`; default 16 MiB. Longer requests are refused unread. */
  maxMessageBytes?: number;
  /** A request must be complete (its `\n` received) within this time after connecting; default 30 s. */
  readTimeoutMs?: number;
  /** A connection that sends nothing for this long while its request is incomplete is closed; default 10 s. */
  idleTimeoutMs?: number;
  /** Connections open at once; Node closes any beyond that as soon as it is accepted. Default 256. */
  maxConnections?: number;
  /** How long close() waits for requests being handled before cutting them; default 5 s. */
  closeTimeoutMs?: number;
  /** PEM key and certificate: the listener speaks TLS instead of plain TCP. */
  tls?: { key: string | Buffer; cert: string | Buffer };
}

export interface DatabaseListener {
  readonly address: { host: string; port: number };
  /** Stops accepting, lets requests being handled reply (up to closeTimeoutMs), closes the rest. Idempotent. */
  close(): Promise<void>;
}

export const defaultMaxMessageBytes = 16 * 1024 * 1024;
/** After the reply, how long a client that does not close its end keeps the connection. */
const lingerMs = 2_000;
const newline = 0x0a;

export async function startDatabaseListener(options: DatabaseListenerOptions): Promise<DatabaseListener> {
  const log = options.logger.child({ actor: 'database-listener' });
  const maxMessageBytes = options.maxMessageBytes ?? defaultMaxMessageBytes;
  const readTimeoutMs = options.readTimeoutMs ?? 30_000;
  const idleTimeoutMs = options.idleTimeoutMs ?? 10_000;
  const closeTimeoutMs = options.closeTimeoutMs ?? 5_000;
  const expectedToken = digest(options.token);
  const reading = new Set<Socket>();
  const handling = new Map<Socket, Promise<void>>();
  const open = new Set<Socket>();

  /** Reads one line from the socket, never holding more than maxMessageBytes of it. */
  const serve = (socket: Socket) => {
    const remoteAddress = socket.remoteAddress ?? 'unknown';
    const chunks: Buffer[] = [];
    let size = 0;
    open.add(socket);
    reading.add(socket);
    // A reset or a vanished client is ordinary here, and 'close' follows every error.
    socket.on('error', () => {});

    const readTimer = setTimeout(
      () => refuse(`the request was not complete within ${readTimeoutMs} ms (a request is one line ending in \\n)`),
      readTimeoutMs,
    );
    socket.setTimeout(idleTimeoutMs, () =>
      refuse(`nothing received for ${idleTimeoutMs} ms (a request is one line ending in \\n)`),
    );
    socket.once('close', () => {
      clearTimeout(readTimer);
      open.delete(socket);
      reading.delete(socket);
    });

    const stopReading = () => {
      clearTimeout(readTimer);
      socket.setTimeout(0);
      reading.delete(socket);
      socket.off('data', onData);
      // Whatever follows is drained and dropped, so that the reply is not lost to a reset.
      socket.on('data', () => {});
    };
    const reply = (answer: Reply) => {
      if (socket.destroyed) return;
      socket.end(`${JSON.stringify(answer)}\n`);
      setTimeout(() => socket.destroy(), lingerMs).unref();
    };
    const refuse = (problem: string) => {
      stopReading();
      log.warn({ remoteAddress }, `Refused a request from ${remoteAddress}: ${problem}`);
      reply(failure(`Request refused: ${problem}.`));
    };

    const onData = (chunk: Buffer) => {
      const end = chunk.indexOf(newline);
      const take = end < 0 ? chunk.length : end;
      if (size + take > maxMessageBytes) {
        chunks.length = 0;
        refuse(`the request is larger than the maximum of ${maxMessageBytes} bytes`);
        return;
      }
      chunks.push(end < 0 ? chunk : chunk.subarray(0, end));
      size += take;
      if (end < 0) return;
      stopReading();
      const line = Buffer.concat(chunks, size);
      chunks.length = 0;
      const progress = (value: Record<string, unknown>) => {
        if (!socket.destroyed && socket.writable) socket.write(`${JSON.stringify({ progress: value })}\n`);
      };
      const done = answer(line, remoteAddress, progress).then(reply, (error: unknown) => reply(replyForError(error)));
      handling.set(socket, done);
      void done.finally(() => handling.delete(socket));
    };
    socket.on('data', onData);
    // A sender may shut its output down after the request (Java's shutdownOutput): the end of its stream ends the
    // request as a `\n` would, and the reply can still be written because the server allows half-open connections.
    socket.once('end', () => {
      if (!reading.has(socket)) return;
      if (size === 0) refuse('the connection ended without a request');
      else onData(Buffer.from([newline]));
    });
  };

  const answer = async (line: Buffer, remoteAddress: string, progress: RequestContext['progress']): Promise<Reply> => {
    const refused = (problem: string) => {
      log.warn({ remoteAddress }, `Refused a request from ${remoteAddress}: ${problem}`);
      return failure(`Request refused: ${problem}.`);
    };
    let text: string;
    try {
      text = new TextDecoder('utf-8', { fatal: true }).decode(line);
    } catch {
      return refused('the request is not valid UTF-8');
    }
    let value: unknown;
    try {
      value = JSON.parse(text.replace(/^\uFEFF/, '').replace(/\r$/, ''));
    } catch (error) {
      return refused(`malformed JSON: ${describe(error)}`);
    }
    // The token first: an unauthenticated client learns nothing about the request format.
    const token = typeof value === 'object' && value !== null ? (value as { token?: unknown }).token : undefined;
    if (typeof token !== 'string' || token === '') {
      return refused('unauthenticated: the request has no token (the exh_listener_token of exh_set_up)');
    }
    if (!timingSafeEqual(digest(token), expectedToken)) {
      return refused('unauthenticated: wrong token (the exh_listener_token of exh_set_up)');
    }
    const parsed = parseRequest(value);
    if (!parsed.ok) return refused(`invalid request: ${parsed.problem}`);
    const request = parsed.request;
    log.debug({ remoteAddress, type: request.type }, `Request ${request.type} from ${remoteAddress}`);
    try {
      const wantsProgress = request.type === 'syncItems' && request.progress === true;
      const result = replySchema.safeParse(
        await options.handle(request, { remoteAddress, progress: wantsProgress ? progress : () => {} }),
      );
      if (result.success) return result.data;
      log.error({ type: request.type }, `The handler of ${request.type} returned no valid reply (a bug)`);
      return failure(`The connector could not answer the ${request.type} request (internal error).`);
    } catch (error) {
      const code = isExhError(error) ? error.code : undefined;
      log.warn({ type: request.type, code }, `Request ${request.type} failed: ${describe(error)}`);
      return replyForError(error);
    }
  };

  const server: Server = options.tls
    ? createTlsServer(
        { key: options.tls.key, cert: options.tls.cert, handshakeTimeout: readTimeoutMs, allowHalfOpen: true },
        serve,
      )
    : createTcpServer({ allowHalfOpen: true }, serve);
  server.maxConnections = options.maxConnections ?? 256;
  // Every TCP connection, including TLS ones still shaking hands (those reach `serve` only once secure).
  const connections = new Set<Socket>();
  server.on('connection', (raw: Socket) => {
    connections.add(raw);
    raw.once('close', () => connections.delete(raw));
  });
  server.on('tlsClientError', (error: Error) => log.debug(`TLS handshake failed: ${describe(error)}`));

  await new Promise<void>((resolve, reject) => {
    server.once('error', (error) => reject(errors.listenerFailed('database', options.host, options.port, error)));
    server.listen({ host: options.host, port: options.port }, () => resolve());
  });
  // Accept failures (EMFILE) surface here while the server keeps listening; they must not crash the service.
  server.on('error', (error) => log.warn(`The database listener could not accept a connection: ${describe(error)}`));
  const info = server.address() as AddressInfo;

  let closing: Promise<void> | undefined;
  const closeAll = async () => {
    const serverClosed = new Promise<void>((resolve) => server.close(() => resolve()));
    for (const socket of reading) socket.destroy();
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, closeTimeoutMs);
    });
    await Promise.race([Promise.all(handling.values()), deadline]);
    clearTimeout(timer);
    for (const socket of open) socket.destroy();
    for (const raw of connections) raw.destroy();
    await serverClosed;
  };
  return {
    address: { host: info.address, port: info.port },
    close: () => {
      closing ??= closeAll();
      return closing;
    },
  };
}

/** Equal-length digests, so that timingSafeEqual neither throws nor reveals the token's length. */
function digest(token: string): Buffer {
  return createHash('sha256').update(token, 'utf8').digest();
}
