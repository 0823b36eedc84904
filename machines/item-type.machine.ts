import { and, assign, enqueueActions, fromPromise, sendParent, setup } from 'xstate';
import type { ItemTypeName } from '../src/ports/database.port.js';
import { type Report, type SerializedError, serializeError } from './report.js';

export interface ItemTypeInput {
  user: string;
  itemType: ItemTypeName;
  watermark: string | null;
}

export interface ItemTypeContext extends ItemTypeInput {
  /** A notification came while a sync ran: one more sync follows, however many came (bursts coalesce). */
  pending: boolean;
  caughtUp: boolean;
  /** Changes applied to the database since this actor started. */
  applied: number;
  /** Changes whose procedure raised (recorded in exh_log). */
  failed: number;
  lastError: SerializedError | null;
}

export interface SyncOutput {
  watermark: string;
  applied: number;
  failed: number;
}

export type ItemTypeEvent = { type: 'sync.requested' };

/** What the item type tells its mailbox. */
export type ItemTypeReport =
  | { type: 'itemType.caughtUp'; itemType: ItemTypeName }
  | { type: 'itemType.progress'; itemType: ItemTypeName; watermark: string }
  | { type: 'itemType.failed'; itemType: ItemTypeName; error: SerializedError };

/**
 * One item type of one mailbox (calendar, contact, email, task): reads its folders' changes from the watermark on
 * (pages of changes through the Exchange port) and applies them to the database, page by page with the new watermark.
 * A notification only asks for another sync; what changed is always read from Exchange, so a lost notification loses
 * nothing.
 */
export const itemTypeMachine = setup({
  types: {
    input: {} as ItemTypeInput,
    context: {} as ItemTypeContext,
    events: {} as ItemTypeEvent,
  },
  actors: {
    /** Every page of every folder of this type from the watermark on; resolves with the last watermark written. */
    syncFolders: fromPromise<SyncOutput, ItemTypeInput>(async () => {
      throw new Error('item-type actor "syncFolders" not provided');
    }),
  },
  guards: {
    hasPending: ({ context }) => context.pending,
    isFirstSync: ({ context }) => !context.caughtUp,
  },
  actions: {
    report: (_, _params: Report) => {},
    markCaughtUp: enqueueActions(({ context, enqueue }) => {
      enqueue.assign({ caughtUp: true });
      enqueue.sendParent({ type: 'itemType.caughtUp', itemType: context.itemType });
    }),
  },
}).createMachine({
  id: 'itemType',
  context: ({ input }) => ({ ...input, pending: false, caughtUp: false, applied: 0, failed: 0, lastError: null }),
  initial: 'syncing',
  states: {
    syncing: {
      entry: assign({ pending: false }),
      invoke: {
        src: 'syncFolders',
        input: ({ context }) => ({ user: context.user, itemType: context.itemType, watermark: context.watermark }),
        onDone: {
          target: 'synced',
          actions: [
            assign({
              watermark: ({ event }) => event.output.watermark,
              applied: ({ context, event }) => context.applied + event.output.applied,
              failed: ({ context, event }) => context.failed + event.output.failed,
            }),
            sendParent(({ context }) => ({
              type: 'itemType.progress' as const,
              itemType: context.itemType,
              watermark: context.watermark ?? '',
            })),
          ],
        },
        onError: {
          target: 'failed',
          actions: [
            assign({ lastError: ({ event }) => serializeError(event.error) }),
            sendParent(({ context }) => ({
              type: 'itemType.failed' as const,
              itemType: context.itemType,
              error: context.lastError ?? serializeError(new Error('sync failed')),
            })),
          ],
        },
      },
      on: { 'sync.requested': { actions: assign({ pending: true }) } },
    },
    synced: {
      always: [
        {
          guard: and(['isFirstSync', 'hasPending']),
          target: 'syncing',
          actions: ['markCaughtUp', { type: 'report', params: ({ context }) => caughtUpReport(context) }],
        },
        {
          guard: 'isFirstSync',
          target: 'idle',
          actions: ['markCaughtUp', { type: 'report', params: ({ context }) => caughtUpReport(context) }],
        },
        { guard: 'hasPending', target: 'syncing' },
        { target: 'idle' },
      ],
    },
    idle: {
      on: { 'sync.requested': 'syncing' },
    },
    /** The mailbox backs off and starts its item types again; until then nothing happens here. */
    failed: {},
  },
});

function caughtUpReport(context: ItemTypeContext): Report {
  const failed = context.failed > 0 ? `, ${context.failed} failed (recorded in exh_log)` : '';
  return {
    category: 'A',
    event: 'itemType.caughtUp',
    message: `Caught up: ${context.applied} change${context.applied === 1 ? '' : 's'} applied${failed}`,
    applied: context.applied,
    failed: context.failed,
  };
}
