import { describe, expect, it, vi } from 'vitest';
import {
  type AnyActorRef,
  assign,
  createActor,
  fromCallback,
  fromPromise,
  SimulatedClock,
  setup,
  waitFor,
} from 'xstate';
import { itemTypeMachine, type SyncFoldersInput, type SyncOutput } from '../../machines/item-type.machine.js';
import { type ConnectOutput, type MailboxEvent, mailboxMachine } from '../../machines/mailbox.machine.js';
import type { Report, SerializedError } from '../../machines/report.js';
import type { ItemTypeName } from '../../src/ports/database.port.js';
import type { FolderName } from '../../src/ports/exchange.port.js';
import { folderNames } from '../../src/ports/item-properties.js';
import { registration } from './helpers.js';

interface PendingSync {
  itemType: ItemTypeName;
  watermark: string | null;
  /** The folders the sync reads; undefined: all of the type's. */
  folders: FolderName[] | undefined;
  finish: (output: Partial<SyncOutput>) => void;
  fail: (error: unknown) => void;
}

/**
 * A mailbox whose effects are scripted by the test (Exchange and the database are exercised for real in test/e2e):
 * `connect` answers from a list, the subscription's `sendBack` is handed to the test, every sync waits for the test,
 * and each back-off's jitter is the next of `jitters` (0.5, the nominal wait, once they run out).
 */
function scriptedMailbox(
  connectOutcomes: Array<'ok' | Error> = [],
  jitters: number[] = [],
  served: readonly FolderName[] = folderNames,
) {
  const reports: Report[] = [];
  const syncs: PendingSync[] = [];
  const disabled: string[] = [];
  const subscription: {
    emit?: (event: MailboxEvent) => void;
    opened: number;
    closed: number;
    folders?: FolderName[];
  } = {
    opened: 0,
    closed: 0,
  };
  const machine = mailboxMachine.provide({
    actions: {
      report: (_, params) => void reports.push(params),
      drawJitter: assign({ jitter: () => jitters.shift() ?? 0.5 }),
    },
    actors: {
      connect: fromPromise<ConnectOutput, { user: string }>(async () => {
        const outcome = connectOutcomes.shift() ?? 'ok';
        if (outcome instanceof Error) throw outcome;
        return { endpoint: 'https://mail.contoso.test/EWS/Exchange.asmx', folders: served };
      }),
      subscription: fromCallback<MailboxEvent, { user: string; folders: FolderName[] }>(({ sendBack, input }) => {
        subscription.opened += 1;
        subscription.folders = input.folders;
        subscription.emit = sendBack;
        return () => {
          subscription.closed += 1;
        };
      }),
      recordDisabled: fromPromise<void, { user: string; error: SerializedError | null }>(
        async ({ input }) => void disabled.push(input.user),
      ),
      itemType: itemTypeMachine.provide({
        actors: {
          syncFolders: fromPromise<SyncOutput, SyncFoldersInput>(
            ({ input }) =>
              new Promise((resolve, reject) =>
                syncs.push({
                  itemType: input.itemType,
                  watermark: input.watermark,
                  folders: input.folders,
                  finish: (output) => resolve({ watermark: input.watermark ?? '', applied: 0, failed: 0, ...output }),
                  fail: reject,
                }),
              ),
          ),
        },
      }),
    },
  });
  return { machine, reports, syncs, disabled, subscription };
}

const exchangeError = (code: string, extra: Record<string, unknown> = {}) =>
  Object.assign(new Error(`${code} from Exchange`), { code, retryable: !code.includes('NOT_FOUND'), ...extra });

async function settle(actor: AnyActorRef, predicate: (snapshot: ReturnType<typeof actor.getSnapshot>) => boolean) {
  await waitFor(actor, predicate, { timeout: 2_000 });
}

/** Item-type children change no state of the mailbox when they start a sync, so the test watches the script. */
function untilSyncs(syncs: PendingSync[], count: number) {
  return vi.waitFor(() => expect(syncs).toHaveLength(count), { timeout: 2_000 });
}

const alice = { ...registration('alice@contoso.test'), maxPermanentFailures: 3 };

describe('mailbox machine', () => {
  it('subscribes before it catches up, catches up every enabled type, then is live', async () => {
    const { machine, reports, syncs, subscription } = scriptedMailbox();
    const actor = createActor(machine, { input: alice, clock: new SimulatedClock() }).start();
    await settle(actor, (s) => s.matches({ connected: 'subscribing' }));
    expect(syncs).toHaveLength(0);
    subscription.emit?.({ type: 'subscription.ready' });
    await settle(actor, (s) => s.matches({ connected: 'catchingUp' }));
    expect(syncs.map((s) => s.itemType).sort()).toEqual(['calendar', 'email']);
    syncs[0]?.finish({});
    expect(actor.getSnapshot().matches({ connected: 'catchingUp' })).toBe(true);
    syncs[1]?.finish({});
    await settle(actor, (s) => s.matches({ connected: 'live' }));
    expect(reports.find((r) => r.event === 'mailbox.live')?.category).toBe('A');
  });

  it('leaves out an enabled type whose folders the backend does not reach, and says so once as a warning', async () => {
    const { machine, reports, syncs, subscription } = scriptedMailbox([], [], ['inbox', 'sentitems', 'drafts']);
    const actor = createActor(machine, { input: alice, clock: new SimulatedClock() }).start();
    await settle(actor, (s) => s.matches({ connected: 'subscribing' }));
    expect(subscription.folders).toEqual(['inbox', 'sentitems']);
    subscription.emit?.({ type: 'subscription.ready' });
    await settle(actor, (s) => s.matches({ connected: 'catchingUp' }));
    expect(syncs.map((s) => s.itemType)).toEqual(['email']);
    syncs[0]?.finish({});
    await settle(actor, (s) => s.matches({ connected: 'live' }));
    const unserved = reports.filter((r) => r.event === 'mailbox.typesUnserved');
    expect(unserved).toHaveLength(1);
    expect(unserved[0]).toMatchObject({ category: 'W', unserved: ['calendar'] });
    expect(unserved[0]?.message).toContain('calendar (calendar)');
  });

  it('turns a burst of notifications during a sync into exactly one more sync of that type and its folders only', async () => {
    const { machine, syncs, subscription } = scriptedMailbox();
    const actor = createActor(machine, { input: alice, clock: new SimulatedClock() }).start();
    await settle(actor, (s) => s.matches({ connected: 'subscribing' }));
    subscription.emit?.({ type: 'subscription.ready' });
    await untilSyncs(syncs, 2);
    // Catching up reads every folder.
    expect(syncs.map((sync) => sync.folders)).toEqual([undefined, undefined]);
    for (const sync of syncs) sync.finish({});
    await settle(actor, (s) => s.matches({ connected: 'live' }));

    subscription.emit?.({ type: 'subscription.changed', folders: ['inbox'] });
    expect(syncs).toHaveLength(3);
    // E-mail has two folders; the notification named one, and only that one is read.
    expect(syncs[2]).toMatchObject({ itemType: 'email', folders: ['inbox'] });
    for (let i = 0; i < 5; i++) subscription.emit?.({ type: 'subscription.changed', folders: ['sentitems', 'inbox'] });
    expect(syncs).toHaveLength(3);
    syncs[2]?.finish({ watermark: '{"inbox":"s3"}' });
    await untilSyncs(syncs, 4);
    expect(syncs[3]).toMatchObject({ itemType: 'email', watermark: '{"inbox":"s3"}', folders: ['sentitems', 'inbox'] });
    syncs[3]?.finish({});
    await new Promise((resolve) => setImmediate(resolve));
    expect(syncs).toHaveLength(4);
  });

  it('backs off for at least what Exchange asked after a lost subscription, and resumes from the newest watermark', async () => {
    const clock = new SimulatedClock();
    const { machine, syncs, subscription, reports } = scriptedMailbox();
    const actor = createActor(machine, { input: alice, clock }).start();
    await settle(actor, (s) => s.matches({ connected: 'subscribing' }));
    subscription.emit?.({ type: 'subscription.ready' });
    await untilSyncs(syncs, 2);
    syncs.find((s) => s.itemType === 'calendar')?.finish({ watermark: '{"calendar":"c7"}' });
    syncs.find((s) => s.itemType === 'email')?.finish({});
    await settle(actor, (s) => s.matches({ connected: 'live' }));

    subscription.emit?.({
      type: 'subscription.lost',
      error: { code: 'EXH_EXCHANGE_THROTTLED', message: 'ErrorServerBusy', retryable: true, backOffMs: 120_000 },
    });
    await settle(actor, (s) => s.matches('backingOff'));
    expect(subscription.closed).toBe(1);
    expect(reports.find((r) => r.event === 'mailbox.backingOff')).toMatchObject({ category: 'W', retryInMs: 120_000 });
    clock.increment(119_999);
    expect(actor.getSnapshot().matches('backingOff')).toBe(true);
    clock.increment(1);
    await settle(actor, (s) => s.matches({ connected: 'subscribing' }));
    subscription.emit?.({ type: 'subscription.ready' });
    await untilSyncs(syncs, 4);
    expect(syncs.slice(2).find((s) => s.itemType === 'calendar')?.watermark).toBe('{"calendar":"c7"}');
  });

  it('is disabled after repeated permanent errors, tells its supervisor, writes exh_log, and tries no more', async () => {
    const clock = new SimulatedClock();
    const notFound = () => exchangeError('EXH_EXCHANGE_MAILBOX_NOT_FOUND');
    const { machine, reports, disabled } = scriptedMailbox([notFound(), notFound(), notFound()]);
    // A stand-in for the mailboxes supervisor, which hears `mailbox.disabled`.
    const told: string[] = [];
    const parent = createActor(
      setup({ actors: { mailbox: machine } }).createMachine({
        invoke: { id: 'mailbox', src: 'mailbox', input: alice },
        on: {
          'mailbox.disabled': { actions: ({ event }) => void told.push((event as unknown as { user: string }).user) },
        },
      }),
      { clock },
    ).start();
    const actor = parent.getSnapshot().children.mailbox as AnyActorRef;
    for (let attempt = 1; attempt < 3; attempt++) {
      await settle(actor, (s) => s.matches('backingOff'));
      clock.increment(5 * 60_000);
    }
    await settle(actor, (s) => s.matches('disabled'));
    await vi.waitFor(() => expect(disabled).toEqual(['alice@contoso.test']));
    expect(told).toEqual(['alice@contoso.test']);
    expect(reports.find((r) => r.event === 'mailbox.disabled')).toMatchObject({ category: 'E' });
    clock.increment(60 * 60_000);
    expect(actor.getSnapshot().matches('disabled')).toBe(true);
  });

  it('backs off when an item type fails, and starts the item types again from their newest watermark', async () => {
    const clock = new SimulatedClock();
    const { machine, syncs, subscription } = scriptedMailbox();
    const actor = createActor(machine, { input: alice, clock }).start();
    await settle(actor, (s) => s.matches({ connected: 'subscribing' }));
    subscription.emit?.({ type: 'subscription.ready' });
    await untilSyncs(syncs, 2);
    syncs.find((s) => s.itemType === 'email')?.fail(exchangeError('EXH_EXCHANGE_TIMEOUT'));
    await settle(actor, (s) => s.matches('backingOff'));
    expect(subscription.closed).toBe(1);
    clock.increment(actor.getSnapshot().context.backoffMs);
    await settle(actor, (s) => s.matches({ connected: 'subscribing' }));
  });

  it('a subscription lost during catch-up backs off and stops the item types that were catching up', async () => {
    const clock = new SimulatedClock();
    const { machine, syncs, subscription } = scriptedMailbox();
    const actor = createActor(machine, { input: alice, clock }).start();
    await settle(actor, (s) => s.matches({ connected: 'subscribing' }));
    subscription.emit?.({ type: 'subscription.ready' });
    await untilSyncs(syncs, 2);
    subscription.emit?.({
      type: 'subscription.lost',
      error: { code: 'EXH_EXCHANGE_SUBSCRIPTION_LOST', message: 'expired', retryable: true },
    });
    await settle(actor, (s) => s.matches('backingOff'));
    expect(Object.keys(actor.getSnapshot().children)).toEqual([]);
  });

  it('backs off (not disabled) on retryable errors however many: 1, 2, 4 … s, never more than a minute', async () => {
    const clock = new SimulatedClock();
    const busy = () => exchangeError('EXH_EXCHANGE_UNAVAILABLE');
    const { machine } = scriptedMailbox(Array.from({ length: 9 }, busy));
    const actor = createActor(machine, { input: alice, clock }).start();
    const delays: number[] = [];
    for (let attempt = 1; attempt <= 9; attempt++) {
      await settle(actor, (s) => s.matches('backingOff'));
      delays.push(actor.getSnapshot().context.backoffMs);
      clock.increment(actor.getSnapshot().context.backoffMs);
    }
    // Six transient errors in a row cost about a minute (they cost 167 s with a 5 s first wait and no ceiling).
    expect(delays).toEqual([1, 2, 4, 8, 16, 32, 60, 60, 60].map((s) => s * 1_000));
    expect(actor.getSnapshot().context.permanentFailures).toBe(0);
    await settle(actor, (s) => s.matches({ connected: 'subscribing' }));
  });

  it('jitters each back-off by ±20 % with the number its composition root draws, never above the ceiling', async () => {
    const clock = new SimulatedClock();
    const busy = () => exchangeError('EXH_EXCHANGE_UNAVAILABLE');
    const { machine } = scriptedMailbox(Array.from({ length: 4 }, busy), [0, 1, 0.25, 1]);
    const input = { ...alice, backoff: { firstMs: 1_000, maxMs: 7_000 } };
    const actor = createActor(machine, { input, clock }).start();
    const delays: number[] = [];
    for (let attempt = 1; attempt <= 4; attempt++) {
      await settle(actor, (s) => s.matches('backingOff') && s.context.attempt === attempt);
      delays.push(actor.getSnapshot().context.backoffMs);
      clock.increment(actor.getSnapshot().context.backoffMs);
    }
    // 1 s × 0.8, 2 s × 1.2, 4 s × 0.9, 8 s × 1.2 capped at the ceiling of 7 s.
    expect(delays).toEqual([800, 2_400, 3_600, 7_000]);
  });

  it('is disabled only by the codes the catalogue marks permanent, not by any error that is not retryable', async () => {
    const clock = new SimulatedClock();
    // Not retryable, and not the mailbox's fault: one bad request must never disable a mailbox.
    const refused = () => exchangeError('EXH_EXCHANGE_REQUEST_FAILED', { retryable: false });
    const { machine } = scriptedMailbox([refused(), refused(), refused(), refused()]);
    const actor = createActor(machine, { input: alice, clock }).start();
    for (let attempt = 1; attempt <= 4; attempt++) {
      await settle(actor, (s) => s.matches('backingOff') && s.context.attempt === attempt);
      expect(actor.getSnapshot().context.permanentFailures).toBe(0);
      clock.increment(actor.getSnapshot().context.backoffMs);
    }
    await settle(actor, (s) => s.matches({ connected: 'subscribing' }));
  });

  it("honours Exchange's BackOffMilliseconds above the ceiling, and a configured retry.exchangeBackoff", async () => {
    const clock = new SimulatedClock();
    const busy = exchangeError('EXH_EXCHANGE_THROTTLED', { backOffMs: 120_000 });
    const { machine } = scriptedMailbox([busy, exchangeError('EXH_EXCHANGE_UNAVAILABLE')]);
    const input = { ...alice, backoff: { firstMs: 250, maxMs: 2_000 } };
    const actor = createActor(machine, { input, clock }).start();
    await settle(actor, (s) => s.matches('backingOff'));
    expect(actor.getSnapshot().context.backoffMs).toBe(120_000);
    clock.increment(119_999);
    expect(actor.getSnapshot().matches('backingOff')).toBe(true);
    clock.increment(1);
    await settle(actor, (s) => s.matches('backingOff') && s.context.attempt === 2);
    const second = actor.getSnapshot().context.backoffMs;
    expect(second).toBeGreaterThanOrEqual(400);
    expect(second).toBeLessThanOrEqual(600);
  });
});
