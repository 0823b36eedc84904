import { type AddressInfo, createServer, type Server, type Socket } from 'node:net';
import { formatRecord, recordCategory } from './format.js';
import type { LogHub } from './log-hub.js';
import { type Category, categories } from './logger.js';

export interface LogFeedOptions {
  host: string;
  /** 0 picks a free port; `address` reports the real one. */
  port: number;
  hub: LogHub;
  /** The first line every client sees. */
  banner: string;
  /** Output a client may leave unread before its records are dropped; default 256 KiB. */
  maxBufferedBytes?: number;
  /** Longest filter line a client may type; longer lines are discarded, never buffered. Default 1024. */
  maxInputLineBytes?: number;
}

export interface LogFeed {
  readonly address: { host: string; port: number };
  readonly clientCount: number;
  /** Says goodbye to every client, stops listening and resolves when all is closed. Idempotent. */
  close(): Promise<void>;
}

const closeGraceMs = 200;
const helpLine =
  'Type letters and Enter to filter: e (errors) w (warnings) a (actions) m (messages); * or an empty line shows all. Now showing: all.';

/**
 * The telnet log, as the original service had it (docs/operations.md, "Watching the log"): a plain TCP server
 * streaming every record as one readable line, each client with its own category filter. Rejects with the listen
 * error (EADDRINUSE, EACCES) so the caller can name the port in its error.
 */
export async function startLogFeed(options: LogFeedOptions): Promise<LogFeed> {
  const limits: SessionLimits = {
    maxBufferedBytes: options.maxBufferedBytes ?? 256 * 1024,
    maxInputLineBytes: options.maxInputLineBytes ?? 1024,
  };
  const sessions = new Set<FeedSession>();
  let unsubscribe: (() => void) | undefined;
  let closing: Promise<void> | undefined;

  // Formatted at most once per record, and only if some client's filter wants it.
  const fanOut = (record: Record<string, unknown>) => {
    const category = recordCategory(record);
    let text: string | undefined;
    const line = () => (text ??= `${formatRecord(record)}\r\n`);
    for (const session of sessions) session.offer(category, line);
  };

  // The write high-water mark equals the buffer limit so that `write()` reports "full" exactly at the limit, which is
  // what makes the socket emit 'drain' once a slow client has caught up.
  const serverOptions = { highWaterMark: limits.maxBufferedBytes, noDelay: true, keepAlive: true };
  const server = createServer(serverOptions, (socket) => {
    if (closing) {
      socket.destroy();
      return;
    }
    const session = new FeedSession(socket, options.banner, limits, () => {
      sessions.delete(session);
      // With nobody watching, the hub goes back to costing the logger nothing.
      if (sessions.size === 0) {
        unsubscribe?.();
        unsubscribe = undefined;
      }
    });
    sessions.add(session);
    unsubscribe ??= options.hub.subscribe(fanOut);
  });

  await listen(server, options.host, options.port);
  // Accept failures (EMFILE) surface here while the server keeps listening; they must not crash the service.
  server.on('error', () => {});
  const info = server.address() as AddressInfo;

  const closeAll = async () => {
    const serverClosed = new Promise<void>((resolve) => server.close(() => resolve()));
    await Promise.all([...sessions].map((session) => session.close()));
    await serverClosed;
  };
  return {
    address: { host: info.address, port: info.port },
    get clientCount() {
      return sessions.size;
    },
    close: () => {
      closing ??= closeAll();
      return closing;
    },
  };
}

function listen(server: Server, host: string, port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen({ host, port }, () => {
      server.off('error', reject);
      resolve();
    });
  });
}

interface SessionLimits {
  maxBufferedBytes: number;
  maxInputLineBytes: number;
}

// Telnet (RFC 854) bytes a client such as PuTTY sends unasked; the feed negotiates nothing and skips them.
const IAC = 0xff;
const SB = 0xfa;
const SE = 0xf0;
const WILL = 0xfb;
const DONT = 0xfe;
const CR = 0x0d;
const LF = 0x0a;
const NUL = 0x00;

type InputState = 'text' | 'afterCr' | 'command' | 'option' | 'subnegotiation' | 'subnegotiationCommand';

/** One connected client: its filter, its typed input and its backlog. */
class FeedSession {
  /** null shows every category. */
  #filter: ReadonlySet<Category> | null = null;
  #dropped = 0;
  #state: InputState = 'text';
  #line = '';
  #lineBytes = 0;
  readonly #closed: Promise<void>;

  constructor(
    private readonly socket: Socket,
    banner: string,
    private readonly limits: SessionLimits,
    onClosed: () => void,
  ) {
    this.#closed = new Promise<void>((resolve) => socket.once('close', () => resolve())).then(onClosed);
    // A reset or a vanished client is ordinary here, and 'close' follows every error.
    socket.on('error', () => {});
    socket.on('data', (chunk: Buffer) => this.#read(chunk));
    socket.on('drain', () => this.#caughtUp());
    this.#write(`${banner}\r\n${helpLine}\r\n`);
  }

  /** `line` formats lazily, so a record filtered out by every client is never formatted. */
  offer(category: Category, line: () => string): void {
    if (this.#filter !== null && !this.#filter.has(category)) return;
    // Dropping, not queueing: a stalled telnet window must cost the service neither memory nor time.
    if (this.#dropped > 0 || this.socket.writableNeedDrain) {
      this.#dropped++;
      return;
    }
    this.#write(line());
  }

  async close(): Promise<void> {
    const timer = setTimeout(() => this.socket.destroy(), closeGraceMs);
    this.#write('exh log feed closing\r\n');
    this.socket.end();
    await this.#closed;
    clearTimeout(timer);
  }

  #caughtUp(): void {
    if (this.#dropped === 0) return;
    const msg = `dropped ${this.#dropped} records: this client was reading too slowly`;
    this.#dropped = 0;
    this.#write(`${formatRecord({ cat: 'M', time: new Date().toISOString(), actor: 'log-feed', msg })}\r\n`);
  }

  #reply(text: string): void {
    // A client that does not read its output would not see the answer either.
    if (!this.socket.writableNeedDrain) this.#write(`${text}\r\n`);
  }

  #write(text: string): void {
    if (this.socket.writable) this.socket.write(text);
  }

  #read(chunk: Buffer): void {
    for (const byte of chunk) {
      switch (this.#state) {
        case 'command':
          this.#state = byte === SB ? 'subnegotiation' : byte >= WILL && byte <= DONT ? 'option' : 'text';
          continue;
        case 'option':
          this.#state = 'text';
          continue;
        case 'subnegotiation':
          if (byte === IAC) this.#state = 'subnegotiationCommand';
          continue;
        case 'subnegotiationCommand':
          this.#state = byte === SE ? 'text' : 'subnegotiation';
          continue;
        case 'afterCr':
          // Enter arrives as CR LF, CR NUL or a bare CR depending on the client.
          this.#state = 'text';
          if (byte === LF || byte === NUL) continue;
          break;
        case 'text':
          break;
      }
      if (byte === IAC) this.#state = 'command';
      else if (byte === CR || byte === LF) {
        if (byte === CR) this.#state = 'afterCr';
        this.#endLine();
      } else this.#addToLine(byte);
    }
  }

  #addToLine(byte: number): void {
    this.#lineBytes++;
    if (this.#lineBytes === this.limits.maxInputLineBytes + 1) {
      this.#line = '';
      this.#reply(`Input line longer than ${this.limits.maxInputLineBytes} bytes: ignored up to the next Enter.`);
    }
    // Only printable ASCII can be part of a filter; anything else would only make the echo unsafe.
    if (this.#lineBytes <= this.limits.maxInputLineBytes && byte >= 0x20 && byte < 0x7f) {
      this.#line += String.fromCharCode(byte);
    }
  }

  #endLine(): void {
    const line = this.#line;
    const overflowed = this.#lineBytes > this.limits.maxInputLineBytes;
    this.#line = '';
    this.#lineBytes = 0;
    if (!overflowed) this.#applyFilter(line.trim());
  }

  #applyFilter(line: string): void {
    const letters = line.replace(/[\s,]/g, '').toUpperCase();
    if (letters !== '' && letters !== '*' && !/^[EWAM]+$/.test(letters)) {
      this.#reply(`Unknown filter "${line}": use e, w, a, m or *.`);
      return;
    }
    const chosen = categories.filter((category) => letters.includes(category));
    const all = chosen.length === 0 || chosen.length === categories.length;
    this.#filter = all ? null : new Set(chosen);
    this.#reply(`Now showing: ${all ? 'all' : chosen.join(' ')}.`);
  }
}
