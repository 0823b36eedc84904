import { readFileSync } from 'node:fs';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { createServer as createTcpServer, type Socket } from 'node:net';
import { afterAll, describe, expect, it } from 'vitest';
import { folderNames } from '../../../src/ports/exchange.port.js';
import { alice, live, startTestEmulator, testAdapter } from './support.js';

const emulator = await startTestEmulator();
const denied = await startTestEmulator({ impersonationAllowed: false });
const fixture = (name: string) => readFileSync(new URL(`../fixtures/${name}`, import.meta.url));

/** An HTTPS server with a self-signed certificate that answers 401 to everything. */
const tlsServer = createHttpsServer(
  { key: fixture('self-signed.key'), cert: fixture('self-signed.crt') },
  (_req, res) => {
    res.writeHead(401, { 'www-authenticate': 'Basic realm="x"' }).end();
  },
);
await new Promise<void>((resolve) => tlsServer.listen(0, '127.0.0.1', resolve));
const tlsUrl = `https://127.0.0.1:${(tlsServer.address() as AddressInfo).port}/autodiscover/autodiscover.svc`;

/** A TCP server that accepts connections and never answers. */
const sockets = new Set<Socket>();
const silentServer = createTcpServer((socket) => {
  sockets.add(socket);
  socket.on('close', () => sockets.delete(socket));
});
await new Promise<void>((resolve) => silentServer.listen(0, '127.0.0.1', resolve));
const silentUrl = `http://127.0.0.1:${(silentServer.address() as AddressInfo).port}/autodiscover/autodiscover.svc`;

afterAll(async () => {
  for (const socket of sockets) socket.destroy();
  await new Promise((resolve) => tlsServer.close(resolve));
  await new Promise((resolve) => silentServer.close(resolve));
});

describe('connect with exchange.staticEwsUrl', () => {
  it('connects to the static URL and knows the distinguished folders', async () => {
    const connection = await testAdapter(emulator).connect(alice);
    expect(connection.user).toBe(alice);
    expect(connection.endpoint).toBe(emulator.url);
    const page = await connection.syncFolder('inbox', null, { ...live(), maxChanges: 1 });
    expect(page.done).toBe(true);
  });

  it('names an unknown mailbox (EXH_EXCHANGE_MAILBOX_NOT_FOUND, not retryable)', async () => {
    const error = await testAdapter(emulator)
      .connect('ghost@contoso.test')
      .catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'EXH_EXCHANGE_MAILBOX_NOT_FOUND', retryable: false });
    expect((error as Error).message).toContain('ghost@contoso.test');
  });

  it('names denied impersonation (EXH_EXCHANGE_IMPERSONATION_DENIED, not retryable)', async () => {
    const error = await testAdapter(denied)
      .connect(alice)
      .catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'EXH_EXCHANGE_IMPERSONATION_DENIED', retryable: false });
    expect((error as Error).message).toContain(`${denied.serviceAccount} may not act as ${alice}`);
  });

  it('names refused credentials (HTTP 401 → EXH_EXCHANGE_AUTH_FAILED)', async () => {
    const error = await testAdapter(emulator, { impersonationPassword: 'wrong' })
      .connect(alice)
      .catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'EXH_EXCHANGE_AUTH_FAILED' });
    expect((error as Error).message).toContain(emulator.url);
  });

  it('sends an OAuth bearer token when exchange.auth is oauth', async () => {
    // The emulator knows Basic and NTLM only: a bearer token is refused, which shows that it was sent instead.
    const adapter = testAdapter(emulator, { auth: 'oauth', oauthToken: 'eyJ.a.b' });
    await expect(adapter.connect(alice)).rejects.toMatchObject({ code: 'EXH_EXCHANGE_AUTH_FAILED' });
  });

  it('warns loudly, once, when certificate checks are off', () => {
    const adapter = testAdapter(emulator, { ignoreSsl: true });
    const warnings = adapter.records.filter((r) => r.cat === 'W' && String(r.msg).includes('ignoreSsl'));
    expect(warnings).toHaveLength(1);
    expect(warnings[0]?.msg).toContain('NOT checked');
  });
});

describe('connect with Autodiscover', () => {
  const discovering = (urls: string[], overrides = {}) =>
    testAdapter(emulator, { staticEwsUrl: undefined, ...overrides }, { autodiscoverCandidates: () => urls });

  it('finds the EWS URL of the mailbox', async () => {
    const connection = await discovering([emulator.autodiscoverUrl]).connect(alice);
    expect(connection.endpoint).toBe(emulator.url);
  });

  it('names an unknown user with the URL that said so', async () => {
    const error = await discovering([emulator.autodiscoverUrl])
      .connect('ghost@contoso.test')
      .catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'EXH_EXCHANGE_MAILBOX_NOT_FOUND', retryable: false });
    expect((error as Error).message).toContain(`Autodiscover at ${emulator.autodiscoverUrl} answered InvalidUser`);
  });

  it('names HTTP 401 with the URL, not "Not implemented."', async () => {
    const error = await discovering([emulator.autodiscoverUrl], { impersonationPassword: 'wrong' })
      .connect(alice)
      .catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'EXH_EXCHANGE_AUTH_FAILED' });
    expect((error as Error).message).toContain(`${emulator.autodiscoverUrl} refused the credentials`);
  });

  it('names a certificate problem (EXH_EXCHANGE_TLS), and gets past it with ignoreSsl', async () => {
    const strict = await discovering([tlsUrl])
      .connect(alice)
      .catch((e: unknown) => e);
    expect(strict).toMatchObject({ code: 'EXH_EXCHANGE_TLS' });
    expect((strict as Error).message).toMatch(/Could not establish trust relationship .*127\.0\.0\.1/);
    const lax = await discovering([tlsUrl], { ignoreSsl: true })
      .connect(alice)
      .catch((e: unknown) => e);
    expect(lax).toMatchObject({ code: 'EXH_EXCHANGE_AUTH_FAILED' });
  });

  it('names a time-out with the URL', async () => {
    const error = await discovering([silentUrl], { timeoutMs: 200 })
      .connect(alice)
      .catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'EXH_EXCHANGE_TIMEOUT', message: expect.stringContaining(silentUrl) });
  });

  it('lists every candidate with its own cause when none answers, and goes on to one that does', async () => {
    const refused = 'http://127.0.0.1:1/autodiscover/autodiscover.svc';
    const error = await discovering([refused, silentUrl], { timeoutMs: 200 })
      .connect(alice)
      .catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'EXH_EXCHANGE_AUTODISCOVER_FAILED', retryable: true });
    expect((error as Error).message).toContain(
      `${refused}: Exchange at ${refused} is not available: 127.0.0.1:1 refused`,
    );
    expect((error as Error).message).toContain(`${silentUrl}: The operation has timed out`);
    const connection = await discovering([refused, emulator.autodiscoverUrl]).connect(alice);
    expect(connection.endpoint).toBe(emulator.url);
  });

  it('syncs every distinguished folder of a discovered mailbox', async () => {
    const connection = await discovering([emulator.autodiscoverUrl]).connect(alice);
    // Every distinguished folder syncs; an unknown one would fail.
    for (const folder of folderNames) {
      await expect(connection.syncFolder(folder, null, { ...live(), maxChanges: 1 })).resolves.toBeDefined();
    }
  });
});
