import { fromCallback } from 'xstate';
import type { MailboxContext, MailboxEvent } from '../machines/mailbox.machine.js';
import { enabledTypes } from '../machines/mailbox.machine.js';
import type { ExhLogger } from '../src/logging/logger.js';

export function createMailboxActors(deps: { logger: ExhLogger }) {
  return {
    /**
     * The mailbox's long-lived work. Today it announces the registration and holds the mailbox's place in the
     * actor tree; Autodiscover, the subscription and catch-up take this place with the EWS adapter (issue 5).
     */
    session: fromCallback<MailboxEvent, MailboxContext>(({ input }) => {
      const log = deps.logger.child({ actor: 'mailbox', user: input.user });
      log.info(
        { itemTypes: enabledTypes(input) },
        'Registered; Exchange synchronisation is not part of this build yet (it arrives with the EWS adapter)',
      );
      return () => log.debug('Session stopped');
    }),
  };
}
