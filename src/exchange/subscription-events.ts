import { createHash } from 'node:crypto';
import type { ExhError } from '../errors.js';
import type { ExhLogger } from '../logging/logger.js';
import type { SubscriptionEvent } from '../ports/exchange.port.js';

/** What every backend's subscriptions share (EWS streaming, push and pull; Graph webhooks): how they report, how they appear in the log. */

/**
 * How a subscription id or a watermark appears in the log: never whole (whoever reads the log should not be able to
 * address Exchange or the push listener with them), but the same value always gives the same short text, so the
 * records of one subscription can still be followed. A digest rather than the first characters: an EWS subscription
 * id begins with its server's name in base64, the same for every subscription of that server.
 */
export function fingerprint(value: string): string {
  return `#${createHash('sha256').update(value, 'utf8').digest('hex').slice(0, 8)}`;
}

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
    log.error(
      { err: error, subscription: fingerprint(subscription), event: event.type },
      'The subscription owner failed on an event',
    );
  }
}
