import { createServer } from 'node:net';
import { describe, expect, it } from 'vitest';
import { assign, createActor, setup, waitFor } from 'xstate';
import { createHttpActor, type HttpListenerDeps } from '../../actors/http.actors.js';
import type { SerializedError } from '../../machines/report.js';
import { httpDeps, statusWith } from '../http/deps.js';
import { freePort } from '../support/net.js';

const host = '127.0.0.1';

/** The real HTTP listener actor under a parent that keeps what it sends back. */
function httpActor(overrides: Partial<HttpListenerDeps> = {}) {
  const { deps, records } = httpDeps({ status: () => statusWith({ ready: true }) });
  const { logger, ...app } = deps;
  const listening: Array<{ close(): Promise<void>; port: number }> = [];
  const logic = createHttpActor({
    enabled: true,
    host,
    port: 0,
    app,
    logger,
    onListening: (listener) => void listening.push(listener),
    ...overrides,
  });
  const parent = setup({
    types: {
      context: {} as { failed: SerializedError | null },
      events: {} as { type: string; error?: SerializedError },
    },
    actors: { http: logic },
  }).createMachine({
    context: { failed: null },
    invoke: { src: 'http' },
    on: { 'listener.failed': { actions: assign({ failed: ({ event }) => event.error ?? null }) } },
  });
  const actor = createActor(parent).start();
  return { actor, listening, records };
}

async function until(condition: () => boolean, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`not within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/** Whether connections to the port are refused within a few seconds (closing is asynchronous). */
async function refused(port: number): Promise<boolean> {
  const deadline = Date.now() + 5_000;
  while (Date.now() < deadline) {
    try {
      await fetch(`http://${host}:${port}/healthz`);
    } catch {
      return true;
    }
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  return false;
}

describe('http actor', () => {
  it('serves the app on the port it got, says where in an action record, and stops serving when stopped', async () => {
    const { actor, listening, records } = httpActor();
    await until(() => listening.length === 1);
    const port = listening[0]?.port as number;
    expect(port).toBeGreaterThan(0);
    const response = await fetch(`http://${host}:${port}/api/status`);
    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject({ version: '1.2.3', database: { ready: true } });
    expect(records).toContainEqual(
      expect.objectContaining({
        cat: 'A',
        actor: 'http',
        event: 'http.listening',
        port,
        url: `http://${host}:${port}/`,
      }),
    );

    actor.stop();
    expect(await refused(port)).toBe(true);
    expect(actor.getSnapshot().context.failed).toBeNull();
  });

  it('writes an IPv6 host in brackets in the URL it reports', async () => {
    const { actor, listening, records } = httpActor({ host: '::1' });
    try {
      await until(() => listening.length === 1);
      const port = listening[0]?.port;
      expect(records).toContainEqual(
        expect.objectContaining({ event: 'http.listening', url: `http://[::1]:${port}/` }),
      );
    } finally {
      actor.stop();
      await Promise.all(listening.map((listener) => listener.close()));
    }
  });

  it('reports a port it cannot take as listener.failed naming the listener, host and port', async () => {
    const taken = createServer();
    await new Promise<void>((resolve) => taken.listen(0, host, resolve));
    const { port } = taken.address() as { port: number };
    const { actor, listening } = httpActor({ port });
    try {
      const snapshot = await waitFor(actor, (s) => s.context.failed !== null, { timeout: 5_000 });
      expect(snapshot.context.failed).toEqual({
        code: 'EXH_LISTENER_FAILED',
        message: expect.stringContaining(`The http listener cannot listen on ${host}:${port}`),
        retryable: false,
      });
      expect(snapshot.context.failed?.message).toContain('listeners.http.port');
      expect(listening).toEqual([]);
    } finally {
      actor.stop();
      await new Promise((resolve) => taken.close(resolve));
    }
  });

  it('listens nowhere when disabled, and one stopped before it listened closes again', async () => {
    const disabledPort = await freePort();
    const disabled = httpActor({ enabled: false, port: disabledPort });
    const earlyPort = await freePort();
    const early = httpActor({ port: earlyPort });
    early.actor.stop();
    // Long enough for the listen that was under way to complete and be closed again.
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(disabled.listening).toEqual([]);
    expect(early.listening).toEqual([]);
    await expect(fetch(`http://${host}:${disabledPort}/healthz`)).rejects.toThrow();
    await expect(fetch(`http://${host}:${earlyPort}/healthz`)).rejects.toThrow();
    disabled.actor.stop();
  });
});
