import { connect, createServer, type Socket } from 'node:net';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { type LogFeed, type LogFeedOptions, startLogFeed } from '../../src/logging/log-feed.js';
import { LogHub } from '../../src/logging/log-hub.js';
import { type Category, createLogging } from '../../src/logging/logger.js';

const host = '127.0.0.1';
const banner = 'exh 0.1.0 log feed on test';
const helpLine =
  'Type letters and Enter to filter: e (errors) w (warnings) a (actions) m (messages); * or an empty line shows all. Now showing: all.';
const levels: Record<Category, number> = { E: 50, W: 40, A: 35, M: 30 };

/** Reads `\r\n`-terminated lines from a real socket; every wait fails the test after a timeout instead of hanging. */
class LineClient {
  readonly lines: string[] = [];
  readonly socket: Socket;
  readonly closed: Promise<void>;
  #partial = '';
  #isClosed = false;
  readonly #wakers = new Set<() => void>();

  constructor(port: number) {
    this.socket = connect({ host, port });
    this.socket.setEncoding('utf8');
    this.socket.on('error', () => {});
    this.socket.on('data', (chunk: string) => {
      const parts = (this.#partial + chunk).split('\r\n');
      this.#partial = parts.pop() ?? '';
      for (const part of parts) this.lines.push(part);
      for (const wake of this.#wakers) wake();
    });
    this.closed = new Promise((resolve) =>
      this.socket.once('close', () => {
        this.#isClosed = true;
        for (const wake of this.#wakers) wake();
        resolve();
      }),
    );
  }

  send(data: string | Uint8Array): void {
    this.socket.write(data);
  }

  /** Resolves with the index of the first line at or after `from` that matches. */
  waitForLine(matches: string | RegExp | ((line: string) => boolean), from = 0, timeoutMs = 5000): Promise<number> {
    const test =
      typeof matches === 'string'
        ? (line: string) => line === matches
        : matches instanceof RegExp
          ? (line: string) => matches.test(line)
          : matches;
    let next = from;
    return new Promise((resolve, reject) => {
      const check = () => {
        for (; next < this.lines.length; next++) {
          if (test(this.lines[next] as string)) return finish(() => resolve(next));
        }
        if (this.#isClosed) finish(() => reject(new Error(`connection closed before a line matching ${matches}`)));
      };
      const timer = setTimeout(() => {
        const tail = JSON.stringify(this.lines.slice(-5).map((line) => line.slice(0, 200)));
        finish(() => reject(new Error(`no line matching ${matches} within ${timeoutMs} ms; last lines: ${tail}`)));
      }, timeoutMs);
      const finish = (settle: () => void) => {
        clearTimeout(timer);
        this.#wakers.delete(check);
        settle();
      };
      this.#wakers.add(check);
      check();
    });
  }

  /** `E:msg` for each record line after `from`, which is how the tests compare what arrived. */
  recordsAfter(from: number): string[] {
    return this.lines
      .slice(from + 1)
      .map((line) => /^([EWAM]) \S+ \S+ (.*)$/.exec(line))
      .filter((match) => match !== null)
      .map((match) => `${match[1]}:${match[2]}`);
  }
}

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function start(options: Partial<LogFeedOptions> = {}): Promise<{ feed: LogFeed; hub: LogHub }> {
  const hub = options.hub ?? new LogHub();
  const feed = await startLogFeed({ host, port: 0, hub, banner, ...options });
  cleanups.push(() => feed.close());
  return { feed, hub };
}

/** A connected client that has read its greeting, so every record pushed from now on is meant for it. */
async function client(feed: LogFeed): Promise<LineClient> {
  const lineClient = new LineClient(feed.address.port);
  cleanups.push(() => lineClient.socket.destroy());
  await lineClient.waitForLine(helpLine);
  return lineClient;
}

function push(hub: LogHub, cat: Category, msg: string, extra: Record<string, unknown> = {}): void {
  hub.write(`${JSON.stringify({ level: levels[cat], cat, time: new Date().toISOString(), msg, ...extra })}\n`);
}

/** One record of each category, then an E sentinel every filter used below lets through. */
async function pushMixedAndWait(hub: LogHub, reader: LineClient, from: number): Promise<string[]> {
  for (const cat of ['E', 'W', 'A', 'M'] as const) push(hub, cat, `${cat.toLowerCase()}1`);
  push(hub, 'E', 'end');
  await reader.waitForLine(/ end$/, from);
  return reader.recordsAfter(from);
}

async function filter(reader: LineClient, typed: string, answer: string): Promise<number> {
  const from = reader.lines.length;
  reader.send(typed);
  return reader.waitForLine(answer, from);
}

describe('startLogFeed', () => {
  it('greets with the banner and the help line, then streams records of every category', async () => {
    const { feed, hub } = await start();
    expect(feed.address).toEqual({ host, port: expect.any(Number) });
    expect(feed.address.port).toBeGreaterThan(0);
    const reader = await client(feed);
    expect(reader.lines.slice(0, 2)).toEqual([banner, helpLine]);
    expect(feed.clientCount).toBe(1);
    expect(await pushMixedAndWait(hub, reader, 1)).toEqual(['E:e1', 'W:w1', 'A:a1', 'M:m1', 'E:end']);
  });

  it('shows lines formatted from the real logger, bindings included', async () => {
    const { logger, hub } = createLogging({ stdout: { write: () => {} }, format: 'json', level: 'info' });
    const { feed } = await start({ hub });
    const reader = await client(feed);
    logger.child({ actor: 'mailbox', user: 'alice@contoso.test' }).action({ itemType: 'calendar' }, 'subscribed');
    const index = await reader.waitForLine(/subscribed$/);
    expect(reader.lines[index]).toMatch(
      /^A \d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3} \[mailbox alice@contoso\.test calendar\] subscribed$/,
    );
  });

  it('filters by the letters typed, case-insensitively, and restores all with * or an empty line', async () => {
    const { feed, hub } = await start();
    const reader = await client(feed);
    let from = await filter(reader, 'e\r\n', 'Now showing: E.');
    expect(await pushMixedAndWait(hub, reader, from)).toEqual(['E:e1', 'E:end']);
    from = await filter(reader, 'WE\r\n', 'Now showing: E W.');
    expect(await pushMixedAndWait(hub, reader, from)).toEqual(['E:e1', 'W:w1', 'E:end']);
    from = await filter(reader, '*\r\n', 'Now showing: all.');
    expect(await pushMixedAndWait(hub, reader, from)).toEqual(['E:e1', 'W:w1', 'A:a1', 'M:m1', 'E:end']);
    await filter(reader, 'a\n', 'Now showing: A.');
    from = await filter(reader, '\r\n', 'Now showing: all.');
    expect(await pushMixedAndWait(hub, reader, from)).toEqual(['E:e1', 'W:w1', 'A:a1', 'M:m1', 'E:end']);
  });

  it('answers an unknown filter and keeps the previous one', async () => {
    const { feed, hub } = await start();
    const reader = await client(feed);
    await filter(reader, 'e\r\n', 'Now showing: E.');
    const from = await filter(reader, 'ex\r\n', 'Unknown filter "ex": use e, w, a, m or *.');
    expect(await pushMixedAndWait(hub, reader, from)).toEqual(['E:e1', 'E:end']);
  });

  it('keeps a separate filter for each client', async () => {
    const { feed, hub } = await start();
    const errors = await client(feed);
    const actions = await client(feed);
    expect(feed.clientCount).toBe(2);
    const errorsFrom = await filter(errors, 'e\r\n', 'Now showing: E.');
    const actionsFrom = await filter(actions, 'ae\r\n', 'Now showing: E A.');
    push(hub, 'A', 'a1');
    push(hub, 'W', 'w1');
    push(hub, 'E', 'end');
    await Promise.all([errors.waitForLine(/ end$/, errorsFrom), actions.waitForLine(/ end$/, actionsFrom)]);
    expect(errors.recordsAfter(errorsFrom)).toEqual(['E:end']);
    expect(actions.recordsAfter(actionsFrom)).toEqual(['A:a1', 'E:end']);
  });

  it('ignores telnet negotiation and bytes above 0x7f in typed input', async () => {
    const { feed } = await start();
    const reader = await client(feed);
    const naws = [0xff, 0xfb, 0x1f, 0xff, 0xfa, 0x1f, 0x00, 0x50, 0xff, 0xff, 0x18, 0xff, 0xf0];
    reader.send(Uint8Array.from([...naws, 0x77, 0xff, 0xfd, 0x01, 0xc3, 0xa9, 0xff, 0xf1]));
    reader.send(Uint8Array.from([0x65, 0x0d, 0x00]));
    const index = await reader.waitForLine(/^Now showing|^Unknown/, 2);
    expect(reader.lines[index]).toBe('Now showing: E W.');
  });

  it('discards an overlong input line with a notice and keeps reading afterwards', async () => {
    const { feed } = await start({ maxInputLineBytes: 64 });
    const reader = await client(feed);
    const from = reader.lines.length;
    reader.send(`${'e'.repeat(5000)}\r\nw\r\n`);
    await reader.waitForLine('Now showing: W.', from);
    expect(reader.lines.slice(from)).toEqual([
      'Input line longer than 64 bytes: ignored up to the next Enter.',
      'Now showing: W.',
    ]);
  });

  it('drops records for a stalled client without slowing others, then says how many', async () => {
    const { feed, hub } = await start({ maxBufferedBytes: 16 * 1024 });
    const stalled = await client(feed);
    const healthy = await client(feed);
    stalled.socket.pause();
    // Loopback socket buffers absorb a few MB before the feed's own buffer fills; 16 MB is well past that.
    const bulk = 4096;
    const payload = 'x'.repeat(4000);
    for (let i = 0; i < bulk; i++) {
      push(hub, 'M', 'bulk', { payload });
      if (i % 16 === 15) await new Promise((resolve) => setImmediate(resolve));
    }
    push(hub, 'M', 'last');
    await healthy.waitForLine(/ last$/);
    expect(healthy.lines.filter((line) => line.includes(' bulk payload=')).length).toBe(bulk);
    expect(healthy.lines.some((line) => line.includes('dropped'))).toBe(false);

    stalled.socket.resume();
    const notice = await stalled.waitForLine(/\[log-feed\] dropped \d+ records/, 0, 10_000);
    const dropped = Number(/dropped (\d+) records/.exec(stalled.lines[notice] as string)?.[1]);
    expect(stalled.lines[notice]).toMatch(
      /^M \S+ \S+ \[log-feed\] dropped \d+ records: this client was reading too slowly$/,
    );
    expect(dropped).toBeGreaterThan(0);
    const delivered = stalled.lines.slice(0, notice).filter((line) => / (bulk payload=\S+|last)$/.test(line));
    expect(delivered.length + dropped).toBe(bulk + 1);

    push(hub, 'M', 'after');
    await stalled.waitForLine(/ after$/, notice);
  });

  it('forgets clients that disconnect or reset, and keeps serving the others', async () => {
    const { feed, hub } = await start();
    const leaving = await client(feed);
    const resetting = await client(feed);
    const staying = await client(feed);
    expect(hub.subscriberCount).toBe(1);
    leaving.socket.end();
    resetting.socket.resetAndDestroy();
    await vi.waitFor(() => expect(feed.clientCount).toBe(1));
    push(hub, 'E', 'end');
    await staying.waitForLine(/ end$/);
    staying.socket.destroy();
    await vi.waitFor(() => expect(feed.clientCount).toBe(0));
    expect(hub.subscriberCount).toBe(0);
  });

  it('close() says goodbye, ends every client, even a stalled one, and frees the port', async () => {
    const { feed, hub } = await start();
    const reader = await client(feed);
    const stalled = await client(feed);
    stalled.socket.pause();
    const closing = feed.close();
    expect(feed.close()).toBe(closing);
    await closing;
    await reader.closed;
    expect(reader.lines.at(-1)).toBe('exh log feed closing');
    stalled.socket.resume();
    await stalled.closed;
    expect(feed.clientCount).toBe(0);
    expect(hub.subscriberCount).toBe(0);

    const probe = createServer();
    await new Promise<void>((resolve, reject) => {
      probe.once('error', reject);
      probe.listen({ host, port: feed.address.port }, resolve);
    });
    await new Promise((resolve) => probe.close(resolve));
  });

  it('rejects with EADDRINUSE when the port is taken', async () => {
    const { feed, hub } = await start();
    await expect(startLogFeed({ host, port: feed.address.port, hub, banner })).rejects.toMatchObject({
      code: 'EADDRINUSE',
    });
  });
});
