import { createServer, type Server, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import type { SyncItemsProgress } from '../../src/ports/control.port.js';
import { sendRequest } from '../../src/protocol/client.js';

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0)) await cleanup();
});

/** A server that answers every request with `lines`, written in the given chunks (to split lines across reads). */
async function server(chunks: string[]): Promise<number> {
  const sockets = new Set<Socket>();
  const listening: Server = createServer((socket) => {
    sockets.add(socket);
    socket.on('error', () => {});
    socket.once('data', () => {
      for (const chunk of chunks) socket.write(chunk);
      socket.end();
    });
  });
  await new Promise<void>((resolve) => listening.listen(0, '127.0.0.1', resolve));
  cleanups.push(async () => {
    for (const socket of sockets) socket.destroy();
    await new Promise((resolve) => listening.close(() => resolve(undefined)));
  });
  return (listening.address() as { port: number }).port;
}

const request = { token: 't', type: 'syncItems', direction: 0, progress: true } as const;

describe('sendRequest with onProgress', () => {
  it('hands each progress line to onProgress and resolves with the reply after them', async () => {
    const port = await server([
      '{"progress":{"user":"a@x.test","itemType":"task","done":1,"total":3}}\n{"progress":{"user":"a@x.te',
      'st","itemType":"task","done":3,"total":null}}\n',
      '{"exitCode":0,"outputValue":"3","errorMessage":null}\n',
    ]);
    const seen: SyncItemsProgress[] = [];
    const reply = await sendRequest({ host: '127.0.0.1', port }, request, {
      timeoutMs: 5_000,
      onProgress: (p) => seen.push(p),
    });
    expect(seen).toEqual([
      { user: 'a@x.test', itemType: 'task', done: 1, total: 3 },
      { user: 'a@x.test', itemType: 'task', done: 3, total: null },
    ]);
    expect(reply).toEqual({ exitCode: 0, outputValue: '3', errorMessage: null });
  });

  it('without onProgress, the first line is the reply, as before', async () => {
    const port = await server(['{"progress":{"user":"a","itemType":"task","done":1,"total":1}}\n']);
    const reply = await sendRequest({ host: '127.0.0.1', port }, request, { timeoutMs: 5_000 });
    expect(reply.exitCode).toBe(1);
    expect(reply.errorMessage).toMatch(/not \{exitCode, outputValue, errorMessage\}/);
  });

  it('a connection that closes after progress but before the reply is exit code 1', async () => {
    const port = await server(['{"progress":{"user":"a","itemType":"task","done":1,"total":1}}\n']);
    const reply = await sendRequest({ host: '127.0.0.1', port }, request, { timeoutMs: 5_000, onProgress: () => {} });
    expect(reply.exitCode).toBe(1);
    expect(reply.errorMessage).toMatch(/closed the connection without a reply/);
  });
});
