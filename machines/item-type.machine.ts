import { and, assign, enqueueActions, fromPromise, sendParent, setup } from 'xstate';
import type { ItemTypeName } from '../src/ports/database.port.js';
import type { FolderName } from '../src/ports/exchange.port.js';
import { type Report, type SerializedError, serializeError } from './report.js';

export interface ItemTypeInput {
  user: string;
  itemType: ItemTypeName;
  watermark: string | null;
}

/** The folders a sync reads: those notifications named, or all of the type's. */
export type FolderSelection = FolderName[] | 'all';

/** What the sync actor is given: the type's watermark, and the folders to read when not all of them. */
export interface SyncFoldersInput extends ItemTypeInput {
  folders?: FolderName[];
}

export interface ItemTypeContext extends ItemTypeInput {
  /** A notification came while a sync ran: one more sync follows, however many came (bursts coalesce). */
  pending: boolean;
  /** The folders the next sync reads: the union of those the notifications since the last one named. */
  next: FolderSelection;
  /** The folders the sync running now reads. */
  current: FolderSelection;
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

/** `folders`: the folders that changed (a notification says); absent: any of the type's may have. */
export type ItemTypeEvent = { type: 'sync.requested'; folders?: FolderName[] };

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
    syncFolders: fromPromise<SyncOutput, SyncFoldersInput>(async () => {
      throw new Error('item-type actor "syncFolders" not provided');
    }),
  },
  guards: {
    hasPending: ({ context }) => context.pending,
    isFirstSync: ({ context }) => !context.caughtUp,
  },
  actions: {
    report: (_, _params: Report) => {},
    /** A request joins the next sync's folders: a burst of notifications for several folders is one sync of them. */
    request: assign({
      pending: true,
      next: ({ context, event }) => selectFolders(context.next, event.folders),
    }),
    markCaughtUp: enqueueActions(({ context, enqueue }) => {
      enqueue.assign({ caughtUp: true });
      enqueue.sendParent({ type: 'itemType.caughtUp', itemType: context.itemType });
    }),
  },
}).createMachine({
  id: 'itemType',
  context: ({ input }) => ({
    ...input,
    pending: false,
    // The first sync catches every folder up.
    next: 'all',
    current: 'all',
    caughtUp: false,
    applied: 0,
    failed: 0,
    lastError: null,
  }),
  initial: 'syncing',
  states: {
    syncing: {
      entry: assign({ pending: false, current: ({ context }) => context.next, next: () => [] }),
      invoke: {
        src: 'syncFolders',
        input: ({ context }) => ({
          user: context.user,
          itemType: context.itemType,
          watermark: context.watermark,
          ...(context.current === 'all' ? {} : { folders: context.current }),
        }),
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
      on: { 'sync.requested': { actions: 'request' } },
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
      on: { 'sync.requested': { target: 'syncing', actions: 'request' } },
    },
    /** The mailbox backs off and starts its item types again; until then nothing happens here. */
    failed: {},
  },
});

/** The folders to read after a request for `folders` (none named: all of them). */
export function selectFolders(selected: FolderSelection, folders: readonly FolderName[] | undefined): FolderSelection {
  if (selected === 'all' || folders === undefined) return 'all';
  return [...new Set([...selected, ...folders])];
}

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
