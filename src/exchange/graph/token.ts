import { readFileSync } from 'node:fs';
import {
  AuthError,
  ConfidentialClientApplication,
  type Configuration,
  type INetworkModule,
  type NetworkRequestOptions,
  type NetworkResponse,
  ServerError,
} from '@azure/msal-node';
import type { Config } from '../../config/schema.js';
import { describe, type ExhError, errors, isExhError } from '../../errors.js';
import type { TokenProvider } from './client.js';

/**
 * Access tokens for Graph, app-only: msal-node's ConfidentialClientApplication with the client-credentials grant for
 * `https://graph.microsoft.com/.default`, proved by a certificate (preferred) or a client secret
 * (docs/exchange-online.md, "App registration"). msal caches the token and renews it before it expires; after Graph
 * refused one (401) the client asks again with `forceRefresh`, which skips the cache. Entra's refusals become the
 * catalogue's errors naming the AADSTS code and the fix.
 */

export type GraphConfig = Config['exchange']['graph'];

/** The resource every token is for. */
export const graphScope = 'https://graph.microsoft.com/.default';

/** Entra's public cloud, where msal sends its requests (also when a networkClient routes them elsewhere). */
const entraOrigin = 'https://login.microsoftonline.com';

/** A token that never changes (tests; a token obtained elsewhere). */
export function staticTokenProvider(token: string): TokenProvider {
  return { getToken: async () => token };
}

export interface MsalOptions {
  /** msal's HTTP client (system.networkClient); tests route Entra's origin to the emulator with it. */
  networkClient?: INetworkModule;
  /** The tenant's OpenID configuration (JSON), so msal does not fetch it. */
  authorityMetadata?: string;
  /** Entra's instance discovery answer (JSON), so msal does not fetch it. */
  cloudDiscoveryMetadata?: string;
}

/**
 * msal's requests to `https://login.microsoftonline.com` sent to `loginUrl` instead (an emulator's token endpoint,
 * `http://127.0.0.1:PORT/graph-login`): msal refuses an authority that is not HTTPS, so the authority stays Entra's
 * and its metadata is given, and only the network client knows where the requests really go.
 */
export function redirectedMsal(loginUrl: string, tenant: string): Required<MsalOptions> {
  const target = loginUrl.replace(/\/+$/, '');
  const route = (url: string) =>
    url.startsWith(`${entraOrigin}/`) ? `${target}${url.slice(entraOrigin.length)}` : url;
  const send = async <T>(method: 'GET' | 'POST', url: string, options?: NetworkRequestOptions, timeoutMs?: number) => {
    let response: Response;
    let text: string;
    try {
      response = await fetch(route(url), {
        method,
        ...(options?.headers ? { headers: options.headers } : {}),
        ...(options?.body === undefined ? {} : { body: options.body }),
        ...(timeoutMs ? { signal: AbortSignal.timeout(timeoutMs) } : {}),
      });
      text = await response.text();
    } catch (error) {
      // msal reports anything but its own errors as a bare network_error: keep the cause in the message.
      const cause = (error as { cause?: unknown }).cause ?? error;
      throw new AuthError('network_error', '', `${route(url).replace(/[?].*$/, '')}: ${describe(cause)}`);
    }
    let body: unknown = {};
    try {
      body = text ? JSON.parse(text) : {};
    } catch {
      body = { error: 'invalid_response', error_description: text.slice(0, 200) };
    }
    return { status: response.status, headers: Object.fromEntries(response.headers), body } as NetworkResponse<T>;
  };
  const networkClient: INetworkModule = {
    sendGetRequestAsync: (url, options, timeout) => send('GET', url, options, timeout),
    sendPostRequestAsync: (url, options) => send('POST', url, options),
  };
  const authority = `${entraOrigin}/${tenant}`;
  const authorityMetadata = JSON.stringify({
    token_endpoint: `${authority}/oauth2/v2.0/token`,
    authorization_endpoint: `${authority}/oauth2/v2.0/authorize`,
    end_session_endpoint: `${authority}/oauth2/v2.0/logout`,
    jwks_uri: `${authority}/discovery/v2.0/keys`,
    issuer: `${authority}/v2.0`,
  });
  const cloudDiscoveryMetadata = JSON.stringify({
    tenant_discovery_endpoint: `${authority}/v2.0/.well-known/openid-configuration`,
    'api-version': '1.1',
    metadata: [
      {
        preferred_network: 'login.microsoftonline.com',
        preferred_cache: 'login.windows.net',
        aliases: ['login.microsoftonline.com', 'login.windows.net', 'login.microsoft.com', 'sts.windows.net'],
      },
    ],
  });
  return { networkClient, authorityMetadata, cloudDiscoveryMetadata };
}

/**
 * Tokens from Entra through msal-node. An `exchange.graph.authority` that is plain http (an emulator) is reached
 * through redirectedMsal, since msal takes only HTTPS authorities. Reads the certificate's files once, here:
 * a missing or unreadable file is EXH_CONFIG_INVALID at start, not a failure of every request.
 */
export function msalTokenProvider(graph: GraphConfig, options: MsalOptions = {}): TokenProvider {
  const { tenant, clientId } = graph;
  if (!tenant || !clientId || (!graph.clientSecret && !graph.clientCertificate)) {
    throw errors.configInvalid('exchange.graph', [
      'exchange.graph.tenant, clientId and clientCertificate (or clientSecret) are required for Microsoft Graph',
    ]);
  }
  const plainHttp = new URL(graph.authority).protocol === 'http:';
  const redirected = plainHttp ? redirectedMsal(graph.authority, tenant) : undefined;
  const authority = `${(plainHttp ? entraOrigin : graph.authority).replace(/\/+$/, '')}/${tenant}`;
  const tokenUrl = `${graph.authority.replace(/\/+$/, '')}/${tenant}/oauth2/v2.0/token`;
  const networkClient = options.networkClient ?? redirected?.networkClient;
  const authorityMetadata = options.authorityMetadata ?? redirected?.authorityMetadata;
  const cloudDiscoveryMetadata = options.cloudDiscoveryMetadata ?? redirected?.cloudDiscoveryMetadata;
  const configuration: Configuration = {
    auth: {
      clientId,
      authority,
      ...(graph.clientCertificate
        ? { clientCertificate: certificateOf(graph.clientCertificate) }
        : { clientSecret: graph.clientSecret as string }),
      ...(authorityMetadata ? { authorityMetadata } : {}),
      ...(cloudDiscoveryMetadata ? { cloudDiscoveryMetadata } : {}),
    },
    ...(networkClient ? { system: { networkClient } } : {}),
  };
  const application = new ConfidentialClientApplication(configuration);
  /** One request to Entra at a time per kind: many requests refused together ask for one new token, not many. */
  const inFlight = new Map<boolean, Promise<string>>();

  const acquire = async (forceRefresh: boolean): Promise<string> => {
    try {
      const result = await application.acquireTokenByClientCredential({
        scopes: [graphScope],
        ...(forceRefresh ? { skipCache: true } : {}),
      });
      if (!result?.accessToken) throw new Error('Entra answered without an access token');
      return result.accessToken;
    } catch (error) {
      throw fromMsalError(error, tokenUrl, clientId);
    }
  };

  return {
    async getToken({ signal, forceRefresh = false }) {
      if (signal.aborted) throw errors.poolAborted();
      let pending = inFlight.get(forceRefresh);
      if (!pending) {
        pending = acquire(forceRefresh).finally(() => inFlight.delete(forceRefresh));
        inFlight.set(forceRefresh, pending);
      }
      // msal takes no signal: a stopped caller stops waiting, the token still lands in msal's cache.
      return new Promise<string>((resolve, reject) => {
        const abort = () => reject(errors.poolAborted());
        signal.addEventListener('abort', abort, { once: true });
        pending.then(
          (token) => {
            signal.removeEventListener('abort', abort);
            resolve(token);
          },
          (error: unknown) => {
            signal.removeEventListener('abort', abort);
            reject(error);
          },
        );
      });
    },
  };
}

function certificateOf(certificate: NonNullable<GraphConfig['clientCertificate']>) {
  const read = (key: string, file: string) => {
    try {
      return readFileSync(file, 'utf8');
    } catch (error) {
      throw errors.configInvalid('exchange.graph.clientCertificate', [
        `${key} ${file} cannot be read: ${describe(error)}`,
      ]);
    }
  };
  const privateKey = read('privateKeyFile', certificate.privateKeyFile);
  if (!/-----BEGIN (RSA |EC |ENCRYPTED )?PRIVATE KEY-----/.test(privateKey)) {
    throw errors.configInvalid('exchange.graph.clientCertificate', [
      `privateKeyFile ${certificate.privateKeyFile} holds no PEM private key (-----BEGIN PRIVATE KEY-----)`,
    ]);
  }
  return {
    thumbprintSha256: certificate.thumbprintSha256.replace(/:/g, '').toUpperCase(),
    privateKey,
    ...(certificate.certificateFile ? { x5c: read('certificateFile', certificate.certificateFile) } : {}),
  };
}

/** What each AADSTS code means for exh, and what fixes it. */
const aadsts: Record<string, { problem: string; fix: string }> = {
  '7000215': {
    problem: 'the client secret is wrong',
    fix:
      "Set exchange.graph.clientSecret to the secret's Value (not its Secret ID) from the app registration's " +
      '"Certificates & secrets".',
  },
  '7000222': {
    problem: 'the client secret has expired',
    fix: 'Create a new client secret in the app registration and set exchange.graph.clientSecret (a certificate is preferred).',
  },
  '700027': {
    problem: 'the certificate is not registered on the application, or the key does not match it',
    fix:
      'Upload the certificate (certificateFile) to the app registration\'s "Certificates & secrets" and check that ' +
      'exchange.graph.clientCertificate.thumbprintSha256 and privateKeyFile belong to it.',
  },
  '700024': {
    problem: 'the client assertion is outside its valid time',
    fix: "Check this machine's clock (Entra allows five minutes of skew).",
  },
  '700016': {
    problem: 'the application is not found in the tenant',
    fix:
      'Check exchange.graph.clientId (the Application (client) ID) and exchange.graph.tenant; the application must ' +
      'be registered in, or consented to by, that tenant.',
  },
  '65001': {
    problem: 'admin consent is missing',
    fix: 'Grant admin consent for the application permissions in Entra ID (docs/exchange-online.md, "Permissions").',
  },
  '500011': {
    problem: 'Microsoft Graph is not known to the tenant for this application (no consent)',
    fix: 'Grant admin consent for the application permissions in Entra ID (docs/exchange-online.md, "Permissions").',
  },
  '90002': {
    problem: 'the tenant is not found',
    fix: "Check exchange.graph.tenant (the tenant's id or a verified domain) and exchange.graph.authority (its cloud).",
  },
  '900023': {
    problem: 'the tenant is not a valid tenant identifier',
    fix: "Check exchange.graph.tenant (the tenant's id or a verified domain).",
  },
  '7000112': {
    problem: 'the application is disabled',
    fix: 'Enable the application (its service principal) in Entra ID.',
  },
};

/** The AADSTS number of an msal error: ServerError.errorNo, else "AADSTS…" in its message. */
function aadstsOf(error: AuthError): string | undefined {
  if (error instanceof ServerError && error.errorNo) return String(error.errorNo);
  return /AADSTS(\d+)/.exec(`${error.errorMessage} ${error.message}`)?.[1];
}

/** An msal failure as the catalogue's error: Entra's refusals permanent (naming which), its outages retryable. */
export function fromMsalError(error: unknown, tokenUrl: string, clientId: string): ExhError {
  if (isExhError(error)) return error;
  if (!(error instanceof AuthError)) return errors.exchangeUnavailable(tokenUrl, describe(error), error);
  const code = aadstsOf(error);
  const status = error instanceof ServerError ? error.status : (error as { httpStatus?: number }).httpStatus;
  const known = code ? aadsts[code] : undefined;
  const summary = `${error.errorCode}${code ? ` AADSTS${code}` : ''}`;
  if (known) {
    return errors.exchangeAuthFailed(tokenUrl, clientId, {
      problem: `${known.problem} (${summary})`,
      fix: known.fix,
      aadsts: `AADSTS${code}`,
    });
  }
  if (status === 429) return errors.exchangeThrottled(tokenUrl, undefined, 'Entra HTTP 429');
  if ((status !== undefined && status >= 500) || /temporarily_unavailable|network|timeout/i.test(error.errorCode)) {
    return errors.exchangeUnavailable(tokenUrl, `the token endpoint failed: ${firstLine(error.errorMessage)}`, error);
  }
  if (error instanceof ServerError || /^invalid_|^unauthorized_client/.test(error.errorCode)) {
    return errors.exchangeAuthFailed(tokenUrl, clientId, {
      problem: `Entra refused the token request (${summary}: ${firstLine(error.errorMessage)})`,
      fix: 'Check exchange.graph.tenant, clientId and the secret or certificate (docs/exchange-online.md).',
      ...(code ? { aadsts: `AADSTS${code}` } : {}),
    });
  }
  // msal's own configuration checks (a key it cannot use, an authority it refuses): the configuration's fault.
  return errors.exchangeAuthFailed(tokenUrl, clientId, {
    problem: `msal could not request a token (${error.errorCode}: ${firstLine(error.errorMessage)})`,
    fix: 'Check exchange.graph (authority, tenant, clientCertificate).',
  });
}

/** What Entra said: the Description of msal's "Error(s): … - Description: … - Correlation ID: …", else the first line. */
function firstLine(text: string): string {
  const description = /Description: (.*?)(?:\r?\n| - Correlation ID:|$)/s.exec(text)?.[1];
  const line = description ?? text.split(/\r?\n/)[0] ?? '';
  return line.length > 300 ? `${line.slice(0, 300)}…` : line;
}
