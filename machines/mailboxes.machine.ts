import { assign, enqueueActions, setup } from 'xstate';
import type { UserRegistration } from '../src/ports/database.port.js';
import { mailboxMachine } from './mailbox.machine.js';
import { type Report, serializeError } from './report.js';

export interface MailboxesInput {
  users: UserRegistration[];
  maxRestarts: number;
  restartWindowMs: number;
}

export interface MailboxesContext extends MailboxesInput {
  /** Restarts per user still inside the window; each restart schedules its own expiry. */
  recentRestarts: Record<string, number>;
  /** Users whose mailbox crashed too often and is left stopped until users are registered again. */
  givenUp: string[];
}

type MailboxesEvent =
  | { type: 'restart.expired'; user: string }
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
        enqueue.spawnChild('mailbox', { id: mailboxId(registration.user), input: registration });
      }
    }),
  },
}).createMachine({
  id: 'mailboxes',
  context: ({ input }) => ({ ...input, recentRestarts: {}, givenUp: [] }),
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
        enqueue.spawnChild('mailbox', { id: mailboxId(user), input: registration });
      }),
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
