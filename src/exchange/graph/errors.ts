import { type ExhError, errors } from '../../errors.js';

/**
 * Microsoft Graph's error answers → the error catalogue (src/errors.ts), as src/exchange/ews/errors.ts does for EWS.
 * Graph's error body is `{"error": {"code", "message", "innerError": {"request-id", "date"}}}`; the status decides
 * first, the code refines it. docs/exchange-online.md lists the permissions the messages name.
 */

export interface GraphErrorBody {
  code: string;
  message: string;
  requestId?: string;
}

/** Who asked what where, for messages that name the cause. */
export interface GraphErrorContext {
  /** The request's URL as sent (absolute). */
  url: string;
  method: string;
  /** The mailbox the request is for (GraphRequest.mailbox, else the {u} of /users/{u}/…). */
  user: string;
  /** The application (exchange.graph.clientId), for 401s. */
  account: string;
}

/** Graph's error object out of a body that may be anything (HTML from a proxy, nothing at all). */
export function parseGraphError(body: unknown): GraphErrorBody | undefined {
  let value = body;
  if (Buffer.isBuffer(value)) value = value.toString('utf8');
  if (typeof value === 'string') {
    try {
      value = JSON.parse(value);
    } catch {
      return undefined;
    }
  }
  const error = (value as { error?: unknown } | null | undefined)?.error;
  if (error === null || typeof error !== 'object') return undefined;
  const { code, message, innerError, innererror } = error as Record<string, unknown>;
  const inner = (innerError ?? innererror) as Record<string, unknown> | undefined;
  const requestId = inner?.['request-id'] ?? inner?.requestId;
  return {
    code: typeof code === 'string' ? code : '',
    message: typeof message === 'string' ? message : '',
    ...(typeof requestId === 'string' ? { requestId } : {}),
  };
}

/**
 * Retry-After in milliseconds: delay-seconds or an HTTP date (RFC 9110 10.2.3); undefined when absent or unreadable.
 * `now` is the client's clock, so a date is judged against the same time the waiting is.
 */
export function retryAfterMs(value: string | null | undefined, now: number): number | undefined {
  if (value === null || value === undefined) return undefined;
  const text = value.trim();
  if (/^\d+$/.test(text)) return Number(text) * 1000;
  const at = Date.parse(text);
  if (!Number.isFinite(at) || !/[a-z]/i.test(text)) return undefined;
  return Math.max(0, at - now);
}

/** The mailbox of a Graph path: the {u} of /users/{u}/… (decoded), else undefined. */
export function mailboxOf(url: string): string | undefined {
  const match = /\/users(?:\/([^/?#(]+)|\('([^']+)'\))/i.exec(pathOf(url));
  const segment = match?.[1] ?? match?.[2];
  if (!segment) return undefined;
  try {
    return decodeURIComponent(segment);
  } catch {
    return segment;
  }
}

/** The path of a URL without its query (which may carry a delta token or an upload session's credentials). */
export function pathOf(url: string): string {
  try {
    return new URL(url, 'http://relative.invalid').pathname;
  } catch {
    return url.replace(/[?#].*$/, '');
  }
}

/** The URL for messages and logs: no query (delta tokens, upload sessions' tempauth). */
export function safeUrl(url: string): string {
  try {
    const parsed = new URL(url);
    return `${parsed.origin}${parsed.pathname}`;
  } catch {
    return url.replace(/[?#].*$/, '');
  }
}

/** The item a request names: the segment after the last collection of the path. */
function itemOf(url: string): string {
  const segments = pathOf(url)
    .split('/')
    .filter((segment) => segment !== '' && !segment.startsWith('$'));
  const collections =
    /^(messages|events|contacts|tasks|attachments|lists|mailFolders|contactFolders|calendars|subscriptions|childFolders|linkedResources)$/i;
  for (let index = segments.length - 2; index >= 0; index -= 1) {
    if (collections.test(segments[index] ?? '')) return decode(segments[index + 1] ?? 'an item');
  }
  return 'an item';
}

function decode(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    return segment;
  }
}

/** Whether the request is about the user itself: /users/{u} with nothing after it. */
function isUserPath(url: string): boolean {
  return /\/users\/[^/]+\/?$/i.test(pathOf(url));
}

const mailboxCodes = new Set([
  'errorinvaliduser',
  'mailboxnotfound',
  'request_resourcenotfound',
  'errornonexistentmailbox',
]);
const syncStateCodes = new Set([
  'syncstatenotfound',
  'syncstateinvalid',
  'resyncrequired',
  'errorinvalidsyncstatedata',
]);
const accessCodes = new Set(['erroraccessdenied', 'authorization_requestdenied', 'accessdenied']);

/**
 * The application permission a request needs (docs/exchange-online.md, "Permissions") and, where Exchange RBAC for
 * Applications can grant it per mailbox, the role a management scope must carry. RBAC has no role for tasks and
 * does not cover directory reads.
 */
export function permissionFor(url: string): { permission: string; rbacRole?: string } {
  const path = pathOf(url);
  if (/\/translateExchangeIds$/i.test(path)) return { permission: 'User.Read.All' };
  if (/\/todo(\/|$)/i.test(path)) return { permission: 'Tasks.ReadWrite.All' };
  if (/\/(send|sendMail)$/i.test(path)) return { permission: 'Mail.Send', rbacRole: 'Application Mail.Send' };
  if (/\/(contacts|contactFolders)(\/|$|\()/i.test(path))
    return { permission: 'Contacts.ReadWrite', rbacRole: 'Application Contacts.ReadWrite' };
  if (/\/(events|calendarView|calendars?)(\/|$|\()/i.test(path))
    return { permission: 'Calendars.ReadWrite', rbacRole: 'Application Calendars.ReadWrite' };
  if (/\/(messages|mailFolders)(\/|$|\()/i.test(path))
    return { permission: 'Mail.ReadWrite', rbacRole: 'Application Mail.ReadWrite' };
  if (/\/users\/[^/]+\/?$/i.test(path)) return { permission: 'User.Read.All' };
  return {
    permission:
      'the one for this resource (Mail.ReadWrite, Mail.Send, Calendars.ReadWrite, Contacts.ReadWrite, Tasks.ReadWrite.All)',
  };
}

function described(error: GraphErrorBody | undefined, fallback: string): string {
  if (!error) return fallback;
  if (error.code && error.message) return `${error.code}: ${error.message}`;
  return error.code || error.message || fallback;
}

/**
 * A Graph answer that is an error (not 2xx, not accepted by the caller) as the catalogue's error. 401 reaches here
 * only after the client refreshed the token once; 429/503 only after the client's own retries.
 * `backOffMs` is what Retry-After asked for (or the client's own back-off when it did not say).
 */
export function fromGraphStatus(
  status: number,
  headers: Headers,
  body: unknown,
  context: GraphErrorContext,
  backOffMs?: number,
): ExhError {
  const error = parseGraphError(body);
  const code = (error?.code ?? '').toLowerCase();
  const url = safeUrl(context.url);
  const user = context.user;
  const what = described(error, `HTTP ${status}`);

  // The code says more than the status where Graph reuses statuses (404 for an on-premises mailbox, 400 for delta).
  if (code === 'mailboxnotenabledforrestapi') return errors.mailboxNotInCloud(user, error?.message || `HTTP ${status}`);
  if (mailboxCodes.has(code)) return errors.mailboxNotFound(user, what);
  if (status === 410 || syncStateCodes.has(code)) {
    const location = headers.get('location') ?? undefined;
    return errors.invalidSyncState(user, pathOf(context.url), status === 410 ? 'HTTP 410 Gone' : what, location);
  }
  if (status === 401) return authFailed(url, context.account, error);
  if (status === 403 || accessCodes.has(code)) {
    const { permission, rbacRole } = permissionFor(context.url);
    const rbac = rbacRole
      ? `when Exchange RBAC for Applications limits the application, a management role assignment "${rbacRole}" ` +
        `whose management scope includes ${user}`
      : undefined;
    return errors.permissionDenied(user, url, permission, what, rbac);
  }
  if (status === 404) {
    if (isUserPath(context.url)) return errors.mailboxNotFound(user, what);
    return errors.itemNotFound(user, itemOf(context.url));
  }
  if (status === 412 || code === 'errorirresolvableconflict') {
    return errors.exchangeConflict(user, itemOf(context.url), status === 412 ? 'HTTP 412 Precondition Failed' : what);
  }
  if (status === 429) return errors.exchangeThrottled(url, backOffMs, `HTTP 429${error ? ` ${error.code}` : ''}`);
  if (status === 503 || status === 504 || status === 502 || status === 500) {
    return errors.exchangeUnavailable(url, `HTTP ${status} (${what})`, undefined, backOffMs);
  }
  if (status >= 300 && status < 400) {
    const location = headers.get('location');
    return errors.exchangeRequestFailed(
      url,
      `HTTP ${status}`,
      `a redirect to ${location ? safeUrl(location) : 'nowhere'}, which exh does not follow (the bearer token stays ` +
        'with exchange.graph.baseUrl); check exchange.graph.baseUrl',
    );
  }
  return errors.exchangeRequestFailed(
    url,
    error?.code || `HTTP ${status}`,
    error?.message || `${context.method} refused`,
  );
}

/**
 * Graph refused a fresh token too. "No roles" is the application without consented permissions (Graph: "Either scp
 * or roles claim need to be present in the token"); anything else a token Graph does not take (another tenant, cloud
 * or audience).
 */
function authFailed(url: string, account: string, error: GraphErrorBody | undefined): ExhError {
  const message = error?.message ?? '';
  if (/\b(roles?|scp|permissions?)\b/i.test(message)) {
    return errors.exchangeAuthFailed(url, account, {
      problem: `its token carries no application permission (${described(error, 'HTTP 401')})`,
      fix:
        'Grant the application permissions in Entra ID and give admin consent (docs/exchange-online.md, ' +
        '"Permissions"); a new token is fetched at the next attempt.',
    });
  }
  return errors.exchangeAuthFailed(url, account, {
    problem: `Graph refuses its token even after a refresh (${described(error, 'HTTP 401')})`,
    fix:
      "Check exchange.graph.tenant (the mailboxes' tenant) and that exchange.graph.authority and baseUrl are the " +
      'same cloud (docs/exchange-online.md).',
  });
}
