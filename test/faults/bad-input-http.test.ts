import { randomInt } from 'node:crypto';
import fc from 'fast-check';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  type BadInputWorld,
  badInputWorld,
  httpAnswerOf,
  measured,
  memory,
  mib,
  rawClient,
  rawHttp,
  report,
  requestHead,
  stream,
} from './bad-input-world.js';

const pgUrl = process.env.PG_URL;

/**
 * Bad input on the HTTP listener (dashboard and API; docs/dashboard.md, docs/reliability.md "Bad input"): random
 * bytes, bodies of 100 MB, malformed, truncated and deeply nested JSON, a wrong Host, admin actions without or with
 * a wrong token, headers too large, clients that send a byte at a time, 1,000 connections at once. Each gets a 4xx
 * with a coded error where there is a body to carry one, the connector answers a good request afterwards, no admin
 * action runs, Exchange is not changed, and the memory of the process stays bounded.
 */

const memoryBoundMiB = 200;
const requestTimeoutMs = 1_000;

describe.skipIf(!pgUrl)('bad input on the HTTP listener (emulator, PostgreSQL)', () => {
  let world: BadInputWorld;
  let port: number;
  let host: string;
  let before: ReturnType<BadInputWorld['exchangeItems']>;
  let since: number;
  let seen: number;

  beforeAll(async () => {
    world = await badInputWorld(pgUrl as string, 'badhttp', { requestTimeoutMs });
    port = Number(new URL(world.httpUrl).port);
    host = `127.0.0.1:${port}`;
  }, 60_000);
  afterAll(() => world?.close());
  beforeEach(() => {
    before = world.exchangeItems();
    since = Date.now();
    seen = world.records.length;
  });
  // After every input: a good request is answered, no admin action ran, nothing reached Exchange.
  afterEach(async () => {
    const ready = await fetch(`${world.httpUrl}/readyz`);
    expect(ready.status).toBe(200);
    const actions = world.records.slice(seen).filter((r) => /asked for over HTTP/.test(String(r.msg)));
    expect(actions).toEqual([]);
    expect(world.exchangeItems()).toEqual(before);
    expect(world.exchangeWrites(since)).toEqual([]);
  });

  const tally = (values: string[]) =>
    Object.entries(
      values.reduce<Record<string, number>>((counts, value) => {
        counts[value] = (counts[value] ?? 0) + 1;
        return counts;
      }, {}),
    )
      .map(([value, count]) => `${count}× ${value}`)
      .join(', ');
  const post = (path: string, headers: Record<string, string>, body: string) =>
    rawHttp(
      port,
      requestHead(
        'POST',
        path,
        { Host: host, 'Content-Type': 'application/json', ...headers },
        Buffer.byteLength(body),
      ),
      body,
    );
  const bearer = () => ({ Authorization: `Bearer ${world.adminToken}` });
  const errorOf = (json: unknown) => (json as { error?: { code?: string; message?: string } } | undefined)?.error;

  it('random bytes: 400 from the HTTP parser, or a close, never a crash', async () => {
    const seed = Number(process.env.BAD_INPUT_SEED ?? randomInt(2 ** 31));
    const inputs = fc.sample(fc.uint8Array({ minLength: 1, maxLength: 4_096 }), { seed, numRuns: 30 });
    const m = await measured(async () => {
      const answers: string[] = [];
      for (const bytes of inputs) {
        const outcome = await rawClient(port, (socket) => void socket.end(bytes), 10_000);
        expect(outcome.error ?? '').not.toMatch(/no close within/);
        const answer = httpAnswerOf(outcome);
        answers.push(answer ? String(answer.status) : 'closed without an answer');
      }
      return answers;
    });
    report(`HTTP: ${inputs.length} × random bytes (fast-check seed ${seed}) → ${tally(m.result)}; ${memory(m)}`);
    for (const answer of m.result) expect(['400', 'closed without an answer']).toContain(answer);
    expect(m.rssMiB).toBeLessThan(memoryBoundMiB);
  });

  it('bodies of 100 MB (with a length, or chunked): 413 EXH_HTTP_BAD_REQUEST once past 16 KiB', async () => {
    const total = 100 * 2 ** 20;
    const cases: Array<[string, string]> = [
      [
        'Content-Length, with the admin token',
        requestHead(
          'POST',
          '/api/outbox/retry',
          { Host: host, 'Content-Type': 'application/json', ...bearer() },
          total,
        ),
      ],
      [
        'Content-Length, no token',
        requestHead('POST', '/api/users/sync', { Host: host, 'Content-Type': 'application/json' }, total),
      ],
      [
        'chunked, with the admin token',
        `${requestHead('POST', '/api/outbox/retry', { Host: host, 'Content-Type': 'application/json', ...bearer() })}${total.toString(16)}\r\n`,
      ],
    ];
    for (const [what, head] of cases) {
      const m = await measured(() => rawClient(port, (socket, state) => stream(socket, state, head, total), 60_000));
      const answer = httpAnswerOf(m.result);
      const error = errorOf(answer?.json);
      report(
        `HTTP: a 100 MB body (${what}) → ${answer?.status} ${error?.code} "${error?.message}" after ` +
          `${mib(m.result.written)} written; ${memory(m)}`,
      );
      expect(answer?.status).toBe(413);
      expect(error?.code).toBe('EXH_HTTP_BAD_REQUEST');
      expect(error?.message).toMatch(/larger than 16384 bytes/);
      expect(m.result.written).toBeLessThan(total);
      expect(m.rssMiB).toBeLessThan(memoryBoundMiB);
    }
  }, 60_000);

  it('malformed, truncated, deeply nested and poisoned JSON: 400 or 413 EXH_HTTP_BAD_REQUEST naming the problem', async () => {
    const cases: Array<[string, string, number, RegExp]> = [
      ['malformed JSON', '{"user": alice}', 400, /the body is not valid JSON/],
      ['truncated JSON', '{"user": "alice@con', 400, /the body is not valid JSON/],
      ['an empty body', '', 400, /the body is not valid JSON/],
      ['JSON nested 100,000 deep', `${'['.repeat(100_000)}${']'.repeat(100_000)}`, 413, /larger than 16384 bytes/],
      ['JSON nested 5,000 deep', `${'['.repeat(5_000)}${']'.repeat(5_000)}`, 400, /the body must be a JSON object/],
      // fastify's parser refuses it as JSON it will not take, without saying more.
      ['__proto__ in the body', '{"__proto__": {"polluted": true}}', 400, /the body is not valid JSON/],
      ['a user that is not a string', '{"user": {"$ne": null}}', 400, /user/],
    ];
    for (const [what, body, status, expected] of cases) {
      const answer = await post('/api/outbox/retry', bearer(), body);
      const error = errorOf(answer.json);
      report(`HTTP: ${what} → ${answer.status} ${error?.code} "${error?.message}"`);
      expect(answer.status, what).toBe(status);
      expect(error?.code, what).toBe('EXH_HTTP_BAD_REQUEST');
      expect(error?.message, what).toMatch(expected);
    }
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it('a wrong Host: 403 EXH_HTTP_HOST_NOT_ALLOWED before anything is read or routed', async () => {
    for (const [method, path] of [
      ['GET', '/api/status'],
      ['POST', '/api/users/sync'],
    ] as const) {
      const body = method === 'POST' ? '{}' : '';
      const answer = await rawHttp(
        port,
        requestHead(
          method,
          path,
          { Host: 'evil.example', 'Content-Type': 'application/json', ...bearer() },
          body.length,
        ),
        body,
      );
      const error = errorOf(answer.json);
      report(`HTTP: ${method} ${path} with Host: evil.example → ${answer.status} ${error?.code} "${error?.message}"`);
      expect(answer.status).toBe(403);
      expect(error?.code).toBe('EXH_HTTP_HOST_NOT_ALLOWED');
      expect(answer.body).not.toContain('alice');
    }
  });

  it('admin actions without the token (401), with a wrong one (403): none runs', async () => {
    const routes = ['/api/users/sync', '/api/outbox/retry', '/api/mailboxes/alice@contoso.test/resync'];
    const cases: Array<[string, Record<string, string>, number, string]> = [
      ['no Authorization', {}, 401, 'EXH_HTTP_UNAUTHORIZED'],
      [
        'Basic instead of Bearer',
        { Authorization: `Basic ${Buffer.from(`x:${world.adminToken}`).toString('base64')}` },
        401,
        'EXH_HTTP_UNAUTHORIZED',
      ],
      ['a wrong token', { Authorization: 'Bearer not-the-admin-token-0123456789' }, 403, 'EXH_HTTP_FORBIDDEN'],
      [
        'the token with one character changed',
        { Authorization: `Bearer ${world.adminToken.slice(0, -1)}x` },
        403,
        'EXH_HTTP_FORBIDDEN',
      ],
    ];
    for (const [what, headers, status, code] of cases) {
      for (const route of routes) {
        const answer = await post(route, headers, '{}');
        expect(answer.status, `${what} ${route}`).toBe(status);
        expect(errorOf(answer.json)?.code).toBe(code);
      }
      const sample = await post(routes[0] as string, headers, '{}');
      report(
        `HTTP: admin actions (${routes.length}) with ${what} → ${status} ${code} "${errorOf(sample.json)?.message}"`,
      );
    }
  });

  it('headers larger than Node allows: 431, and the listener goes on', async () => {
    const answer = await rawHttp(
      port,
      requestHead('GET', '/api/status', { Host: host, 'X-Filler': 'x'.repeat(64 * 1024) }, 0),
    );
    report(`HTTP: 64 KiB of headers → ${answer.status}`);
    expect(answer.status).toBe(431);
  });

  it('slow clients (a byte a second, in the headers or the body): 408 at listeners.http.requestTimeoutMs', async () => {
    const trickle = (head: string, rest: string) =>
      rawClient(
        port,
        async (socket, state) => {
          socket.write(head);
          for (const byte of rest) {
            if (state.closed() || state.received() !== '') return;
            socket.write(byte);
            await new Promise((resolve) => setTimeout(resolve, 1_000));
          }
        },
        10_000,
      );
    const body = '{"user": "alice@contoso.test"}';
    const m = await measured(async () => {
      const slow = [
        ...Array.from({ length: 10 }, () => trickle('', `GET /api/status HTTP/1.1\r\nHost: ${host}\r\n\r\n`)),
        ...Array.from({ length: 10 }, () =>
          trickle(
            requestHead(
              'POST',
              '/api/outbox/retry',
              { Host: host, 'Content-Type': 'application/json', ...bearer() },
              body.length,
            ),
            body,
          ),
        ),
        // Connected, then nothing at all.
        ...Array.from({ length: 10 }, () => rawClient(port, () => {}, 10_000)),
      ];
      const meanwhile = await fetch(`${world.httpUrl}/healthz`);
      return { outcomes: await Promise.all(slow), meanwhile: meanwhile.status };
    });
    const { outcomes, meanwhile } = m.result;
    const statuses = outcomes.map((outcome) => String(httpAnswerOf(outcome)?.status ?? outcome.error ?? 'closed'));
    const slowest = Math.max(...outcomes.map((outcome) => outcome.ms));
    report(
      `HTTP: 30 slow clients (10 trickling headers, 10 a body, 10 silent) → ${tally(statuses)} within ` +
        `${(slowest / 1_000).toFixed(1)} s; /healthz meanwhile ${meanwhile}; ${memory(m)}`,
    );
    expect(statuses).toEqual(outcomes.map(() => '408'));
    expect(meanwhile).toBe(200);
  }, 30_000);

  it('1,000 connections at once, silent, then 1,000 requests at once: served, and the silent ones closed by the deadline', async () => {
    const count = 1_000;
    const m = await measured(async () => {
      const silent = Array.from({ length: count }, () => rawClient(port, () => {}, 20_000));
      await new Promise((resolve) => setTimeout(resolve, 100));
      const meanwhile = (await fetch(`${world.httpUrl}/healthz`)).status;
      return { outcomes: await Promise.all(silent), meanwhile };
    });
    const silentAnswers = m.result.outcomes.map((outcome) => String(httpAnswerOf(outcome)?.status ?? outcome.error));
    report(
      `HTTP: ${count} silent connections at once → ${tally(silentAnswers)}; /healthz meanwhile ${m.result.meanwhile}; ${memory(m)}`,
    );
    expect(silentAnswers).toEqual(m.result.outcomes.map(() => '408'));
    expect(m.result.meanwhile).toBe(200);
    expect(m.rssMiB).toBeLessThan(memoryBoundMiB);

    const requests = await measured(() =>
      Promise.all(
        Array.from({ length: count }, () =>
          rawHttp(port, requestHead('GET', '/healthz', { Host: host }, 0), '', 20_000).then((answer) =>
            String(answer.status),
          ),
        ),
      ),
    );
    report(`HTTP: ${count} requests at once → ${tally(requests.result)}; ${memory(requests)}`);
    expect(requests.result).toEqual(requests.result.map(() => '200'));
    expect(requests.rssMiB).toBeLessThan(memoryBoundMiB);
  }, 60_000);
});
