import { randomBytes } from 'node:crypto';
import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import { errors } from '../../src/errors.js';
import { sendRequest } from '../../src/protocol/client.js';
import { startDatabaseListener } from '../../src/protocol/listener.js';
import type { WireRequest } from '../../src/protocol/messages.js';
import type { Reply } from '../../src/protocol/replies.js';
import { rawClient, recordingHandler, recordingLogger, replyOf, token } from './helpers.js';

const maxMessageBytes = 1024;
const logging = recordingLogger();
let answer: () => Promise<Reply> | Reply = () => ({ exitCode: 0, outputValue: 'AAMkItem1', errorMessage: null });
const handler = recordingHandler(() => answer());
const listener = await startDatabaseListener({
  host: '127.0.0.1',
  port: 0,
  token,
  handle: handler.handle,
  logger: logging.logger,
  maxMessageBytes,
  readTimeoutMs: 300,
  idleTimeoutMs: 5_000,
});
afterAll(() => listener.close());

const target = { host: '127.0.0.1', port: listener.address.port };
const send = (request: WireRequest) => sendRequest(target, request, { timeoutMs: 5_000 });
const sendRaw = async (text: string | Buffer) => {
  const client = await rawClient(listener.address.port);
  client.socket.write(text);
  return replyOf(await client.closed);
};

beforeEach(() => {
  handler.calls.length = 0;
  logging.lines.length = 0;
  answer = () => ({ exitCode: 0, outputValue: 'AAMkItem1', errorMessage: null });
});

describe('a good request', () => {
  it('reaches the handler, validated and without its token, and its reply comes back', async () => {
    const reply = await send({
      token,
      type: 'item',
      action: 'add',
      itemType: 'calendar',
      user: 'alice@contoso.test',
      fields: { app_item_id: '42', subject: 'Planning', location: '', start: '2026-01-05T09:00:00Z', all_day: 0 },
    });
    expect(reply).toEqual({ exitCode: 0, outputValue: 'AAMkItem1', errorMessage: null });
    expect(handler.calls).toEqual([
      {
        remoteAddress: expect.stringMatching(/127\.0\.0\.1$/),
        request: {
          type: 'item',
          action: 'add',
          itemType: 'calendar',
          user: 'alice@contoso.test',
          fields: { app_item_id: '42', subject: 'Planning', location: '', start: '2026-01-05T09:00:00Z', all_day: 0 },
        },
      },
    ]);
    expect(JSON.stringify(handler.calls)).not.toContain(token);
  });

  it('applies the defaults of syncItems', async () => {
    await send({ token, type: 'syncItems', direction: 0, user: 'bob@contoso.test', item: 3, del: 0 });
    expect(handler.calls[0]?.request).toEqual({
      type: 'syncItems',
      direction: 0,
      user: 'bob@contoso.test',
      item: 3,
      add: true,
      chg: true,
      del: false,
      createdFrom: null,
      createdUntil: null,
      modifiedFrom: null,
      modifiedUntil: null,
      receivedFrom: null,
      receivedUntil: null,
      startFrom: null,
      startUntil: null,
    });
  });

  it('accepts a request of exactly the maximum size', async () => {
    const json = JSON.stringify({ token, type: 'ping' });
    const padded = `${json.slice(0, -1)}${' '.repeat(maxMessageBytes - json.length)}}`;
    expect(Buffer.byteLength(padded)).toBe(maxMessageBytes);
    expect(await sendRaw(`${padded}\n`)).toMatchObject({ exitCode: 0 });
    expect(handler.calls).toHaveLength(1);
  });

  it('accepts a line ending in CRLF and a leading byte-order mark', async () => {
    expect(await sendRaw(`\uFEFF${JSON.stringify({ token, type: 'ping' })}\r\n`)).toMatchObject({ exitCode: 0 });
    expect(handler.calls).toHaveLength(1);
  });

  it('answers a sender that shuts its output down after the request, with or without the newline', async () => {
    for (const ending of ['\n', '']) {
      const client = await rawClient(listener.address.port);
      client.socket.end(`${JSON.stringify({ token, type: 'ping' })}${ending}`);
      expect(replyOf(await client.closed)).toMatchObject({ exitCode: 0, outputValue: 'AAMkItem1' });
    }
    expect(handler.calls).toHaveLength(2);
  });

  it('answers a connection ended without a request', async () => {
    const client = await rawClient(listener.address.port);
    client.socket.end();
    expect(replyOf(await client.closed).errorMessage).toMatch(/ended without a request/);
    expect(handler.calls).toEqual([]);
  });
});

describe('refused requests change nothing', () => {
  it.each([
    ['a wrong token', { token: 'wrong-token-0123456789', type: 'ping' }, /unauthenticated: wrong token/],
    ['a token of another length', { token: `${token}x`, type: 'ping' }, /unauthenticated: wrong token/],
    ['no token', { type: 'ping' }, /unauthenticated: the request has no token/],
    ['a token that is not a string', { token: 42, type: 'ping' }, /unauthenticated: the request has no token/],
  ])('%s: exit code 1, the handler is never called, a warning without the token', async (_, request, message) => {
    const reply = await sendRaw(`${JSON.stringify(request)}\n`);
    expect(reply).toMatchObject({ exitCode: 1, outputValue: null, errorMessage: expect.stringMatching(message) });
    expect(handler.calls).toEqual([]);
    const warnings = logging.records().filter((record) => record.cat === 'W');
    expect(warnings).toHaveLength(1);
    expect(String(warnings[0]?.msg)).toMatch(message);
    expect(logging.lines.join('')).not.toContain('wrong-token');
  });

  it('checks the token before the request, so a stranger learns nothing of the format', async () => {
    const reply = await sendRaw(`${JSON.stringify({ token: 'nope', type: 'frobnicate' })}\n`);
    expect(reply.errorMessage).toMatch(/wrong token/);
    expect(reply.errorMessage).not.toMatch(/frobnicate/);
  });

  it.each([
    ['malformed JSON', `{"token": "${token}", "type": `, /malformed JSON/],
    ['JSON that is not an object', '[1, 2]', /no token/],
    [
      'an unknown type',
      JSON.stringify({ token, type: 'frobnicate' }),
      /type: "frobnicate" is unknown; expected one of item, /,
    ],
    ['a missing type', JSON.stringify({ token }), /type: missing/],
    [
      'an invalid field value',
      JSON.stringify({
        token,
        type: 'item',
        action: 'chg',
        itemType: 'task',
        user: 'a@b.test',
        fields: { item_id: 'X', due: 'soon' },
      }),
      /invalid request: fields\.due: expected an ISO 8601 timestamp/,
    ],
    [
      'a field the type does not have',
      JSON.stringify({
        token,
        type: 'item',
        action: 'add',
        itemType: 'contact',
        user: 'a@b.test',
        fields: { app_item_id: '1', exh_subject: 'x' },
      }),
      /fields\.exh_subject: contact has no field \(field names go without the exh_ prefix\)/,
    ],
    [
      'an unknown key',
      JSON.stringify({ token, type: 'getAttachment', user: 'a@b.test', itemId: 'I', attachmentId: 'A', colour: 'red' }),
      /colour: not a field of this request/,
    ],
    [
      'a wrong action',
      JSON.stringify({ token, type: 'item', action: 'upsert', itemType: 'task', user: 'a@b.test', fields: {} }),
      /action: /,
    ],
  ])('%s: exit code 1 naming the problem', async (_, line, message) => {
    const reply = await sendRaw(`${line}\n`);
    expect(reply).toMatchObject({ exitCode: 1, outputValue: null, errorMessage: expect.stringMatching(message) });
    expect(handler.calls).toEqual([]);
  });

  it('refuses an oversized request as soon as it passes the limit, without waiting for its end', async () => {
    const client = await rawClient(listener.address.port);
    // No newline is ever sent: the reply can only come from the limit, not from the end of the request.
    client.socket.write(`{"token":"${token}","type":"ping","x":"${'a'.repeat(maxMessageBytes)}`);
    const reply = replyOf(await client.closed);
    expect(reply).toMatchObject({
      exitCode: 1,
      errorMessage: expect.stringMatching(/larger than the maximum of 1024 bytes/),
    });
    expect(handler.calls).toEqual([]);
  });

  it('answers a client that goes on sending far past the limit, dropping the rest unread', async () => {
    const client = await rawClient(listener.address.port);
    const megabyte = Buffer.alloc(1024 * 1024, 0x61);
    // Far more than the limit: the listener answers after the first KiB and drops the rest unread.
    for (let i = 0; i < 16 && client.socket.writable; i++) client.socket.write(megabyte);
    const reply = replyOf(await client.closed);
    expect(reply.errorMessage).toMatch(/larger than the maximum/);
    expect(handler.calls).toEqual([]);
  });

  it('closes a half request after the read time-out with a reply that says so', async () => {
    const client = await rawClient(listener.address.port);
    client.socket.write(`{"token":"${token}",`);
    expect(replyOf(await client.closed)).toMatchObject({
      exitCode: 1,
      errorMessage: expect.stringMatching(/not complete within 300 ms/),
    });
    expect(handler.calls).toEqual([]);
  });

  it('closes a slowloris that keeps sending a byte at a time', async () => {
    const client = await rawClient(listener.address.port);
    const drip = setInterval(() => client.socket.writable && client.socket.write(' '), 20);
    const received = await client.closed;
    clearInterval(drip);
    expect(replyOf(received).errorMessage).toMatch(/not complete within 300 ms/);
  });
});

describe('idle time-out', () => {
  it('closes a connection that sends nothing, with a reply that says so', async () => {
    const idle = await startDatabaseListener({
      host: '127.0.0.1',
      port: 0,
      token,
      handle: handler.handle,
      logger: logging.logger,
      idleTimeoutMs: 100,
      readTimeoutMs: 10_000,
    });
    try {
      const client = await rawClient(idle.address.port);
      expect(replyOf(await client.closed).errorMessage).toMatch(/nothing received for 100 ms/);
    } finally {
      await idle.close();
    }
  });
});

describe('the listener survives its clients', () => {
  it('answers garbage bytes and invalid UTF-8 with an error and serves the next client', async () => {
    const garbage = Buffer.concat([
      randomBytes(200).map((b) => (b === 0x0a ? 0x0b : b)),
      Buffer.from([0xff, 0xfe, 0x0a]),
    ]);
    expect((await sendRaw(garbage)).errorMessage).toMatch(/not valid UTF-8/);
    expect(await send({ token, type: 'ping' })).toMatchObject({ exitCode: 0 });
    expect(handler.calls).toHaveLength(1);
  });

  it('shrugs off abrupt closes before, during and after a request', async () => {
    const silent = await rawClient(listener.address.port);
    silent.socket.destroy();
    await silent.closed;
    const half = await rawClient(listener.address.port);
    half.socket.write(`{"token":"${token}","ty`);
    half.socket.destroy();
    await half.closed;
    let release = () => {};
    answer = () =>
      new Promise<Reply>((resolve) => {
        release = () => resolve({ exitCode: 0, outputValue: 'late', errorMessage: null });
      });
    const gone = await rawClient(listener.address.port);
    gone.socket.write(`${JSON.stringify({ token, type: 'ping' })}\n`);
    await expect.poll(() => handler.calls.length).toBe(1);
    gone.socket.destroy();
    await gone.closed;
    release();
    answer = () => ({ exitCode: 0, outputValue: 'next', errorMessage: null });
    expect(await send({ token, type: 'ping' })).toEqual({ exitCode: 0, outputValue: 'next', errorMessage: null });
  });

  it('ignores anything after the request line (one request per connection)', async () => {
    const reply = await sendRaw(`${JSON.stringify({ token, type: 'ping' })}\n{"token":"x","type":"ping"}\ngarbage`);
    expect(reply).toMatchObject({ exitCode: 0 });
    expect(handler.calls).toHaveLength(1);
  });
});

describe('errors of the handler become exit codes', () => {
  it.each([
    [errors.exchangeUnavailable('https://ex.test/EWS', 'connection refused'), 522],
    [errors.exchangeTimeout('https://ex.test/EWS', 100), 522],
    [errors.autodiscoverFailed('a@b.test', [{ url: 'https://autodiscover.b.test', problem: 'no answer' }]), 522],
    [errors.connectorOffline('no database connection'), 521],
    [errors.databaseConnectionLost('pg', new Error('reset')), 521],
    [errors.itemNotFound('a@b.test', 'AAMk1'), 1],
    [new Error('a bug'), 1],
  ])('%s → %i, with its message', async (error, exitCode) => {
    answer = () => Promise.reject(error);
    const reply = await send({ token, type: 'ping' });
    expect(reply).toEqual({ exitCode, outputValue: null, errorMessage: error.message });
  });

  it('turns a reply of the wrong shape into exit code 1', async () => {
    answer = () => ({ exitCode: 7 }) as unknown as Reply;
    expect(await send({ token, type: 'ping' })).toMatchObject({
      exitCode: 1,
      errorMessage: expect.stringMatching(/internal error/),
    });
  });
});

describe('close', () => {
  it('lets a request being handled reply, then stops listening', async () => {
    const own = recordingHandler();
    let release = () => {};
    const started = new Promise<void>((resolveStarted) => {
      own.handle = async () => {
        resolveStarted();
        return new Promise<Reply>((resolve) => {
          release = () => resolve({ exitCode: 0, outputValue: 'finished', errorMessage: null });
        });
      };
    });
    const second = await startDatabaseListener({
      host: '127.0.0.1',
      port: 0,
      token,
      handle: (r, c) => own.handle(r, c),
      logger: logging.logger,
    });
    const secondTarget = { host: '127.0.0.1', port: second.address.port };
    const pending = sendRequest(secondTarget, { token, type: 'ping' }, { timeoutMs: 5_000 });
    await started;
    const closed = second.close();
    release();
    expect(await pending).toEqual({ exitCode: 0, outputValue: 'finished', errorMessage: null });
    await closed;
    expect(await sendRequest(secondTarget, { token, type: 'ping' }, { timeoutMs: 5_000 })).toMatchObject({
      exitCode: 521,
    });
  });
});
