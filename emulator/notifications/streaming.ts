import type { TimerHandle } from '../clock.js';
import type { Core, OperationContext } from '../context.js';
import type { OperationResult, StreamingHandler } from '../ops/common.js';
import { errorMessage, ns, responseRoot, serverVersion } from '../soap/envelope.js';
import { EwsError } from '../soap/response-codes.js';
import { child, children, text, type XmlNode } from '../xml/node.js';
import { el, textEl } from '../xml/write.js';
import { notificationXml, renderEvent } from './events.js';
import { budgetOf, type HangingConnection, type Subscription } from './subscriptions.js';

/** The most subscriptions one GetStreamingEvents request may carry (Microsoft's guidance on grouped subscriptions). */
export const maxSubscriptionsPerConnection = 200;

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

function errorIdsXml(ids: string[]): string {
  return el('m:ErrorSubscriptionIds', undefined, ids.map((id) => textEl('t:SubscriptionId', id)).join(''));
}

function streamingMessage(
  inner: string,
  errorIds: string[] = [],
  error = new EwsError('ErrorSubscriptionNotFound'),
): string {
  const message =
    errorIds.length > 0
      ? errorMessage('GetStreamingEventsResponseMessage', error, `${errorIdsXml(errorIds)}${inner}`)
      : `<m:GetStreamingEventsResponseMessage ResponseClass="Success"><m:ResponseCode>NoError</m:ResponseCode>${inner}</m:GetStreamingEventsResponseMessage>`;
  return responseRoot('GetStreamingEventsResponse', `<m:ResponseMessages>${message}</m:ResponseMessages>`);
}

/**
 * GetStreamingEvents: one connection for up to 200 subscriptions of the account, of any mailboxes (Microsoft's
 * grouped subscriptions impersonate the group's anchor mailbox for it). The connection counts against the budget of
 * hanging connections of the account, or with impersonation against the impersonated mailbox's copy
 * (subscriptions.ts, HangingConnection); beyond maxHangingConnections it is refused with ErrorExceededConnectionCount.
 * Subscriptions that are not found (expired, unsubscribed) are named in ErrorSubscriptionIds of the first message,
 * and the connection carries the others; when none is left the request fails with that message.
 */
export function getStreamingEvents(request: XmlNode, ctx: OperationContext): OperationResult {
  const ids = children(child(request, 'SubscriptionIds'), 'SubscriptionId').map((n) => (n.t ?? '').trim());
  // SubscriptionIds (non-empty) and ConnectionTimeout (1 to 30) were checked with the schema (soap/request-schema.ts).
  const timeout = Number((text(request, 'ConnectionTimeout') ?? '').trim());
  const failed = (error: EwsError, inner = '') =>
    responseRoot(
      'GetStreamingEventsResponse',
      `<m:ResponseMessages>${errorMessage('GetStreamingEventsResponseMessage', error, inner)}</m:ResponseMessages>`,
    );
  try {
    if (ids.length > maxSubscriptionsPerConnection) {
      throw new EwsError(
        'ErrorInvalidRequest',
        `A GetStreamingEvents request can carry at most ${maxSubscriptionsPerConnection} subscriptions; this one has ${ids.length}.`,
      );
    }
    const subscriptions: Subscription[] = [];
    const missing: string[] = [];
    for (const id of new Set(ids)) {
      try {
        subscriptions.push(ctx.core.subscriptions.streamable(id, ctx.account));
      } catch (error) {
        if (!(error instanceof EwsError) || error.code !== 'ErrorSubscriptionNotFound') throw error;
        missing.push(id);
      }
    }
    if (subscriptions.length === 0) return failed(new EwsError('ErrorSubscriptionNotFound'), errorIdsXml(missing));
    const budget = budgetOf(ctx.account, ctx.mailbox);
    if (ctx.core.subscriptions.hangingConnections(budget) >= ctx.core.settings.maxHangingConnections) {
      throw new EwsError('ErrorExceededConnectionCount');
    }
    return { stream: streamingHandler(ctx.core, ctx, subscriptions, timeout * ctx.core.settings.minuteMs, missing) };
  } catch (error) {
    if (!(error instanceof EwsError)) throw error;
    return failed(error);
  }
}

export function streamingHandler(
  core: Core,
  ctx: OperationContext,
  subscriptions: Subscription[],
  timeoutMs: number,
  missing: string[] = [],
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
        const events = subscription.pending.map((e) => renderEvent(subscription.mailbox, e, false)).join('');
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

    const connection: HangingConnection = {
      budget: budgetOf(ctx.account, ctx.mailbox),
      subscriptions: () => [...live].map((s) => s.id),
      close: () => finish(false),
    };

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
    if (missing.length > 0) send(streamingMessage('', missing));

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
