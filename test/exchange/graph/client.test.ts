import { readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RunningEmulator, startEmulator } from '../../../emulator/index.js';
import { configSchema } from '../../../src/config/schema.js';
import { type ExhError, isExhError, isPermanent } from '../../../src/errors.js';
import { createGraphClient, type GraphClientOptions } from '../../../src/exchange/graph/client.js';
import { msalTokenProvider, staticTokenProvider } from '../../../src/exchange/graph/token.js';
import { createLogging } from '../../../src/logging/logger.js';
import { ExchangePool } from '../../../src/pool/exchange-pool.js';
import { manualClock, simulatedClock } from './simulated-clock.js';

/**
 * The Graph client's HTTP protocol (src/exchange/graph/client.ts, http.ts) against a tiny node:http server. It is a
 * test double for what no Graph emulator produces on purpose: broken JSON, a body that never ends, oversized
 * answers, a redirect to another origin. Graph's own behaviour (throttling, tokens, $batch) is tested against the
 * project's Graph emulator in the other files of this folder and below.
 */

type Handler = (request: IncomingMessage, response: ServerResponse, body: Buffer) => void;

interface Double {
  url: string;
  origin: string;
  seen: Array<{ method: string; url: string; headers: IncomingMessage['headers']; body: Buffer }>;
  on(path: string, handler: Handler): void;
  close(): Promise<void>;
}

async function startDouble(): Promise<Double> {
  const handlers = new Map<string, Handler>();
  const seen: Double['seen'] = [];
  const server: Server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const body = Buffer.concat(chunks);
      seen.push({ method: request.method ?? '', url: request.url ?? '', headers: request.headers, body });
      const path = (request.url ?? '').replace(/\?.*$/, '').replace(/^\/v1\.0/, '');
      const handler = handlers.get(path);
      if (handler) handler(request, response, body);
      else
        response
          .writeHead(404, { 'content-type': 'application/json' })
          .end('{"error":{"code":"NotFound","message":"no handler"}}');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const origin = `http://127.0.0.1:${port}`;
  return {
    url: `${origin}/v1.0`,
    origin,
    seen,
    on: (path, handler) => handlers.set(path, handler),
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

const ann = 'ann@contoso.test';
const call = () => ({ signal: new AbortController().signal, priority: 'live' as const });
const json = (response: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) =>
  response
    .writeHead(status, { 'content-type': 'application/json; charset=utf-8', ...headers })
    .end(JSON.stringify(body));

let graph: Double;
let other: Double;
const pools: ExchangePool[] = [];

function client(extra: Partial<GraphClientOptions> = {}) {
  const records: Array<Record<string, unknown>> = [];
  const { logger } = createLogging({
    level: 'debug',
    format: 'json',
    stdout: { write: (line: string) => void records.push(JSON.parse(line) as Record<string, unknown>) },
  });
  const pool = new ExchangePool(8);
  pools.push(pool);
  const graphClient = createGraphClient({
    baseUrl: graph.url,
    tokens: staticTokenProvider('token-1'),
    pool,
    timeoutMs: 5_000,
    logger,
    ...extra,
  });
  return { graphClient, records, pool };
}

async function failure(promise: Promise<unknown>): Promise<ExhError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!isExhError(error)) throw new Error(`expected an ExhError, got ${String(error)}`);
  return error;
}

beforeAll(async () => {
  graph = await startDouble();
  other = await startDouble();
});
afterAll(async () => {
  for (const pool of pools) await pool.close();
  await graph.close();
  await other.close();
});

describe('what every request carries', () => {
  it('sends the bearer token, Accept JSON, a client-request-id, Prefer ImmutableId and UTC plus its own, a JSON body', async () => {
    graph.on('/users/ann@contoso.test/events', (_request, response) => json(response, 201, { id: 'E1' }));
    const { graphClient } = client();
    const answer = await graphClient.request(
      {
        method: 'POST',
        url: `/users/${ann}/events`,
        body: { subject: 'Fähre' },
        prefer: ['outlook.body-content-type="text"'],
        mailbox: ann,
      },
      call(),
    );
    expect(answer).toMatchObject({ status: 201, body: { id: 'E1' } });
    const sent = graph.seen.at(-1);
    expect(sent?.url).toBe(`/v1.0/users/${ann}/events`);
    expect(sent?.headers.authorization).toBe('Bearer token-1');
    expect(sent?.headers.accept).toBe('application/json');
    expect(sent?.headers['client-request-id']).toMatch(
      /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/,
    );
    expect(sent?.headers.prefer).toBe('IdType="ImmutableId", outlook.timezone="UTC", outlook.body-content-type="text"');
    expect(sent?.headers['content-type']).toBe('application/json');
    expect(JSON.parse(sent?.body.toString('utf8') ?? '')).toEqual({ subject: 'Fähre' });
  });

  it('follows an absolute link of the same origin (a nextLink) with the token', async () => {
    graph.on('/users/ann@contoso.test/messages/delta', (_request, response) => json(response, 200, { value: [] }));
    const { graphClient } = client();
    await graphClient.request(
      { method: 'GET', url: `${graph.url}/users/${ann}/messages/delta?$skiptoken=abc` },
      call(),
    );
    expect(graph.seen.at(-1)?.url).toBe(`/v1.0/users/${ann}/messages/delta?$skiptoken=abc`);
    expect(graph.seen.at(-1)?.headers.authorization).toBe('Bearer token-1');
  });

  it('never sends the token to another origin: refused before any request, or sent anonymous without it', async () => {
    other.on('/upload', (_request, response) => json(response, 200, { nextExpectedRanges: ['4-'] }));
    const { graphClient } = client();
    const before = other.seen.length;
    const refused = await failure(graphClient.request({ method: 'GET', url: `${other.origin}/upload` }, call()));
    expect(refused.code).toBe('EXH_EXCHANGE_REQUEST_FAILED');
    expect(refused.message).toContain(`only to ${graph.origin}`);
    expect(other.seen.length).toBe(before);

    const range = Buffer.from('abcd');
    const answer = await graphClient.request(
      {
        method: 'PUT',
        url: `${other.origin}/upload?tempauth=secret`,
        rawBody: range,
        headers: { 'content-type': 'application/octet-stream', 'content-range': 'bytes 0-3/8' },
        anonymous: true,
      },
      call(),
    );
    expect(answer.body).toEqual({ nextExpectedRanges: ['4-'] });
    const sent = other.seen.at(-1);
    expect(sent?.headers.authorization).toBeUndefined();
    expect(sent?.headers['content-range']).toBe('bytes 0-3/8');
    expect(sent?.body).toEqual(range);
  });

  it('does not follow a redirect, to another origin least of all', async () => {
    graph.on('/users/ann@contoso.test/messages/M1/$value', (_request, response) =>
      response.writeHead(302, { location: `${other.origin}/steal?x=1` }).end(),
    );
    const { graphClient } = client();
    const before = other.seen.length;
    const error = await failure(
      graphClient.request({ method: 'GET', url: `/users/${ann}/messages/M1/$value` }, call()),
    );
    expect(error.code).toBe('EXH_EXCHANGE_REQUEST_FAILED');
    expect(error.message).toContain(`a redirect to ${other.origin}/steal`);
    expect(other.seen.length).toBe(before);
  });
});

describe('answers', () => {
  it('parses JSON, gives no body for 204, and bytes for what is not JSON ($value)', async () => {
    graph.on('/users/ann@contoso.test/events/E1', (_request, response) => response.writeHead(204).end());
    graph.on('/users/ann@contoso.test/messages/M2/attachments/A1/$value', (_request, response) =>
      response
        .writeHead(200, { 'content-type': 'application/pdf' })
        .end(Buffer.from([0x25, 0x50, 0x44, 0x46, 0x00, 0xff])),
    );
    const { graphClient } = client();
    const deleted = await graphClient.request({ method: 'DELETE', url: `/users/${ann}/events/E1` }, call());
    expect(deleted).toMatchObject({ status: 204, body: undefined });
    const bytes = await graphClient.request(
      { method: 'GET', url: `/users/${ann}/messages/M2/attachments/A1/$value` },
      call(),
    );
    expect(bytes.body).toEqual(Buffer.from([0x25, 0x50, 0x44, 0x46, 0x00, 0xff]));
  });

  it('refuses broken JSON naming the URL and the first bytes', async () => {
    graph.on('/users/ann@contoso.test/contacts/delta', (_request, response) =>
      response.writeHead(200, { 'content-type': 'application/json' }).end('{"value": [ {"id": "C1", '),
    );
    const { graphClient } = client();
    const error = await failure(
      graphClient.request({ method: 'GET', url: `/users/${ann}/contacts/delta?$deltatoken=t` }, call()),
    );
    expect(error.code).toBe('EXH_EXCHANGE_REQUEST_FAILED');
    expect(error.message).toContain(`${graph.url}/users/${ann}/contacts/delta`);
    expect(error.message).toContain('is not JSON');
    expect(error.message).toContain('{\\"value\\": [ {\\"id\\": \\"C1\\", ');
    expect(error.message).not.toContain('deltatoken');
  });

  it('refuses an answer above the limit, whether it says its length or not', async () => {
    const big = Buffer.alloc(4096, 'x');
    graph.on('/big/declared', (_request, response) =>
      response.writeHead(200, { 'content-type': 'application/json', 'content-length': String(big.length) }).end(big),
    );
    graph.on('/big/chunked', (_request, response) => {
      response.writeHead(200, { 'content-type': 'application/json' });
      response.write(big.subarray(0, 2048));
      response.end(big.subarray(2048));
    });
    const { graphClient } = client({ maxBodyBytes: 1024 });
    for (const path of ['/big/declared', '/big/chunked']) {
      const error = await failure(graphClient.request({ method: 'GET', url: path }, call()));
      expect(error.code, path).toBe('EXH_EXCHANGE_REQUEST_FAILED');
      expect(error.message, path).toMatch(/more than the 1024 exh reads/);
    }
  });

  it('gives up on a body that never ends after exchange.timeoutMs: EXH_EXCHANGE_TIMEOUT', async () => {
    graph.on('/users/ann@contoso.test/calendarView/delta', (_request, response) => {
      response.writeHead(200, { 'content-type': 'application/json' });
      response.write('{"value": [');
      // …and nothing more, ever.
    });
    const { graphClient, records } = client({ timeoutMs: 300 });
    const error = await failure(
      graphClient.request({ method: 'GET', url: `/users/${ann}/calendarView/delta` }, call()),
    );
    expect(error.code).toBe('EXH_EXCHANGE_TIMEOUT');
    expect(error.details.timeoutMs).toBe(300);
    const sentId = graph.seen.at(-1)?.headers['client-request-id'];
    expect(error.details.clientRequestId).toBe(sentId);
    expect(records.find((r) => r.clientRequestId === sentId)).toMatchObject({ code: 'EXH_EXCHANGE_TIMEOUT' });
  });

  it("stops when the caller's signal aborts: EXH_POOL_ABORTED, not a time-out", async () => {
    graph.on('/hang', (_request, response) => {
      response.writeHead(200, { 'content-type': 'application/json' });
      response.write('{');
    });
    const { graphClient } = client();
    const controller = new AbortController();
    const pending = graphClient.request(
      { method: 'GET', url: '/hang' },
      { signal: controller.signal, priority: 'live' },
    );
    setTimeout(() => controller.abort(), 50);
    expect((await failure(pending)).code).toBe('EXH_POOL_ABORTED');
  });

  it('reports a refused connection as EXH_EXCHANGE_UNAVAILABLE, as the EWS transport does', async () => {
    const gone = await startDouble();
    await gone.close();
    const { graphClient } = client({ baseUrl: gone.url });
    const error = await failure(graphClient.request({ method: 'GET', url: `/users/${ann}` }, call()));
    expect(error.code).toBe('EXH_EXCHANGE_UNAVAILABLE');
    expect(error.message).toContain('refused the connection');
  });

  it('reports an untrusted certificate as EXH_EXCHANGE_TLS, as the EWS transport does', async () => {
    const fixtures = new URL('../fixtures/', import.meta.url);
    const tls = createHttpsServer(
      {
        key: readFileSync(new URL('self-signed.key', fixtures)),
        cert: readFileSync(new URL('self-signed.crt', fixtures)),
      },
      (_request, response) => response.end('{}'),
    );
    await new Promise<void>((resolve) => tls.listen(0, '127.0.0.1', resolve));
    try {
      const { port } = tls.address() as AddressInfo;
      const { graphClient } = client({ baseUrl: `https://127.0.0.1:${port}/v1.0` });
      const error = await failure(graphClient.request({ method: 'GET', url: `/users/${ann}` }, call()));
      expect(error.code).toBe('EXH_EXCHANGE_TLS');
    } finally {
      tls.closeAllConnections();
      await new Promise((resolve) => tls.close(resolve));
    }
  });

  it("logs a refused request with its client-request-id and Graph's request-id, and puts both in the error", async () => {
    graph.on('/users/ann@contoso.test/events/E404', (_request, response) =>
      json(
        response,
        404,
        { error: { code: 'ErrorItemNotFound', message: 'The specified object was not found in the store.' } },
        { 'request-id': 'graph-req-7' },
      ),
    );
    const { graphClient, records } = client();
    const error = await failure(
      graphClient.request({ method: 'GET', url: `/users/${ann}/events/E404`, mailbox: ann }, call()),
    );
    expect(error.code).toBe('EXH_EXCHANGE_ITEM_NOT_FOUND');
    const sentId = graph.seen.at(-1)?.headers['client-request-id'];
    expect(error.details).toMatchObject({ clientRequestId: sentId, requestId: 'graph-req-7', itemId: 'E404' });
    const record = records.find((r) => r.clientRequestId === sentId);
    expect(record).toMatchObject({
      status: 404,
      graphCode: 'ErrorItemNotFound',
      requestId: 'graph-req-7',
      code: 'EXH_EXCHANGE_ITEM_NOT_FOUND',
    });
  });

  it('hands an accepted status to the caller instead of an error (410 on delta, 404 on a read)', async () => {
    graph.on('/users/ann@contoso.test/messages/delta', (_request, response) =>
      json(
        response,
        410,
        { error: { code: 'SyncStateNotFound', message: 'gone' } },
        { location: `${graph.url}/users/${ann}/messages/delta` },
      ),
    );
    const { graphClient } = client();
    const answer = await graphClient.request(
      { method: 'GET', url: `/users/${ann}/messages/delta`, accept: [410] },
      call(),
    );
    expect(answer.status).toBe(410);
    expect(answer.headers.get('location')).toBe(`${graph.url}/users/${ann}/messages/delta`);
    expect(answer.body).toEqual({ error: { code: 'SyncStateNotFound', message: 'gone' } });
  });
});

describe('throttling, tokens and the per-mailbox limit (over the test double; against the emulator below)', () => {
  /** Lets the test hold answers: each request waits until released. */
  function holding() {
    const held: Array<{ path: string; release: () => void }> = [];
    let inFlight = new Map<string, number>();
    let most = new Map<string, number>();
    const handler: Handler = (request, response) => {
      const user = decodeURIComponent(/\/users\/([^/?]+)/.exec(request.url ?? '')?.[1] ?? '');
      inFlight.set(user, (inFlight.get(user) ?? 0) + 1);
      most.set(user, Math.max(most.get(user) ?? 0, inFlight.get(user) ?? 0));
      held.push({
        path: request.url ?? '',
        release: () => {
          inFlight.set(user, (inFlight.get(user) ?? 1) - 1);
          json(response, 200, { id: 'x' });
        },
      });
    };
    return {
      handler,
      held,
      most,
      reset() {
        inFlight = new Map();
        most = new Map();
      },
      releaseAll() {
        for (const entry of held.splice(0)) entry.release();
      },
    };
  }

  async function until(condition: () => boolean, what: string) {
    for (let i = 0; i < 500 && !condition(); i += 1) await new Promise((resolve) => setTimeout(resolve, 5));
    if (!condition()) throw new Error(`timed out waiting for ${what}`);
  }

  it('lets no 5th request of a mailbox leave the client, while another mailbox goes on', async () => {
    const hold = holding();
    graph.on('/users/ann@contoso.test/messages', hold.handler);
    graph.on('/users/bob@contoso.test/messages', hold.handler);
    const { graphClient } = client();
    const anns = Array.from({ length: 10 }, () =>
      graphClient.request({ method: 'GET', url: `/users/${ann}/messages`, mailbox: ann }, call()),
    );
    await until(() => hold.held.length === 4, "ann's first four");
    // Ann's six others wait for her slots without holding the pool's (8): Bob's requests get through at once.
    const bobs = Array.from({ length: 2 }, () =>
      graphClient.request(
        { method: 'GET', url: '/users/bob@contoso.test/messages', mailbox: 'bob@contoso.test' },
        call(),
      ),
    );
    await until(() => hold.held.length === 6, "bob's two");
    expect(hold.held.filter((h) => h.path.includes('bob')).length).toBe(2);
    let settled = 0;
    for (const request of [...anns, ...bobs]) void request.finally(() => (settled += 1));
    while (settled < 12) {
      hold.releaseAll();
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    await Promise.all([...anns, ...bobs]);
    expect(hold.most.get(ann)).toBe(4);
  });

  it('waits out Retry-After before the retry, pausing only that mailbox, then succeeds', async () => {
    const clock = manualClock();
    const arrivals: Array<{ user: string; at: number }> = [];
    let throttleAnn = true;
    const handler: Handler = (request, response) => {
      const user = decodeURIComponent(/\/users\/([^/?]+)/.exec(request.url ?? '')?.[1] ?? '');
      arrivals.push({ user, at: clock.now() });
      if (user === ann && throttleAnn) {
        throttleAnn = false;
        json(response, 429, { error: { code: 'ApplicationThrottled', message: 'slow down' } }, { 'retry-after': '7' });
      } else json(response, 200, { id: user });
    };
    graph.on('/users/ann@contoso.test/events', handler);
    graph.on('/users/bob@contoso.test/events', handler);
    const { graphClient, records } = client({ clock });
    const annRequest = graphClient.request({ method: 'GET', url: `/users/${ann}/events`, mailbox: ann }, call());
    await until(() => clock.waiting() === 1, 'the pause');
    expect(clock.sleeps).toEqual([7_000]);
    // Ann is paused; Bob is not.
    const bobAnswer = await graphClient.request(
      { method: 'GET', url: '/users/bob@contoso.test/events', mailbox: 'bob@contoso.test' },
      call(),
    );
    expect(bobAnswer.body).toEqual({ id: 'bob@contoso.test' });
    // A second request of Ann's waits behind the same pause, without a request of its own.
    const annSecond = graphClient.request({ method: 'GET', url: `/users/${ann}/events`, mailbox: ann }, call());
    await until(() => clock.waiting() === 2, "ann's second request waiting");
    clock.advance(6_999);
    await new Promise((resolve) => setTimeout(resolve, 30));
    expect(arrivals.filter((a) => a.user === ann).length).toBe(1);
    clock.advance(1);
    expect((await annRequest).body).toEqual({ id: ann });
    await annSecond;
    const annArrivals = arrivals.filter((a) => a.user === ann).map((a) => a.at);
    expect(annArrivals.length).toBe(3);
    for (const at of annArrivals.slice(1)) expect(at - (annArrivals[0] as number)).toBeGreaterThanOrEqual(7_000);
    expect(records.some((r) => String(r.msg).includes('pauses for 7000 ms'))).toBe(true);
  });

  it('backs off exponentially without Retry-After, then reports EXH_EXCHANGE_THROTTLED with backOffMs after 3 retries', async () => {
    const clock = manualClock();
    let calls = 0;
    graph.on('/users/ann@contoso.test/contacts', (_request, response) => {
      calls += 1;
      json(response, 429, { error: { code: 'TooManyRequests', message: 'no' } });
    });
    const { graphClient } = client({ clock, random: () => 0 });
    const pending = failure(
      graphClient.request({ method: 'GET', url: `/users/${ann}/contacts`, mailbox: ann }, call()),
    );
    for (const wait of [500, 1_000, 2_000]) {
      await until(() => clock.waiting() === 1, `a wait of ${wait}`);
      clock.advance(wait);
    }
    const error = await pending;
    expect(calls).toBe(4);
    expect(clock.sleeps).toEqual([500, 1_000, 2_000]);
    expect(error.code).toBe('EXH_EXCHANGE_THROTTLED');
    expect(error.details.backOffMs).toBe(4_000);
  });

  it('retries a 503 with Retry-After as a 429, and reports it as EXH_EXCHANGE_UNAVAILABLE when it stays', async () => {
    const clock = manualClock();
    graph.on('/users/ann@contoso.test/todo/lists', (_request, response) =>
      json(response, 503, { error: { code: 'ServiceUnavailable', message: 'later' } }, { 'retry-after': '2' }),
    );
    const { graphClient } = client({ clock, throttleRetries: 1 });
    const pending = failure(
      graphClient.request({ method: 'GET', url: `/users/${ann}/todo/lists`, mailbox: ann }, call()),
    );
    await until(() => clock.waiting() === 1, 'the pause');
    clock.advance(2_000);
    const error = await pending;
    expect(error.code).toBe('EXH_EXCHANGE_UNAVAILABLE');
    expect(error.retryable).toBe(true);
    expect(error.details.backOffMs).toBe(2_000);
  });

  it("retries a 504 (Graph's gateway timed out) after its Retry-After, and goes on when the next answer is good", async () => {
    const clock = manualClock();
    let asked = 0;
    graph.on('/users/ann@contoso.test/todo/lists', (_request, response) => {
      asked += 1;
      if (asked === 1)
        json(response, 504, { error: { code: 'GatewayTimeout', message: 'slow' } }, { 'retry-after': '3' });
      else json(response, 200, { value: [] });
    });
    const { graphClient } = client({ clock, throttleRetries: 1 });
    const pending = graphClient.request({ method: 'GET', url: `/users/${ann}/todo/lists`, mailbox: ann }, call());
    await until(() => clock.waiting() === 1, 'the pause');
    expect(asked).toBe(1);
    clock.advance(3_000);
    expect((await pending).status).toBe(200);
    expect(asked).toBe(2);
  });

  it('refreshes the token once after a 401 and goes on; a second 401 is EXH_EXCHANGE_AUTH_FAILED', async () => {
    const asked: boolean[] = [];
    let current = 'old';
    const tokens = {
      getToken: async ({ forceRefresh }: { signal: AbortSignal; forceRefresh?: boolean }) => {
        asked.push(forceRefresh === true);
        if (forceRefresh) current = current === 'old' ? 'new' : 'newer';
        return current;
      },
    };
    let accept = 'new';
    const seen: string[] = [];
    graph.on('/users/ann@contoso.test/mailFolders', (request, response) => {
      seen.push(String(request.headers.authorization));
      if (request.headers.authorization === `Bearer ${accept}`) json(response, 200, { value: [] });
      else
        json(response, 401, {
          error: { code: 'InvalidAuthenticationToken', message: 'Lifetime validation failed, the token is expired.' },
        });
    });
    const { graphClient } = client({ tokens });
    const answer = await graphClient.request({ method: 'GET', url: `/users/${ann}/mailFolders`, mailbox: ann }, call());
    expect(answer.status).toBe(200);
    expect(asked).toEqual([false, true]);
    expect(seen).toEqual(['Bearer old', 'Bearer new']);

    accept = 'never';
    seen.length = 0;
    asked.length = 0;
    const error = await failure(
      graphClient.request({ method: 'GET', url: `/users/${ann}/mailFolders`, mailbox: ann }, call()),
    );
    expect(error.code).toBe('EXH_EXCHANGE_AUTH_FAILED');
    expect(error.message).toMatch(/refuses its token even after a refresh/);
    expect(asked).toEqual([false, true]);
    expect(seen.length).toBe(2);
  });
});

describe("against the project's Graph emulator", () => {
  const alice = 'alice@contoso.test';
  const bob = 'bob@contoso.test';
  /** The emulator's clock is the client's: the request log's times are the simulated ones the client waited on. */
  const clock = simulatedClock();
  let emulator: RunningEmulator;

  beforeAll(async () => {
    emulator = await startEmulator({ port: 0, graph: true, now: () => clock.now() });
  });
  afterAll(async () => {
    await emulator?.close();
  });

  /** A client of the emulator with msal-node tokens from its token endpoint (a fresh token cache each). */
  function emulatorClient(extra: Partial<GraphClientOptions> = {}) {
    const graphConfig = configSchema.parse({
      database: { type: 'pglite' },
      exchange: {
        backend: 'graph',
        graph: {
          tenant: 'contoso.test',
          clientId: '00000000-0000-0000-0000-0000000e4e00',
          clientSecret: 'exh-emulator-secret',
          authority: `http://${emulator.host}:${emulator.port}/graph-login`,
        },
      },
    }).exchange.graph;
    return client({ baseUrl: emulator.graphUrl, tokens: msalTokenProvider(graphConfig), clock, ...extra });
  }
  const folders = (user: string) => ({ method: 'GET' as const, url: `/users/${user}/mailFolders`, mailbox: user });
  /** A mark in the emulator's request log (its times do not move between tests: the clock moves only in waits). */
  const mark = () => emulator.admin.requests().length;
  const logOf = (user: string, since: number) =>
    emulator.admin
      .requests()
      .slice(since)
      .filter((entry) => entry.mailbox === user);

  it('never lets a 5th request of a mailbox reach Graph (the emulator would answer 429 MailboxConcurrency)', async () => {
    emulator.admin.faults.clear();
    emulator.admin.faults.add({ kind: 'latency', ms: 40, mailbox: alice, calls: 1_000, id: 'slow' });
    const since = mark();
    const { graphClient } = emulatorClient();
    const answers = await Promise.all(Array.from({ length: 24 }, () => graphClient.request(folders(alice), call())));
    expect(answers.every((answer) => answer.status === 200)).toBe(true);
    const log = logOf(alice, since);
    expect(log.length).toBe(24);
    expect(log.filter((entry) => entry.status === 429)).toEqual([]);

    // The check can fail: a client allowed 10 at a time meets the emulator's limit.
    const { graphClient: greedy } = emulatorClient({ perMailbox: 10, throttleRetries: 0 });
    const outcomes = await Promise.allSettled(Array.from({ length: 10 }, () => greedy.request(folders(alice), call())));
    const refused = outcomes.filter((o) => o.status === 'rejected').map((o) => (o as PromiseRejectedResult).reason);
    expect(refused.length).toBeGreaterThan(0);
    expect(refused.every((error) => isExhError(error, 'EXH_EXCHANGE_THROTTLED'))).toBe(true);
    emulator.admin.faults.clear();
  });

  it('sends no retry before Retry-After: on the shared simulated clock each retry arrives that long after the 429', async () => {
    emulator.admin.faults.clear();
    emulator.admin.faults.add({ kind: 'graphThrottled', retryAfterSeconds: 5, calls: 2, mailbox: alice });
    const since = mark();
    const { graphClient } = emulatorClient();
    expect((await graphClient.request(folders(alice), call())).status).toBe(200);
    const log = logOf(alice, since);
    expect(log.map((entry) => entry.status)).toEqual([429, 429, 200]);
    for (let index = 1; index < log.length; index += 1) {
      const previous = log[index - 1] as (typeof log)[number];
      expect((log[index] as (typeof log)[number]).at - previous.answeredAt).toBeGreaterThanOrEqual(5_000);
    }
  });

  it('goes on with other mailboxes while one is paused', async () => {
    emulator.admin.faults.clear();
    emulator.admin.faults.add({ kind: 'graphThrottled', retryAfterSeconds: 30, calls: 1, mailbox: alice });
    const manual = manualClock(clock.now());
    const { graphClient } = emulatorClient({ clock: manual });
    const since = mark();
    const paused = graphClient.request(folders(alice), call());
    for (let i = 0; i < 400 && manual.waiting() === 0; i += 1) await new Promise((resolve) => setTimeout(resolve, 5));
    expect(manual.sleeps).toEqual([30_000]);
    expect((await graphClient.request(folders(bob), call())).status).toBe(200);
    expect((await graphClient.request(folders(bob), call())).status).toBe(200);
    expect(logOf(alice, since).map((entry) => entry.status)).toEqual([429]);
    manual.advance(30_000);
    expect((await paused).status).toBe(200);
    expect(logOf(alice, since).map((entry) => entry.status)).toEqual([429, 200]);
  });

  it('refreshes an expired token once and goes on', async () => {
    emulator.admin.faults.clear();
    const { graphClient } = emulatorClient();
    await graphClient.request(folders(alice), call());
    expect(emulator.admin.expireGraphTokens()).toBeGreaterThan(0);
    const since = mark();
    expect((await graphClient.request(folders(alice), call())).status).toBe(200);
    const refused = emulator.admin
      .requests()
      .slice(since)
      .filter((entry) => entry.status === 401);
    expect(refused.length).toBe(1);
    expect(logOf(alice, since).map((entry) => entry.status)).toEqual([200]);
  });

  it("maps the emulator's refusals: an unknown user, an on-premises mailbox, 503 retried, missing consent", async () => {
    emulator.admin.faults.clear();
    const { graphClient } = emulatorClient();
    const unknown = await failure(graphClient.request(folders('nobody@contoso.test'), call()));
    expect(unknown.code).toBe('EXH_EXCHANGE_MAILBOX_NOT_FOUND');

    emulator.admin.markOnPremises(bob, true);
    const onPremises = await failure(graphClient.request(folders(bob), call()));
    emulator.admin.markOnPremises(bob, false);
    expect(onPremises.code).toBe('EXH_EXCHANGE_MAILBOX_NOT_IN_CLOUD');
    expect(isPermanent(onPremises)).toBe(true);

    emulator.admin.faults.add({ kind: 'graphUnavailable', retryAfterSeconds: 2, calls: 1, mailbox: alice });
    expect((await graphClient.request(folders(alice), call())).status).toBe(200);

    emulator.admin.updateGraphApp({ consented: false });
    try {
      const denied = await failure(emulatorClient().graphClient.request(folders(alice), call()));
      expect(denied.code).toBe('EXH_EXCHANGE_PERMISSION_DENIED');
      expect(denied.message).toContain('application permission Mail.ReadWrite with admin consent');
      expect(denied.message).toContain('admin consent is missing');
    } finally {
      emulator.admin.updateGraphApp({ consented: true });
    }
  });
});
