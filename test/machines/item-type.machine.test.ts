import { describe, expect, it, vi } from 'vitest';
import { type AnyActorRef, createActor, fromPromise, setup, waitFor } from 'xstate';
import {
  type ItemTypeReport,
  itemTypeMachine,
  type SyncFoldersInput,
  type SyncOutput,
  selectFolders,
} from '../../machines/item-type.machine.js';
import type { Report } from '../../machines/report.js';

interface PendingSync {
  watermark: string | null;
  folders: string[] | undefined;
  finish: (output: Partial<SyncOutput>) => void;
  fail: (error: unknown) => void;
}

/**
 * The item type under a stand-in for its mailbox, which keeps what it is told; every sync waits for the test (the
 * real sync is tested in test/sync/ and test/mailbox/).
 */
function scriptedItemType(watermark: string | null = '{"calendar":"s0"}') {
  const syncs: PendingSync[] = [];
  const reports: Report[] = [];
  const told: ItemTypeReport[] = [];
  const itemType = itemTypeMachine.provide({
    actions: { report: (_, params) => void reports.push(params) },
    actors: {
      syncFolders: fromPromise<SyncOutput, SyncFoldersInput>(
        ({ input }) =>
          new Promise((resolve, reject) =>
            syncs.push({
              watermark: input.watermark,
              folders: input.folders,
              finish: (output) => resolve({ watermark: input.watermark ?? '', applied: 0, failed: 0, ...output }),
              fail: reject,
            }),
          ),
      ),
    },
  });
  const mailbox = setup({ types: { events: {} as ItemTypeReport }, actors: { itemType } }).createMachine({
    invoke: { id: 'itemType', src: 'itemType', input: { user: 'alice@contoso.test', itemType: 'calendar', watermark } },
    on: {
      'itemType.caughtUp': { actions: ({ event }) => void told.push(event) },
      'itemType.progress': { actions: ({ event }) => void told.push(event) },
      'itemType.failed': { actions: ({ event }) => void told.push(event) },
    },
  });
  const parent = createActor(mailbox).start();
  const actor = parent.getSnapshot().children.itemType as AnyActorRef;
  return { actor, syncs, reports, told };
}

const untilSyncs = (syncs: PendingSync[], count: number) =>
  vi.waitFor(() => expect(syncs).toHaveLength(count), { timeout: 2_000 });

describe('item-type machine', () => {
  it('syncs from its watermark, tells its mailbox the new watermark, and is caught up once', async () => {
    const { actor, syncs, reports, told } = scriptedItemType();
    await untilSyncs(syncs, 1);
    expect(syncs[0]?.watermark).toBe('{"calendar":"s0"}');
    syncs[0]?.finish({ watermark: '{"calendar":"s1"}', applied: 3, failed: 1 });
    await waitFor(actor, (s) => s.matches('idle'));
    expect(told).toEqual([
      { type: 'itemType.progress', itemType: 'calendar', watermark: '{"calendar":"s1"}' },
      { type: 'itemType.caughtUp', itemType: 'calendar' },
    ]);
    expect(reports).toEqual([
      expect.objectContaining({
        category: 'A',
        event: 'itemType.caughtUp',
        message: 'Caught up: 3 changes applied, 1 failed (recorded in exh_log)',
      }),
    ]);

    // A notification later: one more sync from the newest watermark; caught up is not said again.
    actor.send({ type: 'sync.requested' });
    await untilSyncs(syncs, 2);
    expect(syncs[1]?.watermark).toBe('{"calendar":"s1"}');
    syncs[1]?.finish({ watermark: '{"calendar":"s2"}', applied: 1 });
    await waitFor(actor, (s) => s.matches('idle') && s.context.watermark === '{"calendar":"s2"}');
    expect(actor.getSnapshot().context).toMatchObject({ applied: 4, failed: 1, caughtUp: true });
    expect(told.filter((event) => event.type === 'itemType.caughtUp')).toHaveLength(1);
  });

  it('turns a burst of notifications during a sync into exactly one more sync, after catching up', async () => {
    const { actor, syncs, told } = scriptedItemType();
    await untilSyncs(syncs, 1);
    for (let i = 0; i < 5; i++) actor.send({ type: 'sync.requested' });
    expect(actor.getSnapshot().context.pending).toBe(true);
    syncs[0]?.finish({ watermark: '{"calendar":"s1"}' });
    await untilSyncs(syncs, 2);
    expect(told.map((event) => event.type)).toEqual(['itemType.progress', 'itemType.caughtUp']);
    expect(actor.getSnapshot().context.pending).toBe(false);
    syncs[1]?.finish({});
    await waitFor(actor, (s) => s.matches('idle'));
    await new Promise((resolve) => setImmediate(resolve));
    expect(syncs).toHaveLength(2);
  });

  it('reads only the folders the notifications named, their union after a burst, and all when one names none', async () => {
    const { actor, syncs } = scriptedItemType();
    await untilSyncs(syncs, 1);
    expect(syncs[0]?.folders).toBeUndefined();
    syncs[0]?.finish({});
    await waitFor(actor, (s) => s.matches('idle'));

    actor.send({ type: 'sync.requested', folders: ['inbox'] });
    await untilSyncs(syncs, 2);
    expect(syncs[1]?.folders).toEqual(['inbox']);
    actor.send({ type: 'sync.requested', folders: ['sentitems'] });
    actor.send({ type: 'sync.requested', folders: ['inbox', 'sentitems'] });
    syncs[1]?.finish({});
    await untilSyncs(syncs, 3);
    expect(syncs[2]?.folders).toEqual(['sentitems', 'inbox']);
    actor.send({ type: 'sync.requested', folders: ['inbox'] });
    actor.send({ type: 'sync.requested' });
    syncs[2]?.finish({});
    await untilSyncs(syncs, 4);
    expect(syncs[3]?.folders).toBeUndefined();
    syncs[3]?.finish({});
    await waitFor(actor, (s) => s.matches('idle'));
    expect(actor.getSnapshot().context.next).toEqual([]);
    expect(selectFolders('all', ['inbox'])).toBe('all');
  });

  it('tells its mailbox why a sync failed, as plain data, and does nothing more until the mailbox restarts it', async () => {
    const { actor, syncs, told } = scriptedItemType(null);
    await untilSyncs(syncs, 1);
    syncs[0]?.fail(Object.assign(new Error('Exchange is busy'), { code: 'EXH_EXCHANGE_THROTTLED', retryable: true }));
    await waitFor(actor, (s) => s.matches('failed'));
    expect(told).toEqual([
      {
        type: 'itemType.failed',
        itemType: 'calendar',
        error: { code: 'EXH_EXCHANGE_THROTTLED', message: 'Exchange is busy', retryable: true },
      },
    ]);
    expect(JSON.parse(JSON.stringify(actor.getSnapshot().context.lastError))).toEqual(
      actor.getSnapshot().context.lastError,
    );
    actor.send({ type: 'sync.requested' });
    await new Promise((resolve) => setImmediate(resolve));
    expect(syncs).toHaveLength(1);
    expect(actor.getSnapshot().matches('failed')).toBe(true);
  });

  it('says a bug is a bug: an uncoded failure travels as EXH_INTERNAL, not retryable', async () => {
    const { actor, syncs, told } = scriptedItemType();
    await untilSyncs(syncs, 1);
    syncs[0]?.fail(new TypeError("Cannot read properties of undefined (reading 'id')"));
    await waitFor(actor, (s) => s.matches('failed'));
    expect(told[0]).toMatchObject({ type: 'itemType.failed', error: { code: 'EXH_INTERNAL', retryable: false } });
  });
});
