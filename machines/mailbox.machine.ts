import { assign, enqueueActions, fromCallback, fromPromise, sendParent, setup } from 'xstate';
import { isPermanent } from '../src/errors.js';
import type { ItemTypeName, UserRegistration } from '../src/ports/database.port.js';
import type { FolderName } from '../src/ports/exchange.port.js';
import { type BackoffPolicy, backoffDelay, defaultExchangeBackoff } from '../src/sync/decisions/backoff.js';
import { foldersOf, itemTypeOfFolder } from '../src/sync/decisions/folders.js';
import { type ItemTypeReport, itemTypeMachine } from './item-type.machine.js';
import { type Report, type SerializedError, serializeError } from './report.js';

export interface MailboxInput extends UserRegistration {
  /** Permanent errors (unknown mailbox, impersonation denied) in a row before the mailbox is disabled. */
  maxPermanentFailures: number;
  /** The wait after a transient Exchange error (`retry.exchangeBackoff`); Exchange may ask for more (`backOffMs`). */
  backoff?: BackoffPolicy;
}

export interface MailboxContext extends MailboxInput {
  /** The mailbox's EWS (or Graph) endpoint once discovered. */
  endpoint: string | null;
  /**
   * The folders the mailbox's backend reaches (ExchangeCapabilities.folders), once connected; null before. An enabled
   * type living in a folder outside them is not synchronised for this mailbox (and said so once per connection).
   */
  served: FolderName[] | null;
  lastError: SerializedError | null;
  /** Failed attempts since the mailbox was last live; drives the back-off. */
  attempt: number;
  permanentFailures: number;
  backoffMs: number;
  /** A number in [0, 1) for the jitter of the next back-off, drawn by the `drawJitter` action before each failure. */
  jitter: number;
  caughtUp: ItemTypeName[];
}

export type MailboxEvent =
  | { type: 'subscription.ready' }
  | { type: 'subscription.changed'; folders: FolderName[] }
  | { type: 'subscription.lost'; error: SerializedError }
  | { type: 'mailbox.failed'; error: SerializedError }
  | ItemTypeReport;

export const itemTypeId = (itemType: ItemTypeName) => `itemType:${itemType}`;

/**
 * One Exchange user: discovering (the backend finds where the mailbox is served) → connected: subscribing →
 * catchingUp → live.
 * The subscription comes first, so a change made during catch-up still wakes a sync afterwards. Expected failures
 * back off (exponential, jittered, never shorter than the pause Exchange asked for) and start again from
 * discovering; permanent ones disable the mailbox after `maxPermanentFailures` (logged E and written to exh_log).
 * A bug crashes the actor on purpose, and the mailboxes supervisor decides on a restart.
 */
export const mailboxMachine = setup({
  types: {
    input: {} as MailboxInput,
    context: {} as MailboxContext,
    events: {} as MailboxEvent,
  },
  actors: {
    itemType: itemTypeMachine,
    /**
     * Finds the mailbox's endpoint and opens a connection acting as the user; resolves with the endpoint and the
     * folders its backend reaches.
     */
    connect: fromPromise<ConnectOutput, { user: string; backend?: string }>(async () => {
      throw new Error('mailbox actor "connect" not provided');
    }),
    /** The mailbox's one subscription for the folders of its enabled types: ready / changed / lost. */
    subscription: fromCallback<MailboxEvent, { user: string; folders: FolderName[] }>(() => {
      throw new Error('mailbox actor "subscription" not provided');
    }),
    /**
     * Lives as long as `connected`: its cleanup takes the mailbox's connection out of the registry, so that outbox
     * rows wait and requests get 522 while the mailbox backs off, is disabled or is removed. A callback actor and not
     * an exit action because xstate runs no exit actions when an actor is stopped, and children are always stopped.
     */
    holdConnection: fromCallback<MailboxEvent, { user: string }>(() => () => {}),
    /** Writes the reason a mailbox was disabled into exh_log, so the application sees it. */
    recordDisabled: fromPromise<void, { user: string; error: SerializedError | null }>(async () => {}),
  },
  guards: {
    isPermanentLimit: ({ context }, params: { error: unknown }) =>
      isPermanent(serializeError(params.error)) && context.permanentFailures + 1 >= context.maxPermanentFailures,
    allCaughtUp: ({ context }) => enabledTypes(context).every((type) => context.caughtUp.includes(type)),
  },
  delays: {
    backoff: ({ context }) => context.backoffMs,
  },
  actions: {
    report: (_, _params: Report) => {},
    /**
     * Sets `jitter` for the next back-off. Randomness is an effect: the composition root draws it (src/runtime.ts),
     * tests choose it; a machine without it is not wired.
     */
    drawJitter: (_, _params: undefined) => {
      throw new Error('mailbox action "drawJitter" not provided');
    },
    // Whether a failure is permanent is the error catalogue's to say (src/errors.ts, isPermanent).
    recordFailure: assign(({ context }, params: { error: unknown }) => {
      const error = serializeError(params.error);
      const attempt = context.attempt + 1;
      return {
        lastError: error,
        attempt,
        permanentFailures: isPermanent(error) ? context.permanentFailures + 1 : 0,
        backoffMs: backoffDelay(attempt, error.backOffMs, context.jitter, context.backoff ?? defaultExchangeBackoff),
      };
    }),
    startItemTypes: enqueueActions(({ context, enqueue }) => {
      for (const itemType of enabledTypes(context)) {
        enqueue.spawnChild('itemType', {
          id: itemTypeId(itemType),
          input: { user: context.user, itemType, watermark: context.watermarks[itemType] ?? null },
        });
      }
    }),
    // Spawned children outlive the state that spawned them unless stopped: connected owns them.
    stopItemTypes: enqueueActions(({ context, enqueue }) => {
      for (const itemType of enabledTypes(context)) enqueue.stopChild(itemTypeId(itemType));
    }),
    wakeItemTypes: enqueueActions(({ event, enqueue, self }) => {
      if (event.type !== 'subscription.changed') return;
      // Each type reads only the folders that changed (e-mail has two).
      const byType = new Map<ItemTypeName, FolderName[]>();
      for (const folder of event.folders) {
        const itemType = itemTypeOfFolder(folder);
        byType.set(itemType, [...(byType.get(itemType) ?? []), folder]);
      }
      for (const [itemType, folders] of byType) {
        if (self.getSnapshot().children[itemTypeId(itemType)]) {
          enqueue.sendTo(itemTypeId(itemType), { type: 'sync.requested', folders });
        }
      }
    }),
  },
}).createMachine({
  id: 'mailbox',
  context: ({ input }) => ({
    ...input,
    endpoint: null,
    served: null,
    lastError: null,
    attempt: 0,
    permanentFailures: 0,
    backoffMs: 0,
    jitter: 0.5,
    caughtUp: [],
  }),
  entry: {
    type: 'report',
    params: ({ context }) => ({
      category: 'A',
      event: 'mailbox.started',
      message: `Mailbox ${context.user} started (${enabledTypes(context).join(', ') || 'no item types enabled'})`,
    }),
  },
  initial: 'discovering',
  on: {
    // An unrecoverable error reported as an event is turned into a crash, so the supervisor decides.
    'mailbox.failed': {
      actions: ({ event }) => {
        throw Object.assign(new Error(event.error.message), event.error);
      },
    },
  },
  states: {
    discovering: {
      invoke: {
        src: 'connect',
        // exh_backend, when the database names one: a port serving several backends connects through it.
        input: ({ context }) => ({ user: context.user, ...(context.backend ? { backend: context.backend } : {}) }),
        onDone: {
          target: 'connected',
          actions: [
            assign({
              endpoint: ({ event }) => event.output.endpoint,
              served: ({ event }) => [...event.output.folders],
            }),
            {
              type: 'report',
              params: ({ context }) => ({
                category: 'M',
                event: 'mailbox.discovered',
                message: `Mailbox ${context.user} is served by ${context.endpoint}`,
                endpoint: context.endpoint,
              }),
            },
            {
              type: 'report',
              params: ({ context }) => {
                const unserved = unservedTypes(context);
                return {
                  category: unserved.length > 0 ? 'W' : 'M',
                  event: 'mailbox.typesUnserved',
                  message:
                    unserved.length > 0
                      ? `Mailbox ${context.user}: its Exchange backend does not reach the folders of ${unserved.join(', ')} ` +
                        `(${unserved.flatMap((type) => foldersOf(type)).join(', ')}), so they are not synchronised for this ` +
                        'user; turn them off for the user, or serve the user through a backend that has them (docs/exchange-online.md)'
                      : `Mailbox ${context.user}: every enabled item type is served`,
                  unserved,
                };
              },
            },
          ],
        },
        onError: [
          {
            guard: { type: 'isPermanentLimit', params: ({ event }) => ({ error: event.error }) },
            target: 'disabled',
            actions: ['drawJitter', { type: 'recordFailure', params: ({ event }) => ({ error: event.error }) }],
          },
          {
            target: 'backingOff',
            actions: ['drawJitter', { type: 'recordFailure', params: ({ event }) => ({ error: event.error }) }],
          },
        ],
      },
    },
    connected: {
      invoke: [
        { id: 'connection', src: 'holdConnection', input: ({ context }) => ({ user: context.user }) },
        {
          id: 'subscription',
          src: 'subscription',
          input: ({ context }) => ({ user: context.user, folders: enabledTypes(context).flatMap((t) => foldersOf(t)) }),
        },
      ],
      exit: ['stopItemTypes', assign({ caughtUp: [] })],
      on: {
        'subscription.lost': {
          target: 'backingOff',
          actions: ['drawJitter', { type: 'recordFailure', params: ({ event }) => ({ error: event.error }) }],
        },
        'itemType.failed': [
          {
            guard: { type: 'isPermanentLimit', params: ({ event }) => ({ error: event.error }) },
            target: 'disabled',
            actions: ['drawJitter', { type: 'recordFailure', params: ({ event }) => ({ error: event.error }) }],
          },
          {
            target: 'backingOff',
            actions: ['drawJitter', { type: 'recordFailure', params: ({ event }) => ({ error: event.error }) }],
          },
        ],
        'itemType.progress': {
          actions: assign({
            watermarks: ({ context, event }) => ({ ...context.watermarks, [event.itemType]: event.watermark }),
          }),
        },
      },
      initial: 'subscribing',
      states: {
        subscribing: {
          on: { 'subscription.ready': 'catchingUp' },
        },
        catchingUp: {
          entry: 'startItemTypes',
          always: { guard: 'allCaughtUp', target: 'live' },
          on: {
            'subscription.changed': { actions: 'wakeItemTypes' },
            'itemType.caughtUp': {
              actions: assign({ caughtUp: ({ context, event }) => [...context.caughtUp, event.itemType] }),
            },
          },
        },
        live: {
          entry: [
            assign({ attempt: 0, permanentFailures: 0 }),
            {
              type: 'report',
              params: ({ context }) => ({
                category: 'A',
                event: 'mailbox.live',
                message: `Mailbox ${context.user} is live (${enabledTypes(context).join(', ') || 'no item types enabled'})`,
              }),
            },
          ],
          on: { 'subscription.changed': { actions: 'wakeItemTypes' } },
        },
      },
    },
    backingOff: {
      entry: {
        type: 'report',
        params: ({ context }) => ({
          category: 'W',
          event: 'mailbox.backingOff',
          message: `Mailbox ${context.user}: ${context.lastError?.message}; trying again in ${Math.round(context.backoffMs / 1000)} s`,
          retryInMs: context.backoffMs,
          error: context.lastError,
        }),
      },
      after: { backoff: 'discovering' },
    },
    disabled: {
      entry: [
        sendParent(({ context }) => ({ type: 'mailbox.disabled' as const, user: context.user })),
        {
          type: 'report',
          params: ({ context }) => ({
            category: 'E',
            event: 'mailbox.disabled',
            message: `Mailbox ${context.user} is disabled until users are registered again: ${context.lastError?.message}`,
            error: context.lastError,
          }),
        },
      ],
      invoke: {
        src: 'recordDisabled',
        input: ({ context }) => ({ user: context.user, error: context.lastError }),
        // Failing to write exh_log must not bring the mailbox back; the E record above already says it all.
        onError: {},
      },
    },
  },
});

/** What `connect` resolves with. */
export interface ConnectOutput {
  endpoint: string;
  /** The folders the connection's backend reaches (its capabilities). */
  folders: readonly FolderName[];
}

/** The item types enabled for the user (exh_get_users) that its backend can serve: every folder of theirs reached. */
export function enabledTypes(context: Pick<MailboxContext, 'sync'> & { served?: FolderName[] | null }): ItemTypeName[] {
  return requestedTypes(context).filter((type) => served(context, type));
}

/** Enabled for the user, but living in folders the mailbox's backend does not reach. */
export function unservedTypes(
  context: Pick<MailboxContext, 'sync'> & { served?: FolderName[] | null },
): ItemTypeName[] {
  return requestedTypes(context).filter((type) => !served(context, type));
}

function requestedTypes(context: Pick<MailboxContext, 'sync'>): ItemTypeName[] {
  return (Object.keys(context.sync) as ItemTypeName[]).filter((type) => context.sync[type]);
}

function served(context: { served?: FolderName[] | null }, type: ItemTypeName): boolean {
  const folders = context.served;
  return folders == null || foldersOf(type).every((folder) => folders.includes(folder));
}
