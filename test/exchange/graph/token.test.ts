import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AuthError, type INetworkModule, ServerError } from '@azure/msal-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RunningEmulator, startEmulator } from '../../../emulator/index.js';
import { configSchema } from '../../../src/config/schema.js';
import { type ExhError, isExhError, isPermanent } from '../../../src/errors.js';
import {
  fromMsalError,
  type GraphConfig,
  msalTokenProvider,
  redirectedMsal,
  staticTokenProvider,
} from '../../../src/exchange/graph/token.js';

/**
 * msal-node against the Graph emulator's token endpoint (emulator/graph/token.ts), offline: msal refuses an authority
 * that is not HTTPS, so it keeps Entra's and a network client routes https://login.microsoftonline.com to the
 * emulator's /graph-login (src/exchange/graph/token.ts, redirectedMsal). Secret and certificate, the cache and
 * forceRefresh, and each refusal as the catalogue's error naming its AADSTS code.
 */

const fixtures = new URL('../fixtures/', import.meta.url);
const tenant = 'contoso.test';
const clientId = '00000000-0000-0000-0000-0000000e4e00';
const clientSecret = 'exh-emulator-secret';
const signal = () => new AbortController().signal;

let emulator: RunningEmulator;
let login: string;

beforeAll(async () => {
  emulator = await startEmulator({ port: 0, graph: true });
  login = `http://${emulator.host}:${emulator.port}/graph-login`;
});
afterAll(async () => {
  await emulator?.close();
});

function graphConfig(graph: Record<string, unknown>): GraphConfig {
  return configSchema.parse({
    database: { type: 'pglite' },
    exchange: { backend: 'graph', graph: { tenant, clientId, authority: login, ...graph } },
  }).exchange.graph;
}

/** The claims of a token (the emulator's are JWTs, as Entra's). */
function claims(token: string): Record<string, unknown> {
  return JSON.parse(Buffer.from(token.split('.')[1] ?? '', 'base64url').toString('utf8')) as Record<string, unknown>;
}

async function failure(promise: Promise<unknown>): Promise<ExhError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!isExhError(error)) throw new Error(`expected an ExhError, got ${String(error)}`);
  return error;
}

/** msal's network client, counting the token requests that leave. */
function counting(inner: INetworkModule) {
  const posts: string[] = [];
  const client: INetworkModule = {
    sendGetRequestAsync: (url, options, timeout) => inner.sendGetRequestAsync(url, options, timeout),
    sendPostRequestAsync: (url, options) => {
      posts.push(url);
      return inner.sendPostRequestAsync(url, options);
    },
  };
  return { client, posts };
}

describe('a client secret', () => {
  it("gets an app-only token for Graph from Entra's endpoint, as msal is configured for Entra", async () => {
    const redirected = redirectedMsal(login, tenant);
    const { client, posts } = counting(redirected.networkClient);
    const tokens = msalTokenProvider(graphConfig({ clientSecret, authority: 'https://login.microsoftonline.com' }), {
      ...redirected,
      networkClient: client,
    });
    const token = await tokens.getToken({ signal: signal() });
    expect(claims(token)).toMatchObject({ appid: clientId, aud: 'https://graph.microsoft.com' });
    expect(claims(token).roles).toEqual(expect.arrayContaining(['Mail.ReadWrite', 'Calendars.ReadWrite']));
    expect(posts.map((url) => url.replace(/\?.*$/, ''))).toEqual([
      `https://login.microsoftonline.com/${tenant}/oauth2/v2.0/token`,
    ]);
  });

  it('answers from the cache until forceRefresh, which fetches a new token once for many callers at a time', async () => {
    const redirected = redirectedMsal(login, tenant);
    const { client, posts } = counting(redirected.networkClient);
    const tokens = msalTokenProvider(graphConfig({ clientSecret }), { networkClient: client });
    const first = await tokens.getToken({ signal: signal() });
    expect(await tokens.getToken({ signal: signal() })).toBe(first);
    expect(posts.length).toBe(1);
    const refreshed = await Promise.all(
      Array.from({ length: 5 }, () => tokens.getToken({ signal: signal(), forceRefresh: true })),
    );
    expect(new Set(refreshed).size).toBe(1);
    expect(refreshed[0]).not.toBe(first);
    expect(posts.length).toBe(2);
    // Later callers get the new token from the cache.
    expect(await tokens.getToken({ signal: signal() })).toBe(refreshed[0]);
    expect(posts.length).toBe(2);
  });

  it("renews a token before it expires: one that lives less than msal's five minutes of margin is never reused", async () => {
    emulator.admin.updateGraphApp({ tokenLifetimeSeconds: 240 });
    try {
      const tokens = msalTokenProvider(graphConfig({ clientSecret }));
      const first = await tokens.getToken({ signal: signal() });
      expect(await tokens.getToken({ signal: signal() })).not.toBe(first);
    } finally {
      emulator.admin.updateGraphApp({ tokenLifetimeSeconds: 3599 });
    }
  });

  it('routes a plain-http authority (an emulator) through the redirect by itself', async () => {
    const tokens = msalTokenProvider(graphConfig({ clientSecret }));
    expect(claims(await tokens.getToken({ signal: signal() })).appid).toBe(clientId);
  });

  it('says a wrong secret is wrong (AADSTS7000215), permanent, naming exchange.graph.clientSecret', async () => {
    const tokens = msalTokenProvider(graphConfig({ clientSecret: 'not-the-secret' }));
    const error = await failure(tokens.getToken({ signal: signal() }));
    expect(error.code).toBe('EXH_EXCHANGE_AUTH_FAILED');
    expect(isPermanent(error)).toBe(true);
    expect(error.details.aadsts).toBe('AADSTS7000215');
    expect(error.message).toMatch(/the client secret is wrong.*exchange\.graph\.clientSecret/);
    expect(error.message).not.toContain('not-the-secret');
  });

  it('says an unknown application (AADSTS700016) and an unknown tenant (AADSTS90002) apart', async () => {
    const app = await failure(
      msalTokenProvider(graphConfig({ clientSecret, clientId: '11111111-2222-3333-4444-555555555555' })).getToken({
        signal: signal(),
      }),
    );
    expect(app.details.aadsts).toBe('AADSTS700016');
    expect(app.message).toMatch(/application is not found in the tenant.*exchange\.graph\.clientId/);
    const wrongTenant = await failure(
      msalTokenProvider(graphConfig({ clientSecret, tenant: 'fabrikam.test' })).getToken({ signal: signal() }),
    );
    expect(wrongTenant.code).toBe('EXH_EXCHANGE_AUTH_FAILED');
    expect(wrongTenant.details.aadsts).toBe('AADSTS90002');
    expect(wrongTenant.message).toMatch(/the tenant is not found.*exchange\.graph\.tenant/);
  });

  it('reports an unreachable token endpoint as EXH_EXCHANGE_UNAVAILABLE, retryable', async () => {
    const closed = await startEmulator({ port: 0, graph: true });
    const url = `http://${closed.host}:${closed.port}/graph-login`;
    await closed.close();
    const error = await failure(
      msalTokenProvider(graphConfig({ clientSecret, authority: url })).getToken({ signal: signal() }),
    );
    expect(error.code).toBe('EXH_EXCHANGE_UNAVAILABLE');
    expect(error.retryable).toBe(true);
  });
});

describe('a certificate', () => {
  const keyFile = new URL('self-signed.key', fixtures).pathname;
  const certificateFile = new URL('self-signed.crt', fixtures).pathname;

  it('proves the application with a signed assertion while the certificate is registered, AADSTS700027 once it is not', async () => {
    const pem = readFileSync(certificateFile, 'utf8');
    const { thumbprintSha256 } = emulator.admin.addGraphCertificate(pem);
    const config = graphConfig({ clientCertificate: { thumbprintSha256, privateKeyFile: keyFile, certificateFile } });
    const token = await msalTokenProvider(config).getToken({ signal: signal() });
    expect(claims(token).appid).toBe(clientId);

    emulator.admin.removeGraphCertificate(thumbprintSha256);
    const error = await failure(msalTokenProvider(config).getToken({ signal: signal() }));
    expect(error.code).toBe('EXH_EXCHANGE_AUTH_FAILED');
    expect(error.details.aadsts).toBe('AADSTS700027');
    expect(error.message).toMatch(/certificate is not registered.*thumbprintSha256 and privateKeyFile/);
  });

  it('takes the thumbprint with colons and in lower case, as Entra and openssl print it', async () => {
    const { thumbprintSha256 } = emulator.admin.addGraphCertificate(readFileSync(certificateFile, 'utf8'));
    const spelled = (thumbprintSha256.toLowerCase().match(/../g) ?? []).join(':');
    const config = graphConfig({ clientCertificate: { thumbprintSha256: spelled, privateKeyFile: keyFile } });
    expect(claims(await msalTokenProvider(config).getToken({ signal: signal() })).appid).toBe(clientId);
  });

  it('refuses a key file it cannot read, or that holds no key, at once: EXH_CONFIG_INVALID naming the file', () => {
    const folder = mkdtempSync(join(tmpdir(), 'exh-graph-token-'));
    const notKey = join(folder, 'key.pem');
    writeFileSync(notKey, 'hello');
    const thumbprintSha256 = 'AB'.repeat(32);
    for (const privateKeyFile of [join(folder, 'missing.pem'), notKey]) {
      let error: unknown;
      try {
        msalTokenProvider(graphConfig({ clientCertificate: { thumbprintSha256, privateKeyFile } }));
      } catch (e) {
        error = e;
      }
      expect(isExhError(error, 'EXH_CONFIG_INVALID'), privateKeyFile).toBe(true);
      expect((error as Error).message).toContain(privateKeyFile);
    }
  });
});

describe('staticTokenProvider', () => {
  it('gives the same token, refresh or not', async () => {
    const tokens = staticTokenProvider('t-1');
    expect(await tokens.getToken({ signal: signal() })).toBe('t-1');
    expect(await tokens.getToken({ signal: signal(), forceRefresh: true })).toBe('t-1');
  });
});

describe("Entra's answers no emulator fault produces, as msal reports them", () => {
  const url = 'https://login.microsoftonline.com/contoso.test/oauth2/v2.0/token';
  /** msal's ServerError as it builds it from Entra's error answer (ResponseHandler.validateTokenResponse). */
  const entra = (code: string, error: string, description: string, status: number) =>
    new ServerError(
      error,
      'corr-1',
      `Error(s): ${code} - Timestamp: 2026-12-05 10:00:00Z - Description: ${description} - Correlation ID: corr-1 - Trace ID: t-1`,
      '',
      code,
      status,
    );

  it('says consent is missing (AADSTS65001) and an expired secret (AADSTS7000222) with their fixes', () => {
    const consent = fromMsalError(
      entra('65001', 'invalid_grant', 'AADSTS65001: The user or administrator has not consented.', 400),
      url,
      clientId,
    );
    expect(consent.code).toBe('EXH_EXCHANGE_AUTH_FAILED');
    expect(consent.message).toMatch(/admin consent is missing.*Grant admin consent/);
    const expired = fromMsalError(
      entra('7000222', 'invalid_client', 'AADSTS7000222: The provided client secret keys are expired.', 401),
      url,
      clientId,
    );
    expect(expired.message).toMatch(/client secret has expired.*Create a new client secret/);
  });

  it("passes an unknown AADSTS code on with Entra's description; an outage or 429 is retryable", () => {
    const other = fromMsalError(
      entra('50000', 'invalid_request', 'AADSTS50000: There was an error issuing a token.', 400),
      url,
      clientId,
    );
    expect(other.code).toBe('EXH_EXCHANGE_AUTH_FAILED');
    expect(other.details.aadsts).toBe('AADSTS50000');
    expect(other.message).toContain('AADSTS50000: There was an error issuing a token.');
    expect(other.message).not.toContain('Correlation ID');
    const outage = fromMsalError(entra('', 'temporarily_unavailable', 'The service is busy.', 503), url, clientId);
    expect(outage.code).toBe('EXH_EXCHANGE_UNAVAILABLE');
    expect(outage.retryable).toBe(true);
    const busy = fromMsalError(entra('', 'too_many_requests', 'slow down', 429), url, clientId);
    expect(busy.code).toBe('EXH_EXCHANGE_THROTTLED');
    const network = fromMsalError(new AuthError('network_error', '', 'ECONNRESET'), url, clientId);
    expect(network.code).toBe('EXH_EXCHANGE_UNAVAILABLE');
  });
});
