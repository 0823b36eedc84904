import { type ExhError, errors, isExhError } from '../../errors.js';
import type { ExchangePool } from '../../pool/exchange-pool.js';
import type { CallOptions } from '../../ports/exchange.port.js';
import { fromHttpStatus } from './errors.js';
import type { EwsTransport } from './transport.js';
import { all, at, escapeXml, parseXml, textOf, type XmlValue } from './xml.js';

/**
 * SOAP Autodiscover (GetUserSettings) written by hand: ews-javascript-api's AutodiscoverService falls back to POX
 * and then reports "Not implemented." whatever went wrong. Here every failure says what and where: unknown user
 * (InvalidUser, not retryable), HTTP 401, DNS, TLS or time-out, with the URL it happened at. Candidates are tried in
 * order (https://<domain>/… then https://autodiscover.<domain>/…, as Exchange clients do); RedirectAddress and
 * RedirectUrl are followed up to ten times ("Too many automatic redirections were attempted" after that).
 * SCP lookup in Active Directory is not available (exh has no LDAP client).
 */

const ns = {
  soap: 'http://schemas.xmlsoap.org/soap/envelope/',
  a: 'http://schemas.microsoft.com/exchange/2010/Autodiscover',
  wsa: 'http://www.w3.org/2005/08/addressing',
};

const maxHops = 10;

export interface AutodiscoverDeps {
  transport: EwsTransport;
  pool: ExchangePool;
  /** The account that logs on (exchange.impersonationUser). */
  account: string;
  /** exchange.version; Autodiscover's SOAP service speaks Exchange2010 and later. */
  version: string;
  /** Where to ask for a domain; default https://<domain>/… and https://autodiscover.<domain>/…. */
  candidates?: (domain: string) => string[];
}

export function defaultCandidates(domain: string): string[] {
  return [
    `https://${domain}/autodiscover/autodiscover.svc`,
    `https://autodiscover.${domain}/autodiscover/autodiscover.svc`,
  ];
}

function requestedVersion(version: string): string {
  if (version === 'Exchange2007_SP1') return 'Exchange2010';
  if (version === 'Exchange2015' || version === 'Exchange2016') return 'Exchange2013_SP1';
  return version;
}

export function getUserSettingsRequest(url: string, user: string, version: string): string {
  return (
    `<?xml version="1.0" encoding="utf-8"?><soap:Envelope xmlns:soap="${ns.soap}" xmlns:a="${ns.a}" ` +
    `xmlns:wsa="${ns.wsa}"><soap:Header><a:RequestedServerVersion>${requestedVersion(version)}</a:RequestedServerVersion>` +
    `<wsa:Action>${ns.a}/Autodiscover/GetUserSettings</wsa:Action><wsa:To>${escapeXml(url)}</wsa:To></soap:Header>` +
    '<soap:Body><a:GetUserSettingsRequestMessage><a:Request><a:Users><a:User>' +
    `<a:Mailbox>${escapeXml(user)}</a:Mailbox></a:User></a:Users><a:RequestedSettings>` +
    '<a:Setting>ExternalEwsUrl</a:Setting><a:Setting>InternalEwsUrl</a:Setting>' +
    '<a:Setting>GroupingInformation</a:Setting></a:RequestedSettings>' +
    '</a:Request></a:GetUserSettingsRequestMessage></soap:Body></soap:Envelope>'
  );
}

/**
 * What the connector needs of a mailbox: its EWS URL and its GroupingInformation, which with the URL decides which
 * mailboxes share a streaming connection (docs/exchange-on-premises.md, "Streaming at scale"); empty when Exchange
 * does not give it (Exchange 2010) or no Autodiscover was asked (exchange.staticEwsUrl).
 */
export interface EwsSettings {
  ewsUrl: string;
  groupingInformation: string;
}

type Outcome =
  | ({ kind: 'found' } & EwsSettings)
  | { kind: 'redirectAddress'; user: string }
  | { kind: 'redirectUrl'; url: string }
  | { kind: 'failed'; error: ExhError };

/** Reads one GetUserSettings answer for `user` asked at `url`. */
export function readUserSettings(url: string, user: string, body: string): Outcome {
  let response: XmlValue | undefined;
  try {
    response = at(parseXml(body), 'Envelope', 'Body', 'GetUserSettingsResponseMessage', 'Response');
  } catch {
    response = undefined;
  }
  const failed = (problem: string): Outcome => ({
    kind: 'failed',
    error: errors.autodiscoverFailed(user, [{ url, problem }]),
  });
  if (response === undefined) return failed('the answer is not a GetUserSettings response');
  const errorCode = textOf(response, 'ErrorCode')?.trim() ?? 'NoError';
  if (errorCode !== 'NoError') return failed(`${errorCode}: ${textOf(response, 'ErrorMessage') ?? ''}`.trim());
  const userResponse = at(response, 'UserResponses', 'UserResponse');
  const userCode = textOf(userResponse, 'ErrorCode')?.trim() ?? 'NoError';
  const message = textOf(userResponse, 'ErrorMessage')?.trim() ?? '';
  const redirect = textOf(userResponse, 'RedirectTarget')?.trim();
  if (userCode === 'InvalidUser') {
    return {
      kind: 'failed',
      error: errors.mailboxNotFound(user, `Autodiscover at ${url} answered InvalidUser: ${message}`),
    };
  }
  if (userCode === 'RedirectAddress' && redirect) return { kind: 'redirectAddress', user: redirect };
  if (userCode === 'RedirectUrl' && redirect) return { kind: 'redirectUrl', url: redirect };
  if (userCode !== 'NoError') return failed(`${userCode}: ${message}`);
  const settings = new Map<string, string>();
  for (const setting of all(at(userResponse, 'UserSettings'), 'UserSetting')) {
    const name = textOf(setting, 'Name')?.trim();
    const value = textOf(setting, 'Value')?.trim();
    if (name && value) settings.set(name, value);
  }
  // Exchange's own clients prefer the external URL (EWS Managed API, GetEwsUrlFromResponse).
  const ewsUrl = settings.get('ExternalEwsUrl') ?? settings.get('InternalEwsUrl');
  if (!ewsUrl) return failed('the answer names no ExternalEwsUrl or InternalEwsUrl');
  return { kind: 'found', ewsUrl, groupingInformation: settings.get('GroupingInformation') ?? '' };
}

/** The EWS URL of a mailbox, or the catalogue's error that says why not. */
export async function discoverEwsUrl(user: string, deps: AutodiscoverDeps, options: CallOptions): Promise<string> {
  return (await discoverEwsSettings(user, deps, options)).ewsUrl;
}

/** The EWS URL and GroupingInformation of a mailbox, or the catalogue's error that says why not. */
export async function discoverEwsSettings(
  user: string,
  deps: AutodiscoverDeps,
  options: CallOptions,
): Promise<EwsSettings> {
  const domain = user.split('@')[1] ?? '';
  const queue = (deps.candidates ?? defaultCandidates)(domain);
  const failures: { url: string; error: ExhError }[] = [];
  let address = user;
  let hops = 0;
  while (queue.length > 0) {
    const url = queue.shift() as string;
    const outcome = await deps.pool
      .run(
        async (signal): Promise<Outcome> => {
          const context = { user: address, account: deps.account };
          const answer = await deps.transport.send(
            url,
            getUserSettingsRequest(url, address, deps.version),
            { 'content-type': 'text/xml; charset=utf-8', accept: 'text/xml' },
            signal,
            context,
          );
          if (answer.status !== 200) {
            const error = fromHttpStatus(answer.status, answer.body, answer.headers, { ...context, url });
            return { kind: 'failed', error };
          }
          return readUserSettings(url, address, answer.body);
        },
        { priority: options.priority, signal: options.signal },
      )
      .catch((error: unknown): Outcome => {
        if (isExhError(error, 'EXH_POOL_ABORTED')) throw error;
        return {
          kind: 'failed',
          error: isExhError(error) ? error : errors.autodiscoverFailed(user, [{ url, problem: String(error) }]),
        };
      });
    if (outcome.kind === 'found') return { ewsUrl: outcome.ewsUrl, groupingInformation: outcome.groupingInformation };
    if (outcome.kind === 'failed') {
      if (outcome.error.code === 'EXH_EXCHANGE_MAILBOX_NOT_FOUND') throw outcome.error;
      failures.push({ url, error: outcome.error });
      continue;
    }
    if (++hops > maxHops) {
      failures.push({
        url,
        error: errors.autodiscoverFailed(user, [{ url, problem: 'Too many automatic redirections were attempted' }]),
      });
      break;
    }
    if (outcome.kind === 'redirectAddress') {
      address = outcome.user;
      queue.unshift(url);
    } else {
      queue.unshift(outcome.url);
    }
  }
  throw combine(user, failures);
}

function combine(user: string, failures: { url: string; error: ExhError }[]): ExhError {
  const [first] = failures;
  if (!first)
    return errors.autodiscoverFailed(user, [{ url: '(no candidate)', problem: 'no Autodiscover URL to ask' }]);
  if (
    failures.length === 1 ||
    failures.every((f) => f.error.code === first.error.code && f.error.code !== 'EXH_EXCHANGE_AUTODISCOVER_FAILED')
  ) {
    return first.error;
  }
  return errors.autodiscoverFailed(
    user,
    failures.map((f) => ({ url: f.url, problem: problemOf(f.error) })),
  );
}

/** An attempt's own words, without the "Autodiscover for … failed" frame a single failure already has. */
function problemOf(error: ExhError): string {
  const attempts = error.details.attempts as { problem: string }[] | undefined;
  return error.code === 'EXH_EXCHANGE_AUTODISCOVER_FAILED' && attempts?.length === 1
    ? (attempts[0]?.problem ?? error.message)
    : error.message;
}
