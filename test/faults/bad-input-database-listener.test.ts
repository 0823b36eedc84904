import { randomInt } from 'node:crypto';
import fc from 'fast-check';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type FieldKind, itemTypes, textKinds } from '../../src/items/index.js';
import { sendRequest } from '../../src/protocol/client.js';
import type { Reply } from '../../src/protocol/replies.js';
import {
  alice,
  type BadInputWorld,
  badInputWorld,
  measured,
  memory,
  mib,
  type Outcome,
  rawClient,
  replyOf,
  report,
  stream,
} from './bad-input-world.js';

const pgUrl = process.env.PG_URL;

/**
 * Bad input on the database listener (docs/reliability.md, "Bad input"; limits in docs/protocol.md): random bytes,
 * truncated and deeply nested JSON, a 100 MB line, wrong types for every field of an item request, a client that
 * sends a byte a second, 1,000 connections at once. Each input gets a reply that names its cause, the connector
 * answers a good request afterwards, Exchange is not changed, and the memory of the process stays bounded.
 */

/** Generous: the test process holds the connector, the emulator and the attacking clients together. */
const memoryBoundMiB = 200;
const authTimeoutMs = 1_000;

describe.skipIf(!pgUrl)('bad input on the database listener (emulator, PostgreSQL)', () => {
  let world: BadInputWorld;
  let before: ReturnType<BadInputWorld['exchangeItems']>;
  let since: number;

  beforeAll(async () => {
    world = await badInputWorld(pgUrl as string, 'badlistener', { authTimeoutMs });
  }, 60_000);
  afterAll(() => world?.close());
  beforeEach(() => {
    before = world.exchangeItems();
    since = Date.now();
  });
  // After every input: the connector still serves a good request, and nothing reached Exchange.
  afterEach(async () => {
    expect(await world.ping()).toEqual({ exitCode: 0, outputValue: 'pong', errorMessage: null });
    expect(world.exchangeItems()).toEqual(before);
    expect(world.exchangeWrites(since)).toEqual([]);
  });

  const port = () => world.target.port;
  /** Sends `line` (bytes or text) and ends the connection's output, as a sender that shuts down after its request. */
  const send = (line: string | Uint8Array, timeoutMs = 10_000) =>
    rawClient(
      port(),
      (socket) => {
        socket.end(line);
      },
      timeoutMs,
    );
  const refused = (outcome: Outcome): Reply => {
    const reply = replyOf(outcome);
    expect(outcome.error, outcome.received).toBeUndefined();
    expect(reply?.exitCode, outcome.received).toBe(1);
    expect(reply?.errorMessage).toMatch(/^Request refused: /);
    return reply as Reply;
  };
  /** The cause of a refusal, without the request-specific details: `malformed JSON`, `unauthenticated` … */
  const causeOf = (reply: Reply) =>
    (reply.errorMessage ?? '')
      .replace(/^Request refused: /, '')
      .split(/[:(]/)[0]
      ?.replace(/\.$/, '')
      .trim() ?? '';
  const tally = (causes: string[]) =>
    Object.entries(
      causes.reduce<Record<string, number>>((counts, cause) => {
        counts[cause] = (counts[cause] ?? 0) + 1;
        return counts;
      }, {}),
    )
      .map(([cause, count]) => `${count}× "${cause}"`)
      .join(', ');

  it('random bytes: each connection is refused with exit code 1 naming what is wrong', async () => {
    const seed = Number(process.env.BAD_INPUT_SEED ?? randomInt(2 ** 31));
    const inputs = fc.sample(fc.uint8Array({ minLength: 1, maxLength: 4_096 }), { seed, numRuns: 40 });
    const m = await measured(async () => {
      const causes: string[] = [];
      for (const [index, bytes] of inputs.entries()) {
        // Half end with a newline, half by closing their output.
        const line = index % 2 === 0 ? Buffer.concat([bytes, Buffer.from('\n')]) : bytes;
        causes.push(causeOf(refused(await send(line))));
      }
      return causes;
    });
    report(
      `${inputs.length} × random bytes (fast-check seed ${seed}, BAD_INPUT_SEED to repeat; 1–4096 bytes) → ` +
        `exit 1: ${tally(m.result)}; ${memory(m)}`,
    );
    expect(m.rssMiB).toBeLessThan(memoryBoundMiB);
  });

  it('truncated JSON: a good item request cut short is malformed JSON, whether the token arrived or not', async () => {
    const request = JSON.stringify({
      token: world.token,
      type: 'item',
      action: 'add',
      itemType: 'task',
      user: alice,
      fields: { app_item_id: 'truncated-1', subject: 'never made' },
    });
    const cuts = [1, 10, 30, 60, 90, request.length - 1].map((at) => Math.min(at, request.length - 1));
    const m = await measured(async () => {
      const causes: string[] = [];
      for (const [index, cut] of cuts.entries()) {
        const part = request.slice(0, cut);
        causes.push(causeOf(refused(await send(index % 2 === 0 ? `${part}\n` : part))));
      }
      return causes;
    });
    report(
      `${cuts.length} × truncated JSON (cut at ${cuts.join(', ')} of ${request.length}) → exit 1: ${tally(m.result)}`,
    );
    expect(new Set(m.result)).toEqual(new Set(['malformed JSON']));
  });

  it('JSON nested 100,000 deep: refused with the field it is in, never a stack overflow', async () => {
    const depth = 100_000;
    const deepArray = `${'['.repeat(depth)}${']'.repeat(depth)}`;
    const deepObject = `${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}`;
    const head = `{"token":${JSON.stringify(world.token)}`;
    const cases: Array<[string, string, RegExp]> = [
      ['an array, no token', deepArray, /unauthenticated: the request has no token/],
      [
        'in fields.subject',
        `${head},"type":"item","action":"chg","itemType":"task","user":"${alice}","fields":{"item_id":"x","subject":${deepArray}}}`,
        /invalid request: fields\.subject: expected a string, a number, true\/false or null, not an array/,
      ],
      ['as the type', `${head},"type":${deepArray}}`, /invalid request: type: /],
      ['under an unknown key', `${head},"type":"ping","extra":${deepObject}}`, /invalid request: extra: not a field/],
    ];
    const m = await measured(async () => {
      const replies: Reply[] = [];
      for (const [, line] of cases) replies.push(refused(await send(`${line}\n`)));
      return replies;
    });
    cases.forEach(([what, , expected], index) => {
      const reply = m.result[index] as Reply;
      report(
        `JSON nested ${depth.toLocaleString('en')} deep, ${what} → exit ${reply.exitCode} "${reply.errorMessage}"`,
      );
      expect(reply.errorMessage).toMatch(expected);
    });
    report(`JSON nested ${depth.toLocaleString('en')} deep: ${memory(m)}`);
    expect(m.rssMiB).toBeLessThan(memoryBoundMiB);
  });

  it('names and keys a megabyte long: the refusal names them, without repeating them whole', async () => {
    const long = 'k'.repeat(2 ** 20);
    const head = { token: world.token };
    const item = { type: 'item', action: 'chg', itemType: 'task', user: alice, fields: { item_id: 'x' } };
    const cases: Array<[string, Record<string, unknown>, RegExp]> = [
      ['a type', { type: long }, /^Request refused: invalid request: type: "k{64}… \(1048576 characters\)" is unknown/],
      [
        'a key',
        { type: 'ping', [long]: 1 },
        /^Request refused: invalid request: k{64}… \(1048576 characters\): not a field/,
      ],
      [
        'a field name',
        { ...item, fields: { item_id: 'x', [long]: 'x' } },
        /^Request refused: invalid request: fields\.k{64}… \(1048576 characters\): task has no field/,
      ],
    ];
    const seen = world.records.length;
    const m = await measured(async () => {
      const replies: Reply[] = [];
      for (const [, request] of cases)
        replies.push(refused(await send(`${JSON.stringify({ ...head, ...request })}\n`)));
      return replies;
    });
    cases.forEach(([what, , expected], index) => {
      const reply = m.result[index] as Reply;
      report(`${what} of 1 MiB → exit ${reply.exitCode}, a message of ${reply.errorMessage?.length} characters`);
      expect(reply.errorMessage).toMatch(expected);
      expect(reply.errorMessage?.length).toBeLessThan(1_024);
    });
    // Nor does the log repeat them.
    const logged = world.records.slice(seen).map((record) => JSON.stringify(record).length);
    expect(Math.max(0, ...logged)).toBeLessThan(2_048);
  });

  it('a 100 MB line: refused once it passes 16 MiB, without the connector holding more', async () => {
    const total = 100 * 2 ** 20;
    const cases: Array<[string, string]> = [
      ['token first', `{"token":${JSON.stringify(world.token)},"type":"ping","pad":"`],
      ['no token', '{"type":"ping","pad":"'],
    ];
    for (const [what, head] of cases) {
      const m = await measured(() => rawClient(port(), (socket, state) => stream(socket, state, head, total), 60_000));
      const outcome = m.result;
      const reply = replyOf(outcome);
      report(
        `a 100 MB line (${what}, streamed) → exit ${reply?.exitCode} "${reply?.errorMessage}" after ` +
          `${mib(outcome.written)} written; ${memory(m)}`,
      );
      expect(outcome.error).toBeUndefined();
      expect(reply?.exitCode).toBe(1);
      expect(reply?.errorMessage).toMatch(/larger than the maximum of 16777216 bytes|no authenticated request/);
      // Refused after the limit, long before the end of the line.
      expect(outcome.written).toBeLessThan(total);
      expect(m.rssMiB).toBeLessThan(memoryBoundMiB);
    }
  }, 60_000);

  it('wrong types for every field of an item request: each refused naming the field', async () => {
    const wrong: Record<FieldKind, unknown> = {
      itemId: 42,
      appItemId: 42,
      user: 42,
      text: 42,
      code: 42,
      longText: 42,
      body: 42,
      attachments: 42,
      boolean: 'yes',
      integer: 1.5,
      timestamp: 'next tuesday',
      date: 'tomorrow',
    };
    const base = (itemType: string) => ({
      token: world.token,
      type: 'item',
      action: 'chg',
      itemType,
      user: alice,
      fields: { item_id: 'AAMkAD-not-there', app_item_id: 'wrong-types' },
    });
    // Every top-level key too, and an object where a field value belongs.
    const topLevel: Array<[string, Record<string, unknown>, RegExp]> = [
      ['action', { action: 7 }, /^Request refused: invalid request: action: /],
      ['itemType', { itemType: 'meeting' }, /^Request refused: invalid request: itemType: /],
      ['user', { user: ['x'] }, /^Request refused: invalid request: user: /],
      ['fields', { fields: 'subject=x' }, /^Request refused: invalid request: fields: /],
      ['type', { type: 3 }, /^Request refused: invalid request: type: /],
      ['token', { token: 42 }, /^Request refused: unauthenticated: /],
      ['unknown key', { subject: 'x' }, /^Request refused: invalid request: subject: not a field of this request/],
    ];
    const m = await measured(async () => {
      const lines: string[] = [];
      for (const [key, change, expected] of topLevel) {
        const reply = refused(await send(`${JSON.stringify({ ...base('task'), ...change })}\n`));
        expect(reply.errorMessage, key).toMatch(expected);
      }
      lines.push(`${topLevel.length} top-level keys (${topLevel.map(([key]) => key).join(', ')})`);
      for (const definition of itemTypes) {
        let count = 0;
        for (const field of definition.fields) {
          for (const value of [wrong[field.kind], { nested: true }]) {
            const request = base(definition.name);
            const fields: Record<string, unknown> = { ...request.fields, [field.name]: value };
            const reply = refused(await send(`${JSON.stringify({ ...request, fields })}\n`));
            const expected = typeof value === 'object' ? 'expected a string, a number, true/false or null' : '';
            expect(reply.errorMessage, `${definition.name}.${field.name} = ${JSON.stringify(value)}`).toContain(
              `fields.${field.name}: ${expected}`,
            );
            count++;
          }
        }
        const kinds = new Set(definition.fields.map((f) => (textKinds.has(f.kind) ? 'text' : f.kind)));
        lines.push(`${definition.name}: ${definition.fields.length} fields × 2 (${[...kinds].join(', ')}) = ${count}`);
      }
      return lines;
    });
    report(`wrong types → every one exit 1 naming the field: ${m.result.join('; ')}; ${memory(m)}`);
  }, 60_000);

  it('a slow client (a byte a second): dropped at the authentication deadline; senders are served meanwhile', async () => {
    const line = `${JSON.stringify({ token: world.token, type: 'ping' })}\n`;
    const m = await measured(async () => {
      const slow = Array.from({ length: 20 }, () =>
        rawClient(port(), async (socket, state) => {
          for (const byte of line) {
            if (state.closed() || state.received() !== '') return;
            socket.write(byte);
            await new Promise((resolve) => setTimeout(resolve, 1_000));
          }
        }),
      );
      // While they trickle, a sender gets its answer.
      const meanwhile = await sendRequest(world.target, { token: world.token, type: 'ping' }, { timeoutMs: 10_000 });
      return { outcomes: await Promise.all(slow), meanwhile };
    });
    const { outcomes, meanwhile } = m.result;
    const slowest = Math.max(...outcomes.map((o) => o.ms));
    const reply = refused(outcomes[0] as Outcome);
    report(
      `20 slow clients (a byte a second, token first) → exit ${reply.exitCode} "${reply.errorMessage}" after ` +
        `${(slowest / 1_000).toFixed(1)} s at most, ${Math.max(...outcomes.map((o) => o.written))} bytes sent; ` +
        `a sender meanwhile: exit ${meanwhile.exitCode}; ${memory(m)}`,
    );
    for (const outcome of outcomes)
      expect(refused(outcome).errorMessage).toMatch(new RegExp(`no authenticated request within ${authTimeoutMs} ms`));
    expect(meanwhile.exitCode).toBe(0);
  }, 30_000);

  it('1,000 connections at once: each gets a reply, never a reset, and a sender still gets in', async () => {
    const idle = 1_000;
    const m = await measured(async () => {
      const flood = Array.from({ length: idle }, () => rawClient(port(), () => {}, 30_000));
      // The oldest give way to a sender that shows its token at once (docs/protocol.md, "Limits and time-outs", row
      // "waiting for a token").
      await new Promise((resolve) => setTimeout(resolve, 100));
      const meanwhile = await sendRequest(world.target, { token: world.token, type: 'ping' }, { timeoutMs: 10_000 });
      return { outcomes: await Promise.all(flood), meanwhile };
    });
    const { outcomes, meanwhile } = m.result;
    const replies = outcomes.map((outcome) => replyOf(outcome));
    const byCode = tally(replies.map((reply) => `exit ${reply?.exitCode}: ${reply ? causeOf(reply) : 'no reply'}`));
    report(
      `${idle} idle connections at once → ${byCode}; a sender meanwhile: exit ${meanwhile.exitCode}; ${memory(m)}`,
    );
    expect(outcomes.filter((outcome) => outcome.error !== undefined)).toEqual([]);
    for (const reply of replies) expect([1, 521]).toContain(reply?.exitCode);
    expect(meanwhile.exitCode).toBe(0);
    expect(m.rssMiB).toBeLessThan(memoryBoundMiB);

    // And 1,000 senders with a good request at once: each answered, or told to try again (521), never reset.
    const senders = await measured(() =>
      Promise.all(
        Array.from({ length: idle }, () =>
          rawClient(port(), (socket) => {
            socket.write(`${JSON.stringify({ token: world.token, type: 'ping' })}\n`);
          }),
        ),
      ),
    );
    const answers = senders.result.map((outcome) => replyOf(outcome));
    report(`${idle} pings at once → ${tally(answers.map((reply) => `exit ${reply?.exitCode}`))}; ${memory(senders)}`);
    expect(senders.result.filter((outcome) => outcome.error !== undefined)).toEqual([]);
    for (const reply of answers) expect([0, 521]).toContain(reply?.exitCode);
    expect(senders.rssMiB).toBeLessThan(memoryBoundMiB);
  }, 60_000);
});
