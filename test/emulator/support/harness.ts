import {
  ConnectingIdType,
  ExchangeService,
  ExchangeVersion,
  ImpersonatedUserId,
  ServiceError,
  Uri,
  WebCredentials,
} from 'ews-javascript-api';
import { afterAll } from 'vitest';
import { type EmulatorOptions, type RunningEmulator, startEmulator } from '../../../emulator/index.js';
import { ewsSchema, schemaChecks } from '../../support/ews-schema.js';

/**
 * Every emulator test file starts its own emulator on a free port with response validation on, and checks in afterAll
 * that every SOAP body it sent validates against messages.xsd.
 */
export async function startTestEmulator(options: EmulatorOptions = {}): Promise<RunningEmulator> {
  const emulator = await startEmulator({
    port: 0,
    // Recording needs no schema (tests count the operations sent); only checking reads it.
    validateResponses: true,
    ...(ewsSchema ? { schemaDirectory: ewsSchema } : {}),
    ...options,
  });
  afterAll(async () => {
    try {
      if (schemaChecks) await emulator.admin.validateResponses();
    } finally {
      await emulator.close();
    }
  });
  return emulator;
}

export interface ServiceOptions {
  /** Impersonate this user (the default), or act as the logged-on account with `null`. */
  impersonate?: string | null;
  /** Log on as this account instead of the service account. */
  account?: string;
  password?: string;
  version?: ExchangeVersion;
  /** Send X-AnchorMailbox (default: the impersonated user). */
  anchor?: string | null;
}

/** An ExchangeService of the real ews-javascript-api pointed at the emulator, as the connector will use it. */
export function ewsService(emulator: RunningEmulator, user: string, options: ServiceOptions = {}): ExchangeService {
  const service = new ExchangeService(options.version ?? ExchangeVersion.Exchange2013_SP1);
  service.Credentials = new WebCredentials(
    options.account ?? emulator.serviceAccount,
    options.password ?? emulator.password,
  );
  service.Url = new Uri(emulator.url);
  const impersonate = options.impersonate === undefined ? user : options.impersonate;
  if (impersonate !== null)
    service.ImpersonatedUserId = new ImpersonatedUserId(ConnectingIdType.SmtpAddress, impersonate);
  const anchor = options.anchor === undefined ? impersonate : options.anchor;
  if (anchor) service.HttpHeaders.Add('X-AnchorMailbox', anchor);
  return service;
}

/** Raw SOAP over HTTP, for what the library hides (faults, headers, streaming chunks). */
export async function soap(
  emulator: RunningEmulator,
  body: string,
  options: {
    impersonate?: string;
    account?: string;
    password?: string;
    headers?: Record<string, string>;
    version?: string;
  } = {},
): Promise<{ status: number; text: string; headers: Headers }> {
  const header =
    `<t:RequestServerVersion Version="${options.version ?? 'Exchange2013_SP1'}"/>` +
    (options.impersonate
      ? `<t:ExchangeImpersonation><t:ConnectingSID><t:SmtpAddress>${options.impersonate}</t:SmtpAddress></t:ConnectingSID></t:ExchangeImpersonation>`
      : '');
  const response = await fetch(emulator.url, {
    method: 'POST',
    headers: {
      'content-type': 'text/xml; charset=utf-8',
      authorization: basic(options.account ?? emulator.serviceAccount, options.password ?? emulator.password),
      ...options.headers,
    },
    body: envelopeOf(header, body),
  });
  return { status: response.status, text: await response.text(), headers: response.headers };
}

export function envelopeOf(header: string, body: string): string {
  return (
    '<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/" ' +
    'xmlns:m="http://schemas.microsoft.com/exchange/services/2006/messages" ' +
    'xmlns:t="http://schemas.microsoft.com/exchange/services/2006/types">' +
    `<soap:Header>${header}</soap:Header><soap:Body>${body}</soap:Body></soap:Envelope>`
  );
}

export function basic(user: string, password: string): string {
  return `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;
}

/** Admin HTTP calls as the service account. */
export async function adminCall(
  emulator: RunningEmulator,
  method: string,
  path: string,
  body?: unknown,
  auth = basic(emulator.serviceAccount, emulator.password),
): Promise<{ status: number; json: unknown }> {
  const response = await fetch(`${emulator.adminUrl}${path}`, {
    method,
    headers: { authorization: auth, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await response.text();
  return { status: response.status, json: text ? JSON.parse(text) : undefined };
}

/**
 * The EWS error code a library call failed with, whatever the library wrapped it in (ServiceResponseException for
 * response messages, SoapFaultDetails for SOAP faults), `HTTP 401` and the like for an HTTP error without a SOAP
 * answer, or 'resolved' when it did not fail.
 */
export async function errorCodeOf(call: () => Promise<unknown>): Promise<string> {
  try {
    await call();
    return 'resolved';
  } catch (error) {
    const e = error as { ErrorCode?: number; ResponseCode?: number; HttpStatusCode?: number; message?: string };
    if (typeof e.HttpStatusCode === 'number' && e.HttpStatusCode !== 500) return `HTTP ${e.HttpStatusCode}`;
    if (typeof e.ErrorCode === 'number' && e.ErrorCode !== 0) return ServiceError[e.ErrorCode] ?? String(e.ErrorCode);
    if (typeof e.ResponseCode === 'number') return ServiceError[e.ResponseCode] ?? String(e.ResponseCode);
    return `not an EWS error: ${e.message ?? String(error)}`;
  }
}

/** The SOAP fault code of a raw answer (`ErrorSchemaValidation`), or the ResponseCode of its first message. */
export function codeOf(answer: { status: number; text: string }): string {
  const fault = /<faultcode[^>]*>a:(\w+)<\/faultcode>/.exec(answer.text)?.[1];
  if (fault) return fault;
  return /<m:ResponseCode>(\w+)<\/m:ResponseCode>/.exec(answer.text)?.[1] ?? `HTTP ${answer.status}`;
}

/** Everything the emulator holds, item by item (for "bad input changes nothing"). */
export function mailboxState(emulator: RunningEmulator): unknown {
  return emulator.admin.mailboxes().map((mailbox) => ({ ...mailbox, items: emulator.admin.items(mailbox.address) }));
}
