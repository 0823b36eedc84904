import { randomBytes } from 'node:crypto';
import { connect, type Socket } from 'node:net';
import pg from 'pg';
import { expect, vi } from 'vitest';
import { type RunningEmulator, startEmulator } from '../../emulator/index.js';
import { configSchema } from '../../src/config/schema.js';
import { installBaseProject } from '../../src/db/commands.js';
import { createEwsExchange } from '../../src/exchange/ews/index.js';
import { type PushReceiver, startPushReceiver } from '../../src/exchange/push-receiver.js';
import { createLogging } from '../../src/logging/logger.js';
import { sendRequest } from '../../src/protocol/client.js';
import type { Reply } from '../../src/protocol/replies.js';
import { type Runtime, startRuntime } from '../../src/runtime.js';
import { testConfig } from '../support/config.js';
import { registerSecret, testSecret } from '../support/log-scan.js';
import { schemaUrl } from '../support/pg.js';
import { ExchangeDouble } from './bad-input-exchange-double.js';

/**
 * What the bad-input files (docs/reliability.md, "Bad input") attack: one real connector in this process — the
 * runtime, the EWS adapter, the pg pool on a schema of its own on $PG_URL, the emulator as Exchange with push
 * notifications, and all three listeners on 127.0.0.1 (database listener with a short authentication deadline, push
 * receiver, HTTP listener with an admin token) — plus what the attacks measure: the process's memory, Exchange's item
 * counts and write requests, and raw sockets that send what no sender would.
 */

export type LogRecord = Record<string, unknown> & { event?: string; msg?: string; cat?: string; code?: string };

export const alice = 'alice@contoso.test';
export const bob = 'bob@contoso.test';
const users = [alice, bob];

/** EWS operations that change a mailbox: none may reach Exchange while bad input is sent. */
const writeOperations = new Set([
  'CreateItem',
  'UpdateItem',
  'DeleteItem',
  'MoveItem',
  'CopyItem',
  'SendItem',
  'CreateAttachment',
  'DeleteAttachment',
]);

export interface WorldOptions {
  /** listeners.database.authTimeoutMs (docs/protocol.md, "Limits and time-outs"). */
  authTimeoutMs?: number;
  /** listeners.http.requestTimeoutMs and listeners.exchange.requestTimeoutMs (docs/configuration.md). */
  requestTimeoutMs?: number;
  /** Reach the emulator through an ExchangeDouble (bad-input-exchange-double.ts), which can add a DTD to answers. */
  double?: boolean;
}

export async function badInputWorld(pgUrl: string, name: string, options: WorldOptions = {}) {
  const schema = `exh_${name}_${randomBytes(4).toString('hex')}`;
  const admin = new pg.Client({ connectionString: pgUrl });
  await admin.connect();
  await admin.query(`create schema ${schema}`);
  await installBaseProject({ type: 'postgres', connectionString: schemaUrl(pgUrl, schema) }, { exampleApp: true });
  await admin.query(`insert into ${schema}.app_user (exh_user) select unnest($1::text[])`, [users]);
  const connectionString = await withPassword(schemaUrl(pgUrl, schema));
  const emulator: RunningEmulator = await startEmulator({
    port: 0,
    mailboxes: users,
    password: testSecret('exchange.impersonationPassword'),
  });
  const adminToken = testSecret('listeners.http.adminToken');
  const double = options.double ? new ExchangeDouble(emulator) : undefined;
  await double?.open();
  const config = configSchema.parse(
    testConfig(
      double ? { ...emulator, url: double.url(emulator.url) } : emulator,
      { type: 'postgres', connectionString },
      {
        exchange: { notifications: 'push' },
        listeners: {
          database: { authTimeoutMs: options.authTimeoutMs ?? 1_000 },
          exchange: { requestTimeoutMs: options.requestTimeoutMs ?? 1_000 },
          http: { enabled: true, port: 0, adminToken, requestTimeoutMs: options.requestTimeoutMs ?? 1_000 },
        },
        retry: { permanentFailures: 1 },
      },
    ),
  );
  const records: LogRecord[] = [];
  const logging = createLogging({
    level: 'debug',
    format: 'json',
    stdout: { write: (line: string) => void records.push(JSON.parse(line)) },
  });
  // The push receiver as create-exchange.ts starts it, watched: the URL of each subscription carries its secret,
  // which the attacks need to get past the door and the log scan must look for.
  const push = await startPushReceiver({
    host: config.listeners.exchange.host,
    port: config.listeners.exchange.port,
    requestTimeoutMs: config.listeners.exchange.requestTimeoutMs,
    logger: logging.logger,
  });
  const pushUrls: string[] = [];
  const open = push.open.bind(push);
  push.open = () => {
    const endpoint = open();
    pushUrls.push(endpoint.url);
    registerSecret('push subscription secret', new URL(endpoint.url).pathname.split('/').pop());
    return endpoint;
  };
  let ews: ReturnType<typeof createEwsExchange> | undefined;
  const runtime: Runtime = startRuntime({
    config,
    logging,
    exchange: (pool) => {
      ews = createEwsExchange({ exchange: config.exchange, pool, logger: logging.logger, push });
      return ews;
    },
  });
  const waitFor = <T>(check: () => T, timeout = 30_000) => vi.waitFor(check, { timeout, interval: 20 });
  const httpListening = await waitFor(() => {
    const record = records.find((r) => r.event === 'http.listening');
    if (!record) throw new Error('the HTTP listener has not said where it listens');
    return record;
  });
  await waitFor(() => {
    const live = new Set(records.filter((r) => r.event === 'mailbox.live').map((r) => r.user));
    for (const user of users) expect(live).toContain(user);
  });
  const setUp = Object.fromEntries(
    (await admin.query(`select exh_parameter, exh_value from ${schema}.exh_set_up`)).rows.map((r) => [
      r.exh_parameter,
      r.exh_value,
    ]),
  );
  const token = setUp.exh_listener_token as string;
  const target = { host: setUp.exh_ip_address as string, port: Number(setUp.exh_ip_address_port) };

  const world = {
    schema,
    admin,
    emulator,
    double,
    runtime,
    records,
    push: push as PushReceiver,
    pushUrls,
    adminToken,
    token,
    /** The database listener, as exh_set_up tells the senders. */
    target,
    httpUrl: `http://127.0.0.1:${httpListening.port}`,
    waitFor,
    /** Items per mailbox and folder, as the emulator's admin API counts them. */
    exchangeItems: () =>
      Object.fromEntries(emulator.admin.mailboxes().map((mailbox) => [mailbox.address, mailbox.folders])),
    /** EWS requests that would have changed a mailbox, since `since` (the emulator's clock, Date.now here). */
    exchangeWrites: (since: number) =>
      emulator.admin.requests({ since }).filter((request) => writeOperations.has(request.operation)),
    /** A good request after the attack: the connector still answers its senders. */
    ping: (): Promise<Reply> => sendRequest(target, { token, type: 'ping' }, { timeoutMs: 10_000 }),
    rows: async (table: string, user: string) =>
      (await admin.query(`select * from ${schema}.${table} where exh_user = $1`, [user])).rows,
    async close() {
      await runtime.stop();
      ews?.close();
      await push.close();
      await double?.close();
      await emulator.close();
      await admin.query(`drop schema if exists ${schema} cascade`);
      await admin.end();
    },
  };
  return world;
}

export type BadInputWorld = Awaited<ReturnType<typeof badInputWorld>>;

/**
 * The connection string with a distinctive password (registered for the log scan), when the server lets it in: a
 * server that trusts local connections never asks for it, so it changes nothing but what a careless log would show.
 * Without one that works, the string stays as it is.
 */
async function withPassword(url: string): Promise<string> {
  if (new URL(url).password) return url;
  const candidate = new URL(url);
  candidate.password = testSecret('database.connectionString (password)');
  const probe = new pg.Client({ connectionString: candidate.toString() });
  try {
    await probe.connect();
    return candidate.toString();
  } catch {
    return url;
  } finally {
    await probe.end().catch(() => {});
  }
}

/** Peak memory of this process while `attack` runs, above what it was when it started (sampled every 10 ms). */
export async function measured<T>(
  attack: () => Promise<T>,
): Promise<{ result: T; rssMiB: number; heapMiB: number; peakRssMiB: number }> {
  const start = process.memoryUsage();
  let rss = start.rss;
  let heap = start.heapUsed;
  const sample = () => {
    const now = process.memoryUsage();
    rss = Math.max(rss, now.rss);
    heap = Math.max(heap, now.heapUsed);
  };
  const timer = setInterval(sample, 10);
  try {
    const result = await attack();
    sample();
    return {
      result,
      rssMiB: (rss - start.rss) / 2 ** 20,
      heapMiB: (heap - start.heapUsed) / 2 ** 20,
      peakRssMiB: rss / 2 ** 20,
    };
  } finally {
    clearInterval(timer);
  }
}

/** What a raw client saw: the bytes up to the close, a socket error (ECONNRESET …), bytes written, time taken. */
export interface Outcome {
  received: string;
  error: string | undefined;
  written: number;
  ms: number;
}

/**
 * A raw TCP client: connects, runs `talk` (which writes whatever it likes and may watch `received`), and reads until
 * the server closes, or `timeoutMs` passes (then it closes itself and says so in `error`).
 */
export function rawClient(
  port: number,
  talk: (socket: Socket, state: { received: () => string; closed: () => boolean }) => Promise<void> | void = () => {},
  timeoutMs = 30_000,
): Promise<Outcome> {
  const started = performance.now();
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port });
    const chunks: Buffer[] = [];
    let error: string | undefined;
    let closed = false;
    socket.on('data', (chunk: Buffer) => chunks.push(chunk));
    socket.on('error', (e: NodeJS.ErrnoException) => {
      error ??= e.code ?? e.message;
    });
    const timer = setTimeout(() => {
      error ??= `no close within ${timeoutMs} ms`;
      socket.destroy();
    }, timeoutMs);
    socket.once('close', () => {
      closed = true;
      clearTimeout(timer);
      resolve({
        received: Buffer.concat(chunks).toString('utf8'),
        error,
        written: socket.bytesWritten,
        ms: performance.now() - started,
      });
    });
    socket.once('connect', () => {
      Promise.resolve(
        talk(socket, { received: () => Buffer.concat(chunks).toString('utf8'), closed: () => closed }),
      ).catch((e: unknown) => {
        error ??= String(e);
        socket.destroy();
      });
    });
  });
}

/** The reply line of a database-listener exchange (the last line: progress lines come before it), or undefined. */
export function replyOf(outcome: Outcome): Reply | undefined {
  const lines = outcome.received.split('\n').filter((line) => line !== '');
  const last = lines.at(-1);
  if (last === undefined) return undefined;
  try {
    return JSON.parse(last) as Reply;
  } catch {
    return undefined;
  }
}

/**
 * Writes `total` bytes of `fill` after `head`, in chunks of 64 KiB respecting back-pressure, and stops as soon as the
 * server has answered or closed: a 100 MB request without 100 MB in memory.
 */
export async function stream(
  socket: Socket,
  state: { received: () => string; closed: () => boolean },
  head: string,
  total: number,
  fill = 'x',
): Promise<void> {
  const chunk = Buffer.alloc(64 * 1024, fill);
  if (!socket.write(head)) await drained(socket, state);
  let sent = Buffer.byteLength(head);
  while (sent < total && !state.closed() && state.received() === '' && !socket.destroyed) {
    const ok = socket.write(chunk);
    sent += chunk.length;
    if (!ok) await drained(socket, state);
  }
}

function drained(socket: Socket, state: { closed: () => boolean }): Promise<void> {
  return new Promise((resolve) => {
    if (state.closed()) return resolve();
    const done = () => {
      socket.off('drain', done);
      socket.off('close', done);
      socket.off('data', done);
      resolve();
    };
    socket.once('drain', done);
    socket.once('close', done);
    // An answer while blocked: stop writing.
    socket.once('data', done);
  });
}

/** The memory figures of an attack, for its report line. */
export function memory(m: { rssMiB: number; heapMiB: number; peakRssMiB: number }): string {
  return `RSS peak +${m.rssMiB.toFixed(0)} MiB (${m.peakRssMiB.toFixed(0)} MiB), heap peak +${m.heapMiB.toFixed(0)} MiB`;
}

export function mib(bytes: number): string {
  return `${(bytes / 2 ** 20).toFixed(1)} MiB`;
}

/** One line of the report per input: what was sent, what came back, and the figures. */
export function report(line: string): void {
  console.log(`bad input: ${line}`);
}

/** The first HTTP answer of a raw exchange: its status and its body (JSON when it is), or undefined without one. */
export function httpAnswerOf(outcome: Outcome): { status: number; body: string; json: unknown } | undefined {
  const match = /^HTTP\/1\.[01] (\d{3})[^\r\n]*\r\n([\s\S]*?)\r\n\r\n([\s\S]*)$/.exec(outcome.received);
  if (!match) return undefined;
  const headers = match[2] ?? '';
  const length = /^content-length:\s*(\d+)/im.exec(headers)?.[1];
  const body = length === undefined ? (match[3] ?? '') : (match[3] ?? '').slice(0, Number(length));
  let json: unknown;
  try {
    json = JSON.parse(body);
  } catch {
    json = undefined;
  }
  return { status: Number(match[1]), body, json };
}

/** A raw HTTP/1.1 request (head and body as given, so that Host and framing can be anything); the first answer. */
export async function rawHttp(
  port: number,
  head: string,
  body: string | Buffer = '',
  timeoutMs = 10_000,
): Promise<{ status: number; body: string; json: unknown; outcome: Outcome }> {
  const outcome = await rawClient(
    port,
    (socket) => {
      socket.end(Buffer.concat([Buffer.from(head), Buffer.from(body)]));
    },
    timeoutMs,
  );
  const answer = httpAnswerOf(outcome);
  if (!answer) throw new Error(`no HTTP answer: ${JSON.stringify(outcome)}`);
  return { ...answer, outcome };
}

/** The head of a request with a body of `length` bytes (or chunked, without one). */
export function requestHead(
  method: string,
  path: string,
  headers: Record<string, string | number>,
  length?: number,
): string {
  const lines = [`${method} ${path} HTTP/1.1`, ...Object.entries(headers).map(([name, value]) => `${name}: ${value}`)];
  lines.push(length === undefined ? 'Transfer-Encoding: chunked' : `Content-Length: ${length}`, 'Connection: close');
  return `${lines.join('\r\n')}\r\n\r\n`;
}
