import { readFileSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { offlineMessage, sendRequest } from '../../src/protocol/client.js';
import { startDatabaseListener } from '../../src/protocol/listener.js';
import { freePort } from '../support/net.js';
import { recordingHandler, recordingLogger, token } from './helpers.js';

const fixture = (name: string) => readFileSync(new URL(`../exchange/fixtures/${name}`, import.meta.url));

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0)) await cleanup();
});

/** A TCP server that does `onConnection` with each client instead of speaking the protocol. */
async function fakeServer(onConnection: (socket: Socket) => void): Promise<number> {
  const sockets = new Set<Socket>();
  const server: Server = createServer((socket) => {
    sockets.add(socket);
    socket.on('error', () => {});
    // Reading what the client sends lets its end arrive, so that the connection can close.
    socket.resume();
    onConnection(socket);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  cleanups.push(async () => {
    for (const socket of sockets) socket.destroy();
    await new Promise((resolve) => server.close(() => resolve(undefined)));
  });
  return (server.address() as { port: number }).port;
}

describe('sendRequest', () => {
  it('returns 521 "offline" when nothing listens on the port, as the senders do (docs/senders.md)', async () => {
    const port = await freePort();
    const reply = await sendRequest({ host: '127.0.0.1', port }, { token, type: 'ping' }, { timeoutMs: 5_000 });
    expect(reply.exitCode).toBe(521);
    expect(reply.errorMessage).toMatch(new RegExp(`^${offlineMessage}: cannot connect to 127\\.0\\.0\\.1:${port}`));
    expect(reply.outputValue).toBeNull();
  });

  it('gives up after its time-out when the connector accepts but never answers', async () => {
    const port = await fakeServer(() => {});
    const reply = await sendRequest({ host: '127.0.0.1', port }, { token, type: 'ping' }, { timeoutMs: 200 });
    expect(reply).toMatchObject({ exitCode: 1, errorMessage: expect.stringMatching(/No reply .* within 200 ms/) });
  });

  it('reports a connection closed without a reply, and a reply of the wrong shape', async () => {
    const closing = await fakeServer((socket) => socket.end());
    expect(
      (await sendRequest({ host: '127.0.0.1', port: closing }, { token, type: 'ping' }, { timeoutMs: 5_000 }))
        .errorMessage,
    ).toMatch(/closed the connection without a reply/);
    const wrong = await fakeServer((socket) => socket.end('{"exit":0}\n'));
    expect(
      await sendRequest({ host: '127.0.0.1', port: wrong }, { token, type: 'ping' }, { timeoutMs: 5_000 }),
    ).toMatchObject({
      exitCode: 1,
      errorMessage: expect.stringMatching(/not \{exitCode, outputValue, errorMessage\}/),
    });
  });
});

describe('TLS', () => {
  it('writes the token first, whatever order the request was built in, so the listener can authenticate early', async () => {
    let line = '';
    const port = await fakeServer((socket) =>
      socket.on('data', (chunk: Buffer) => {
        line += chunk.toString('utf8');
        if (line.endsWith('\n')) socket.end('{"exitCode":0,"outputValue":null,"errorMessage":null}\n');
      }),
    );
    // As exh send builds it: the request, then the token from exh_set_up.
    const request = { type: 'getAttachment', user: 'a@b.test', itemId: 'I', attachmentId: 'A', token } as const;
    expect((await sendRequest({ host: '127.0.0.1', port }, request, { timeoutMs: 5_000 })).exitCode).toBe(0);
    expect(line).toBe(
      `${JSON.stringify({ token, type: 'getAttachment', user: 'a@b.test', itemId: 'I', attachmentId: 'A' })}\n`,
    );
  });

  it('does a round trip with a self-signed certificate the client trusts', async () => {
    const handler = recordingHandler(() => ({ exitCode: 0, outputValue: 'pong', errorMessage: null }));
    const listener = await startDatabaseListener({
      host: '127.0.0.1',
      port: 0,
      token,
      handle: handler.handle,
      logger: recordingLogger().logger,
      tls: { key: fixture('self-signed.key'), cert: fixture('self-signed.crt') },
    });
    cleanups.push(() => listener.close());
    const target = { host: '127.0.0.1', port: listener.address.port };
    const trusted = { ...target, tls: { ca: fixture('self-signed.crt'), servername: 'localhost' } };
    expect(await sendRequest(trusted, { token, type: 'ping' }, { timeoutMs: 5_000 })).toEqual({
      exitCode: 0,
      outputValue: 'pong',
      errorMessage: null,
    });
    expect(handler.calls).toHaveLength(1);

    // Without trusting the certificate the handshake fails, and a plain-text client gets no answer: nothing is handled.
    const untrusted = await sendRequest(
      { ...target, tls: { servername: 'localhost' } },
      { token, type: 'ping' },
      { timeoutMs: 5_000 },
    );
    expect(untrusted).toMatchObject({ exitCode: 521, errorMessage: expect.stringMatching(/self-signed|self signed/) });
    const plain = await sendRequest(target, { token, type: 'ping' }, { timeoutMs: 5_000 });
    expect(plain.exitCode).not.toBe(0);
    expect(handler.calls).toHaveLength(1);
  });
});
