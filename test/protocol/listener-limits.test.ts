import { connect } from 'node:net';
import { describe, expect, it, vi } from 'vitest';
import { sendRequest } from '../../src/protocol/client.js';
import { type DatabaseListenerOptions, startDatabaseListener } from '../../src/protocol/listener.js';
import type { Reply } from '../../src/protocol/replies.js';
import { recordingHandler, recordingLogger, token } from './helpers.js';

/**
 * Clients without the token must not crowd the senders out (docs/protocol.md, "Limits and time-outs"): over real TCP
 * sockets, with deadlines of a few hundred milliseconds so that no test waits long.
 */

const ping = `${JSON.stringify({ token, type: 'ping' })}\n`;

async function listenerWith(options: Partial<DatabaseListenerOptions> = {}) {
  const logging = recordingLogger();
  const handler = recordingHandler();
  const listener = await startDatabaseListener({
    host: '127.0.0.1',
    port: 0,
    token,
    handle: handler.handle,
    logger: logging.logger,
    ...options,
  });
  return { listener, logging, handler, port: listener.address.port };
}

/** What one client saw: the bytes up to the server's close, and any socket error (ECONNRESET, EPIPE …). */
interface Outcome {
  received: string;
  error: string | undefined;
  /** Milliseconds from connecting to the close. */
  ms: number;
}

/** A client that connects, optionally writes `line` once connected, and reads until the connection closes. */
function client(port: number, line?: string) {
  const started = performance.now();
  const socket = connect({ host: '127.0.0.1', port });
  const chunks: Buffer[] = [];
  let error: string | undefined;
  socket.on('data', (chunk: Buffer) => chunks.push(chunk));
  socket.on('error', (e: NodeJS.ErrnoException) => {
    error = e.code ?? e.message;
  });
  const connected = new Promise<void>((resolve) => socket.once('connect', () => resolve()));
  if (line !== undefined) void connected.then(() => socket.write(line));
  const closed = new Promise<Outcome>((resolve) =>
    socket.once('close', () =>
      resolve({ received: Buffer.concat(chunks).toString('utf8'), error, ms: performance.now() - started }),
    ),
  );
  return { socket, connected, closed, received: () => Buffer.concat(chunks).toString('utf8') };
}

/** The single reply line of an outcome, or undefined when there is none (a close without a reply). */
function replyOf(received: string): Reply | undefined {
  const lines = received.split('\n');
  if (lines.length !== 2 || lines[1] !== '') return undefined;
  return JSON.parse(lines[0] as string) as Reply;
}

describe('the authentication deadline', () => {
  it('drops a client that sends nothing within it, with a reply that says so', async () => {
    const { listener, port } = await listenerWith({ authTimeoutMs: 200, idleTimeoutMs: 10_000, readTimeoutMs: 10_000 });
    try {
      const idle = client(port);
      const outcome = await idle.closed;
      expect(outcome.error).toBeUndefined();
      expect(replyOf(outcome.received)).toMatchObject({
        exitCode: 1,
        errorMessage: expect.stringMatching(/no authenticated request within 200 ms/),
      });
      expect(outcome.ms).toBeGreaterThanOrEqual(190);
      expect(outcome.ms).toBeLessThan(2_000);
    } finally {
      await listener.close();
    }
  });

  it('is not renewed by bytes trickling in', async () => {
    const { listener, port } = await listenerWith({ authTimeoutMs: 200, idleTimeoutMs: 10_000, readTimeoutMs: 10_000 });
    try {
      const trickler = client(port);
      await trickler.connected;
      const drip = setInterval(() => trickler.socket.writable && trickler.socket.write(' '), 20);
      const outcome = await trickler.closed;
      clearInterval(drip);
      expect(replyOf(outcome.received)?.errorMessage).toMatch(/no authenticated request within 200 ms/);
      expect(outcome.ms).toBeLessThan(2_000);
    } finally {
      await listener.close();
    }
  });

  it('is met by a line that starts with its token, so the rest may take the read time-out', async () => {
    const { listener, port, handler } = await listenerWith({ authTimeoutMs: 200, readTimeoutMs: 5_000 });
    try {
      const early = client(port);
      const late = client(port);
      await Promise.all([early.connected, late.connected]);
      early.socket.write(`{"token": ${JSON.stringify(token)}, "type": "ping"`);
      late.socket.write(`{"type": "ping", "token": ${JSON.stringify(token)}`);
      // Past the deadline: only the line whose token came first is still open.
      await new Promise((resolve) => setTimeout(resolve, 300));
      early.socket.write('}\n');
      if (late.socket.writable) late.socket.write('}\n');
      expect(replyOf((await early.closed).received)).toEqual({ exitCode: 0, outputValue: 'done', errorMessage: null });
      expect(replyOf((await late.closed).received)?.errorMessage).toMatch(/no authenticated request within 200 ms/);
      expect(handler.calls).toHaveLength(1);
    } finally {
      await listener.close();
    }
  });

  it('refuses a wrong token at the start of a line without waiting for the rest', async () => {
    const { listener, port } = await listenerWith({ authTimeoutMs: 5_000, readTimeoutMs: 5_000 });
    try {
      const stranger = client(port, '{"token": "not-the-token-at-all", "type": "ping", "x": "');
      const outcome = await stranger.closed;
      expect(replyOf(outcome.received)?.errorMessage).toMatch(/unauthenticated: wrong token/);
      expect(outcome.ms).toBeLessThan(1_000);
    } finally {
      await listener.close();
    }
  });
});

describe('connections without the token cannot crowd the senders out', () => {
  it('256 idle connections and one trickling a byte a second do not keep a sender from being served', async () => {
    // A deadline far beyond the test: what lets the sender in is the budget, not the idle ones timing out.
    const { listener, port, logging } = await listenerWith({ authTimeoutMs: 60_000, idleTimeoutMs: 60_000 });
    try {
      const idle = Array.from({ length: 256 }, () => client(port));
      await Promise.all(idle.map((c) => c.connected));
      const trickler = client(port);
      await trickler.connected;
      trickler.socket.write('{');
      const drip = setInterval(() => trickler.socket.writable && trickler.socket.write(' '), 1_000);
      try {
        const reply = await sendRequest({ host: '127.0.0.1', port }, { token, type: 'ping' }, { timeoutMs: 2_000 });
        expect(reply).toEqual({ exitCode: 0, outputValue: 'done', errorMessage: null });
        // The oldest idle connections gave way, each with a busy reply; the newest 32 are still waiting.
        await vi.waitFor(() => {
          const busy = idle.filter((c) => replyOf(c.received())?.exitCode === 521);
          expect(busy.length).toBeGreaterThanOrEqual(256 + 1 + 1 - 32 - 1);
        });
        const given = idle.map((c) => replyOf(c.received())).find((r) => r !== undefined);
        expect(given?.errorMessage).toMatch(/^The Exchange Connector is busy: .*maxUnauthenticated.*try again/);
        // Summarised in the log, not one warning each.
        expect(logging.records().filter((r) => String(r.msg).includes('busy reply')).length).toBeLessThan(5);
      } finally {
        clearInterval(drip);
      }
    } finally {
      await listener.close();
    }
  });

  it('authenticated requests have slots of their own; one beyond them gets a busy reply, not a reset', async () => {
    let release: () => void = () => {};
    const held = new Promise<void>((resolve) => {
      release = resolve;
    });
    const logging = recordingLogger();
    let handling = 0;
    const listener = await startDatabaseListener({
      host: '127.0.0.1',
      port: 0,
      token,
      handle: async () => {
        handling++;
        await held;
        return { exitCode: 0, outputValue: 'held', errorMessage: null };
      },
      logger: logging.logger,
      maxConnections: 2,
      maxUnauthenticated: 2,
      authTimeoutMs: 60_000,
    });
    const port = listener.address.port;
    try {
      // The unauthenticated budget is full of idle connections; the senders still get their slots.
      const idle = Array.from({ length: 4 }, () => client(port));
      await Promise.all(idle.map((c) => c.connected));
      const first = client(port, ping);
      const second = client(port, ping);
      await vi.waitFor(() => expect(handling).toBe(2));
      const third = await client(port, ping).closed;
      expect(third.error).toBeUndefined();
      expect(replyOf(third.received)).toMatchObject({
        exitCode: 521,
        errorMessage: expect.stringMatching(
          /busy: 2 requests are being handled \(listeners\.database\.maxConnections\)/,
        ),
      });
      release();
      expect(replyOf((await first.closed).received)?.exitCode).toBe(0);
      expect(replyOf((await second.closed).received)?.exitCode).toBe(0);
      expect(replyOf((await client(port, ping).closed).received)?.exitCode).toBe(0);
    } finally {
      release();
      await listener.close();
    }
  });

  it('1,000 concurrent senders are each served or refused with a reply, none reset', async () => {
    const logging = recordingLogger();
    const listener = await startDatabaseListener({
      host: '127.0.0.1',
      port: 0,
      token,
      // Long enough that the requests overlap.
      handle: async () => {
        await new Promise((resolve) => setTimeout(resolve, 50));
        return { exitCode: 0, outputValue: 'done', errorMessage: null };
      },
      logger: logging.logger,
    });
    try {
      const started = performance.now();
      const outcomes = await Promise.all(
        Array.from({ length: 1_000 }, () => client(listener.address.port, ping).closed),
      );
      const ms = performance.now() - started;
      const replies = outcomes.map((o) => replyOf(o.received));
      expect(outcomes.filter((o) => o.error !== undefined)).toEqual([]);
      expect(replies.filter((r) => r === undefined)).toEqual([]);
      const served = replies.filter((r) => r?.exitCode === 0).length;
      const refused = replies.filter((r) => r?.exitCode === 521).length;
      expect(served + refused).toBe(1_000);
      expect(served).toBeGreaterThanOrEqual(256);
      console.info(`1,000 concurrent senders: ${served} served, ${refused} busy, in ${Math.round(ms)} ms`);
    } finally {
      await listener.close();
    }
  });

  it('1,000 concurrent idle connections each get a reply (busy, or the deadline), none reset', async () => {
    const { listener, port } = await listenerWith({ authTimeoutMs: 200 });
    try {
      const started = performance.now();
      const outcomes = await Promise.all(Array.from({ length: 1_000 }, () => client(port).closed));
      const ms = performance.now() - started;
      expect(outcomes.filter((o) => o.error !== undefined)).toEqual([]);
      const replies = outcomes.map((o) => replyOf(o.received));
      expect(replies.filter((r) => r === undefined)).toEqual([]);
      const busy = replies.filter((r) => r?.exitCode === 521).length;
      const late = replies.filter((r) => r?.errorMessage?.includes('no authenticated request within 200 ms')).length;
      expect(busy + late).toBe(1_000);
      expect(late).toBeLessThanOrEqual(32);
      console.info(
        `1,000 concurrent idle connections: ${busy} busy, ${late} dropped at the deadline, in ${Math.round(ms)} ms`,
      );
    } finally {
      await listener.close();
    }
  });
});
