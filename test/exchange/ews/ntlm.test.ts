import { connect, createServer, type Server, type Socket } from 'node:net';
import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import type { SubscriptionEvent } from '../../../src/ports/exchange.port.js';
import { alice, live, startTestEmulator, testAdapter } from './support.js';

/**
 * The adapter with exchange.auth "ntlm" against the emulator, which checks NTLMv2 for real and, as Exchange, logs on
 * the TCP connection rather than the request. A proxy in between reads the status line of every answer, so the tests
 * count handshakes (401s) and connections as they happen on the wire.
 */

/** A TCP forwarder that notes each answer's status and can move its clients onto new server connections. */
class WatchingProxy {
  connections = 0;
  statuses: number[] = [];
  readonly #clients = new Set<{ client: Socket; upstream: Socket | undefined }>();
  readonly #server: Server;

  constructor(readonly target: { host: string; port: number }) {
    this.#server = createServer((client) => this.#accept(client));
  }

  async open(): Promise<number> {
    await new Promise<void>((resolve) => this.#server.listen(0, '127.0.0.1', resolve));
    return (this.#server.address() as { port: number }).port;
  }

  reset(): void {
    this.connections = 0;
    this.statuses = [];
  }

  count(status: number): number {
    return this.statuses.filter((s) => s === status).length;
  }

  /** Every client keeps its connection, but its next bytes reach the server on a new one (a balancer without affinity). */
  rebind(): void {
    for (const pair of this.#clients) {
      const upstream = pair.upstream;
      pair.upstream = undefined;
      upstream?.destroy();
    }
  }

  async close(): Promise<void> {
    for (const { client, upstream } of this.#clients) {
      client.destroy();
      upstream?.destroy();
    }
    await new Promise((resolve) => this.#server.close(resolve));
  }

  #accept(client: Socket): void {
    this.connections++;
    const pair: { client: Socket; upstream: Socket | undefined } = { client, upstream: undefined };
    this.#clients.add(pair);
    let tail = '';
    const upstream = () => {
      if (pair.upstream) return pair.upstream;
      const socket = connect(this.target.port, this.target.host);
      pair.upstream = socket;
      socket.on('data', (chunk: Buffer) => {
        const text = tail + chunk.toString('latin1');
        let end = 0;
        for (const match of text.matchAll(/HTTP\/1\.1 (\d{3}) /g)) {
          this.statuses.push(Number(match[1]));
          end = match.index + match[0].length;
        }
        tail = text.slice(Math.max(end, text.length - 16));
        client.write(chunk);
      });
      // The server closed it (not a rebind): so does the client's connection.
      socket.on('close', () => pair.upstream === socket && client.destroy());
      socket.on('error', () => socket.destroy());
      return socket;
    };
    client.on('data', (chunk: Buffer) => upstream().write(chunk));
    client.on('error', () => client.destroy());
    client.on('close', () => {
      this.#clients.delete(pair);
      pair.upstream?.destroy();
    });
  }
}

const emulator = await startTestEmulator();
const proxy = new WatchingProxy({ host: emulator.host, port: emulator.port });
const proxied = emulator.url.replace(`:${emulator.port}/`, `:${await proxy.open()}/`);
afterAll(() => proxy.close());
beforeEach(() => proxy.reset());

const ntlm = (account = 'CONTOSO\\exh-service', password = emulator.password) =>
  testAdapter(emulator, {
    auth: 'ntlm',
    impersonationUser: account,
    impersonationPassword: password,
    staticEwsUrl: proxied,
  });

const syncCalendar = (connection: Awaited<ReturnType<ReturnType<typeof ntlm>['connect']>>) =>
  connection.syncFolder('calendar', null, { ...live(), maxChanges: 10 });

describe('NTLM against the emulator', () => {
  it('connects as DOMAIN\\user, syncs, and receives a notification on a streaming subscription', async () => {
    const connection = await ntlm().connect(alice);
    await expect(syncCalendar(connection)).resolves.toMatchObject({ done: true });
    let notified: (event: SubscriptionEvent) => void = () => {};
    const changed = new Promise<SubscriptionEvent>((resolve) => {
      notified = resolve;
    });
    const subscription = await connection.subscribe(
      ['calendar'],
      'streaming',
      (event) => event.type === 'changed' && notified(event),
      live(),
    );
    emulator.admin.createItem(alice, {
      kind: 'CalendarItem',
      Subject: 'Over NTLM',
      Start: '2026-05-01T09:00:00Z',
      End: '2026-05-01T10:00:00Z',
    });
    expect(await changed).toEqual({ type: 'changed', folders: ['calendar'] });
    await subscription.close();
    // The stream held a connection of its own, so it was logged on by a handshake of its own.
    expect(proxy.count(401)).toBe(proxy.connections);
  });

  it('connects as user@domain (a UPN, sent whole)', async () => {
    const connection = await ntlm(emulator.serviceAccount).connect(alice);
    await expect(syncCalendar(connection)).resolves.toMatchObject({ done: true });
  });

  it('finds the mailbox with Autodiscover over NTLM', async () => {
    const discovering = testAdapter(
      emulator,
      { auth: 'ntlm', impersonationUser: 'CONTOSO\\exh-service', staticEwsUrl: undefined },
      { autodiscoverCandidates: () => [emulator.autodiscoverUrl] },
    );
    const connection = await discovering.connect(alice);
    expect(connection.endpoint).toBe(emulator.url);
  });

  it('does the handshake once for a connection that carries several requests', async () => {
    const connection = await ntlm().connect(alice);
    for (let i = 0; i < 3; i++) await syncCalendar(connection);
    expect(proxy.connections).toBe(1);
    // Type 1 → 401 with the challenge; Type 3 with GetFolder → 200; every later request → 200 without a header.
    const [challenge, ...answers] = proxy.statuses;
    expect(challenge).toBe(401);
    expect(answers.length).toBeGreaterThanOrEqual(4);
    expect(answers.every((status) => status === 200)).toBe(true);
  });

  it('does the handshake again, once, when Exchange answers 401 on a connection that was logged on', async () => {
    const connection = await ntlm().connect(alice);
    proxy.rebind();
    await expect(syncCalendar(connection)).resolves.toMatchObject({ done: true });
    await expect(syncCalendar(connection)).resolves.toMatchObject({ done: true });
    expect(proxy.connections).toBe(1);
    // GetFolder's handshake; then the 401 of the forgotten connection, the new challenge, and the rest.
    expect(proxy.statuses.slice(0, 5)).toEqual([401, 200, 401, 401, 200]);
    expect(proxy.count(401)).toBe(3);
  });

  it('names the account for a wrong password (EXH_EXCHANGE_AUTH_FAILED), never the password, and tries once', async () => {
    const error = await ntlm('CONTOSO\\exh-service', 'Tr0ub4dor&3')
      .connect(alice)
      .catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'EXH_EXCHANGE_AUTH_FAILED', retryable: false });
    expect((error as Error).message).toContain('CONTOSO\\exh-service');
    expect(JSON.stringify(error)).not.toContain('Tr0ub4dor');
    expect((error as Error).message).not.toContain('Tr0ub4dor');
    // One challenge, one refused answer: a wrong password is not tried again (it could lock the account).
    expect(proxy.statuses).toEqual([401, 401]);
  });
});
