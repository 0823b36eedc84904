import { createServer, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { gzipSync } from 'node:zlib';
import type { IXHRProgress } from 'ews-javascript-api';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { EwsTransport } from '../../../src/exchange/ews/transport.js';
import { alice, live, startTestEmulator, testAdapter } from './support.js';

const emulator = await startTestEmulator();
const adapter = testAdapter(emulator);
const sync = (connection: Awaited<ReturnType<typeof adapter.connect>>, options = live()) =>
  connection.syncFolder('calendar', null, { ...options, maxChanges: 10 });

describe('the transport against Exchange (the emulator)', () => {
  it('turns ErrorServerBusy into EXH_EXCHANGE_THROTTLED with the back-off Exchange asked for', async () => {
    const connection = await adapter.connect();
    emulator.admin.faults.add({ kind: 'serverBusy', backOffMs: 1500, calls: 1, operations: ['SyncFolderItems'] });
    const error = await sync(connection).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'EXH_EXCHANGE_THROTTLED', retryable: true, details: { backOffMs: 1500 } });
    await expect(sync(connection)).resolves.toMatchObject({ done: true });
  });

  it('turns a bare HTTP 503 into EXH_EXCHANGE_UNAVAILABLE and a mailbox move into EXH_EXCHANGE_MAILBOX_MOVING', async () => {
    const connection = await adapter.connect();
    emulator.admin.faults.add({ kind: 'httpStatus', status: 503, calls: 1 });
    await expect(sync(connection)).rejects.toMatchObject({
      code: 'EXH_EXCHANGE_UNAVAILABLE',
      message: expect.stringContaining('HTTP 503'),
    });
    emulator.admin.faults.add({ kind: 'mailboxMove', calls: 1, mailbox: alice });
    await expect(sync(connection)).rejects.toMatchObject({ code: 'EXH_EXCHANGE_MAILBOX_MOVING', retryable: true });
  });

  it('honours exchange.timeoutMs: a slow answer is abandoned with EXH_EXCHANGE_TIMEOUT', async () => {
    const quick = testAdapter(emulator, { timeoutMs: 300 });
    const connection = await quick.connect();
    emulator.admin.faults.add({ kind: 'latency', ms: 3000, calls: 1, operations: ['SyncFolderItems'] });
    const started = Date.now();
    const error = await sync(connection).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'EXH_EXCHANGE_TIMEOUT', retryable: true, details: { timeoutMs: 300 } });
    expect(Date.now() - started).toBeLessThan(2500);
  });

  it('a stopped caller cancels its queued request before it is sent, and its running one', async () => {
    const single = testAdapter(emulator, {}, { concurrency: 1 });
    const connection = await single.connect();
    emulator.admin.faults.add({ kind: 'latency', ms: 3000, calls: 1, operations: ['SyncFolderItems'] });
    const sent = emulator.admin.recordedOperations().SyncFolderItems ?? 0;
    const running = new AbortController();
    const queued = new AbortController();
    const first = sync(connection, live(running.signal)).catch((e: unknown) => e);
    const second = sync(connection, live(queued.signal)).catch((e: unknown) => e);
    await vi.waitFor(() => expect(single.pool.stats()).toMatchObject({ running: 1, queued: 1 }));
    // The first request has reached Exchange (it took the latency fault) and waits for its answer.
    await vi.waitFor(() => expect(emulator.admin.faults.list()).toEqual([]));
    queued.abort();
    expect(await second).toMatchObject({ code: 'EXH_POOL_ABORTED' });
    const started = Date.now();
    running.abort();
    expect(await first).toMatchObject({ code: 'EXH_POOL_ABORTED' });
    expect(Date.now() - started).toBeLessThan(1000);
    // Neither request got an answer from Exchange.
    expect(emulator.admin.recordedOperations().SyncFolderItems ?? 0).toBe(sent);
  });

  it('acts as the user: impersonation header and X-AnchorMailbox on every request, the library’s and its own', async () => {
    const send = vi.spyOn(EwsTransport.prototype, 'send');
    try {
      const connection = await adapter.connect();
      await sync(connection);
      const calls = send.mock.calls.filter(
        ([, body]) => body.includes('SyncFolderItems') || body.includes('GetFolder'),
      );
      expect(calls.length).toBeGreaterThanOrEqual(2);
      for (const [, body, headers] of calls) {
        expect(body).toMatch(/<t:SmtpAddress>alice@contoso\.test<\/t:SmtpAddress>/);
        expect(Object.entries(headers).find(([name]) => name.toLowerCase() === 'x-anchormailbox')?.[1]).toBe(alice);
      }
    } finally {
      send.mockRestore();
    }
  });
});

describe('the transport on a chunked stream (a hand-made server writing exactly these chunks)', () => {
  const envelope = (n: number) =>
    `<Envelope xmlns="http://schemas.xmlsoap.org/soap/envelope/"><soap11:Body xmlns:soap11="http://schemas.xmlsoap.org/soap/envelope/"><m:N>${n}</m:N></soap11:Body></Envelope>`;

  const servers: Server[] = [];
  async function serve(write: (res: ServerResponse) => Promise<void>): Promise<string> {
    const server = createServer((req, res) => {
      req.resume();
      void write(res);
    });
    servers.push(server);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return `http://127.0.0.1:${(server.address() as AddressInfo).port}/EWS/Exchange.asmx`;
  }
  const pause = () => new Promise((resolve) => setTimeout(resolve, 20));
  const transport = new EwsTransport({ timeoutMs: 2000, ignoreSsl: false, authorization: 'Basic eDp5', account: 'x' });
  afterAll(async () => {
    transport.close();
    await Promise.all(servers.map((server) => new Promise((resolve) => server.close(resolve))));
  });
  const context = { user: alice, account: 'x' };

  it('delivers two envelopes written in one chunk and one written in three, then the end', async () => {
    const url = await serve(async (res) => {
      res.writeHead(200, { 'content-type': 'text/xml' });
      res.write(envelope(1) + envelope(2));
      const third = envelope(3);
      for (const part of [third.slice(0, 5), third.slice(5, 60), third.slice(60)]) {
        await pause();
        res.write(part);
      }
      await pause();
      res.end();
    });
    const got: string[] = [];
    const ended = new Promise<unknown>((resolve) => {
      void transport.openStream(url, '<x/>', {}, undefined, context, {
        silenceMs: 1000,
        onEnvelope: (e) => got.push(e),
        onEnd: resolve,
      });
    });
    expect(await ended).toBeUndefined();
    expect(got).toEqual([envelope(1), envelope(2), envelope(3)]);
  });

  it('gives the library one data progress per envelope (xhrStream)', async () => {
    const url = await serve(async (res) => {
      res.writeHead(200, { 'content-type': 'text/xml' });
      res.end(envelope(1) + envelope(2));
    });
    const progress: IXHRProgress[] = [];
    await transport.xhrStream({ url, type: 'POST', data: '<x/>', headers: {} }, (p) => void progress.push(p));
    expect(progress.map((p) => p.type)).toEqual(['header', 'data', 'data', 'end']);
    expect(progress.filter((p) => p.type === 'data').map((p) => p.data)).toEqual([envelope(1), envelope(2)]);
  });

  it('turns an HTTP error on a stream into an error progress and a rejection with the catalogue error', async () => {
    const url = await serve(async (res) => {
      res.writeHead(503, { 'content-type': 'text/html' }).end('<html>busy</html>');
    });
    const progress: IXHRProgress[] = [];
    const error = await transport
      .xhrStream({ url, type: 'POST', data: '<x/>', headers: {} }, (p) => void progress.push(p))
      .catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'EXH_EXCHANGE_UNAVAILABLE', message: expect.stringContaining('HTTP 503') });
    expect(progress).toEqual([{ type: 'error', error }]);
  });

  it('ends a stream that breaks off in the middle with an error', async () => {
    const url = await serve(async (res) => {
      res.writeHead(200, { 'content-type': 'text/xml' });
      res.write(envelope(1));
      await pause();
      res.socket?.destroy();
    });
    const got: string[] = [];
    const error = await new Promise<unknown>((resolve) => {
      void transport.openStream(url, '<x/>', {}, undefined, context, {
        silenceMs: 1000,
        onEnvelope: (e) => got.push(e),
        onEnd: resolve,
      });
    });
    expect(got).toEqual([envelope(1)]);
    expect(error).toMatchObject({ code: 'EXH_EXCHANGE_UNAVAILABLE' });
  });

  it('reads a gzip-compressed answer (the library asks for gzip)', async () => {
    const url = await serve(async (res) => {
      res.writeHead(200, { 'content-type': 'text/xml', 'content-encoding': 'gzip' }).end(gzipSync(envelope(7)));
    });
    const answer = await transport.send(url, '<x/>', { 'accept-encoding': 'gzip' }, undefined, context);
    expect(answer).toMatchObject({ status: 200, body: envelope(7) });
  });
});
