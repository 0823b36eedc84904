import { randomInt } from 'node:crypto';
import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { pushPath } from '../../src/exchange/push-receiver.js';
import { billionLaughs as billionLaughsOf, externalEntity as externalEntityOf } from './bad-input-exchange-double.js';
import {
  alice,
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
 * Bad input on the push receiver (listeners.exchange; src/exchange/push-receiver.ts, docs/reliability.md "Bad
 * input"): posts without a secret or with a wrong one, and with the right one bodies of 100 MB, broken XML, a SOAP
 * body with a DTD (billion laughs, an external entity naming /etc/passwd), a notification for another
 * subscription; random bytes, clients that send a byte at a time, 1,000 connections. Each is refused (404 before the
 * body for a wrong secret, 413, 400, 408), nothing is expanded, no subscription is touched — the emulator's push
 * subscriptions stay as they were and still deliver — Exchange is not changed and memory stays bounded.
 */

const memoryBoundMiB = 200;
const requestTimeoutMs = 1_000;
const t = 'http://schemas.microsoft.com/exchange/services/2006/types';
const m = 'http://schemas.microsoft.com/exchange/services/2006/messages';

/** A SendNotification as Exchange posts it, for `subscriptionId`, after `prolog` (where a DTD would go). */
function sendNotification(subscriptionId: string, prolog = ''): string {
  return (
    `<?xml version="1.0" encoding="utf-8"?>${prolog}<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/">` +
    `<soap:Body><m:SendNotification xmlns:m="${m}" xmlns:t="${t}"><m:ResponseMessages>` +
    '<m:SendNotificationResponseMessage ResponseClass="Success"><m:ResponseCode>NoError</m:ResponseCode>' +
    `<m:Notification><t:SubscriptionId>${subscriptionId}</t:SubscriptionId><t:PreviousWatermark>w1</t:PreviousWatermark>` +
    '<t:MoreEvents>false</t:MoreEvents><t:StatusEvent><t:Watermark>w2</t:Watermark></t:StatusEvent></m:Notification>' +
    '</m:SendNotificationResponseMessage></m:ResponseMessages></m:SendNotification></soap:Body></soap:Envelope>'
  );
}

const billionLaughs = billionLaughsOf('soap:Envelope');
const externalEntity = externalEntityOf('soap:Envelope');
/** A line of /etc/passwd, which must never appear anywhere. */
const passwdLine = readFileSync('/etc/passwd', 'utf8').split('\n')[0] as string;

describe.skipIf(!pgUrl)('bad input on the push receiver (emulator, PostgreSQL)', () => {
  let world: BadInputWorld;
  let port: number;
  let host: string;
  let before: ReturnType<BadInputWorld['exchangeItems']>;
  let subscriptions: string[];
  let since: number;
  let seen: number;
  /** Everything the attacks got back, checked for expanded entities and file contents. */
  const answers: string[] = [];

  beforeAll(async () => {
    world = await badInputWorld(pgUrl as string, 'badpush', { requestTimeoutMs });
    port = world.push.address.port;
    host = `127.0.0.1:${port}`;
  }, 60_000);
  afterAll(() => world?.close());
  const subscriptionIds = () =>
    world.emulator.admin
      .subscriptions()
      .map((s) => `${s.kind} ${s.mailbox} ${s.id}`)
      .sort();
  beforeEach(() => {
    before = world.exchangeItems();
    subscriptions = subscriptionIds();
    since = Date.now();
    seen = world.records.length;
  });
  // After every input: the same push subscriptions, no mailbox lost its subscription, nothing reached Exchange, and
  // nothing came back expanded.
  afterEach(() => {
    expect(subscriptionIds()).toEqual(subscriptions);
    const lost = world.records
      .slice(seen)
      .filter((r) => /mailbox\.(backingOff|disabled)|subscription\.lost/.test(String(r.event)));
    expect(lost).toEqual([]);
    expect(world.exchangeItems()).toEqual(before);
    expect(world.exchangeWrites(since)).toEqual([]);
    const said = [...answers.splice(0), ...world.records.slice(seen).map((r) => JSON.stringify(r))].join('\n');
    expect(said).not.toContain('lollollol');
    expect(said).not.toContain(passwdLine);
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
  /** The path of a live subscription's URL: its secret is what gets a post past the door. */
  const securePath = () => new URL(world.pushUrls.at(-1) as string).pathname;
  const post = async (path: string, body: string | Buffer, contentType = 'text/xml; charset=utf-8') => {
    const answer = await rawHttp(
      port,
      requestHead('POST', path, { Host: host, 'Content-Type': contentType }, Buffer.byteLength(body)),
      body,
    );
    answers.push(answer.body);
    return answer;
  };

  it('no secret, a wrong one, a retired-looking one: 404 before the body is read, nothing reached', async () => {
    const body = sendNotification('AAMkAD-forged');
    const secret = securePath().split('/').pop() as string;
    const cases: Array<[string, string]> = [
      ['no secret', pushPath],
      ['a wrong secret', `${pushPath}/${'A'.repeat(43)}`],
      [
        'the secret with one character changed',
        `${pushPath}/${secret.slice(0, -1)}${secret.endsWith('A') ? 'B' : 'A'}`,
      ],
      ['the secret in another case', `${pushPath}/${secret.toLowerCase()}`],
      ['a path around it', `${pushPath}/../notifications/${secret}`],
      ['another path', '/EWS/Exchange.asmx'],
    ];
    for (const [what, path] of cases) {
      const answer = await post(path, body);
      report(`push: ${what} → ${answer.status} "${answer.body}"`);
      expect(answer.status, what).toBe(404);
    }
  });

  it('bodies of 100 MB to the right secret (with a length, or chunked): 413 once past 1 MiB', async () => {
    const total = 100 * 2 ** 20;
    const cases: Array<[string, string]> = [
      ['Content-Length', requestHead('POST', securePath(), { Host: host, 'Content-Type': 'text/xml' }, total)],
      [
        'chunked',
        `${requestHead('POST', securePath(), { Host: host, 'Content-Type': 'text/xml' })}${total.toString(16)}\r\n`,
      ],
    ];
    for (const [what, head] of cases) {
      const x = await measured(() =>
        rawClient(port, (socket, state) => stream(socket, state, head, total, '<'), 60_000),
      );
      const answer = httpAnswerOf(x.result);
      report(`push: a 100 MB body (${what}) → ${answer?.status} after ${mib(x.result.written)} written; ${memory(x)}`);
      expect(answer?.status).toBe(413);
      expect(x.result.written).toBeLessThan(total);
      expect(x.rssMiB).toBeLessThan(memoryBoundMiB);
    }
  }, 60_000);

  it('broken XML and what is not a SendNotification, to the right secret: 400', async () => {
    const good = sendNotification('AAMkAD-forged');
    const cases: Array<[string, string | Buffer, string?]> = [
      ['truncated SOAP', good.slice(0, good.length / 2)],
      ['unclosed tags', '<soap:Envelope><soap:Body><m:SendNotification>'],
      ['not XML', 'hello'],
      ['an empty body', ''],
      ['JSON', '{"SendNotification": {}}', 'application/json'],
      ['another SOAP operation', good.replaceAll('SendNotification', 'GetEvents')],
      ['elements nested 100,000 deep', `${'<a>'.repeat(100_000)}${'</a>'.repeat(100_000)}`],
    ];
    const x = await measured(async () => {
      const got: string[] = [];
      for (const [what, body, type] of cases) {
        const answer = await post(securePath(), body, type);
        got.push(`${what} ${answer.status}`);
        expect(answer.status, what).toBe(400);
      }
      return got;
    });
    const sample = await post(securePath(), 'hello');
    report(`push: broken XML (${x.result.join(', ')}) → 400 "${sample.body}"; ${memory(x)}`);
    expect(x.rssMiB).toBeLessThan(memoryBoundMiB);
  });

  it('a DTD to the right secret (billion laughs, an external entity): refused, nothing expanded, nothing read', async () => {
    const cases: Array<[string, string | Buffer, string?]> = [
      ['billion laughs', sendNotification('&lol9;', billionLaughs)],
      ['external entity file:///etc/passwd', sendNotification('&xxe;', externalEntity)],
      ['a lower-case doctype', sendNotification('&xxe;', externalEntity.replace('DOCTYPE', 'doctype'))],
      [
        'UTF-16 with a DTD',
        Buffer.from(`\uFEFF${sendNotification('&xxe;', externalEntity)}`, 'utf16le'),
        'text/xml; charset=utf-16',
      ],
    ];
    for (const [what, body, type] of cases) {
      const x = await measured(() => post(securePath(), body, type));
      report(`push: a SOAP body with a DTD (${what}) → ${x.result.status} "${x.result.body}"; ${memory(x)}`);
      expect(x.result.status, what).toBe(400);
      expect(x.rssMiB).toBeLessThan(memoryBoundMiB);
    }
  });

  it("a notification for another subscription, to a live secret: Unsubscribe, and the secret's own subscription goes on", async () => {
    const answer = await post(securePath(), sendNotification('AAMkAD-another-subscription'));
    report(
      `push: a SendNotification naming another subscription → ${answer.status} ${/<SubscriptionStatus>(\w+)</.exec(answer.body)?.[1]}`,
    );
    expect(answer.status).toBe(200);
    expect(answer.body).toContain('<SubscriptionStatus>Unsubscribe</SubscriptionStatus>');
  });

  it('random bytes: 400 from the HTTP parser, or a close', async () => {
    const seed = Number(process.env.BAD_INPUT_SEED ?? randomInt(2 ** 31));
    const inputs = fc.sample(fc.uint8Array({ minLength: 1, maxLength: 4_096 }), { seed, numRuns: 30 });
    const got: string[] = [];
    for (const bytes of inputs) {
      const outcome = await rawClient(port, (socket) => void socket.end(bytes), 10_000);
      expect(outcome.error ?? '').not.toMatch(/no close within/);
      got.push(String(httpAnswerOf(outcome)?.status ?? 'closed without an answer'));
    }
    report(`push: ${inputs.length} × random bytes (fast-check seed ${seed}) → ${tally(got)}`);
    for (const status of got) expect(['400', 'closed without an answer']).toContain(status);
  });

  it('slow clients and 1,000 connections at once: 408 at listeners.exchange.requestTimeoutMs, and posts still get in', async () => {
    const body = sendNotification('AAMkAD-forged');
    const trickle = (head: string, rest: string) =>
      rawClient(
        port,
        async (socket, state) => {
          socket.write(head);
          for (const byte of rest) {
            if (state.closed()) return;
            socket.write(byte);
            await new Promise((resolve) => setTimeout(resolve, 1_000));
          }
        },
        10_000,
      );
    const x = await measured(async () => {
      const slow = [
        // Trickling a body to the right secret, and to a wrong one (answered 404 at once, then held by the body).
        ...Array.from({ length: 10 }, () =>
          trickle(requestHead('POST', securePath(), { Host: host, 'Content-Type': 'text/xml' }, body.length), body),
        ),
        ...Array.from({ length: 10 }, () =>
          trickle(
            requestHead('POST', `${pushPath}/wrong`, { Host: host, 'Content-Type': 'text/xml' }, body.length),
            body,
          ),
        ),
        ...Array.from({ length: 1_000 }, () => rawClient(port, () => {}, 20_000)),
      ];
      await new Promise((resolve) => setTimeout(resolve, 100));
      const meanwhile = await post(securePath(), sendNotification('AAMkAD-forged'));
      return { outcomes: await Promise.all(slow), meanwhile: meanwhile.status };
    });
    const statuses = x.result.outcomes.map((outcome) =>
      outcome.error ? outcome.error : (outcome.received.match(/HTTP\/1\.1 \d{3}/g) ?? ['closed']).join(' then '),
    );
    const slowest = Math.max(...x.result.outcomes.map((outcome) => outcome.ms));
    report(
      `push: 10 bodies trickled to the secret, 10 to a wrong one, 1000 silent connections → ${tally(statuses)} ` +
        `within ${(slowest / 1_000).toFixed(1)} s; a post meanwhile ${x.result.meanwhile}; ${memory(x)}`,
    );
    expect(statuses.slice(0, 10)).toEqual(Array(10).fill('HTTP/1.1 408'));
    // Answered 404 before their body; the deadline then ends the connection the body was holding.
    expect(statuses.slice(10, 20)).toEqual(Array(10).fill('HTTP/1.1 404'));
    expect(new Set(statuses.slice(20))).toEqual(new Set(['HTTP/1.1 408']));
    expect(x.result.meanwhile).toBe(200);
    expect(x.rssMiB).toBeLessThan(memoryBoundMiB);
  }, 60_000);

  it('after it all, Exchange still pushes to the same subscriptions: a task made in Exchange reaches its row', async () => {
    const subject = `after bad input ${Date.now()}`;
    world.emulator.admin.createItem(alice, { kind: 'Task', Subject: subject } as never);
    before = world.exchangeItems();
    since = Date.now();
    await world.waitFor(async () => {
      const rows = await world.rows('task_item', alice);
      expect(rows.map((row) => row.exh_subject)).toContain(subject);
    }, 15_000);
    const pushed = world.emulator.admin.requests({ since: 0 }).length;
    report(
      `push: a task made in Exchange after the attacks → its row, through the same push subscriptions (${pushed} EWS requests in all)`,
    );
  }, 30_000);
});
