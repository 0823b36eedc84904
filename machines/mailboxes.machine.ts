import { assign, enqueueActions, setup } from 'xstate';
import type { UserRegistration } from '../src/ports/database.port.js';
import type { BackoffPolicy } from '../src/sync/decisions/backoff.js';
import { mailboxMachine } from './mailbox.machine.js';
import { type Report, serializeError } from './report.js';

export interface MailboxesInput {
  users: UserRegistration[];
  maxRestarts: number;
  restartWindowMs: number;
  /** Passed to every mailbox: permanent errors in a row before it is disabled. */
  maxPermanentFailures: number;
  /** Passed to every mailbox: the wait after a transient Exchange error. */
  backoff?: BackoffPolicy;
}

export interface MailboxesContext extends MailboxesInput {
  /** Restarts per user still inside the window; each restart schedules its own expiry. */
  recentRestarts: Record<string, number>;
  /** Users whose mailbox crashed too often and is left stopped until users are registered again. */
  givenUp: string[];
  /** Users whose mailbox disabled itself (permanent Exchange errors) until users are registered again. */
  disabled: string[];
}

type MailboxesEvent =
  | { type: 'restart.expired'; user: string }
  /** The user list read again (exh_sync_users): applied as a diff, so untouched mailboxes keep running. */
  | { type: 'users.changed'; users: UserRegistration[]; reregister?: boolean }
  | { type: 'mailbox.disabled'; user: string }
  | { type: `xstate.error.actor.${string}`; error: unknown; actorId: string };

export const mailboxIdPrefix = 'mailbox:';
export const mailboxId = (user: string) => `${mailboxIdPrefix}${user}`;

/**
 * Supervises one mailbox actor per user: starts them all, and restarts a crashed one at most `maxRestarts` times
 * within `restartWindowMs` (OTP's restart intensity), then reports it and leaves it stopped. It lives inside the
 * supervisor's `running` state, so losing the database stops it and every mailbox with it.
 */
export const mailboxesMachine = setup({
  types: {
    input: {} as MailboxesInput,
    context: {} as MailboxesContext,
    events: {} as MailboxesEvent,
  },
  actors: { mailbox: mailboxMachine },
  actions: {
    report: (_, _params: Report) => {},
    startAll: enqueueActions(({ context, enqueue }) => {
      for (const registration of context.users) {
        enqueue.spawnChild('mailbox', { id: mailboxId(registration.user), input: mailboxInput(context, registration) });
      }
    }),
  },
}).createMachine({
  id: 'mailboxes',
  context: ({ input }) => ({ ...input, recentRestarts: {}, givenUp: [], disabled: [] }),
  entry: [
    'startAll',
    {
      type: 'report',
      params: ({ context }) => ({
        category: 'A',
        event: 'mailboxes.started',
        message: `Started ${context.users.length} mailbox${context.users.length === 1 ? '' : 'es'}`,
        count: context.users.length,
      }),
    },
  ],
  on: {
    'xstate.error.actor.*': {
      actions: enqueueActions(({ context, event, enqueue }) => {
        const user = event.actorId.slice(mailboxIdPrefix.length);
        const registration = context.users.find((candidate) => candidate.user === user);
        if (!registration) return;
        // The crashed actor stays in `children` with status "error" until it is removed.
        enqueue.stopChild(event.actorId);
        const error = serializeError(event.error);
        const restarts = context.recentRestarts[user] ?? 0;
        if (restarts >= context.maxRestarts) {
          enqueue.assign({ givenUp: [...context.givenUp, user] });
          enqueue({
            type: 'report',
            params: {
              category: 'E',
              event: 'mailbox.given-up',
              message: `Mailbox ${user} crashed ${restarts + 1} times within ${context.restartWindowMs / 1000} s and is left stopped until users are registered again: ${error.message}`,
              user,
              error,
            },
          });
          return;
        }
        enqueue.assign({ recentRestarts: { ...context.recentRestarts, [user]: restarts + 1 } });
        enqueue.raise({ type: 'restart.expired', user }, { delay: context.restartWindowMs });
        enqueue({
          type: 'report',
          params: {
            category: 'W',
            event: 'mailbox.restarted',
            message: `Mailbox ${user} crashed and is restarted (${restarts + 1} of ${context.maxRestarts} within ${context.restartWindowMs / 1000} s): ${error.message}`,
            user,
            error,
          },
        });
        enqueue.spawnChild('mailbox', { id: mailboxId(user), input: mailboxInput(context, registration) });
      }),
    },
    'users.changed': {
      actions: enqueueActions(({ context, event, enqueue }) => {
        const before = new Map(context.users.map((registration) => [registration.user, registration]));
        const after = new Map(event.users.map((registration) => [registration.user, registration]));
        const started: string[] = [];
        const stopped: string[] = [];
        const restarted: string[] = [];
        for (const user of before.keys()) {
          if (!after.has(user)) {
            enqueue.stopChild(mailboxId(user));
            stopped.push(user);
          }
        }
        for (const [user, registration] of after) {
          const previous = before.get(user);
          // Re-registering (exh_sync_users) also gives a given-up or disabled mailbox a new start; the periodic
          // re-read does not, or a mailbox with an unknown address would be tried again every few minutes.
          const stopped = context.givenUp.includes(user) || context.disabled.includes(user);
          const changed = previous && (!sameFlags(previous, registration) || (event.reregister === true && stopped));
          if (previous && !changed) continue;
          if (previous) {
            enqueue.stopChild(mailboxId(user));
            restarted.push(user);
          } else started.push(user);
          enqueue.spawnChild('mailbox', { id: mailboxId(user), input: mailboxInput(context, registration) });
        }
        // Stopped mailboxes stay stopped only while their registration is the same (a changed one was restarted).
        const unchanged = (user: string) => {
          const previous = before.get(user);
          const now = after.get(user);
          return previous !== undefined && now !== undefined && sameFlags(previous, now);
        };
        const keep = (list: string[]) => (event.reregister ? [] : list.filter(unchanged));
        enqueue.assign({
          users: event.users,
          givenUp: keep(context.givenUp),
          disabled: keep(context.disabled),
          recentRestarts: {},
        });
        enqueue({
          type: 'report',
          params: {
            category: 'A',
            event: 'users.changed',
            message: `Users registered again: ${started.length} started, ${stopped.length} stopped, ${restarted.length} restarted, ${event.users.length - started.length - restarted.length} unchanged`,
            started,
            stopped,
            restarted,
          },
        });
      }),
    },
    'mailbox.disabled': {
      actions: assign({ disabled: ({ context, event }) => [...new Set([...context.disabled, event.user])] }),
    },
    'restart.expired': {
      actions: assign({
        recentRestarts: ({ context, event }) => ({
          ...context.recentRestarts,
          [event.user]: Math.max(0, (context.recentRestarts[event.user] ?? 0) - 1),
        }),
      }),
    },
  },
});

function mailboxInput(context: MailboxesContext, registration: UserRegistration) {
  return {
    ...registration,
    maxPermanentFailures: context.maxPermanentFailures,
    ...(context.backoff ? { backoff: context.backoff } : {}),
  };
}

function sameFlags(a: UserRegistration, b: UserRegistration): boolean {
  // A changed exh_backend restarts the mailbox too: it connects through the other backend (src/exchange/routing.ts).
  return (
    a.backend === b.backend &&
    (Object.keys(a.sync) as Array<keyof UserRegistration['sync']>).every((type) => a.sync[type] === b.sync[type])
  );
}
