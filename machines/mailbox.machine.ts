import { assign, fromCallback, setup } from 'xstate';
import type { ItemTypeName, UserRegistration } from '../src/ports/database.port.js';
import { type Report, type SerializedError, serializeError } from './report.js';

export interface MailboxContext {
  user: string;
  sync: Record<ItemTypeName, boolean>;
  watermarks: Record<ItemTypeName, string | null>;
  lastError: SerializedError | null;
}

export type MailboxEvent = { type: 'mailbox.failed'; error: SerializedError };

/**
 * One Exchange user. Its `session` actor carries the mailbox's work (Autodiscover, subscription, catch-up and live
 * sync arrive with the synchronisation issue); an error from it crashes this actor on purpose, and the mailboxes
 * supervisor decides on a restart within its intensity limits.
 */
export const mailboxMachine = setup({
  types: {
    input: {} as UserRegistration,
    context: {} as MailboxContext,
    events: {} as MailboxEvent,
  },
  actors: {
    session: fromCallback<MailboxEvent, MailboxContext>(() => {
      throw new Error('mailbox actor "session" not provided');
    }),
  },
  actions: {
    report: (_, _params: Report) => {},
  },
}).createMachine({
  id: 'mailbox',
  context: ({ input }) => ({ user: input.user, sync: input.sync, watermarks: input.watermarks, lastError: null }),
  initial: 'running',
  states: {
    running: {
      entry: {
        type: 'report',
        params: ({ context }) => ({
          category: 'A',
          event: 'mailbox.started',
          message: `Mailbox ${context.user} started (${enabledTypes(context).join(', ') || 'no item types enabled'})`,
        }),
      },
      invoke: { src: 'session', input: ({ context }) => context },
      on: {
        // The session reports an unrecoverable error as an event; turning it into a thrown error hands the decision
        // to the supervisor, as an exception in the session itself would.
        'mailbox.failed': {
          actions: [
            assign({ lastError: ({ event }) => event.error }),
            ({ event }) => {
              throw Object.assign(new Error(event.error.message), serializeError(event.error));
            },
          ],
        },
      },
    },
  },
});

export function enabledTypes(context: Pick<MailboxContext, 'sync'>): ItemTypeName[] {
  return (Object.keys(context.sync) as ItemTypeName[]).filter((type) => context.sync[type]);
}
