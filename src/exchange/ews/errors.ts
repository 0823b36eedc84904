import { ServiceError } from 'ews-javascript-api';
import { describe, type ExhError, errors, isExhError } from '../../errors.js';
import { all, at, attr, parseXml, textOf, type XmlValue } from './xml.js';

/**
 * EWS response codes, HTTP statuses and socket errors → the error catalogue (src/errors.ts). Machines decide on the
 * code and `retryable`; nothing outside src/exchange/ews sees an EWS error or a response code string.
 */

/** What Exchange said went wrong: a SOAP fault or a response message with ResponseClass="Error". */
export interface EwsFault {
  responseCode: string;
  message: string;
  /** MessageXml's BackOffMilliseconds (ErrorServerBusy). */
  backOffMs?: number;
}

export { fromNetworkError } from '../network-errors.js';

/** Who asked what where, for messages that name the cause. */
export interface ErrorContext {
  url: string;
  /** The mailbox acted on (impersonated). */
  user: string;
  /** The account that logs on (exchange.impersonationUser). */
  account: string;
  folder?: string;
  itemId?: string;
}

const impersonationCodes = new Set([
  'ErrorImpersonateUserDenied',
  'ErrorImpersonationDenied',
  'ErrorImpersonationFailed',
  'ErrorInvalidExchangeImpersonationHeaderData',
  'ErrorAccessDenied',
]);

const subscriptionCodes = new Set([
  'ErrorSubscriptionNotFound',
  'ErrorExpiredSubscription',
  'ErrorExceededConnectionCount',
  'ErrorInvalidSubscription',
  'ErrorSubscriptionUnsubscribed',
  'ErrorInvalidWatermark',
  'ErrorSubscriptionAccessDenied',
]);

const transientCodes = new Set([
  'ErrorInternalServerError',
  'ErrorInternalServerTransientError',
  'ErrorMailboxStoreUnavailable',
  'ErrorConnectionFailed',
  'ErrorMailboxFailover',
  'ErrorProxyRequestProcessingFailed',
]);

const throttlingCodes = new Set(['ErrorServerBusy', 'ErrorTooManyObjectsOpened']);

/** One EWS response code as the catalogue's error. */
export function fromResponseCode(fault: EwsFault, context: ErrorContext): ExhError {
  const code = fault.responseCode;
  if (throttlingCodes.has(code)) return errors.exchangeThrottled(context.url, fault.backOffMs);
  if (code === 'ErrorNonExistentMailbox') return errors.mailboxNotFound(context.user, fault.message);
  if (impersonationCodes.has(code)) return errors.impersonationDenied(context.user, context.account, code);
  if (code === 'ErrorMailboxMoveInProgress') return errors.mailboxMoving(context.user);
  if (code === 'ErrorInvalidSyncStateData' || code === 'ErrorInvalidSyncStateDataException') {
    return errors.invalidSyncState(context.user, context.folder ?? 'a folder');
  }
  if (subscriptionCodes.has(code)) return errors.subscriptionLost(context.user, `${code}: ${fault.message}`);
  if (code === 'ErrorItemNotFound' || code === 'ErrorCalendarOccurrenceIsDeletedFromRecurrence') {
    return errors.itemNotFound(context.user, context.itemId ?? 'an item');
  }
  if (code === 'ErrorIrresolvableConflict') return errors.exchangeConflict(context.user, context.itemId ?? 'an item');
  if (code === 'ErrorTimeoutExpired')
    return errors.exchangeTimeout(context.url, undefined, 'the request (ErrorTimeoutExpired)');
  if (transientCodes.has(code)) return errors.exchangeUnavailable(context.url, `${code}: ${fault.message}`);
  return errors.exchangeRequestFailed(context.url, code, fault.message);
}

function backOff(messageXml: XmlValue | undefined): number | undefined {
  for (const value of all(messageXml, 'Value')) {
    if (attr(value, 'Name') !== 'BackOffMilliseconds') continue;
    const ms = Number(textOf(value));
    if (Number.isFinite(ms) && ms >= 0) return ms;
  }
  return undefined;
}

/** The fault of a SOAP fault envelope (HTTP 500), or undefined when the body is not one. */
export function parseSoapFault(body: string): EwsFault | undefined {
  let fault: XmlValue | undefined;
  try {
    fault = at(parseXml(body), 'Envelope', 'Body', 'Fault');
  } catch {
    return undefined;
  }
  if (fault === undefined) return undefined;
  const detail = at(fault, 'detail');
  const faultCode = (textOf(fault, 'faultcode') ?? '').replace(/^.*:/, '');
  const responseCode = textOf(detail, 'ResponseCode') ?? faultCode;
  const message = textOf(detail, 'Message') ?? textOf(fault, 'faultstring') ?? responseCode;
  const result: EwsFault = { responseCode: responseCode || 'ErrorInternalServerError', message };
  const ms = backOff(at(detail, 'MessageXml'));
  if (ms !== undefined) result.backOffMs = ms;
  return result;
}

/** The first failed response message of an EWS answer (ResponseClass="Error"), for answers the adapter reads itself. */
export function responseMessageFault(message: XmlValue | undefined): EwsFault | undefined {
  if (attr(message, 'ResponseClass') !== 'Error') return undefined;
  const responseCode = textOf(message, 'ResponseCode') ?? 'ErrorInternalServerError';
  const fault: EwsFault = { responseCode, message: textOf(message, 'MessageText') ?? responseCode };
  const ms = backOff(at(message, 'MessageXml'));
  if (ms !== undefined) fault.backOffMs = ms;
  return fault;
}

const statusText: Record<number, string> = {
  400: 'Bad Request',
  403: 'Forbidden',
  404: 'Not Found: check exchange.staticEwsUrl (…/EWS/Exchange.asmx)',
  500: 'Internal Server Error',
  502: 'Bad Gateway',
  503: 'Service Unavailable',
  504: 'Gateway Timeout',
};

/** An HTTP answer other than 200. */
export function fromHttpStatus(
  status: number,
  body: string,
  headers: Record<string, string | string[] | undefined>,
  context: ErrorContext,
): ExhError {
  if (status === 401) return errors.exchangeAuthFailed(context.url, context.account);
  if (status === 500) {
    const fault = parseSoapFault(body);
    if (fault) return fromResponseCode(fault, context);
  }
  if (status === 429) {
    const seconds = Number(headers['retry-after']);
    return errors.exchangeThrottled(context.url, Number.isFinite(seconds) ? seconds * 1000 : undefined);
  }
  if (status >= 300 && status < 400) {
    const location = headers.location;
    return errors.exchangeUnavailable(
      context.url,
      `HTTP ${status} redirect to ${String(location ?? 'nowhere')}; exh does not follow EWS redirects, so set ` +
        'exchange.staticEwsUrl to the final address',
    );
  }
  if (status === 400 || status === 403) {
    return errors.exchangeRequestFailed(context.url, `HTTP ${status}`, statusText[status] ?? '');
  }
  return errors.exchangeUnavailable(context.url, `HTTP ${status} ${statusText[status] ?? ''}`.trim());
}

interface LibraryError {
  ErrorCode?: unknown;
  ResponseCode?: unknown;
  Response?: { ErrorDetails?: { tryGetValue?: unknown; get?: (key: string) => unknown } };
  ErrorDetails?: { get?: (key: string) => unknown };
  message?: unknown;
}

function libraryDetail(details: { get?: (key: string) => unknown } | undefined, key: string): unknown {
  try {
    return details?.get?.(key);
  } catch {
    return undefined;
  }
}

/**
 * Anything ews-javascript-api rejected with: a ServiceResponseException (a response message with an error) or
 * SoapFaultDetails carry an EWS code; ExhErrors from the transport pass through.
 */
export function fromLibraryError(error: unknown, context: ErrorContext): ExhError {
  if (isExhError(error)) return error;
  const e = (error ?? {}) as LibraryError;
  const numeric =
    typeof e.ErrorCode === 'number' ? e.ErrorCode : typeof e.ResponseCode === 'number' ? e.ResponseCode : undefined;
  const responseCode = numeric === undefined ? undefined : ServiceError[numeric];
  const message = typeof e.message === 'string' && e.message ? e.message : (responseCode ?? describe(error));
  if (responseCode && responseCode !== 'NoError') {
    const fault: EwsFault = { responseCode, message };
    const ms = Number(libraryDetail(e.Response?.ErrorDetails ?? e.ErrorDetails, 'BackOffMilliseconds'));
    if (Number.isFinite(ms) && ms > 0) fault.backOffMs = ms;
    return fromResponseCode(fault, context);
  }
  return errors.exchangeRequestFailed(context.url, 'ews-javascript-api', message);
}
