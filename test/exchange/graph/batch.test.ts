import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RunningEmulator, startEmulator } from '../../../emulator/index.js';
import { configSchema } from '../../../src/config/schema.js';
import { isExhError } from '../../../src/errors.js';
import { createGraphClient, type GraphBatchRequest } from '../../../src/exchange/graph/client.js';
import { msalTokenProvider, staticTokenProvider } from '../../../src/exchange/graph/token.js';
import { createLogging } from '../../../src/logging/logger.js';
import { ExchangePool } from '../../../src/pool/exchange-pool.js';
import { manualClock, simulatedClock } from './simulated-clock.js';

/**
 * JSON $batch (src/exchange/graph/batch.ts). A node:http test double stands in for Graph's $batch endpoint here: it
 * answers each sub-request as the test says, including what the emulator does not produce on purpose (base64 bodies,
 * answers out of order, a sub-response missing). The emulator's $batch is exercised by the adapter's tests.
 */

type SubRequest = { id: string; method: string; url: string; headers?: Record<string, string>; body?: unknown };
type SubAnswer = { status: number; headers?: Record<string, string>; body?: unknown } | undefined;

let server: Server;
let baseUrl: string;
let answer: (request: SubRequest, round: number) => SubAnswer = () => ({ status: 200, body: {} });
const envelopes: SubRequest[][] = [];
let inFlight = 0;
let mostInFlight = 0;
/** Envelopes wait this long before answering, so that several overlap. */
let holdMs = 0;

beforeAll(async () => {
  server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      inFlight += 1;
      mostInFlight = Math.max(mostInFlight, inFlight);
      const { requests } = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { requests: SubRequest[] };
      envelopes.push(requests);
      const round = envelopes.length;
      setTimeout(() => {
        inFlight -= 1;
        const responses = requests
          .map((sub) => ({ sub, answered: answer(sub, round) }))
          .filter((entry) => entry.answered !== undefined)
          .map(({ sub, answered }) => ({ id: sub.id, ...answered }))
          .reverse(); // Graph answers in any order.
        response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ responses }));
      }, holdMs);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1.0`;
});
/** Every client's pool, closed after the file. */
const pools: ExchangePool[] = [];

afterAll(async () => {
  for (const pool of pools) await pool.close();
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

const ann = 'ann@contoso.test';
const call = () => ({ signal: new AbortController().signal, priority: 'catchUp' as const, mailbox: ann });

function client(clock = manualClock()) {
  const { logger } = createLogging({ level: 'silent', format: 'json', stdout: { write: () => undefined } });
  const pool = new ExchangePool(16);
  pools.push(pool);
  return createGraphClient({ baseUrl, tokens: staticTokenProvider('t'), pool, timeoutMs: 5_000, logger, clock });
}

const gets = (count: number): GraphBatchRequest[] =>
  Array.from({ length: count }, (_, index) => ({
    id: `item-${index}`,
    method: 'GET',
    url: `/users/${ann}/events/E${index}?$expand=singleValueExtendedProperties`,
  }));

function reset() {
  envelopes.length = 0;
  mostInFlight = 0;
  holdMs = 0;
}

describe('$batch', () => {
  it('sends at most 20 requests an envelope and 4 envelopes at a time, and gives results in the order asked', async () => {
    reset();
    holdMs = 40;
    answer = (sub) => ({ status: 200, headers: { 'content-type': 'application/json' }, body: { id: sub.url } });
    const results = await client().batch(gets(130), call());
    // Envelopes arrive in whatever order they overlap in; together they hold every request once.
    expect(envelopes.map((e) => e.length).sort((a, b) => a - b)).toEqual([10, 20, 20, 20, 20, 20, 20]);
    expect(new Set(envelopes.flat().map((s) => s.id)).size).toBe(130);
    expect(mostInFlight).toBe(4);
    expect(results.map((r) => r.id)).toEqual(gets(130).map((r) => r.id));
    results.forEach((result, index) => {
      expect(result.ok && result.response.body).toEqual({
        id: `/users/${ann}/events/E${index}?$expand=singleValueExtendedProperties`,
      });
    });
    // Each sub-request carries the Prefer values itself: the envelope's headers do not reach it.
    expect(envelopes[0]?.[0]?.headers?.Prefer).toBe('IdType="ImmutableId", outlook.timezone="UTC"');
  });

  it('sends JSON bodies with their Content-Type and keeps what the caller set', async () => {
    reset();
    answer = () => ({ status: 201, body: { id: 'new' } });
    await client().batch(
      [
        { id: 'a', method: 'POST', url: `/users/${ann}/contacts`, body: { givenName: 'Zoë' } },
        {
          id: 'b',
          method: 'PATCH',
          url: `/users/${ann}/events/E1`,
          body: { subject: 's' },
          headers: { Prefer: 'outlook.timezone="UTC"' },
        },
      ],
      call(),
    );
    const [a, b] = envelopes[0] ?? [];
    expect(a).toMatchObject({ method: 'POST', url: `/users/${ann}/contacts`, body: { givenName: 'Zoë' } });
    expect(a?.headers?.['Content-Type']).toBe('application/json');
    expect(b?.headers?.Prefer).toBe('outlook.timezone="UTC"');
  });

  it('decodes base64 bodies: non-JSON content as bytes, JSON Graph chose to encode as JSON', async () => {
    reset();
    const mime = Buffer.from('From: a@b\r\n\r\nbody\xff', 'latin1');
    answer = (sub) =>
      sub.id === '0'
        ? { status: 200, headers: { 'Content-Type': 'message/rfc822' }, body: mime.toString('base64') }
        : {
            status: 200,
            headers: { 'Content-Type': 'application/json' },
            body: Buffer.from('{"id":"E1"}').toString('base64'),
          };
    const [raw, encoded] = await client().batch(gets(2), call());
    expect(raw?.ok && raw.response.body).toEqual(mime);
    expect(encoded?.ok && encoded.response.body).toEqual({ id: 'E1' });
  });

  it("retries a sub-response's 429 alone after its Retry-After, never before; the others keep their answers", async () => {
    reset();
    const clock = manualClock();
    const arrivals: Array<{ ids: string[]; at: number }> = [];
    answer = (sub, round) => {
      if (sub.id === '0') arrivals.push({ ids: envelopes[round - 1]?.map((s) => s.id) ?? [], at: clock.now() });
      if (sub.id === '3' && round === 1)
        return {
          status: 429,
          headers: { 'Retry-After': '9' },
          body: { error: { code: 'TooManyRequests', message: 'x' } },
        };
      return { status: 200, body: { id: sub.id } };
    };
    const graph = client(clock);
    const pending = graph.batch(gets(5), call());
    for (let i = 0; i < 200 && clock.waiting() === 0; i += 1) await new Promise((resolve) => setTimeout(resolve, 5));
    expect(clock.sleeps).toEqual([9_000]);
    clock.advance(8_999);
    await new Promise((resolve) => setTimeout(resolve, 30));
    expect(envelopes.length).toBe(1);
    clock.advance(1);
    const results = await pending;
    expect(envelopes.map((e) => e.map((s) => s.id))).toEqual([['0', '1', '2', '3', '4'], ['3']]);
    expect(results.map((r) => r.ok)).toEqual([true, true, true, true, true]);
    expect(results[3]?.ok && results[3].response.body).toEqual({ id: '3' });
  });

  it("reports a sub-request's failure as the catalogue's error in its place, and one Graph left out", async () => {
    reset();
    answer = (sub) => {
      if (sub.id === '1') return { status: 404, body: { error: { code: 'ErrorItemNotFound', message: 'gone' } } };
      if (sub.id === '2') return undefined;
      return { status: 200, body: {} };
    };
    const results = await client().batch(gets(3), call());
    expect(results[0]?.ok).toBe(true);
    const missing = results[1];
    expect(missing?.ok === false && missing.error).toMatchObject({
      code: 'EXH_EXCHANGE_ITEM_NOT_FOUND',
      details: { itemId: 'E1' },
    });
    const left = results[2];
    expect(left?.ok === false && left.error.message).toContain('the batch answer has no response for this request');
  });

  it('gives a sub-request that stays throttled EXH_EXCHANGE_THROTTLED with its back-off, after 3 retries', async () => {
    reset();
    const clock = manualClock();
    answer = () => ({
      status: 429,
      headers: { 'Retry-After': '1' },
      body: { error: { code: 'TooManyRequests', message: 'x' } },
    });
    const pending = client(clock).batch(gets(1), call());
    for (let round = 0; round < 3; round += 1) {
      for (let i = 0; i < 200 && clock.waiting() === 0; i += 1) await new Promise((resolve) => setTimeout(resolve, 5));
      clock.advance(1_000);
    }
    const [result] = await pending;
    expect(envelopes.length).toBe(4);
    expect(result?.ok === false && result.error).toMatchObject({
      code: 'EXH_EXCHANGE_THROTTLED',
      details: { backOffMs: 1_000 },
    });
  });
});

describe("$batch against the project's Graph emulator", () => {
  const alice = 'alice@contoso.test';
  const clock = simulatedClock();
  let emulator: RunningEmulator;

  beforeAll(async () => {
    emulator = await startEmulator({ port: 0, graph: true, now: () => clock.now() });
  });
  afterAll(async () => {
    await emulator?.close();
  });

  function emulatorClient() {
    const graph = configSchema.parse({
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
    const { logger } = createLogging({ level: 'silent', format: 'json', stdout: { write: () => undefined } });
    const pool = new ExchangePool(16);
    pools.push(pool);
    return createGraphClient({
      baseUrl: emulator.graphUrl,
      tokens: msalTokenProvider(graph),
      pool,
      timeoutMs: 5_000,
      logger,
      clock,
    });
  }

  it('answers 90 requests in 5 envelopes, 4 at a time without one 429 of its own, a throttled one retried alone', async () => {
    emulator.admin.faults.clear();
    emulator.admin.faults.add({ kind: 'latency', ms: 5, mailbox: alice, calls: 1_000 });
    emulator.admin.faults.add({ kind: 'graphThrottled', retryAfterSeconds: 3, calls: 1, mailbox: alice });
    const since = emulator.admin.requests().length;
    const requests: GraphBatchRequest[] = Array.from({ length: 90 }, (_, index) => ({
      id: `r${index}`,
      method: 'GET',
      url: index === 89 ? `/users/${alice}/messages/no-such-id` : `/users/${alice}/mailFolders/inbox`,
    }));
    const results = await emulatorClient().batch(requests, {
      signal: new AbortController().signal,
      priority: 'catchUp',
      mailbox: alice,
    });
    expect(results.map((r) => r.id)).toEqual(requests.map((r) => r.id));
    for (const result of results.slice(0, 89)) {
      expect(result.ok && (result.response.body as { displayName?: string }).displayName, result.id).toBe('Inbox');
    }
    const missing = results[89];
    expect(missing?.ok === false && isExhError(missing.error, 'EXH_EXCHANGE_ITEM_NOT_FOUND')).toBe(true);
    const log = emulator.admin.requests().slice(since);
    const envelopes = log.filter((entry) => entry.operation === 'graph.batch');
    // 5 envelopes, then one more carrying the throttled request alone.
    expect(envelopes.length).toBe(6);
    const subRequests = log.filter((entry) => entry.mailbox === alice);
    expect(subRequests.length).toBe(91);
    // The only 429 is the one the fault asked for: never MailboxConcurrency from a 5th request in flight.
    expect(subRequests.filter((entry) => entry.status === 429).length).toBe(1);
  });
});
