import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type ExchangeWorld,
  exchangeWorld,
  type Notifications,
  seconds,
  suiteBackoff,
} from './support/exchange-world.js';

const pgUrl = process.env.PG_URL;
const alice = 'alice@contoso.test';
const bob = 'bob@contoso.test';

/**
 * The EWS "minute" and the keep-alives shortened on both sides, as Exchange and exh scale them together
 * (docs/emulator.md: minuteMs, keepAliveMs; src/exchange/ews/tuning.ts): a keep-alive every 0.5 s, a stream silent
 * for 2 s is lost (4 keep-alives; Exchange's 30 s against exh's 90 s by default), a pull every 0.5 s, push status
 * events every "minute" of 1 s and a push subscription silent for two of them lost.
 */
const keepAliveMs = 500;
const tuning = { minuteMs: 1_000, streamSilenceMs: 2_000, pullIntervalMs: 500, pushStatusFrequencyMinutes: 1 };

/**
 * Notifications that stop (docs/reliability.md, "Exchange faults"): a streaming connection that goes silent without
 * closing, and subscriptions Exchange forgets (expired) for each kind of notification. What happened meanwhile is
 * read with SyncFolderItems from the watermark after subscribing again, so nothing is lost and nothing doubled.
 */
describe.skipIf(!pgUrl)('Exchange faults: stalled streams, expired subscriptions (emulator, PostgreSQL)', () => {
  let world: ExchangeWorld;
  let running: Notifications | undefined;

  /** The connector with `notifications`, all mailboxes live (started again only when the kind changes). */
  const connector = async (notifications: Notifications) => {
    if (running === notifications) return;
    await world.stopConnector();
    const started = Date.now();
    await world.startConnector({ notifications, tuning });
    for (const user of [alice, bob]) await world.liveAt(user, started);
    running = notifications;
  };

  beforeAll(async () => {
    world = await exchangeWorld(pgUrl as string, {
      name: 'xnotify',
      mailboxes: [alice, bob],
      emulator: { keepAliveMs, minuteMs: tuning.minuteMs },
    });
  }, 60_000);
  afterAll(() => world?.close());

  it('a stalled streaming connection is noticed within streamSilenceMs, resubscribed, and what changed meanwhile arrives', async () => {
    await connector('streaming');
    const stalledAt = Date.now();
    const stall = world.fault({ kind: 'stallStreaming', mailbox: alice });
    const making = world.keepMaking(alice, 'stall', 200);
    const noticed = await world.record(
      (r) =>
        r.event === 'mailbox.backingOff' &&
        r.user === alice &&
        (r.error as { code?: string } | undefined)?.code === 'EXH_EXCHANGE_TIMEOUT',
      stalledAt,
      tuning.streamSilenceMs + 10_000,
    );
    // The stall was that one connection's: the next one is healthy.
    world.emulator.admin.faults.remove(stall.id);
    const live = await world.liveAt(alice, noticed.at);
    const items = making.stop();
    // Live again: a change now arrives through the new subscription.
    const after = world.make(alice, 'stall after', 'Task');
    const result = await world.arrivals(alice, [...items, after]);
    console.log(
      `fault: stalled stream (keep-alive ${keepAliveMs / 1000} s, streamSilenceMs ${tuning.streamSilenceMs / 1000} s): noticed after ${seconds(noticed.at - stalledAt)}, live again after ${seconds(live - stalledAt)}, ${result.arrived}/${result.total} items, ${result.duplicates} duplicates`,
    );
    expect(result).toMatchObject({ arrived: items.length + 1, duplicates: 0, missing: [] });
    // Documented bound: noticed within streamSilenceMs of the last byte (which came before the stall), live again
    // after the first back-off and the catch-up.
    expect(noticed.at - stalledAt).toBeLessThan(tuning.streamSilenceMs + 2_000);
    expect(live - noticed.at).toBeLessThan(1.2 * suiteBackoff.firstMs + 5_000);
  }, 60_000);

  // How soon each kind notices that Exchange forgot its subscription: streaming at once (an error message on the
  // stream), pull at the next GetEvents, push after two StatusFrequency periods without a post.
  const noticeBound: Record<Notifications, number> = {
    streaming: 0,
    pull: tuning.pullIntervalMs,
    push: 2 * tuning.pushStatusFrequencyMinutes * tuning.minuteMs,
  };

  it.each(['streaming', 'pull', 'push'] as const)(
    'an expired %s subscription is noticed, replaced, and what changed meanwhile arrives',
    async (notifications) => {
      await connector(notifications);
      const expiredAt = Date.now();
      expect(world.emulator.admin.expireSubscriptions({ mailbox: alice, kind: notifications })).toBeGreaterThanOrEqual(
        1,
      );
      const making = world.keepMaking(alice, `expired ${notifications}`, 200);
      const noticed = await world.record(
        (r) =>
          r.event === 'mailbox.backingOff' &&
          r.user === alice &&
          (r.error as { code?: string } | undefined)?.code === 'EXH_EXCHANGE_SUBSCRIPTION_LOST',
        expiredAt,
        noticeBound[notifications] + 10_000,
      );
      const live = await world.liveAt(alice, noticed.at);
      const items = making.stop();
      const after = world.make(alice, `expired ${notifications} after`, 'Task');
      const result = await world.arrivals(alice, [...items, after]);
      console.log(
        `fault: expired ${notifications} subscription: noticed after ${seconds(noticed.at - expiredAt)}, live again after ${seconds(live - expiredAt)}, ${result.arrived}/${result.total} items, ${result.duplicates} duplicates`,
      );
      expect(result).toMatchObject({ arrived: items.length + 1, duplicates: 0, missing: [] });
      expect(noticed.at - expiredAt).toBeLessThan(noticeBound[notifications] + 2_000);
      expect(live - noticed.at).toBeLessThan(1.2 * suiteBackoff.firstMs + 5_000);
      // The other mailbox was not disturbed: still its one subscription of this kind. (An earlier connector's
      // subscriptions of another kind may linger until Exchange drops them: stopping does not wait for Unsubscribe.)
      const bobs = world.emulator.admin.subscriptions().filter((s) => s.mailbox === bob && s.kind === notifications);
      expect(bobs).toHaveLength(1);
    },
    60_000,
  );
});
