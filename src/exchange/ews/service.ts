import {
  ConnectingIdType,
  ExchangeService,
  ExchangeVersion,
  ImpersonatedUserId,
  TimeZoneInfo,
  Uri,
  WebCredentials,
} from 'ews-javascript-api';
import type { Config } from '../../config/schema.js';
import { errors } from '../../errors.js';
import { ntlmCredentials } from './ntlm.js';
import type { EwsTransport, TransportOptions } from './transport.js';

/**
 * The ews-javascript-api ExchangeService of one mailbox: the configured version, the service account acting as the
 * user (impersonation, and X-AnchorMailbox so that Exchange routes the request to the user's mailbox server straight
 * away), the project's transport, and UTC as the time zone of every date it writes and reads.
 */

export type ExchangeSettings = Config['exchange'];

/**
 * How the transport logs on: an Authorization header on every request (Basic, or Bearer for OAuth), or NTLM, which
 * authenticates each connection once (ntlm.ts) as `DOMAIN\user` or `user@domain`.
 */
export function transportAuthentication(exchange: ExchangeSettings): Pick<TransportOptions, 'authorization' | 'ntlm'> {
  const account = serviceAccount(exchange);
  if (exchange.auth === 'ntlm') {
    return {
      authorization: '',
      ntlm: ntlmCredentials(account, exchange.impersonationPassword ?? ''),
    };
  }
  return { authorization: authorizationHeader(exchange, account) };
}

/** exchange.impersonationUser, which the configuration requires whenever a mailbox may be served by EWS. */
export function serviceAccount(exchange: ExchangeSettings): string {
  if (!exchange.impersonationUser) {
    throw errors.configInvalid('exchange', [
      'exchange.impersonationUser: required for mailboxes served by EWS (exchange.backend "ews" or "auto", or exh_backend "ews")',
    ]);
  }
  return exchange.impersonationUser;
}

function authorizationHeader(exchange: ExchangeSettings, account: string): string {
  if (exchange.auth === 'oauth') {
    if (!exchange.oauthToken) {
      throw errors.configInvalid('exchange', ['exchange.oauthToken: required when exchange.auth is "oauth"']);
    }
    return `Bearer ${exchange.oauthToken.replace(/^Bearer\s+/i, '')}`;
  }
  const credentials = `${account}:${exchange.impersonationPassword ?? ''}`;
  return `Basic ${Buffer.from(credentials, 'utf8').toString('base64')}`;
}

export interface ServiceOptions {
  url: string;
  /** The mailbox (SMTP address) the service acts as. */
  user: string;
  exchange: ExchangeSettings;
  transport: EwsTransport;
}

export function createService(options: ServiceOptions): ExchangeService {
  const service = new ExchangeService(ExchangeVersion[options.exchange.version], TimeZoneInfo.Utc);
  service.XHRApi = options.transport;
  service.Url = new Uri(options.url);
  // The library insists on credentials; the transport authenticates itself (Basic, Bearer or NTLM).
  service.Credentials = new WebCredentials(options.exchange.impersonationUser ?? 'exh', 'set-by-the-transport');
  service.ImpersonatedUserId = new ImpersonatedUserId(ConnectingIdType.SmtpAddress, options.user);
  service.HttpHeaders.Add('X-AnchorMailbox', options.user);
  // Informational for the library; the transport is what enforces exchange.timeoutMs.
  service.Timeout = options.exchange.timeoutMs;
  return service;
}
