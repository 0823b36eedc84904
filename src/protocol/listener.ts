import { createHash, timingSafeEqual } from 'node:crypto';
import { type AddressInfo, createServer as createTcpServer, type Server, type Socket } from 'node:net';
import { createServer as createTlsServer } from 'node:tls';
import { describe, errors, isExhError } from '../errors.js';
import type { ExhLogger } from '../logging/logger.js';
import { throttledWarning } from '../logging/throttled-warning.js';
import { type DatabaseRequest, parseRequest } from './messages.js';
import { failure, type Reply, replyForError, replySchema } from './replies.js';

/**
 * The database listener (`listeners.database`): the database's senders open a TCP connection, send ONE request as a
 * line of JSON and read ONE reply line (docs/protocol.md). Everything a client can do wrong — garbage, a half
 * request, an endless line, a wrong token, an abrupt close — ends that one connection with a reply where possible
 * and never reaches `handle`; the listener keeps serving.
 *
 * Clients without the token cannot crowd the senders out (docs/protocol.md, "Limits and time-outs"): a connection
 * must authenticate within `authTimeoutMs` of being accepted, however slowly it trickles bytes; connections not
 * authenticated yet have a budget of their own (`maxUnauthenticated`), and when it overflows the oldest of them give
 * way with a busy reply, so a sender whose request arrives at once always gets in; authenticated requests have their
 * own `maxConnections`. Every refusal is a reply line followed by an orderly close, never a reset.
 */

export interface RequestContext {
  remoteAddress: string;
  /**
   * Writes a progress line (`{"progress": {...}}`) before the reply, for requests that asked for it (`"progress":
   * true` on syncItems); senders that did not ask never see one.
   */
  progress(value: Record<string, unknown>): void;
  /**
   * Several instances: the instance that handed this request on to this one (the request's `forwardedBy`,
   * src/protocol/forwarding.ts). Such a request is answered here or refused, never handed on again.
   */
  forwardedBy?: string;
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
  /**
   * A connection must have sent the right token within this time after it was accepted (bytes trickling in do not
   * renew it): at the start of its line (`{"token": …` first), or with the whole line. Default 2 s.
   */
  authTimeoutMs?: number;
  /** Connections not authenticated yet; beyond this the oldest give way with a busy reply (521). Default 32. */
  maxUnauthenticated?: number;
  /** Authenticated requests at once (read or being handled); one more gets a busy reply (521). Default 256. */
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
/** Answered connections waiting for their client to close; beyond this the oldest is closed (fds are finite). */
const maxLingering = 1_024;
/** How much of a line is looked at for a token that comes first (`{"token": "…"`), before the line is complete. */
const tokenPrefixBytes = 1_024;
const tokenFirst = /^\uFEFF?[ \t\r]*\{[ \t\r]*"token"[ \t\r]*:[ \t\r]*("(?:[^"\\]|\\.)*")/;
const newline = 0x0a;
const lineEndHint = '(a request is one line ending in \\n)';

export async function startDatabaseListener(options: DatabaseListenerOptions): Promise<DatabaseListener> {
  const log = options.logger.child({ actor: 'database-listener' });
  const maxMessageBytes = options.maxMessageBytes ?? defaultMaxMessageBytes;
  const readTimeoutMs = options.readTimeoutMs ?? 30_000;
  const idleTimeoutMs = options.idleTimeoutMs ?? 10_000;
  const authTimeoutMs = options.authTimeoutMs ?? 2_000;
  const maxUnauthenticated = options.maxUnauthenticated ?? 32;
  const maxConnections = options.maxConnections ?? 256;
  const closeTimeoutMs = options.closeTimeoutMs ?? 5_000;
  const expectedToken = digest(options.token);
  const reading = new Set<Socket>();
  const handling = new Map<Socket, Promise<void>>();
  const open = new Set<Socket>();
  /** Accepted, not authenticated yet; oldest first. */
  const unauthenticated = new Set<Admission>();
  /** Authenticated, not answered yet: what maxConnections counts. */
  const authenticated = new Set<Socket>();
  /** Answered, waiting for the client to close (or lingerMs); oldest first. */
  const lingering = new Set<Socket>();
  // A client without the token can cause these by the thousand: summarised rather than one record each.
  const warnBusy = throttledWarning(log);
  const warnLate = throttledWarning(log);

  const busy = (reason: string) => replyForError(errors.listenerBusy(reason));

  /**
   * Over budget, the oldest unauthenticated connections give way. Not at accept: a burst of senders is accepted all
   * at once before any of their lines is read, and two turns of the event loop later those that sent their request
   * straight away (every real sender) have authenticated and left the budget; what is still waiting then is idle.
   */
  let sweeping = false;
  const sweep = () => {
    sweeping = false;
    for (const admission of unauthenticated) {
      if (unauthenticated.size <= maxUnauthenticated) break;
      unauthenticated.delete(admission);
      warnBusy(
        { remoteAddress: admission.remoteAddress },
        `Gave a connection from ${admission.remoteAddress} a busy reply: more than ${maxUnauthenticated} connections ` +
          'had not sent their token (listeners.database.maxUnauthenticated)',
      );
      admission.giveWay(
        busy(
          `more than ${maxUnauthenticated} connections are waiting to send their request ` +
            '(listeners.database.maxUnauthenticated); try again',
        ),
      );
    }
  };

  /** Every accepted TCP connection, TLS ones included from before their handshake: the deadline runs from here. */
  const accept = (raw: Socket): Admission => {
    const admission: Admission = {
      remoteAddress: raw.remoteAddress ?? 'unknown',
      // Until the TLS handshake is done there is no channel for a reply: such a connection is simply closed.
      giveWay: () => raw.destroy(),
    };
    unauthenticated.add(admission);
    const deadline = setTimeout(() => {
      if (!unauthenticated.has(admission)) return;
      unauthenticated.delete(admission);
      warnLate(
        { remoteAddress: admission.remoteAddress },
        `Dropped a connection from ${admission.remoteAddress}: no token within ${authTimeoutMs} ms ` +
          '(listeners.database.authTimeoutMs)',
      );
      admission.giveWay(
        failure(
          `Request refused: no authenticated request within ${authTimeoutMs} ms of connecting ${lineEndHint}, ` +
            'its token first).',
        ),
      );
    }, authTimeoutMs);
    raw.once('close', () => {
      clearTimeout(deadline);
      unauthenticated.delete(admission);
    });
    if (unauthenticated.size > maxUnauthenticated && !sweeping) {
      sweeping = true;
      setImmediate(() => setImmediate(sweep));
    }
    return admission;
  };

  /** The connection has shown the token: it leaves the unauthenticated budget and takes a slot, if there is one. */
  const admit = (admission: Admission, socket: Socket): boolean => {
    unauthenticated.delete(admission);
    if (authenticated.size >= maxConnections) {
      warnBusy(
        { remoteAddress: admission.remoteAddress },
        `Gave a request from ${admission.remoteAddress} a busy reply: ${maxConnections} requests are being handled ` +
          '(listeners.database.maxConnections)',
      );
      return false;
    }
    authenticated.add(socket);
    return true;
  };

  /** Reads one line from the socket, never holding more than maxMessageBytes of it. */
  const serve = (socket: Socket, admission: Admission) => {
    const remoteAddress = admission.remoteAddress;
    const chunks: Buffer[] = [];
    let size = 0;
    let admitted = false;
    let lookForToken = true;
    let replied = false;
    open.add(socket);
    reading.add(socket);
    // A reset or a vanished client is ordinary here, and 'close' follows every error.
    socket.on('error', () => {});

    const readTimer = setTimeout(
      () => refuse(`the request was not complete within ${readTimeoutMs} ms ${lineEndHint}`),
      readTimeoutMs,
    );
    socket.setTimeout(idleTimeoutMs, () => refuse(`nothing received for ${idleTimeoutMs} ms ${lineEndHint}`));
    socket.once('close', () => {
      clearTimeout(readTimer);
      open.delete(socket);
      reading.delete(socket);
      authenticated.delete(socket);
      lingering.delete(socket);
    });

    const stopReading = () => {
      if (!reading.has(socket)) return;
      clearTimeout(readTimer);
      socket.setTimeout(0);
      reading.delete(socket);
      socket.off('data', onData);
      // Whatever follows is drained and dropped, so that the reply is not lost to a reset.
      socket.on('data', () => {});
    };
    /** The one reply, then an orderly close: the client reads it and closes, or is disconnected after lingerMs. */
    const reply = (answer: Reply) => {
      if (replied) return;
      replied = true;
      stopReading();
      unauthenticated.delete(admission);
      authenticated.delete(socket);
      if (socket.destroyed) return;
      socket.end(`${JSON.stringify(answer)}\n`);
      lingering.add(socket);
      for (const oldest of lingering) {
        if (lingering.size <= maxLingering) break;
        lingering.delete(oldest);
        oldest.destroy();
      }
      setTimeout(() => socket.destroy(), lingerMs).unref();
    };
    admission.giveWay = reply;
    const refuse = (problem: string) => {
      if (replied) return;
      log.warn({ remoteAddress }, `Refused a request from ${remoteAddress}: ${problem}`);
      reply(failure(`Request refused: ${problem}.`));
    };
    const enter = () => {
      admitted = admit(admission, socket);
      if (!admitted)
        reply(busy(`${maxConnections} requests are being handled (listeners.database.maxConnections); try again`));
      return admitted;
    };

    /**
     * A request whose line starts with its token authenticates as soon as that much has arrived, so a large one
     * (an attachment) has the read time-out for the rest; a wrong token is refused without waiting for the rest.
     */
    const tokenAtStart = () => {
      if (size > tokenPrefixBytes) {
        lookForToken = false;
        return;
      }
      const match = tokenFirst.exec(new TextDecoder('utf-8').decode(Buffer.concat(chunks, size)));
      if (!match?.[1]) return;
      lookForToken = false;
      let token: unknown;
      try {
        token = JSON.parse(match[1]);
      } catch {
        return; // Not a JSON string after all: the whole line decides.
      }
      if (typeof token !== 'string' || token === '') return;
      if (!timingSafeEqual(digest(token), expectedToken)) refuse(wrongToken);
      else enter();
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
      if (end < 0) {
        if (!admitted && lookForToken) tokenAtStart();
        return;
      }
      stopReading();
      const line = Buffer.concat(chunks, size);
      chunks.length = 0;
      const checked = authenticate(line);
      if (!checked.ok) {
        refuse(checked.problem);
        return;
      }
      if (!admitted && !enter()) return;
      const progress = (value: Record<string, unknown>) => {
        if (!socket.destroyed && socket.writable) socket.write(`${JSON.stringify({ progress: value })}\n`);
      };
      const done = answer(checked.value, remoteAddress, progress).then(reply, (error: unknown) =>
        reply(replyForError(error)),
      );
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

  /** The line as JSON with the right token, or the problem (checked before anything else in it is looked at). */
  const authenticate = (line: Buffer): { ok: true; value: unknown } | { ok: false; problem: string } => {
    let text: string;
    try {
      text = new TextDecoder('utf-8', { fatal: true }).decode(line);
    } catch {
      return { ok: false, problem: 'the request is not valid UTF-8' };
    }
    let value: unknown;
    try {
      value = JSON.parse(text.replace(/^\uFEFF/, '').replace(/\r$/, ''));
    } catch (error) {
      return { ok: false, problem: `malformed JSON: ${describe(error)}` };
    }
    // The token first: an unauthenticated client learns nothing about the request format.
    const token = typeof value === 'object' && value !== null ? (value as { token?: unknown }).token : undefined;
    if (typeof token !== 'string' || token === '') {
      return { ok: false, problem: 'unauthenticated: the request has no token (the exh_listener_token of exh_set_up)' };
    }
    if (!timingSafeEqual(digest(token), expectedToken)) return { ok: false, problem: wrongToken };
    return { ok: true, value };
  };

  const answer = async (
    value: unknown,
    remoteAddress: string,
    progress: RequestContext['progress'],
  ): Promise<Reply> => {
    const parsed = parseRequest(value);
    if (!parsed.ok) {
      log.warn({ remoteAddress }, `Refused a request from ${remoteAddress}: invalid request: ${parsed.problem}`);
      return failure(`Request refused: invalid request: ${parsed.problem}.`);
    }
    const request = parsed.request;
    const forwardedBy = parsed.forwardedBy;
    log.debug(
      { remoteAddress, type: request.type, ...(forwardedBy === undefined ? {} : { forwardedBy }) },
      `Request ${request.type} from ${remoteAddress}${forwardedBy === undefined ? '' : ` (handed on by ${forwardedBy})`}`,
    );
    try {
      const wantsProgress = request.type === 'syncItems' && request.progress === true;
      const context: RequestContext = { remoteAddress, progress: wantsProgress ? progress : () => {} };
      if (forwardedBy !== undefined) context.forwardedBy = forwardedBy;
      const result = replySchema.safeParse(await options.handle(request, context));
      if (result.success) return result.data;
      log.error({ type: request.type }, `The handler of ${request.type} returned no valid reply (a bug)`);
      return failure(`The connector could not answer the ${request.type} request (internal error).`);
    } catch (error) {
      const code = isExhError(error) ? error.code : undefined;
      log.warn({ type: request.type, code }, `Request ${request.type} failed: ${describe(error)}`);
      return replyForError(error);
    }
  };

  // No server.maxConnections: Node would close a connection beyond it unanswered, which its sender sees as a reset.
  const server: Server = options.tls
    ? createTlsServer({
        key: options.tls.key,
        cert: options.tls.cert,
        handshakeTimeout: authTimeoutMs,
        allowHalfOpen: true,
      })
    : createTcpServer({ allowHalfOpen: true });
  // Every TCP connection, including TLS ones still shaking hands (those reach `serve` only once secure).
  const connections = new Set<Socket>();
  /** TLS only: the admission of each raw connection, found again by its remote end once the handshake is done. */
  const handshaking = new Map<string, Admission>();
  const remoteEnd = (socket: Socket) => `${socket.remoteAddress}|${socket.remotePort}`;
  server.on('connection', (raw: Socket) => {
    connections.add(raw);
    raw.once('close', () => connections.delete(raw));
    const admission = accept(raw);
    if (!options.tls) {
      serve(raw, admission);
      return;
    }
    const key = remoteEnd(raw);
    handshaking.set(key, admission);
    raw.once('close', () => handshaking.delete(key));
  });
  server.on('secureConnection', (socket: Socket) => {
    const key = remoteEnd(socket);
    const admission = handshaking.get(key);
    handshaking.delete(key);
    if (!admission || !unauthenticated.has(admission)) socket.destroy();
    else serve(socket, admission);
  });
  server.on('tlsClientError', (error: Error) => log.debug(`TLS handshake failed: ${describe(error)}`));

  await new Promise<void>((resolve, reject) => {
    server.once('error', (error) => reject(errors.listenerFailed('database', options.host, options.port, error)));
    // A burst of senders beyond Node's default backlog (511) would wait for SYN retries; the kernel caps this anyway.
    server.listen({ host: options.host, port: options.port, backlog: 1_024 }, () => resolve());
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

/** A connection from its accept until it authenticates: how it is made to give way (a reply, once it can carry one). */
interface Admission {
  readonly remoteAddress: string;
  giveWay: (reply: Reply) => void;
}

const wrongToken = 'unauthenticated: wrong token (the exh_listener_token of exh_set_up)';

/** Equal-length digests, so that timingSafeEqual neither throws nor reveals the token's length. */
function digest(token: string): Buffer {
  return createHash('sha256').update(token, 'utf8').digest();
}
