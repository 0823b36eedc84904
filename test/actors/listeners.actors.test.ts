import { connect, createServer } from 'node:net';
import { describe, expect, it } from 'vitest';
import { assign, createActor, setup, waitFor } from 'xstate';
import { createLogFeedActor, type LogFeedDeps } from '../../actors/listeners.actors.js';
import type { SerializedError } from '../../machines/report.js';
import type { LogFeed } from '../../src/logging/log-feed.js';
import { LogHub } from '../../src/logging/log-hub.js';
import { freePort, lineReader } from '../support/net.js';
import { recordingLogger } from '../support/recording-logger.js';

const host = '127.0.0.1';
const banner = 'exh test log feed';

/** The real log feed actor under a parent that keeps what it sends back. */
function logFeedActor(overrides: Partial<LogFeedDeps> = {}) {
  const { logger, records } = recordingLogger('debug');
  const hub = new LogHub();
  const feeds: LogFeed[] = [];
  const logic = createLogFeedActor({
    enabled: true,
    host,
    port: 0,
    hub,
    banner,
    logger,
    onListening: (feed) => void feeds.push(feed),
    ...overrides,
  });
  const parent = setup({
    types: {
      context: {} as { failed: SerializedError | null },
      events: {} as { type: string; error?: SerializedError },
    },
    actors: { logFeed: logic },
  }).createMachine({
    context: { failed: null },
    invoke: { src: 'logFeed' },
    on: { 'listener.failed': { actions: assign({ failed: ({ event }) => event.error ?? null }) } },
  });
  const actor = createActor(parent).start();
  return { actor, feeds, records, hub };
}

async function until(condition: () => boolean, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`not within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/** Whether a connection to the port is refused. */
function refuses(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host, port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(false);
    });
    socket.once('error', () => resolve(true));
  });
}

describe('log feed actor', () => {
  it('streams the hub’s records to a client with the banner, logs where it listens, and closes on stop', async () => {
    const { actor, feeds, records, hub } = logFeedActor();
    await until(() => feeds.length === 1);
    const { port } = (feeds[0] as LogFeed).address;
    expect(port).toBeGreaterThan(0);
    expect(records).toContainEqual(
      expect.objectContaining({
        cat: 'A',
        actor: 'log-feed',
        host,
        port,
        msg: `Log feed listening on ${host}:${port}`,
      }),
    );

    const socket = connect({ host, port });
    const reader = lineReader(socket);
    await reader.waitFor((line) => line === banner);
    await until(() => hub.subscriberCount > 0);
    hub.write(JSON.stringify({ level: 50, cat: 'E', time: '2026-01-01T00:00:00.000Z', msg: 'a record for the feed' }));
    await reader.waitFor((line) => line.includes('a record for the feed'));

    const closed = new Promise((resolve) => socket.once('close', resolve));
    actor.stop();
    await closed;
    await until(() => feeds[0]?.clientCount === 0);
    expect(await refuses(port)).toBe(true);
    expect(actor.getSnapshot().context.failed).toBeNull();
  });

  it('reports a port it cannot take as listener.failed naming the log listener, host and port', async () => {
    const taken = createServer();
    await new Promise<void>((resolve) => taken.listen(0, host, resolve));
    const { port } = taken.address() as { port: number };
    const { actor, feeds } = logFeedActor({ port });
    try {
      const snapshot = await waitFor(actor, (s) => s.context.failed !== null, { timeout: 5_000 });
      expect(snapshot.context.failed).toEqual({
        code: 'EXH_LISTENER_FAILED',
        message: expect.stringContaining(`The log listener cannot listen on ${host}:${port}`),
        retryable: false,
      });
      expect(snapshot.context.failed?.message).toContain('listeners.log.port');
      expect(feeds).toEqual([]);
    } finally {
      actor.stop();
      await new Promise((resolve) => taken.close(resolve));
    }
  });

  it('listens nowhere when disabled, and a feed that started after its actor stopped is closed at once', async () => {
    const disabledPort = await freePort();
    const disabled = logFeedActor({ enabled: false, port: disabledPort });
    const earlyPort = await freePort();
    const early = logFeedActor({ port: earlyPort });
    early.actor.stop();
    // Long enough for the listen under way to complete and the feed to be closed again.
    await new Promise((resolve) => setTimeout(resolve, 400));
    expect(disabled.feeds).toEqual([]);
    expect(early.feeds).toEqual([]);
    expect(early.records).toEqual([]);
    expect(await refuses(disabledPort)).toBe(true);
    expect(await refuses(earlyPort)).toBe(true);
    disabled.actor.stop();
  });
});
