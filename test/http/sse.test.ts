import type { AddressInfo } from 'node:net';
import { connect, type Socket } from 'node:net';
import type { FastifyInstance } from 'fastify';
import { afterEach, describe, expect, it } from 'vitest';
import { createActor, createMachine } from 'xstate';
import { buildHttpApp } from '../../src/http/server.js';
import { maxSseClients } from '../../src/http/sse.js';
import type { Status } from '../../src/http/status.js';
import { createLogging } from '../../src/logging/logger.js';
import { Metrics } from '../../src/metrics/metrics.js';
import type { ControlPort } from '../../src/ports/control.port.js';
import { InspectionHub } from '../../src/statecharts/inspection.js';

/** The dashboard's event streams (/api/events) against a client that stops reading and against too many clients. */
describe('server-sent event streams', () => {
  let app: FastifyInstance | undefined;
  const sockets: Socket[] = [];
  afterEach(async () => {
    for (const socket of sockets.splice(0)) socket.destroy();
    await app?.close();
    app = undefined;
  });

  async function start() {
    const records: Array<{ msg: string; path?: string; cat: string }> = [];
    const logging = createLogging({
      format: 'json',
      stdout: { write: (line: string) => records.push(JSON.parse(line)) },
    });
    const hub = new InspectionHub();
    app = buildHttpApp({
      status: () => ({}) as Status,
      charts: [],
      metrics: new Metrics(),
      inspection: hub,
      inspect: false,
      control: {} as ControlPort,
      logger: logging.logger,
    });
    await app.listen({ host: '127.0.0.1', port: 0 });
    const port = (app.server.address() as AddressInfo).port;
    // A real machine whose every transition the hub turns into an event on /api/events.
    const toggle = createActor(
      createMachine({
        id: 'toggle',
        initial: 'off',
        states: { off: { on: { flip: 'on' } }, on: { on: { flip: 'off' } } },
      }),
      { inspect: hub.inspect },
    ).start();
    return { port, records, flip: () => toggle.send({ type: 'flip' }) };
  }

  /** A client that sends its request and then never reads a byte. */
  async function stalledClient(port: number) {
    const socket = connect(port, '127.0.0.1');
    sockets.push(socket);
    await new Promise<void>((resolve) => socket.once('connect', resolve));
    socket.write('GET /api/events HTTP/1.1\r\nHost: localhost\r\n\r\n');
    return socket;
  }

  it('drops a client that stops reading instead of buffering for it, and keeps serving the others', async () => {
    const { port, records, flip } = await start();
    await stalledClient(port);
    const reader = await fetch(`http://127.0.0.1:${port}/api/events`);
    const body = reader.body?.getReader();
    let received = 0;
    const reading = (async () => {
      for (;;) {
        const chunk = await body?.read();
        if (!chunk || chunk.done) return;
        received += chunk.value.length;
      }
    })().catch(() => {});
    const dropped = () => records.find((r) => r.msg.startsWith('Dropped a /api/events client that stopped reading'));
    // Far more than the socket buffers and the limit can hold: about 40 MB of events, unless the client is dropped;
    // in small bursts, so that the reading client keeps up.
    for (let batch = 0; batch < 3_000 && !dropped(); batch++) {
      for (let i = 0; i < 100; i++) flip();
      await new Promise((resolve) => setImmediate(resolve));
    }
    expect(dropped()).toMatchObject({
      cat: 'W',
      path: '/api/events',
    });
    // The reading client is still served.
    const before = received;
    for (let i = 0; i < 10 && received === before; i++) {
      flip();
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    expect(received).toBeGreaterThan(before);
    expect(records.filter((r) => r.msg.startsWith('Dropped'))).toHaveLength(1);
    await body?.cancel();
    await reading;
  }, 60_000);

  it(`answers 503 EXH_HTTP_TOO_MANY_STREAMS beyond ${maxSseClients} open streams`, async () => {
    const { port } = await start();
    const controllers: AbortController[] = [];
    for (let i = 0; i < maxSseClients; i++) {
      const controller = new AbortController();
      controllers.push(controller);
      const response = await fetch(`http://127.0.0.1:${port}/api/events`, { signal: controller.signal });
      expect(response.status).toBe(200);
    }
    const refused = await fetch(`http://127.0.0.1:${port}/api/events`);
    expect(refused.status).toBe(503);
    const answer = (await refused.json()) as { error: { code: string; message: string } };
    expect(answer.error.code).toBe('EXH_HTTP_TOO_MANY_STREAMS');
    expect(answer.error.message).toContain('close dashboard tabs');
    for (const controller of controllers) controller.abort();
  });
});
