import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type ExchangeWorld, exchangeWorld, type MadeItem, waitFor } from '../../../faults/support/exchange-world.js';

const pgUrl = process.env.PG_URL;
const alice = 'alice@contoso.test';

/**
 * A mailbox's streaming subscribe resolves when Exchange answers Subscribe, before its group's stream opens
 * (src/exchange/ews/subscriptions/groups.ts; docs/exchange-on-premises.md, "Streaming at scale"): the catch-up starts
 * at once, what changes before the stream opens waits in the subscription at Exchange, and a stream that fails is a
 * lost event that makes the mailbox back off as Exchange asked. The real runtime, the emulator over HTTP and the
 * PostgreSQL server.
 */
describe.skipIf(!pgUrl)('streaming subscribe and the catch-up (emulator, PostgreSQL)', () => {
  let world: ExchangeWorld;

  beforeAll(async () => {
    world = await exchangeWorld(pgUrl as string, { name: 'subwindow', mailboxes: [alice] });
  }, 60_000);
  afterEach(() => world?.stopConnector());
  afterAll(() => world?.close());

  it('catches up before the stream opens; an item made after the catch-up and before the stream reaches the database once', async () => {
    const before: MadeItem[] = [world.make(alice, 'before', 'Task'), world.make(alice, 'before', 'CalendarItem')];
    const started = Date.now();
    // A stream that opens 5 s after the subscribe: long enough for this small catch-up, even on a loaded machine.
    await world.startConnector({ tuning: { streamRegroupMs: 5_000 } });
    await world.liveAt(alice, started);
    expect(world.emulator.admin.streamingConnections()).toEqual([]);
    const window = (['Task', 'Contact', 'CalendarItem', 'Message'] as const).map((kind) =>
      world.make(alice, 'window', kind),
    );
    // Made while no stream carried the subscription: only its events, kept at Exchange, bring these.
    expect(world.emulator.admin.streamingConnections()).toEqual([]);
    const result = await world.arrivals(alice, [...before, ...window]);
    expect(result).toMatchObject({ arrived: before.length + window.length, duplicates: 0, missing: [] });
    expect(world.emulator.admin.streamingConnections()).toHaveLength(1);
    expect(world.records.filter((r) => r.event === 'mailbox.backingOff')).toEqual([]);
  }, 60_000);

  it('a throttled first stream makes the mailbox back off for BackOffMilliseconds, then it streams again', async () => {
    // Above the suite's ceiling of 2 s (retry.exchangeBackoff.maxMs): Exchange's wish wins.
    const backOffMs = 3_000;
    world.fault({ kind: 'serverBusy', backOffMs, calls: 1, operations: ['GetStreamingEvents'] });
    const started = Date.now();
    await world.startConnector({ tuning: { streamRegroupMs: 50 } });
    const backingOff = await world.record((r) => r.event === 'mailbox.backingOff' && r.user === alice, started, 20_000);
    expect(backingOff).toMatchObject({ error: { code: 'EXH_EXCHANGE_THROTTLED' } });
    // nextRetryAt is stamped a moment before the record's arrival (`at`).
    expect(Date.parse(String(backingOff.nextRetryAt)) - backingOff.at).toBeGreaterThan(backOffMs - 50);
    const busy = world.requests(alice, started).find((r) => r.fault === 'ErrorServerBusy');
    expect(busy?.operation).toBe('GetStreamingEvents');
    // Nothing for the mailbox until the back-off is over (not even the Unsubscribe of the subscription it closes);
    // then it subscribes again, and is carried by a stream.
    const again = await waitFor(
      () =>
        world
          .requests(alice, started)
          .filter((r) => r.operation === 'Subscribe')
          .at(1),
      backOffMs + 20_000,
      () => `no second Subscribe: ${JSON.stringify(world.requests(alice, started).map((r) => r.operation))}`,
    );
    const answeredAt = busy?.answeredAt ?? Number.NaN;
    const next = world.requests(alice, answeredAt + 1)[0];
    expect(next?.at).toBeLessThanOrEqual(again.at);
    // Which request came first after the busy answer, and after how long (both in the message if it fails).
    expect({ next: next?.operation, early: (next?.at ?? Number.NaN) - answeredAt < backOffMs }).toEqual({
      next: next?.operation,
      early: false,
    });
    const item = world.make(alice, 'after the back-off', 'Task');
    expect(await world.arrivals(alice, [item])).toMatchObject({ arrived: 1, duplicates: 0, missing: [] });
    await waitFor(
      () => (world.emulator.admin.streamingConnections().length === 1 ? true : undefined),
      5_000,
      () => 'no stream after the back-off',
    );
  }, 60_000);
});
