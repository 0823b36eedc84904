import type { EwsMailbox } from '../connection.js';

export { fingerprint, notifySafely, toLost } from '../../subscription-events.js';

/** What every kind of subscription shares: how it reports, how it ends, how it appears in the log. */

/** Unsubscribe on close, best effort: Exchange drops an unused subscription by itself anyway. */
export async function unsubscribeQuietly(mailbox: EwsMailbox, unsubscribe: () => Promise<unknown>): Promise<void> {
  try {
    await mailbox.request({ priority: 'live', signal: AbortSignal.timeout(mailbox.transport.timeoutMs) }, {}, () =>
      unsubscribe(),
    );
  } catch (error) {
    mailbox.logger.debug({ err: error }, 'Unsubscribe failed (the subscription expires by itself)');
  }
}
