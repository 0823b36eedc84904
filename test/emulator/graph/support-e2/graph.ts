import type { EmulatorOptions, RunningEmulator } from '../../../../emulator/index.js';
import { startTestEmulator } from '../../support/harness.js';

/**
 * The emulator with Microsoft Graph for the token, Autodiscover v2 and subscription tests: its origin, the default app
 * registration (docs/emulator.md), a token and a small JSON fetch.
 */

export const tenant = 'contoso.test';
export const clientId = '00000000-0000-0000-0000-0000000e4e00';
export const clientSecret = 'exh-emulator-secret';
export const graphScope = 'https://graph.microsoft.com/.default';

export function originOf(emulator: RunningEmulator): string {
  return `http://${emulator.host}:${emulator.port}`;
}

export function tokenUrl(emulator: RunningEmulator, tenantName = tenant): string {
  return `${originOf(emulator)}/graph-login/${tenantName}/oauth2/v2.0/token`;
}

export interface Answer<T = Record<string, unknown>> {
  status: number;
  headers: Headers;
  body: T;
}

export async function postForm(url: string, form: Record<string, string>): Promise<Answer> {
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams(form),
  });
  const text = await response.text();
  return { status: response.status, headers: response.headers, body: text ? JSON.parse(text) : {} };
}

export async function secretToken(emulator: RunningEmulator): Promise<string> {
  const answer = await postForm(tokenUrl(emulator), {
    grant_type: 'client_credentials',
    client_id: clientId,
    client_secret: clientSecret,
    scope: graphScope,
  });
  const token = answer.body.access_token;
  if (typeof token !== 'string') throw new Error(`no token: ${JSON.stringify(answer.body)}`);
  return token;
}

/** A Graph call with a bearer token (JSON in, JSON out). */
export async function graph<T = Record<string, unknown>>(
  emulator: RunningEmulator,
  token: string | undefined,
  method: string,
  path: string,
  options: { body?: unknown; headers?: Record<string, string> } = {},
): Promise<Answer<T>> {
  const headers: Record<string, string> = { ...options.headers };
  if (token !== undefined) headers.authorization = `Bearer ${token}`;
  if (options.body !== undefined) headers['content-type'] = 'application/json';
  const response = await fetch(`${originOf(emulator)}/graph/v1.0${path}`, {
    method,
    headers,
    ...(options.body !== undefined ? { body: JSON.stringify(options.body) } : {}),
  });
  const text = await response.text();
  return { status: response.status, headers: response.headers, body: (text ? JSON.parse(text) : {}) as T };
}

/** An emulator serving Graph (closed after the file's tests). */
export function startGraphEmulator(options: EmulatorOptions = {}): Promise<RunningEmulator> {
  return startTestEmulator(options);
}
