import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { backoffBound, type ExchangeWorld, exchangeWorld, seconds, waitFor } from './support/exchange-world.js';

const pgUrl = process.env.PG_URL;
const alice = 'alice@contoso.test';
const bob = 'bob@contoso.test';
const timeoutMs = 2_000;

/**
 * Transient Exchange errors (docs/reliability.md, "Exchange faults"): HTTP 503, requests that time out and
 * ErrorServerBusy with BackOffMilliseconds. Each case switches the fault on for one mailbox while items are made in
 * it, measures from the emulator's request log and the connector's records how long the mailbox was away, and checks
 * that every item made meanwhile has exactly one row.
 */
describe.skipIf(!pgUrl)('Exchange faults: 503, time-outs, ErrorServerBusy (emulator, PostgreSQL)', () => {
  let world: ExchangeWorld;

  beforeAll(async () => {
    world = await exchangeWorld(pgUrl as string, { name: 'xtransient', mailboxes: [alice, bob] });
    const started = Date.now();
    await world.startConnector({ timeoutMs });
    for (const user of [alice, bob]) await world.liveAt(user, started);
  }, 60_000);
  afterAll(() => world?.close());

  it('n × HTTP 503: backs off, comes back, and every item made meanwhile arrives once', async () => {
    const n = 6;
    const since = Date.now();
    world.fault({ kind: 'httpStatus', status: 503, calls: n, mailbox: alice });
    const making = world.keepMaking(alice, '503', 150);
    const failed = await waitFor(
      () => {
        const answers = world.requests(alice, since).filter((r) => r.status === 503);
        return answers.length >= n ? answers : undefined;
      },
      backoffBound(n) + n * timeoutMs + 10_000,
      () => `fewer than ${n} answers were 503: ${JSON.stringify(world.requests(alice, since))}`,
    );
    const first = failed[0]?.at as number;
    const last = failed[n - 1]?.answeredAt as number;
    const live = await world.liveAt(alice, last);
    const items = [...making.stop(), world.make(alice, '503 after')];
    const result = await world.arrivals(alice, items);
    const offline = live - first;
    // Concurrent syncs of several item types can meet 503s together: one back-off then covers them all.
    const backoffs = world.records.filter(
      (r) => r.at >= since && r.at <= live && r.event === 'mailbox.backingOff' && r.user === alice,
    );
    console.log(
      `fault: ${n} × 503 (${backoffs.length} back-offs: ${backoffs.map((r) => seconds(Date.parse(String(r.nextRetryAt)) - r.at)).join(', ')}): offline ${seconds(offline)}, ${result.arrived}/${result.total} items, ${result.duplicates} duplicates`,
    );
    expect(result).toMatchObject({ arrived: items.length, duplicates: 0, missing: [] });
    // Documented bound: the back-offs of n failures in a row, plus the requests and the catch-up.
    expect(backoffs.length).toBeGreaterThanOrEqual(1);
    expect(backoffs.length).toBeLessThanOrEqual(n);
    expect(offline).toBeLessThan(backoffBound(backoffs.length) + 5_000);
    expect(world.emulator.admin.faults.list()).toEqual([]);
  }, 60_000);

  it('request time-outs: each is given up after exchange.timeoutMs and retried after the back-off', async () => {
    // Tasks only while the fault is on, so that one sync runs at a time, and the first request of each attempt
    // delayed (the sync, then connecting again twice): n attempts in a row time out. The other kinds follow after.
    const n = 3;
    const since = Date.now();
    world.fault({
      kind: 'latency',
      ms: 2 * timeoutMs,
      calls: n,
      mailbox: alice,
      operations: ['SyncFolderItems', 'GetFolder'],
    });
    const items = [world.make(alice, 'time-out', 'Task')];
    const slow = await waitFor(
      () => {
        const delayed = world.requests(alice, since).filter((r) => r.answeredAt - r.at >= 2 * timeoutMs - 50);
        return delayed.length >= n ? delayed : undefined;
      },
      n * 2 * timeoutMs + backoffBound(n) + 10_000,
      () => `fewer than ${n} delayed calls: ${JSON.stringify(world.requests(alice, since))}`,
    );
    items.push(world.make(alice, 'time-out', 'Task'));
    const first = slow[0]?.at as number;
    const live = await world.liveAt(alice, slow[n - 1]?.at as number);
    for (const kind of ['Contact', 'CalendarItem', 'Message', 'Task'] as const)
      items.push(world.make(alice, 'time-out after', kind));
    const result = await world.arrivals(alice, items);
    const offline = live - first;
    const timeouts = world.records.filter(
      (r) =>
        r.at >= since && r.event === 'mailbox.backingOff' && r.user === alice && hasCode(r, 'EXH_EXCHANGE_TIMEOUT'),
    ).length;
    console.log(
      `fault: ${n} × time-out (exchange.timeoutMs ${timeoutMs / 1000} s, ${slow.map((r) => r.operation).join(', ')}; ${timeouts} back-offs): offline ${seconds(offline)}, ${result.arrived}/${result.total} items, ${result.duplicates} duplicates`,
    );
    expect(result).toMatchObject({ arrived: items.length, duplicates: 0, missing: [] });
    // One back-off per attempt that timed out (fewer only if two requests of one attempt were delayed together).
    expect(timeouts).toBeGreaterThanOrEqual(1);
    expect(timeouts).toBeLessThanOrEqual(n);
    // Documented bound: n × exchange.timeoutMs and the back-offs of the failures, plus the catch-up.
    expect(offline).toBeLessThan(n * timeoutMs + backoffBound(timeouts) + 5_000);
  }, 60_000);

  it('ErrorServerBusy: the next request comes no earlier than BackOffMilliseconds, even above the ceiling', async () => {
    // 3 s asked for, 2 s the configured ceiling (retry.exchangeBackoff.maxMs): the server's wish wins.
    const backOffMs = 3_000;
    const since = Date.now();
    world.fault({ kind: 'serverBusy', backOffMs, calls: 2, mailbox: alice });
    const items = [world.make(alice, 'busy', 'Task')];
    const busy = await waitFor(
      () => {
        const answers = world.requests(alice, since).filter((r) => r.fault === 'ErrorServerBusy');
        return answers.length >= 2 ? answers : undefined;
      },
      2 * backOffMs + 10_000,
      () => `fewer than 2 ErrorServerBusy answers: ${JSON.stringify(world.requests(alice, since))}`,
    );
    items.push(world.make(alice, 'busy', 'Contact'));
    const live = await world.liveAt(alice, busy[1]?.answeredAt as number);
    items.push(world.make(alice, 'busy after', 'Task'));
    const result = await world.arrivals(alice, items);
    const log = world.requests(alice, since);
    const waits = busy.map((answer) => {
      const next = log.find((r) => r.at > answer.answeredAt);
      return { after: answer.operation, next: next?.operation, waitedMs: (next?.at ?? Number.NaN) - answer.answeredAt };
    });
    console.log(
      `fault: 2 × ErrorServerBusy (BackOffMilliseconds ${backOffMs}): next requests after ${waits
        .map((w) => `${seconds(w.waitedMs)} (${w.after} → ${w.next})`)
        .join(
          ', ',
        )}; offline ${seconds(live - (busy[0]?.at as number))}, ${result.arrived}/${result.total} items, ${result.duplicates} duplicates`,
    );
    for (const wait of waits) expect(wait.waitedMs).toBeGreaterThanOrEqual(backOffMs);
    expect(result).toMatchObject({ arrived: items.length, duplicates: 0, missing: [] });
  }, 60_000);
});

function hasCode(record: Record<string, unknown>, code: string): boolean {
  return (record.error as { code?: string } | undefined)?.code === code;
}
