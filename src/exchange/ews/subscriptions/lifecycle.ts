import type { ExhError } from '../../../errors.js';
import type { ExhLogger } from '../../../logging/logger.js';
import type { SubscriptionEvent } from '../../../ports/exchange.port.js';
import type { EwsMailbox } from '../connection.js';

/** What every kind of subscription shares: how it reports, how it ends. */

export function toLost(error: ExhError): Extract<SubscriptionEvent, { type: 'lost' }>['error'] {
  const lost: Extract<SubscriptionEvent, { type: 'lost' }>['error'] = {
    code: error.code,
    message: error.message,
    retryable: error.retryable,
  };
  if (typeof error.details.backOffMs === 'number') lost.backOffMs = error.details.backOffMs;
  return lost;
}

/** The owner's callback must not break the subscription's own loop: a throw is logged, not propagated. */
export function notifySafely(
  log: ExhLogger,
  subscription: string,
  onEvent: (event: SubscriptionEvent) => void,
  event: SubscriptionEvent,
): void {
  try {
    onEvent(event);
  } catch (error) {
    log.error({ err: error, subscription, event: event.type }, 'The subscription owner failed on an event');
  }
}

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
