import { errors } from '../../errors.js';
import { type ErrorContext, fromHttpStatus } from './errors.js';
import type { EwsTransport } from './transport.js';
import { at, escapeXml, parseXml, type XmlValue } from './xml.js';

/**
 * EWS requests the adapter writes itself, through the same transport as the library: GetItem (the library loses
 * StartTimeZone and other properties on the way to its objects), GetFolder for several folders at once (the library
 * binds one per request) and GetStreamingEvents. Every request acts as the mailbox's user by impersonation and names
 * the user in X-AnchorMailbox, as the library's requests do.
 */

export const namespaces = {
  soap: 'http://schemas.xmlsoap.org/soap/envelope/',
  m: 'http://schemas.microsoft.com/exchange/services/2006/messages',
  t: 'http://schemas.microsoft.com/exchange/services/2006/types',
} as const;

export interface SoapTarget {
  url: string;
  /** The impersonated mailbox. */
  user: string;
  /** The account that logs on. */
  account: string;
  /** RequestServerVersion, e.g. Exchange2013_SP1. */
  version: string;
}

export function soapEnvelope(target: SoapTarget, body: string): string {
  return (
    `<?xml version="1.0" encoding="utf-8"?><soap:Envelope xmlns:soap="${namespaces.soap}" ` +
    `xmlns:m="${namespaces.m}" xmlns:t="${namespaces.t}"><soap:Header>` +
    `<t:RequestServerVersion Version="${escapeXml(target.version)}"/>` +
    '<t:ExchangeImpersonation><t:ConnectingSID>' +
    `<t:SmtpAddress>${escapeXml(target.user)}</t:SmtpAddress>` +
    '</t:ConnectingSID></t:ExchangeImpersonation></soap:Header>' +
    `<soap:Body>${body}</soap:Body></soap:Envelope>`
  );
}

export function soapHeaders(target: SoapTarget): Record<string, string> {
  return {
    'content-type': 'text/xml; charset=utf-8',
    accept: 'text/xml',
    'accept-encoding': 'gzip',
    'x-anchormailbox': target.user,
  };
}

export function errorContext(target: SoapTarget, extra: Partial<ErrorContext> = {}): ErrorContext {
  return { url: target.url, user: target.user, account: target.account, ...extra };
}

/** Sends one operation; resolves with its response element (e.g. GetItemResponse). */
export async function soapCall(
  transport: EwsTransport,
  target: SoapTarget,
  operation: string,
  body: string,
  signal: AbortSignal,
  extra: Partial<ErrorContext> = {},
): Promise<XmlValue> {
  const context = errorContext(target, extra);
  const answer = await transport.send(target.url, soapEnvelope(target, body), soapHeaders(target), signal, context);
  if (answer.status !== 200) throw fromHttpStatus(answer.status, answer.body, answer.headers, context);
  let response: XmlValue | undefined;
  try {
    response = at(parseXml(answer.body), 'Envelope', 'Body', `${operation}Response`);
  } catch (error) {
    throw errors.exchangeRequestFailed(target.url, operation, `the answer is not XML: ${(error as Error).message}`);
  }
  if (response === undefined) {
    throw errors.exchangeRequestFailed(target.url, operation, `the answer has no ${operation}Response`);
  }
  return response;
}
