import type { TimerHandle } from '../clock.js';
import type { Core, OperationContext } from '../context.js';
import type { StreamingHandler } from '../ops/common.js';
import { ns, responseRoot, serverVersion } from '../soap/envelope.js';
import { el, textEl } from '../xml/write.js';
import { notificationXml, renderEvent } from './events.js';
import type { HangingConnection, Subscription } from './subscriptions.js';

/**
 * A GetStreamingEvents connection: one chunked HTTP response that stays open for ConnectionTimeout minutes and carries
 * one SOAP envelope per write — notifications as they happen, a keep-alive (ConnectionStatus OK) every keepAliveMs,
 * and ConnectionStatus Closed at the end. A stalled connection (fault stallStreaming) says nothing, not even goodbye;
 * if its ConnectionTimeout passes during the stall, it closes (with Closed) at the first keep-alive tick after the
 * stall ends. The envelopes are written the way Exchange writes them (default-namespace
 * Envelope, `m:Notification`), because EWS clients look for exactly that.
 */

/** Exchange's streaming envelope: `<Envelope xmlns=...>` with soap11-prefixed Header and Body. */
export function streamingEnvelope(body: string): string {
  const info = el('ServerVersionInfo', { xmlns: ns.t, ...serverVersion });
  return (
    `<Envelope xmlns="${ns.soap}"><soap11:Header xmlns:soap11="${ns.soap}">${info}</soap11:Header>` +
    `<soap11:Body xmlns:soap11="${ns.soap}">${body}</soap11:Body></Envelope>`
  );
}

function streamingMessage(inner: string, errorIds: string[] = []): string {
  const message =
    errorIds.length > 0
      ? '<m:GetStreamingEventsResponseMessage ResponseClass="Error"><m:MessageText>The specified subscription was not found.</m:MessageText>' +
        '<m:ResponseCode>ErrorSubscriptionNotFound</m:ResponseCode><m:DescriptiveLinkKey>0</m:DescriptiveLinkKey>' +
        el('m:ErrorSubscriptionIds', undefined, errorIds.map((id) => textEl('t:SubscriptionId', id)).join('')) +
        `${inner}</m:GetStreamingEventsResponseMessage>`
      : `<m:GetStreamingEventsResponseMessage ResponseClass="Success"><m:ResponseCode>NoError</m:ResponseCode>${inner}</m:GetStreamingEventsResponseMessage>`;
  return responseRoot('GetStreamingEventsResponse', `<m:ResponseMessages>${message}</m:ResponseMessages>`);
}

export function streamingHandler(
  core: Core,
  ctx: OperationContext,
  subscriptions: Subscription[],
  timeoutMs: number,
): StreamingHandler {
  return (write, end, onClose) => {
    const live = new Set(subscriptions);
    const clock = core.clock;
    let open = true;
    let flushQueued = false;
    let overdue = false;
    let keepAlive: TimerHandle | undefined;
    let deadline: TimerHandle | undefined;
    const stalled = () => core.faults.active('stallStreaming', ctx) !== undefined;

    const send = (body: string): boolean => {
      if (!open || stalled()) return false;
      core.recorder?.record('GetStreamingEvents', body);
      write(streamingEnvelope(body));
      return true;
    };

    const flush = () => {
      flushQueued = false;
      if (!open || stalled()) return;
      let notifications = '';
      const taken: [Subscription, number][] = [];
      for (const subscription of live) {
        if (subscription.pending.length === 0) continue;
        const events = subscription.pending.map((e) => renderEvent(subscription.mailbox, e)).join('');
        notifications += notificationXml(subscription.id, events, undefined);
        taken.push([subscription, subscription.pending.length]);
      }
      if (!notifications) return;
      if (send(streamingMessage(`<m:Notifications>${notifications}</m:Notifications>`))) {
        for (const [subscription, count] of taken) {
          const last = subscription.pending[count - 1];
          subscription.pending.splice(0, count);
          if (last) subscription.position = last.seq;
        }
      }
    };

    const wake = () => {
      if (flushQueued) return;
      flushQueued = true;
      setImmediate(flush);
    };

    const release = (subscription: Subscription) => {
      subscription.attached = false;
      subscription.wake = undefined;
      subscription.onRemoved = undefined;
      subscription.detach = undefined;
      subscription.lastActivity = core.now();
      live.delete(subscription);
    };

    const connection: HangingConnection = { mailbox: ctx.mailbox.address, close: () => finish(false) };

    const finish = (clean: boolean) => {
      if (!open) return;
      if (clean) send(streamingMessage('<m:ConnectionStatus>Closed</m:ConnectionStatus>'));
      open = false;
      clock.clearTimeout(keepAlive);
      clock.clearTimeout(deadline);
      for (const subscription of [...live]) release(subscription);
      core.subscriptions.connections.delete(connection);
      end();
    };

    for (const subscription of live) {
      subscription.detach?.();
      subscription.attached = true;
      subscription.wake = wake;
      subscription.detach = () => {
        release(subscription);
        if (live.size === 0) finish(true);
      };
      subscription.onRemoved = () => {
        release(subscription);
        send(streamingMessage('', [subscription.id]));
        if (live.size === 0) finish(false);
      };
    }
    core.subscriptions.connections.add(connection);

    // Each tick also delivers what a stall held back, so a connection recovers once the stall is switched off.
    const tick = () => {
      if (!open) return;
      if (overdue && !stalled()) {
        finish(true);
        return;
      }
      flush();
      send(streamingMessage('<m:ConnectionStatus>OK</m:ConnectionStatus>'));
      keepAlive = clock.setTimeout(tick, core.settings.keepAliveMs);
    };
    keepAlive = clock.setTimeout(tick, core.settings.keepAliveMs);
    // A stalled connection says nothing, not even goodbye (the client has to notice the missing keep-alives): it
    // closes at the first tick after the stall ends.
    deadline = clock.setTimeout(() => {
      if (stalled()) overdue = true;
      else finish(true);
    }, timeoutMs);
    onClose(() => finish(false));
    wake();
  };
}
