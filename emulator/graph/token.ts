import { createHash, randomBytes, randomUUID, timingSafeEqual, X509Certificate } from 'node:crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { compactVerify, decodeProtectedHeader, SignJWT } from 'jose';
import { z } from 'zod';
import type { Core } from '../context.js';

/**
 * Microsoft Entra's v2 token endpoint as an app-only Graph client meets it (docs/emulator.md, "Microsoft Graph"):
 * `POST /graph-login/{tenant}/oauth2/v2.0/token` with the client-credentials grant, proved by the app's secret or by a
 * JWT assertion signed with a certificate registered through the admin API (checked with `jose`), and the OpenID
 * metadata and instance discovery msal-node may fetch. Errors are Entra's: `{error, error_description: "AADSTS…",
 * error_codes, timestamp, trace_id, correlation_id, error_uri}`. Access tokens are signed JWTs the emulator also
 * remembers, so expiry (on the emulator's clock) and "expire every token now" need no signature check.
 */

export const graphLoginPrefix = '/graph-login';
/** Where msal-node sends its requests; a client routes this origin to the emulator's `/graph-login` (its networkClient). */
export const entraOrigin = 'https://login.microsoftonline.com';
const graphResource = 'https://graph.microsoft.com';
const graphResourceId = '00000003-0000-0000-c000-000000000000';
/** The application permissions an admin-consented exh app holds (docs/exchange-online.md). */
const grantedRoles = [
  'Mail.ReadWrite',
  'Mail.Send',
  'Calendars.ReadWrite',
  'Contacts.ReadWrite',
  'Tasks.ReadWrite.All',
];
/** Entra accepts assertions this far off its clock (its documented five minutes of skew). */
const assertionSkewSeconds = 300;

export interface GraphAppOptions {
  /** The tenant's verified domain; the token endpoint takes it or the tenant id. Default contoso.test. */
  tenant: string;
  tenantId: string;
  clientId: string;
  clientSecret: string;
  /** Lifetime of access tokens (Entra: about an hour). Tests shorten it. */
  tokenLifetimeSeconds: number;
  /** Whether an administrator consented to the app's application permissions (off: tokens carry no roles). */
  consented: boolean;
}

export const defaultGraphApp: GraphAppOptions = {
  tenant: 'contoso.test',
  tenantId: '6f3c9a52-2d4b-4e0f-9a7c-0e4e00c0ffee',
  clientId: '00000000-0000-0000-0000-0000000e4e00',
  clientSecret: 'exh-emulator-secret',
  tokenLifetimeSeconds: 3599,
  consented: true,
};

/** What the admin API may change in the app registration (admin.updateGraphApp, PATCH /emulator/admin/graph/app). */
export const graphAppSchema = z
  .object({
    tenant: z.string().min(1),
    tenantId: z.string().uuid(),
    clientId: z.string().min(1),
    clientSecret: z.string().min(1),
    tokenLifetimeSeconds: z.number().int().min(1).max(86_400),
    consented: z.boolean(),
  })
  .partial()
  .strict();

export interface RegisteredCertificate {
  /** Hex, upper case, as Entra's portal shows them. */
  thumbprintSha1: string;
  thumbprintSha256: string;
  notAfter: string;
  certificate: X509Certificate;
}

interface IssuedToken {
  appId: string;
  roles: string[];
  expiresAt: number;
}

export type GraphTokenCheck =
  | { ok: true; appId: string; roles: string[] }
  | {
      ok: false;
      status: 401 | 403;
      code: 'InvalidAuthenticationToken' | 'Authorization_RequestDenied';
      message: string;
    };

/** The emulator's tenant: the one app registration, its certificates and the access tokens handed out. */
export class GraphTenant {
  app: GraphAppOptions = { ...defaultGraphApp };
  readonly certificates: RegisteredCertificate[] = [];
  /**
   * Mailboxes of the hybrid organisation that live on premises: Autodiscover v2 names the emulator's EWS URL for them,
   * and Graph answers MailboxNotEnabledForRESTAPI (app-only Graph does not reach hybrid on-premises mailboxes).
   */
  private readonly onPremises = new Set<string>();
  private readonly tokens = new Map<string, IssuedToken>();
  /** Signs access tokens (they are JWTs, as Entra's, but the emulator trusts only the ones it remembers). */
  private readonly signingKey = randomBytes(32);

  constructor(private readonly now: () => number) {}

  configure(options: Partial<GraphAppOptions>): GraphAppOptions {
    Object.assign(this.app, graphAppSchema.parse(options));
    return { ...this.app };
  }

  /** The registration as the admin API shows it (the secret included: this is a test double's configuration). */
  describe(): GraphAppOptions & {
    certificates: Omit<RegisteredCertificate, 'certificate'>[];
    liveTokens: number;
    onPremisesMailboxes: string[];
  } {
    const now = this.now();
    let liveTokens = 0;
    for (const token of this.tokens.values()) if (token.expiresAt > now) liveTokens++;
    return {
      ...this.app,
      certificates: this.certificates.map(({ thumbprintSha1, thumbprintSha256, notAfter }) => ({
        thumbprintSha1,
        thumbprintSha256,
        notAfter,
      })),
      liveTokens,
      onPremisesMailboxes: [...this.onPremises].sort(),
    };
  }

  /** Marks a mailbox as on premises (true) or in Exchange Online (false, the default). */
  markOnPremises(address: string, onPremises: boolean): void {
    if (onPremises) this.onPremises.add(address.trim().toLowerCase());
    else this.onPremises.delete(address.trim().toLowerCase());
  }

  isOnPremises(address: string): boolean {
    return this.onPremises.has(address.trim().toLowerCase());
  }

  knowsTenant(tenant: string): boolean {
    const wanted = tenant.toLowerCase();
    return wanted === this.app.tenant.toLowerCase() || wanted === this.app.tenantId.toLowerCase();
  }

  /** Registers a certificate (PEM) on the app, as "Certificates & secrets" does; returns its thumbprints. */
  addCertificate(pem: string): Omit<RegisteredCertificate, 'certificate'> {
    const certificate = new X509Certificate(pem);
    const thumbprintSha1 = createHash('sha1').update(certificate.raw).digest('hex').toUpperCase();
    const thumbprintSha256 = createHash('sha256').update(certificate.raw).digest('hex').toUpperCase();
    const existing = this.certificates.findIndex((c) => c.thumbprintSha256 === thumbprintSha256);
    if (existing >= 0) this.certificates.splice(existing, 1);
    const entry = {
      thumbprintSha1,
      thumbprintSha256,
      notAfter: new Date(certificate.validTo).toISOString(),
      certificate,
    };
    this.certificates.push(entry);
    return { thumbprintSha1, thumbprintSha256, notAfter: entry.notAfter };
  }

  removeCertificate(thumbprint: string): boolean {
    const wanted = thumbprint.replace(/:/g, '').toUpperCase();
    const index = this.certificates.findIndex((c) => c.thumbprintSha1 === wanted || c.thumbprintSha256 === wanted);
    if (index < 0) return false;
    this.certificates.splice(index, 1);
    return true;
  }

  async issue(): Promise<{ token: string; expiresIn: number }> {
    const nowSeconds = Math.floor(this.now() / 1000);
    const expiresIn = this.app.tokenLifetimeSeconds;
    const roles = this.app.consented ? [...grantedRoles] : [];
    const token = await new SignJWT({
      appid: this.app.clientId,
      idtyp: 'app',
      roles,
      tid: this.app.tenantId,
      ver: '1.0',
    })
      .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
      .setIssuer(`https://sts.windows.net/${this.app.tenantId}/`)
      .setAudience(graphResource)
      .setIssuedAt(nowSeconds)
      .setNotBefore(nowSeconds)
      .setExpirationTime(nowSeconds + expiresIn)
      .setJti(randomUUID())
      .sign(this.signingKey);
    this.tokens.set(token, { appId: this.app.clientId, roles, expiresAt: this.now() + expiresIn * 1000 });
    return { token, expiresIn };
  }

  /** Ends every access token handed out so far (admin fault "expire every token now"); returns how many. */
  expireTokens(): number {
    const count = this.tokens.size;
    this.tokens.clear();
    return count;
  }

  check(authorization: string | undefined): GraphTokenCheck {
    const match = /^Bearer\s+(\S+)\s*$/i.exec(authorization ?? '');
    if (!match?.[1]) return unauthenticated('Access token is empty.');
    const issued = this.tokens.get(match[1]);
    if (!issued) return unauthenticated('Access token validation failure. Invalid audience.');
    if (this.now() >= issued.expiresAt) {
      this.tokens.delete(match[1]);
      return unauthenticated('Lifetime validation failed, the token is expired.');
    }
    if (issued.roles.length === 0) {
      // Without admin consent Entra still issues a token, with no roles in it; Graph refuses what it is used for.
      return {
        ok: false,
        status: 403,
        code: 'Authorization_RequestDenied',
        message: 'Insufficient privileges to complete the operation.',
      };
    }
    return { ok: true, appId: issued.appId, roles: issued.roles };
  }
}

function unauthenticated(message: string): GraphTokenCheck {
  return { ok: false, status: 401, code: 'InvalidAuthenticationToken', message };
}

const tenants = new WeakMap<Core, GraphTenant>();

/** The Graph tenant of this emulator (created on first use with the default app registration). */
export function graphTenant(core: Core): GraphTenant {
  let tenant = tenants.get(core);
  if (!tenant) {
    tenant = new GraphTenant(core.now);
    tenants.set(core, tenant);
  }
  return tenant;
}

/**
 * Checks a Graph request's `Authorization` header: `{ok: true, appId}` for a live token, else the status, code and
 * message Graph answers with (401 InvalidAuthenticationToken; 403 Authorization_RequestDenied without consent).
 */
export function verifyGraphToken(core: Core, authorization: string | undefined): GraphTokenCheck {
  return graphTenant(core).check(authorization);
}

/** An Entra error answer. */
class EntraError extends Error {
  constructor(
    readonly status: 400 | 401,
    readonly error: string,
    readonly aadsts: number,
    description: string,
  ) {
    super(`AADSTS${aadsts}: ${description}`);
  }
}

function entraAnswer(reply: FastifyReply, now: number, failure: EntraError) {
  const traceId = randomUUID();
  const correlationId = randomUUID();
  const timestamp = `${new Date(now).toISOString().slice(0, 19).replace('T', ' ')}Z`;
  return reply
    .code(failure.status)
    .header('cache-control', 'no-store, no-cache')
    .send({
      error: failure.error,
      error_description: `${failure.message}\r\nTrace ID: ${traceId}\r\nCorrelation ID: ${correlationId}\r\nTimestamp: ${timestamp}`,
      error_codes: [failure.aadsts],
      timestamp,
      trace_id: traceId,
      correlation_id: correlationId,
      error_uri: `${entraOrigin}/error?code=${failure.aadsts}`,
    });
}

function sameSecret(given: string, expected: string): boolean {
  const a = createHash('sha256').update(given).digest();
  const b = createHash('sha256').update(expected).digest();
  return timingSafeEqual(a, b);
}

/** The scope a client-credentials request must ask for: the Graph resource's `/.default` (OIDC scopes ignored). */
function checkScope(scope: string | undefined, tenantName: string): void {
  if (!scope)
    throw new EntraError(
      400,
      'invalid_request',
      900144,
      "The request body must contain the following parameter: 'scope'.",
    );
  const asked = scope.split(/\s+/).filter((s) => s && !['openid', 'profile', 'offline_access'].includes(s));
  const graph = [`${graphResource}/.default`, `${graphResourceId}/.default`];
  if (asked.length === 1 && graph.includes(asked[0] as string)) return;
  const other = asked.find((s) => !graph.includes(s)) ?? scope;
  if (other.endsWith('/.default'))
    throw new EntraError(
      400,
      'invalid_resource',
      500011,
      `The resource principal named ${other.slice(0, -'/.default'.length)} was not found in the tenant named ${tenantName}. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant. You might have sent your authentication request to the wrong tenant.`,
    );
  throw new EntraError(
    400,
    'invalid_scope',
    1002012,
    `The provided value for scope ${other} is not valid. Client credential flows must have a scope value with /.default suffixed to the resource identifier (application ID URI).`,
  );
}

function base64urlOfHex(hex: string): string {
  return Buffer.from(hex, 'hex').toString('base64url');
}

/** The audiences Entra accepts for an assertion: its token endpoint (v2 or v1) by tenant name or id, or the emulator's. */
function acceptedAudiences(tenant: GraphTenant, origin: string): Set<string> {
  const audiences = new Set<string>();
  for (const id of [tenant.app.tenant, tenant.app.tenantId]) {
    for (const base of [entraOrigin, `${origin}${graphLoginPrefix}`]) {
      audiences.add(`${base}/${id}/oauth2/v2.0/token`.toLowerCase());
      audiences.add(`${base}/${id}/oauth2/token`.toLowerCase());
    }
  }
  return audiences;
}

/** Checks a certificate-signed client assertion (docs: Entra "certificate credentials") or throws Entra's error. */
async function checkAssertion(
  tenant: GraphTenant,
  clientId: string,
  assertion: string,
  origin: string,
  now: number,
): Promise<void> {
  let header: ReturnType<typeof decodeProtectedHeader>;
  try {
    header = decodeProtectedHeader(assertion);
  } catch {
    throw new EntraError(401, 'invalid_client', 50027, 'JWT token is invalid or malformed.');
  }
  if (header.alg !== 'RS256' && header.alg !== 'PS256')
    throw new EntraError(
      401,
      'invalid_client',
      5002738,
      `Invalid JWT token. '${String(header.alg)}' is not a supported signature algorithm.`,
    );
  const x5t256 = typeof header['x5t#S256'] === 'string' ? header['x5t#S256'] : undefined;
  const x5t = typeof header.x5t === 'string' ? header.x5t : undefined;
  const registered = tenant.certificates.find(
    (c) =>
      (x5t256 && base64urlOfHex(c.thumbprintSha256) === x5t256) || (x5t && base64urlOfHex(c.thumbprintSha1) === x5t),
  );
  if (!registered)
    throw new EntraError(
      401,
      'invalid_client',
      700027,
      `The certificate with identifier used to sign the client assertion is not registered on application. [Reason - The key was not found., Thumbprint of key used by client: '${x5t256 ?? x5t ?? ''}', Please visit the Azure Portal, Graph Explorer or directly use MS Graph to see configured keys for app Id '${clientId}'.]`,
    );
  let payload: Record<string, unknown>;
  try {
    const verified = await compactVerify(assertion, registered.certificate.publicKey, {
      algorithms: ['RS256', 'PS256'],
    });
    payload = JSON.parse(new TextDecoder().decode(verified.payload)) as Record<string, unknown>;
  } catch {
    throw new EntraError(401, 'invalid_client', 700027, 'Client assertion failed signature validation.');
  }
  if (payload.iss !== clientId || payload.sub !== clientId)
    throw new EntraError(
      401,
      'invalid_client',
      700021,
      "Client assertion application identifier doesn't match 'client_id' parameter.",
    );
  const audiences = Array.isArray(payload.aud) ? payload.aud : [payload.aud];
  if (!audiences.some((a) => typeof a === 'string' && acceptedAudiences(tenant, origin).has(a.toLowerCase())))
    throw new EntraError(401, 'invalid_client', 700023, 'Client assertion audience claim does not match Realm issuer.');
  if (typeof payload.jti !== 'string' || payload.jti === '')
    throw new EntraError(
      401,
      'invalid_client',
      50027,
      "JWT token is invalid or malformed: the 'jti' claim is missing.",
    );
  const nowSeconds = now / 1000;
  const exp = typeof payload.exp === 'number' ? payload.exp : undefined;
  const nbf = typeof payload.nbf === 'number' ? payload.nbf : undefined;
  if (
    exp === undefined ||
    exp + assertionSkewSeconds < nowSeconds ||
    (nbf !== undefined && nbf - assertionSkewSeconds > nowSeconds)
  )
    throw new EntraError(
      401,
      'invalid_client',
      700024,
      `Client assertion is not within its valid time range. Current time: ${new Date(now).toISOString()}, assertion valid from ${nbf === undefined ? '-' : new Date(nbf * 1000).toISOString()}, expiry time of assertion ${exp === undefined ? '-' : new Date(exp * 1000).toISOString()}.`,
    );
  // jti is not checked for reuse: Entra accepts an assertion until it expires, and msal-node reuses its own for ten minutes.
}

function originOf(request: FastifyRequest): string {
  return `${request.protocol}://${request.headers.host ?? request.hostname}`;
}

/** The OpenID configuration Entra publishes for a tenant (v2), naming Entra's own https endpoints. */
export function openIdConfiguration(tenant: GraphTenant): Record<string, unknown> {
  const id = tenant.app.tenantId;
  return {
    token_endpoint: `${entraOrigin}/${id}/oauth2/v2.0/token`,
    token_endpoint_auth_methods_supported: ['client_secret_post', 'private_key_jwt', 'client_secret_basic'],
    jwks_uri: `${entraOrigin}/${id}/discovery/v2.0/keys`,
    response_modes_supported: ['query', 'fragment', 'form_post'],
    subject_types_supported: ['pairwise'],
    id_token_signing_alg_values_supported: ['RS256'],
    response_types_supported: ['code', 'id_token', 'code id_token', 'id_token token'],
    scopes_supported: ['openid', 'profile', 'email', 'offline_access'],
    issuer: `${entraOrigin}/${id}/v2.0`,
    request_uri_parameter_supported: false,
    userinfo_endpoint: 'https://graph.microsoft.com/oidc/userinfo',
    authorization_endpoint: `${entraOrigin}/${id}/oauth2/v2.0/authorize`,
    device_authorization_endpoint: `${entraOrigin}/${id}/oauth2/v2.0/devicecode`,
    http_logout_supported: true,
    frontchannel_logout_supported: true,
    end_session_endpoint: `${entraOrigin}/${id}/oauth2/v2.0/logout`,
    claims_supported: [
      'sub',
      'iss',
      'aud',
      'exp',
      'iat',
      'auth_time',
      'acr',
      'nonce',
      'tid',
      'ver',
      'at_hash',
      'c_hash',
    ],
    kerberos_endpoint: `${entraOrigin}/${id}/kerberos`,
    tenant_region_scope: 'EU',
    cloud_instance_name: 'microsoftonline.com',
    cloud_graph_host_name: 'graph.windows.net',
    msgraph_host: 'graph.microsoft.com',
    rbac_url: 'https://pas.windows.net',
  };
}

/** Entra's instance discovery answer for the public cloud (what msal-node asks before the OpenID configuration). */
export function instanceDiscovery(tenant: GraphTenant): Record<string, unknown> {
  return {
    tenant_discovery_endpoint: `${entraOrigin}/${tenant.app.tenantId}/v2.0/.well-known/openid-configuration`,
    'api-version': '1.1',
    metadata: [
      {
        preferred_network: 'login.microsoftonline.com',
        preferred_cache: 'login.windows.net',
        aliases: ['login.microsoftonline.com', 'login.windows.net', 'login.microsoft.com', 'sts.windows.net'],
      },
    ],
  };
}

function unknownTenant(name: string): EntraError {
  return new EntraError(
    400,
    'invalid_request',
    90002,
    `Tenant '${name}' not found. Check to make sure you have the correct tenant ID and are signing into the correct cloud. Check with your subscription administrator, this may happen if there are no active subscriptions for the tenant.`,
  );
}

/** client_secret_basic: the client id and secret in an `Authorization: Basic` header (URL-encoded, as RFC 6749 2.3.1). */
function basicCredentials(header: string | undefined): Record<string, string> {
  const match = /^Basic\s+(\S+)$/i.exec(header ?? '');
  if (!match?.[1]) return {};
  const decoded = Buffer.from(match[1], 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon < 0) return {};
  return {
    client_id: decodeURIComponent(decoded.slice(0, colon)),
    client_secret: decodeURIComponent(decoded.slice(colon + 1)),
  };
}

type TenantParams = { Params: { tenant: string } };

export function registerGraphTokens(app: FastifyInstance, core: Core): void {
  const tenant = graphTenant(core);
  app.register(async (scope) => {
    scope.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string' }, (_request, body, done) =>
      done(null, Object.fromEntries(new URLSearchParams(body as string))),
    );
    scope.setErrorHandler((error, _request, reply) => {
      if (error instanceof EntraError) return entraAnswer(reply, core.now(), error);
      const status = (error as { statusCode?: number }).statusCode ?? 500;
      if (status >= 500) core.log.error({ err: error }, 'Token request failed');
      return entraAnswer(
        reply,
        core.now(),
        new EntraError(
          400,
          'invalid_request',
          900144,
          `The request is not a valid token request: ${(error as Error).message}`,
        ),
      );
    });

    scope.post<TenantParams>(`${graphLoginPrefix}/:tenant/oauth2/v2.0/token`, async (request, reply) => {
      if (!tenant.knowsTenant(request.params.tenant)) throw unknownTenant(request.params.tenant);
      const form = {
        ...basicCredentials(request.headers.authorization),
        ...((typeof request.body === 'object' && request.body !== null ? request.body : {}) as Record<string, string>),
      };
      if (form.grant_type !== 'client_credentials')
        throw new EntraError(
          400,
          'unsupported_grant_type',
          70003,
          `The app requested an unsupported grant type '${form.grant_type ?? ''}': the emulator issues app-only tokens (client_credentials).`,
        );
      const clientId = form.client_id ?? '';
      if (!clientId)
        throw new EntraError(
          400,
          'invalid_request',
          900144,
          "The request body must contain the following parameter: 'client_id'.",
        );
      if (clientId.toLowerCase() !== tenant.app.clientId.toLowerCase())
        throw new EntraError(
          400,
          'unauthorized_client',
          700016,
          `Application with identifier '${clientId}' was not found in the directory '${request.params.tenant}'. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant. You may have sent your authentication request to the wrong tenant.`,
        );
      checkScope(form.scope, request.params.tenant);
      if (form.client_assertion !== undefined) {
        if (form.client_assertion_type !== 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer')
          throw new EntraError(
            401,
            'invalid_client',
            50027,
            "JWT token is invalid or malformed: client_assertion_type must be 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer'.",
          );
        await checkAssertion(tenant, tenant.app.clientId, form.client_assertion, originOf(request), core.now());
      } else if (form.client_secret !== undefined) {
        if (!sameSecret(form.client_secret, tenant.app.clientSecret))
          throw new EntraError(
            401,
            'invalid_client',
            7000215,
            `Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID, for a secret added to app '${tenant.app.clientId}'.`,
          );
      } else {
        throw new EntraError(
          401,
          'invalid_client',
          7000218,
          "The request body must contain the following parameter: 'client_assertion' or 'client_secret'.",
        );
      }
      const { token, expiresIn } = await tenant.issue();
      return reply
        .header('cache-control', 'no-store, no-cache')
        .send({ token_type: 'Bearer', expires_in: expiresIn, ext_expires_in: expiresIn, access_token: token });
    });

    scope.get<TenantParams>(`${graphLoginPrefix}/:tenant/v2.0/.well-known/openid-configuration`, async (request) => {
      if (!tenant.knowsTenant(request.params.tenant)) throw unknownTenant(request.params.tenant);
      return openIdConfiguration(tenant);
    });
    // msal-node asks the public cloud's instance discovery (under /common) before the OpenID configuration.
    scope.get<TenantParams>(`${graphLoginPrefix}/:tenant/discovery/instance`, async () => instanceDiscovery(tenant));
    // Access tokens are the emulator's own (HS256, checked by lookup): it publishes no signing keys.
    scope.get<TenantParams>(`${graphLoginPrefix}/:tenant/discovery/v2.0/keys`, async () => ({ keys: [] }));
  });
}
