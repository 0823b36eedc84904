import { createHash, createPrivateKey, generateKeyPairSync, type KeyObject, X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { ConfidentialClientApplication, type INetworkModule, type NetworkRequestOptions } from '@azure/msal-node';
import { SignJWT } from 'jose';
import { describe, expect, it } from 'vitest';
import type { RunningEmulator } from '../../../emulator/index.js';
import { SimulatedClock } from '../support/clock.js';
import {
  clientId,
  clientSecret,
  graph,
  graphScope,
  originOf,
  postForm,
  secretToken,
  startGraphEmulator,
  tenant,
  tokenUrl,
} from './support-e2/graph.js';

/**
 * Entra's v2 token endpoint as the emulator serves it (emulator/graph/token.ts), over real HTTP: the client-credentials
 * grant by secret and by a certificate-signed assertion, Entra's errors, tokens that expire on the emulator's clock,
 * missing consent, and msal-node's ConfidentialClientApplication pointed at the emulator.
 */

const fixtures = new URL('../../exchange/fixtures/', import.meta.url);
const certificatePem = readFileSync(new URL('self-signed.crt', fixtures), 'utf8');
const privateKeyPem = readFileSync(new URL('self-signed.key', fixtures), 'utf8');
const certificate = new X509Certificate(certificatePem);
const thumbprintSha256 = createHash('sha256').update(certificate.raw).digest('hex').toUpperCase();
const thumbprintSha1 = createHash('sha1').update(certificate.raw).digest('hex').toUpperCase();
const entraToken = `https://login.microsoftonline.com/${tenant}/oauth2/v2.0/token`;
const assertionType = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer';

function secretForm(overrides: Record<string, string> = {}): Record<string, string> {
  return {
    grant_type: 'client_credentials',
    client_id: clientId,
    client_secret: clientSecret,
    scope: graphScope,
    ...overrides,
  };
}

interface AssertionOptions {
  key?: KeyObject | string;
  alg?: 'PS256' | 'RS256';
  header?: Record<string, string>;
  aud?: string;
  iss?: string;
  exp?: number;
  nbf?: number;
  jti?: string | null;
}

async function assertion(options: AssertionOptions = {}): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  const alg = options.alg ?? 'PS256';
  const header = options.header ?? {
    [alg === 'PS256' ? 'x5t#S256' : 'x5t']: Buffer.from(
      alg === 'PS256' ? thumbprintSha256 : thumbprintSha1,
      'hex',
    ).toString('base64url'),
  };
  const key = options.key ?? privateKeyPem;
  const jwt = new SignJWT({})
    .setProtectedHeader({ alg, typ: 'JWT', ...header })
    .setAudience(options.aud ?? entraToken)
    .setIssuer(options.iss ?? clientId)
    .setSubject(options.iss ?? clientId)
    .setNotBefore(options.nbf ?? now)
    .setExpirationTime(options.exp ?? now + 600);
  if (options.jti !== null) jwt.setJti(options.jti ?? crypto.randomUUID());
  return jwt.sign(typeof key === 'string' ? createPrivateKey(key) : key);
}

function assertionForm(jwt: string): Record<string, string> {
  return {
    grant_type: 'client_credentials',
    client_id: clientId,
    client_assertion_type: assertionType,
    client_assertion: jwt,
    scope: graphScope,
  };
}

function expectEntraError(
  answer: { status: number; body: Record<string, unknown> },
  status: number,
  error: string,
  code: number,
) {
  expect(answer.status).toBe(status);
  expect(answer.body.error).toBe(error);
  expect(answer.body.error_codes).toEqual([code]);
  expect(String(answer.body.error_description)).toMatch(new RegExp(`^AADSTS${code}: `));
  expect(answer.body.error_uri).toBe(`https://login.microsoftonline.com/error?code=${code}`);
  expect(answer.body.access_token).toBeUndefined();
}

/** msal's requests to Entra sent to the emulator (msal takes only https authorities), each URL recorded. */
function routedNetworkClient(emulator: RunningEmulator, seen: string[]): INetworkModule {
  const route = (url: string) =>
    url.replace(/^https:\/\/login\.(microsoftonline\.com|exh-emulator\.test)\//, `${originOf(emulator)}/graph-login/`);
  const send = async (method: 'GET' | 'POST', url: string, options?: NetworkRequestOptions) => {
    seen.push(`${method} ${url}`);
    const response = await fetch(route(url), {
      method,
      headers: options?.headers ?? {},
      ...(method === 'POST' ? { body: options?.body ?? '' } : {}),
    });
    const headers: Record<string, string> = {};
    response.headers.forEach((value, name) => {
      headers[name] = value;
    });
    return { headers, body: (await response.json()) as never, status: response.status };
  };
  return {
    sendGetRequestAsync: (url, options) => send('GET', url, options),
    sendPostRequestAsync: (url, options) => send('POST', url, options),
  };
}

describe('the token endpoint', async () => {
  const emulator = await startGraphEmulator();
  emulator.admin.addGraphCertificate(certificatePem);

  it('issues an app-only token for the client secret, which Graph takes', async () => {
    const answer = await postForm(tokenUrl(emulator), secretForm());
    expect(answer.status).toBe(200);
    expect(answer.body).toMatchObject({ token_type: 'Bearer', expires_in: 3599, ext_expires_in: 3599 });
    expect(answer.headers.get('cache-control')).toContain('no-store');
    const token = answer.body.access_token as string;
    expect(token.split('.')).toHaveLength(3);
    expect((await graph(emulator, token, 'GET', '/users/alice@contoso.test')).status).toBe(200);
  });

  it('takes the client id and secret in an Authorization: Basic header too (client_secret_basic)', async () => {
    const response = await fetch(tokenUrl(emulator), {
      method: 'POST',
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        authorization: `Basic ${Buffer.from(`${clientId}:${encodeURIComponent(clientSecret)}`).toString('base64')}`,
      },
      body: new URLSearchParams({ grant_type: 'client_credentials', scope: graphScope }),
    });
    expect(response.status).toBe(200);
  });

  it('takes the tenant by id as well as by domain', async () => {
    const { tenantId } = emulator.admin.graphApp();
    expect((await postForm(tokenUrl(emulator, tenantId), secretForm())).status).toBe(200);
  });

  it('answers a wrong secret with 401 invalid_client AADSTS7000215', async () => {
    const answer = await postForm(tokenUrl(emulator), secretForm({ client_secret: 'not-the-secret' }));
    expectEntraError(answer, 401, 'invalid_client', 7000215);
    expect(answer.body).toHaveProperty('trace_id');
    expect(answer.body).toHaveProperty('correlation_id');
  });

  it('answers an unknown app with AADSTS700016 and an unknown tenant with AADSTS90002', async () => {
    const unknownApp = await postForm(
      tokenUrl(emulator),
      secretForm({ client_id: '11111111-2222-3333-4444-555555555555' }),
    );
    expectEntraError(unknownApp, 400, 'unauthorized_client', 700016);
    expect(String(unknownApp.body.error_description)).toContain("'11111111-2222-3333-4444-555555555555'");
    const unknownTenant = await postForm(tokenUrl(emulator, 'fabrikam.test'), secretForm());
    expectEntraError(unknownTenant, 400, 'invalid_request', 90002);
    expect(String(unknownTenant.body.error_description)).toContain("Tenant 'fabrikam.test' not found");
  });

  it('wants the Graph resource with /.default, the client-credentials grant and a credential', async () => {
    expectEntraError(
      await postForm(tokenUrl(emulator), secretForm({ scope: 'Mail.Read' })),
      400,
      'invalid_scope',
      1002012,
    );
    expectEntraError(
      await postForm(tokenUrl(emulator), secretForm({ scope: 'https://outlook.office365.com/.default' })),
      400,
      'invalid_resource',
      500011,
    );
    const { scope: _scope, ...noScope } = secretForm();
    expectEntraError(await postForm(tokenUrl(emulator), noScope), 400, 'invalid_request', 900144);
    expectEntraError(
      await postForm(tokenUrl(emulator), secretForm({ grant_type: 'password' })),
      400,
      'unsupported_grant_type',
      70003,
    );
    const { client_secret: _secret, ...noCredential } = secretForm();
    expectEntraError(await postForm(tokenUrl(emulator), noCredential), 401, 'invalid_client', 7000218);
    // msal adds OIDC scopes to some requests; Entra ignores them beside the resource's /.default.
    expect(
      (await postForm(tokenUrl(emulator), secretForm({ scope: `${graphScope} openid profile offline_access` }))).status,
    ).toBe(200);
  });

  describe('client assertions', () => {
    it('takes a PS256 assertion naming the certificate by x5t#S256, and an RS256 one by x5t', async () => {
      const ps256 = await postForm(tokenUrl(emulator), assertionForm(await assertion()));
      expect(ps256.status).toBe(200);
      expect(ps256.body.token_type).toBe('Bearer');
      const rs256 = await postForm(tokenUrl(emulator), assertionForm(await assertion({ alg: 'RS256' })));
      expect(rs256.status).toBe(200);
    });

    it("takes the emulator's own token URL as the audience too", async () => {
      const answer = await postForm(tokenUrl(emulator), assertionForm(await assertion({ aud: tokenUrl(emulator) })));
      expect(answer.status).toBe(200);
    });

    it('refuses a certificate that is not registered, and a signature by another key', async () => {
      const { privateKey: otherKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
      const unregistered = await assertion({
        key: otherKey,
        header: { 'x5t#S256': createHash('sha256').update('another certificate').digest('base64url') },
      });
      const notRegistered = await postForm(tokenUrl(emulator), assertionForm(unregistered));
      expectEntraError(notRegistered, 401, 'invalid_client', 700027);
      expect(String(notRegistered.body.error_description)).toContain('not registered on application');
      const forged = await postForm(tokenUrl(emulator), assertionForm(await assertion({ key: otherKey })));
      expectEntraError(forged, 401, 'invalid_client', 700027);
      expect(String(forged.body.error_description)).toContain('signature validation');
    });

    it('refuses an expired assertion, one not yet valid, a wrong audience, issuer or jti, and HS256', async () => {
      const now = Math.floor(Date.now() / 1000);
      expectEntraError(
        await postForm(tokenUrl(emulator), assertionForm(await assertion({ nbf: now - 3600, exp: now - 1800 }))),
        401,
        'invalid_client',
        700024,
      );
      expectEntraError(
        await postForm(tokenUrl(emulator), assertionForm(await assertion({ nbf: now + 1800, exp: now + 2400 }))),
        401,
        'invalid_client',
        700024,
      );
      expectEntraError(
        await postForm(
          tokenUrl(emulator),
          assertionForm(await assertion({ aud: 'https://login.microsoftonline.com/fabrikam.test/oauth2/v2.0/token' })),
        ),
        401,
        'invalid_client',
        700023,
      );
      expectEntraError(
        await postForm(
          tokenUrl(emulator),
          assertionForm(await assertion({ iss: '99999999-0000-0000-0000-000000000000' })),
        ),
        401,
        'invalid_client',
        700021,
      );
      expectEntraError(
        await postForm(tokenUrl(emulator), assertionForm(await assertion({ jti: null }))),
        401,
        'invalid_client',
        50027,
      );
      const hs256 = await new SignJWT({})
        .setProtectedHeader({ alg: 'HS256' })
        .setAudience(entraToken)
        .setIssuer(clientId)
        .setSubject(clientId)
        .setExpirationTime('10m')
        .setJti('x')
        .sign(new TextEncoder().encode('a shared secret that is long enough'));
      expectEntraError(await postForm(tokenUrl(emulator), assertionForm(hs256)), 401, 'invalid_client', 5002738);
    });

    it('refuses an assertion once its certificate is removed from the app', async () => {
      const other = await startGraphEmulator();
      const registered = other.admin.addGraphCertificate(certificatePem);
      expect(registered).toMatchObject({ thumbprintSha1, thumbprintSha256 });
      expect((await postForm(tokenUrl(other), assertionForm(await assertion()))).status).toBe(200);
      other.admin.removeGraphCertificate(thumbprintSha256);
      expectEntraError(
        await postForm(tokenUrl(other), assertionForm(await assertion())),
        401,
        'invalid_client',
        700027,
      );
    });
  });

  describe('Graph requests with the token', () => {
    it('are 401 InvalidAuthenticationToken without a token, with an unknown one, and after "expire every token"', async () => {
      const none = await graph(emulator, undefined, 'GET', '/users/alice@contoso.test');
      expect(none.status).toBe(401);
      expect(none.body).toMatchObject({
        error: { code: 'InvalidAuthenticationToken', message: 'Access token is empty.' },
      });
      expect((await graph(emulator, 'made-up', 'GET', '/users/alice@contoso.test')).body).toMatchObject({
        error: { code: 'InvalidAuthenticationToken' },
      });
      const token = await secretToken(emulator);
      expect((await graph(emulator, token, 'GET', '/users/alice@contoso.test')).status).toBe(200);
      const response = await fetch(`${originOf(emulator)}/emulator/admin/graph/tokens/expire`, {
        method: 'POST',
        headers: {
          authorization: `Basic ${Buffer.from(`${emulator.serviceAccount}:${emulator.password}`).toString('base64')}`,
          'content-type': 'application/json',
        },
        body: '{}',
      });
      expect(response.status).toBe(200);
      expect(((await response.json()) as { expired: number }).expired).toBeGreaterThan(0);
      expect((await graph(emulator, token, 'GET', '/users/alice@contoso.test')).status).toBe(401);
      expect((await graph(emulator, await secretToken(emulator), 'GET', '/users/alice@contoso.test')).status).toBe(200);
    });

    it('expire after their lifetime on the emulator clock', async () => {
      const clock = new SimulatedClock();
      const timed = await startGraphEmulator({ clock });
      timed.admin.updateGraphApp({ tokenLifetimeSeconds: 120 });
      const answer = await postForm(tokenUrl(timed), secretForm());
      expect(answer.body.expires_in).toBe(120);
      const token = answer.body.access_token as string;
      clock.advance(119_000);
      expect((await graph(timed, token, 'GET', '/users/alice@contoso.test')).status).toBe(200);
      clock.advance(1_000);
      const expired = await graph(timed, token, 'GET', '/users/alice@contoso.test');
      expect(expired.status).toBe(401);
      expect(expired.body).toMatchObject({
        error: { code: 'InvalidAuthenticationToken', message: 'Lifetime validation failed, the token is expired.' },
      });
    });

    it('are 403 Authorization_RequestDenied when the admin never consented, although the token is issued', async () => {
      const unconsented = await startGraphEmulator();
      unconsented.admin.updateGraphApp({ consented: false });
      const answer = await postForm(tokenUrl(unconsented), secretForm());
      expect(answer.status).toBe(200);
      const denied = await graph(unconsented, answer.body.access_token as string, 'GET', '/users/alice@contoso.test');
      expect(denied.status).toBe(403);
      expect(denied.body).toMatchObject({ error: { code: 'Authorization_RequestDenied' } });
    });
  });

  describe('emulator options', () => {
    it('replace the default app registration', async () => {
      const other = await startGraphEmulator({
        graphApp: { tenant: 'fabrikam.test', clientSecret: 'fabrikam-secret' },
      });
      expect(
        (await postForm(tokenUrl(other, 'fabrikam.test'), secretForm({ client_secret: 'fabrikam-secret' }))).status,
      ).toBe(200);
      expectEntraError(await postForm(tokenUrl(other, tenant), secretForm()), 400, 'invalid_request', 90002);
      await expect(startGraphEmulator({ graphApp: { tokenLifetimeSeconds: -1 } })).rejects.toThrow(
        /Invalid emulator options: graphApp\.tokenLifetimeSeconds/,
      );
    });
  });

  describe('the admin API', () => {
    it('refuses unknown settings and bad certificates', () => {
      expect(() => emulator.admin.updateGraphApp({ tokenLifetimeSeconds: 0 })).toThrow(/tokenLifetimeSeconds/);
      expect(() => emulator.admin.updateGraphApp({ colour: 'blue' } as never)).toThrow(/colour/);
      expect(() => emulator.admin.addGraphCertificate('not a certificate')).toThrow(/Not a PEM certificate/);
      expect(() => emulator.admin.removeGraphCertificate('00')).toThrow(/No certificate/);
    });
  });

  describe('OpenID metadata', () => {
    it("serves the tenant's OpenID configuration and the instance discovery msal asks for", async () => {
      const { tenantId } = emulator.admin.graphApp();
      const config = await fetch(`${originOf(emulator)}/graph-login/${tenant}/v2.0/.well-known/openid-configuration`);
      expect(config.status).toBe(200);
      expect(await config.json()).toMatchObject({
        token_endpoint: `https://login.microsoftonline.com/${tenantId}/oauth2/v2.0/token`,
        issuer: `https://login.microsoftonline.com/${tenantId}/v2.0`,
        token_endpoint_auth_methods_supported: expect.arrayContaining(['private_key_jwt', 'client_secret_post']),
      });
      const unknown = await fetch(
        `${originOf(emulator)}/graph-login/fabrikam.test/v2.0/.well-known/openid-configuration`,
      );
      expect(unknown.status).toBe(400);
      const discovery = await fetch(
        `${originOf(emulator)}/graph-login/common/discovery/instance?api-version=1.1&authorization_endpoint=https://login.microsoftonline.com/${tenant}/oauth2/v2.0/authorize`,
      );
      expect(await discovery.json()).toMatchObject({
        'api-version': '1.1',
        metadata: [expect.objectContaining({ preferred_network: 'login.microsoftonline.com' })],
      });
    });
  });
});

describe('msal-node against the emulator', async () => {
  const emulator = await startGraphEmulator();
  emulator.admin.addGraphCertificate(certificatePem);
  const authority = `https://login.microsoftonline.com/${tenant}`;

  async function metadata(): Promise<{ authorityMetadata: string; cloudDiscoveryMetadata: string }> {
    const config = await fetch(`${originOf(emulator)}/graph-login/${tenant}/v2.0/.well-known/openid-configuration`);
    const discovery = await fetch(`${originOf(emulator)}/graph-login/common/discovery/instance`);
    return { authorityMetadata: await config.text(), cloudDiscoveryMetadata: await discovery.text() };
  }

  it('gets a token with the client secret, given the metadata, asking the emulator only for the token', async () => {
    const seen: string[] = [];
    const app = new ConfidentialClientApplication({
      auth: { clientId, clientSecret, authority, ...(await metadata()) },
      system: { networkClient: routedNetworkClient(emulator, seen) },
    });
    const result = await app.acquireTokenByClientCredential({ scopes: [graphScope] });
    expect(result?.accessToken).toBeTruthy();
    expect(result?.tokenType).toBe('Bearer');
    expect(seen).toHaveLength(1);
    expect(seen[0]).toMatch(/^POST https:\/\/login\.microsoftonline\.com\/.+\/oauth2\/v2\.0\/token/);
    expect((await graph(emulator, result?.accessToken, 'GET', '/users/alice@contoso.test')).status).toBe(200);
  });

  it('gets a token with the certificate (thumbprintSha256 and the private key), reading its built-in metadata', async () => {
    const seen: string[] = [];
    const app = new ConfidentialClientApplication({
      auth: { clientId, authority, clientCertificate: { thumbprintSha256, privateKey: privateKeyPem } },
      system: { networkClient: routedNetworkClient(emulator, seen) },
    });
    const result = await app.acquireTokenByClientCredential({ scopes: [graphScope] });
    expect(result?.accessToken).toBeTruthy();
    // msal knows Entra's public cloud by heart: it asks for nothing but the token.
    expect(seen).toEqual([
      expect.stringMatching(/^POST https:\/\/login\.microsoftonline\.com\/contoso\.test\/oauth2\/v2\.0\/token/),
    ]);
    expect((await graph(emulator, result?.accessToken, 'GET', '/users/alice@contoso.test')).status).toBe(200);
    // A second request within the assertion's ten minutes reuses msal's cached token: nothing new is asked.
    const before = seen.length;
    const again = await app.acquireTokenByClientCredential({ scopes: [graphScope] });
    expect(again?.accessToken).toBe(result?.accessToken);
    expect(seen).toHaveLength(before);
  });

  it('fetches the OpenID configuration from the emulator for an authority it does not know by heart', async () => {
    const seen: string[] = [];
    const app = new ConfidentialClientApplication({
      auth: {
        clientId,
        authority: `https://login.exh-emulator.test/${tenant}`,
        knownAuthorities: ['login.exh-emulator.test'],
        clientCertificate: { thumbprintSha256, privateKey: privateKeyPem },
      },
      system: { networkClient: routedNetworkClient(emulator, seen) },
    });
    const result = await app.acquireTokenByClientCredential({ scopes: [graphScope] });
    expect(result?.accessToken).toBeTruthy();
    expect(seen[0]).toBe(`GET https://login.exh-emulator.test/${tenant}/v2.0/.well-known/openid-configuration`);
    expect(seen.at(-1)).toMatch(/^POST https:\/\/login\.microsoftonline\.com\/.+\/oauth2\/v2\.0\/token/);
    expect((await graph(emulator, result?.accessToken, 'GET', '/users/alice@contoso.test')).status).toBe(200);
  });

  it("reports Entra's AADSTS7000215 for a wrong secret", async () => {
    const app = new ConfidentialClientApplication({
      auth: { clientId, clientSecret: 'wrong', authority, ...(await metadata()) },
      system: { networkClient: routedNetworkClient(emulator, []) },
    });
    await expect(app.acquireTokenByClientCredential({ scopes: [graphScope] })).rejects.toMatchObject({
      errorCode: 'invalid_client',
      errorMessage: expect.stringContaining('AADSTS7000215'),
    });
  });
});
