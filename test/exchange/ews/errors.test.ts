import { ServiceError } from 'ews-javascript-api';
import { describe, expect, it } from 'vitest';
import { errorCatalogue, errors } from '../../../src/errors.js';
import {
  type ErrorContext,
  fromHttpStatus,
  fromLibraryError,
  fromNetworkError,
  fromResponseCode,
  parseSoapFault,
} from '../../../src/exchange/ews/errors.js';

const context: ErrorContext = {
  url: 'https://mail.contoso.test/EWS/Exchange.asmx',
  user: 'alice@contoso.test',
  account: 'svc@contoso.test',
  folder: 'calendar',
  itemId: 'AAMkA1',
};

function fault(code: string, values = ''): string {
  return (
    '<?xml version="1.0" encoding="utf-8"?><s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body><s:Fault>' +
    `<faultcode xmlns:a="http://schemas.microsoft.com/exchange/services/2006/types">a:${code}</faultcode>` +
    '<faultstring xml:lang="en-US">Exchange says no.</faultstring><detail>' +
    `<e:ResponseCode xmlns:e="http://schemas.microsoft.com/exchange/services/2006/errors">${code}</e:ResponseCode>` +
    '<e:Message xmlns:e="http://schemas.microsoft.com/exchange/services/2006/errors">Exchange says no.</e:Message>' +
    `${values}</detail></s:Fault></s:Body></s:Envelope>`
  );
}
const backOff = (ms: number) =>
  `<t:MessageXml xmlns:t="http://schemas.microsoft.com/exchange/services/2006/types"><t:Value Name="BackOffMilliseconds">${ms}</t:Value></t:MessageXml>`;

describe('EWS response codes → the catalogue', () => {
  it.each([
    ['ErrorServerBusy', 'EXH_EXCHANGE_THROTTLED', true],
    ['ErrorTooManyObjectsOpened', 'EXH_EXCHANGE_THROTTLED', true],
    ['ErrorNonExistentMailbox', 'EXH_EXCHANGE_MAILBOX_NOT_FOUND', false],
    ['ErrorImpersonateUserDenied', 'EXH_EXCHANGE_IMPERSONATION_DENIED', false],
    ['ErrorImpersonationDenied', 'EXH_EXCHANGE_IMPERSONATION_DENIED', false],
    ['ErrorAccessDenied', 'EXH_EXCHANGE_IMPERSONATION_DENIED', false],
    ['ErrorMailboxMoveInProgress', 'EXH_EXCHANGE_MAILBOX_MOVING', true],
    ['ErrorInvalidSyncStateData', 'EXH_EXCHANGE_INVALID_SYNC_STATE', false],
    ['ErrorSubscriptionNotFound', 'EXH_EXCHANGE_SUBSCRIPTION_LOST', true],
    ['ErrorExpiredSubscription', 'EXH_EXCHANGE_SUBSCRIPTION_LOST', true],
    ['ErrorExceededConnectionCount', 'EXH_EXCHANGE_SUBSCRIPTION_LOST', true],
    ['ErrorInvalidWatermark', 'EXH_EXCHANGE_SUBSCRIPTION_LOST', true],
    ['ErrorItemNotFound', 'EXH_EXCHANGE_ITEM_NOT_FOUND', false],
    ['ErrorTimeoutExpired', 'EXH_EXCHANGE_TIMEOUT', true],
    ['ErrorInternalServerError', 'EXH_EXCHANGE_UNAVAILABLE', true],
    ['ErrorMailboxStoreUnavailable', 'EXH_EXCHANGE_UNAVAILABLE', true],
    ['ErrorSchemaValidation', 'EXH_EXCHANGE_REQUEST_FAILED', false],
  ])('%s → %s (retryable %s)', (responseCode, code, retryable) => {
    const error = fromResponseCode({ responseCode, message: 'Exchange says no.' }, context);
    expect(error).toMatchObject({ code, retryable });
    expect(errorCatalogue[error.code].retryable).toBe(retryable);
  });

  it('carries BackOffMilliseconds and names the URL', () => {
    const error = fromResponseCode({ responseCode: 'ErrorServerBusy', message: '', backOffMs: 1234 }, context);
    expect(error.details.backOffMs).toBe(1234);
    expect(error.message).toContain(context.url);
    expect(error.message).toContain('1234 ms');
  });

  it('names the user, the folder and the item where they matter', () => {
    expect(fromResponseCode({ responseCode: 'ErrorNonExistentMailbox', message: 'x' }, context).message).toMatch(
      /^Unknown user: .*alice@contoso\.test/,
    );
    expect(fromResponseCode({ responseCode: 'ErrorInvalidSyncStateData', message: 'x' }, context).message).toContain(
      'calendar',
    );
    expect(fromResponseCode({ responseCode: 'ErrorItemNotFound', message: 'x' }, context).message).toContain('AAMkA1');
    expect(fromResponseCode({ responseCode: 'ErrorImpersonateUserDenied', message: 'x' }, context).message).toContain(
      'svc@contoso.test may not act as alice@contoso.test',
    );
  });
});

describe('HTTP answers → the catalogue', () => {
  it.each([
    [401, '', {}, 'EXH_EXCHANGE_AUTH_FAILED', undefined],
    [500, fault('ErrorServerBusy', backOff(30000)), {}, 'EXH_EXCHANGE_THROTTLED', 30000],
    [500, fault('ErrorMailboxMoveInProgress'), {}, 'EXH_EXCHANGE_MAILBOX_MOVING', undefined],
    [500, '<html><body>HTTP 500</body></html>', {}, 'EXH_EXCHANGE_UNAVAILABLE', undefined],
    [503, '<html>busy</html>', {}, 'EXH_EXCHANGE_UNAVAILABLE', undefined],
    [429, '', { 'retry-after': '7' }, 'EXH_EXCHANGE_THROTTLED', 7000],
    [302, '', { location: 'https://elsewhere.test/' }, 'EXH_EXCHANGE_UNAVAILABLE', undefined],
    [404, '', {}, 'EXH_EXCHANGE_UNAVAILABLE', undefined],
    [403, '', {}, 'EXH_EXCHANGE_REQUEST_FAILED', undefined],
  ])('HTTP %i (%#) → the code for it', (status, body, headers, code, backOffMs) => {
    const error = fromHttpStatus(status, body, headers, context);
    expect(error.code).toBe(code);
    expect(error.details.backOffMs).toBe(backOffMs);
    // Who or where: the URL, or for a mailbox move the mailbox.
    expect(error.message).toMatch(
      code === 'EXH_EXCHANGE_MAILBOX_MOVING' ? /alice@contoso\.test/ : /mail\.contoso\.test/,
    );
  });

  it('reads a SOAP fault as Exchange sends it', () => {
    expect(parseSoapFault(fault('ErrorServerBusy', backOff(5)))).toEqual({
      responseCode: 'ErrorServerBusy',
      message: 'Exchange says no.',
      backOffMs: 5,
    });
    expect(parseSoapFault('not xml at all <')).toBeUndefined();
  });
});

describe('socket failures → the catalogue', () => {
  const socketError = (code: string) => Object.assign(new Error(`failure ${code}`), { code });
  it.each([
    ['ENOTFOUND', 'EXH_EXCHANGE_UNAVAILABLE', /DNS cannot resolve mail\.contoso\.test/],
    ['EAI_AGAIN', 'EXH_EXCHANGE_UNAVAILABLE', /DNS/],
    ['ECONNREFUSED', 'EXH_EXCHANGE_UNAVAILABLE', /refused the connection/],
    ['ECONNRESET', 'EXH_EXCHANGE_UNAVAILABLE', /failure ECONNRESET/],
    ['CERT_HAS_EXPIRED', 'EXH_EXCHANGE_TLS', /Could not establish trust relationship/],
    ['DEPTH_ZERO_SELF_SIGNED_CERT', 'EXH_EXCHANGE_TLS', /ignoreSsl/],
    ['UNABLE_TO_VERIFY_LEAF_SIGNATURE', 'EXH_EXCHANGE_TLS', /SSL\/TLS/],
    ['ERR_TLS_CERT_ALTNAME_INVALID', 'EXH_EXCHANGE_TLS', /mail\.contoso\.test/],
  ])('%s → %s', (socketCode, code, message) => {
    const error = fromNetworkError(socketError(socketCode), context);
    expect(error.code).toBe(code);
    expect(error.message).toMatch(message);
  });
});

describe("ews-javascript-api's exceptions → the catalogue", () => {
  it('reads the ServiceError of a failed response message', () => {
    const exception = Object.assign(new Error('The specified object was not found in the store.'), {
      ErrorCode: ServiceError.ErrorItemNotFound,
    });
    expect(fromLibraryError(exception, context).code).toBe('EXH_EXCHANGE_ITEM_NOT_FOUND');
  });

  it('reads the ResponseCode and BackOffMilliseconds of SoapFaultDetails', () => {
    const details = {
      ResponseCode: ServiceError.ErrorServerBusy,
      ErrorDetails: new Map([['BackOffMilliseconds', '900']]),
      message: '',
    };
    expect(fromLibraryError(details, context)).toMatchObject({
      code: 'EXH_EXCHANGE_THROTTLED',
      details: { backOffMs: 900 },
    });
  });

  it('passes the transport’s own errors through and names anything else', () => {
    const own = errors.exchangeTimeout(context.url, 100);
    expect(fromLibraryError(own, context)).toBe(own);
    expect(fromLibraryError(new TypeError('boom'), context)).toMatchObject({
      code: 'EXH_EXCHANGE_REQUEST_FAILED',
      message: expect.stringContaining('boom'),
    });
  });
});
