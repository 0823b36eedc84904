import type { TimerHandle } from '../clock.js';
import type { Core } from '../context.js';
import { ns, responseRoot, successMessage } from '../soap/envelope.js';
import { parseXml, path, text } from '../xml/node.js';
import { notificationXml, renderEvent, statusEvent, watermarkOf } from './events.js';
import type { Subscription } from './subscriptions.js';

/**
 * Push delivery as Exchange does it: POST SendNotification to the subscriber's URL and honour its
 * SendNotificationResult (OK, or Unsubscribe). A failed delivery is retried after 30 seconds, then after twice the
 * previous wait, until the retries would pass StatusFrequency minutes, when the subscription is dropped. With no events
 * for StatusFrequency minutes Exchange sends a StatusEvent, so the subscriber knows it is still alive. ("Minutes" and
 * "seconds" are scaled by the emulator's minuteMs.)
 */

const batch = 100;
const requestTimeoutMs = 30_000;

export function sendNotificationEnvelope(body: string): string {
  return (
    `<?xml version="1.0" encoding="utf-8"?><soap:Envelope xmlns:soap="${ns.soap}">` +
    `<soap:Header><t:RequestServerVersion xmlns:t="${ns.t}" Version="Exchange2010_SP1"/></soap:Header>` +
    `<soap:Body>${body}</soap:Body></soap:Envelope>`
  );
}

/** The SubscriptionStatus the subscriber answered, or undefined when the answer is not a SendNotificationResult. */
export function readSendNotificationResult(body: string): string | undefined {
  try {
    const root = parseXml(body);
    return text(path(root, 'Body', 'SendNotificationResult'), 'SubscriptionStatus')?.trim();
  } catch {
    return undefined;
  }
}

export function startPushDelivery(core: Core, subscription: Subscription): void {
  const push = subscription.push;
  if (!push) return;
  let sending = false;
  let stopped = false;
  let failingSince: number | undefined;
  let retryDelay = 0;
  let retryTimer: TimerHandle | undefined;
  let statusTimer: TimerHandle | undefined;
  const clock = core.clock;
  const abort = new AbortController();

  const armStatus = () => {
    clock.clearTimeout(statusTimer);
    statusTimer = clock.setTimeout(() => void send(), push.statusFrequencyMs);
  };

  const fail = (reason: string) => {
    const now = core.now();
    if (failingSince === undefined) {
      failingSince = now;
      retryDelay = core.settings.minuteMs / 2;
    } else {
      retryDelay *= 2;
    }
    if (now + retryDelay - failingSince > push.statusFrequencyMs) {
      core.log.warn(
        { subscription: subscription.id, url: push.url, reason },
        'Push notifications undeliverable: subscription dropped',
      );
      core.subscriptions.remove(subscription.id);
      return;
    }
    core.log.info(
      { subscription: subscription.id, url: push.url, reason, retryInMs: retryDelay },
      'Push notification failed',
    );
    retryTimer = clock.setTimeout(() => {
      retryTimer = undefined;
      void send();
    }, retryDelay);
  };

  const send = async (): Promise<void> => {
    if (sending || stopped || retryTimer !== undefined) return;
    sending = true;
    clock.clearTimeout(statusTimer);
    const events = subscription.pending.slice(0, batch);
    const previous = watermarkOf(subscription.mailbox, subscription.position);
    const last = events[events.length - 1];
    const eventsXml =
      events.length > 0
        ? events.map((e) => renderEvent(subscription.mailbox, e)).join('')
        : statusEvent(subscription.mailbox, subscription.mailbox.seq);
    const notification = notificationXml(subscription.id, eventsXml, {
      watermark: previous,
      more: subscription.pending.length > events.length,
    });
    const body = responseRoot(
      'SendNotification',
      `<m:ResponseMessages>${successMessage('SendNotificationResponseMessage', notification)}</m:ResponseMessages>`,
    );
    core.recorder?.record('SendNotification', body);
    let status: string | undefined;
    let reason = '';
    try {
      const response = await fetch(push.url, {
        method: 'POST',
        headers: { 'content-type': 'text/xml; charset=utf-8' },
        body: sendNotificationEnvelope(body),
        signal: AbortSignal.any([abort.signal, AbortSignal.timeout(requestTimeoutMs)]),
      });
      const answer = await response.text();
      status = response.ok ? readSendNotificationResult(answer) : undefined;
      reason = response.ok ? 'no SendNotificationResult in the answer' : `HTTP ${response.status}`;
    } catch (error) {
      reason = error instanceof Error ? error.message : String(error);
    }
    sending = false;
    if (stopped) return;
    if (status === 'Unsubscribe') {
      core.log.info({ subscription: subscription.id }, 'Push subscriber answered Unsubscribe');
      core.subscriptions.remove(subscription.id);
      return;
    }
    if (status !== 'OK') {
      fail(reason);
      return;
    }
    failingSince = undefined;
    subscription.pending.splice(0, events.length);
    if (last) subscription.position = last.seq;
    subscription.lastActivity = core.now();
    if (subscription.pending.length > 0) setImmediate(() => void send());
    else armStatus();
  };

  const wake = () => {
    if (failingSince !== undefined) return; // The retry timer delivers what queued up meanwhile.
    setImmediate(() => void send());
  };
  subscription.wake = wake;
  subscription.onRemoved = () => {
    stopped = true;
    clock.clearTimeout(retryTimer);
    clock.clearTimeout(statusTimer);
    abort.abort();
  };
  armStatus();
}
