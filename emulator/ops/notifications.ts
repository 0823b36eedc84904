import type { OperationContext } from '../context.js';
import { notificationXml, readWatermark, renderEvent, statusEvent, watermarkOf } from '../notifications/events.js';
import { startPushDelivery } from '../notifications/push.js';
import type { Subscription, SubscriptionKind } from '../notifications/subscriptions.js';
import { errorMessage, responseRoot, successMessage } from '../soap/envelope.js';
import { EwsError } from '../soap/response-codes.js';
import { type EventType, eventTypes } from '../store/model.js';
import { child, children, text, type XmlNode } from '../xml/node.js';
import { textEl } from '../xml/write.js';
import { resolveFolder } from './common.js';

/** Subscribe, Unsubscribe, GetEvents (pull) and GetStreamingEvents. Push delivery lives in notifications/push.ts. */

const requestKinds: Record<string, SubscriptionKind> = {
  PullSubscriptionRequest: 'pull',
  PushSubscriptionRequest: 'push',
  StreamingSubscriptionRequest: 'streaming',
};

function minutes(raw: string | undefined, fallback: number, what: string): number {
  if (raw === undefined) return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < 1 || value > 1440) {
    throw new EwsError('ErrorInvalidSubscriptionRequest', `${what} must be from 1 to 1440 minutes.`);
  }
  return value;
}

function subscribeOne(request: XmlNode, ctx: OperationContext): string {
  const kind = requestKinds[request.n];
  if (!kind) throw new EwsError('ErrorInvalidSubscriptionRequest', `${request.n} is not a subscription request.`);
  const allFolders = request.a?.SubscribeToAllFolders === 'true';
  const folderIds = children(child(request, 'FolderIds'));
  if (!allFolders && folderIds.length === 0)
    throw new EwsError('ErrorInvalidSubscriptionRequest', 'FolderIds is required.');
  const folders = allFolders ? undefined : new Set(folderIds.map((id) => resolveFolder(ctx, id).id));
  const types = new Set<EventType>();
  for (const node of children(child(request, 'EventTypes'), 'EventType')) {
    const type = (node.t ?? '').trim() as EventType;
    if (!eventTypes.includes(type))
      throw new EwsError('ErrorInvalidSubscriptionRequest', `Unknown event type ${node.t}.`);
    types.add(type);
  }
  if (types.size === 0) throw new EwsError('ErrorInvalidSubscriptionRequest', 'EventTypes is required.');
  const mailbox = ctx.mailbox;
  let position = mailbox.seq;
  const watermark = text(request, 'Watermark');
  if (watermark !== undefined && kind !== 'streaming') {
    const seq = ctx.core.faults.take('invalidWatermark', ctx) ? undefined : readWatermark(mailbox, watermark);
    if (seq === undefined || mailbox.eventsAfter(seq) === undefined) throw new EwsError('ErrorInvalidWatermark');
    position = seq;
  }
  let push: Subscription['push'];
  if (kind === 'push') {
    const url = (text(request, 'URL') ?? '').trim();
    if (!/^https?:\/\/[^\s]+$/i.test(url)) throw new EwsError('ErrorInvalidPushSubscriptionUrl');
    push = {
      url,
      statusFrequencyMs: minutes(text(request, 'StatusFrequency'), 30, 'StatusFrequency') * ctx.core.settings.minuteMs,
    };
    const callerData = text(request, 'CallerData');
    if (callerData !== undefined) push.callerData = callerData;
  }
  const idleMinutes = kind === 'pull' ? minutes(text(request, 'Timeout'), 30, 'Timeout') : 30;
  const subscription = ctx.core.subscriptions.create({
    kind,
    mailbox,
    account: ctx.account,
    folders,
    eventTypes: types,
    position,
    idleLimitMs: idleMinutes * ctx.core.settings.minuteMs,
    ...(push ? { push } : {}),
  });
  if (kind !== 'pull' && position < mailbox.seq) {
    // Resuming from a watermark: what happened since is delivered first.
    for (const event of mailbox.eventsAfter(position) ?? []) {
      if (ctx.core.subscriptions.matches(subscription, event)) subscription.pending.push(event);
    }
  }
  if (kind === 'push') startPushDelivery(ctx.core, subscription);
  let inner = textEl('m:SubscriptionId', subscription.id);
  if (kind !== 'streaming') inner += textEl('m:Watermark', watermarkOf(mailbox, position));
  return inner;
}

export function subscribe(request: XmlNode, ctx: OperationContext): string {
  return single('Subscribe', () => {
    const [subscriptionRequest] = children(request);
    if (!subscriptionRequest) throw new EwsError('ErrorInvalidSubscriptionRequest');
    return subscribeOne(subscriptionRequest, ctx);
  });
}

/** Operations with one response message: a failure is an error message, not a fault. */
function single(name: string, run: () => string): string {
  let inner: string;
  try {
    inner = successMessage(`${name}ResponseMessage`, run());
  } catch (error) {
    if (!(error instanceof EwsError)) throw error;
    inner = errorMessage(`${name}ResponseMessage`, error);
  }
  return responseRoot(`${name}Response`, `<m:ResponseMessages>${inner}</m:ResponseMessages>`);
}

export function unsubscribe(request: XmlNode, ctx: OperationContext): string {
  return single('Unsubscribe', () => {
    const subscription = ctx.core.subscriptions.get(text(request, 'SubscriptionId') ?? '', ctx.account, ctx.mailbox);
    ctx.core.subscriptions.remove(subscription.id);
    return '';
  });
}

const pullBatch = 50;

export function getEvents(request: XmlNode, ctx: OperationContext): string {
  return single('GetEvents', () => {
    const subscription = ctx.core.subscriptions.get(text(request, 'SubscriptionId') ?? '', ctx.account, ctx.mailbox);
    if (subscription.kind !== 'pull') throw new EwsError('ErrorInvalidPullSubscriptionId');
    subscription.lastActivity = ctx.core.now();
    const mailbox = subscription.mailbox;
    const watermark = text(request, 'Watermark') ?? '';
    const seq = ctx.core.faults.take('invalidWatermark', ctx) ? undefined : readWatermark(mailbox, watermark);
    const since = seq === undefined ? undefined : mailbox.eventsAfter(seq);
    if (seq === undefined || since === undefined || seq < subscription.position)
      throw new EwsError('ErrorInvalidWatermark');
    subscription.position = seq;
    const matching = since.filter((event) => ctx.core.subscriptions.matches(subscription, event));
    const page = matching.slice(0, pullBatch);
    const more = matching.length > page.length;
    const events =
      page.length > 0 ? page.map((e) => renderEvent(mailbox, e)).join('') : statusEvent(mailbox, mailbox.seq);
    return notificationXml(subscription.id, events, { watermark, more });
  });
}

/** GetStreamingEvents lives with the streaming connections (notifications/streaming.ts). */
export { getStreamingEvents } from '../notifications/streaming.js';
