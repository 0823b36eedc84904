import { afterAll } from 'vitest';
import { type EmulatorOptions, type RunningEmulator, startEmulator } from '../../../emulator/index.js';

/**
 * The Graph emulator over real HTTP: an emulator on a free port, an app-only token from its token endpoint
 * (client_credentials with the default app registration, docs/emulator.md) and a small fetch helper.
 */

export const tenant = 'contoso.test';
export const clientId = '00000000-0000-0000-0000-0000000e4e00';
export const clientSecret = 'exh-emulator-secret';
export const appIdProperty = 'String {c11ff724-aa03-4555-9952-8fa248a11c3e} Name exh_app_item_id';

export interface GraphAnswer<T = Record<string, unknown>> {
  status: number;
  headers: Headers;
  body: T;
}

export interface GraphHarness {
  emulator: RunningEmulator;
  token: string;
  call<T = Record<string, unknown>>(
    method: string,
    path: string,
    options?: { body?: unknown; headers?: Record<string, string>; raw?: boolean },
  ): Promise<GraphAnswer<T>>;
  /** Follows a link (nextLink, deltaLink) as given. */
  get<T = Record<string, unknown>>(url: string, headers?: Record<string, string>): Promise<GraphAnswer<T>>;
}

export async function fetchToken(emulator: RunningEmulator): Promise<string> {
  const response = await fetch(`http://${emulator.host}:${emulator.port}/graph-login/${tenant}/oauth2/v2.0/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({
      grant_type: 'client_credentials',
      client_id: clientId,
      client_secret: clientSecret,
      scope: 'https://graph.microsoft.com/.default',
    }),
  });
  const json = (await response.json()) as { access_token?: string };
  if (!json.access_token) throw new Error(`no token: ${JSON.stringify(json)}`);
  return json.access_token;
}

async function answer<T>(response: Response, raw: boolean): Promise<GraphAnswer<T>> {
  const text = raw ? undefined : await response.text();
  const body = raw
    ? (Buffer.from(await response.arrayBuffer()) as unknown as T)
    : text
      ? (JSON.parse(text) as T)
      : ({} as T);
  return { status: response.status, headers: response.headers, body };
}

export async function startGraph(options: EmulatorOptions = {}): Promise<GraphHarness> {
  const emulator = await startEmulator({ port: 0, ...options });
  afterAll(async () => {
    await emulator.close();
  });
  const token = await fetchToken(emulator);
  const harness: GraphHarness = {
    emulator,
    token,
    async call(method, path, options = {}) {
      const headers: Record<string, string> = { authorization: `Bearer ${token}`, ...options.headers };
      let body: string | undefined;
      if (options.body !== undefined) {
        headers['content-type'] ??= 'application/json';
        body = JSON.stringify(options.body);
      }
      const response = await fetch(`${emulator.graphUrl}${path}`, { method, headers, body });
      return answer(response, options.raw === true);
    },
    async get(url, headers = {}) {
      const response = await fetch(url, { headers: { authorization: `Bearer ${token}`, ...headers } });
      return answer(response, false);
    },
  };
  return harness;
}

export const immutable = { prefer: 'IdType="ImmutableId"' };
