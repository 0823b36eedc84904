import { createHash, timingSafeEqual } from 'node:crypto';
import Fastify, { type FastifyReply, type FastifyRequest } from 'fastify';
import { z } from 'zod';
import type { Config } from '../../config/schema.js';
import { errors } from '../../errors.js';
import { keepServing } from '../../http/keep-serving.js';
import { requestDeadline } from '../../http/request-deadline.js';
import type { ExhLogger } from '../../logging/logger.js';
import { throttledWarning } from '../../logging/throttled-warning.js';
import { fingerprint } from '../subscription-events.js';

/**
 * The listener Microsoft Graph posts change notifications to (`listeners.graph`, behind the public HTTPS URL
 * `exchange.graph.notificationUrl`; docs/exchange-online.md, "Notifications"). It serves two paths: the path of
 * notificationUrl for change notifications, and that path + `/lifecycle` (lifecycleUrlOf) for lifecycle
 * notifications; both answer the validation handshake and both take either kind, told apart by its shape.
 *
 * - `?validationToken=…` (Graph's handshake when a subscription is created): 200 text/plain with the decoded token
 *   at once, before any body is read.
 * - A batch `{"value":[…]}`: validated (zod), every notification checked — its subscription registered here and its
 *   clientState equal to that subscription's, compared in constant time over SHA-256 digests (equal lengths, so not
 *   even the length leaks) — and the accepted ones handed to their subscriptions after 202 is sent: Graph wants an
 *   answer within 3 s and throttles, then drops, slow endpoints, so no handler is ever awaited. Mismatches and
 *   unknown subscription ids are dropped, counted and logged as W (throttled: anyone who reaches the URL can cause
 *   them), still with 202, so that a forger learns nothing and Graph does not retry them for 4 hours.
 * - Not JSON, not `application/json`, not the shape of a batch: 400 and nothing changes; over `maxBodyBytes`: 413;
 *   a request that does not arrive whole within `requestTimeoutMs`: 408 (src/http/request-deadline.ts).
 *
 * Neither a clientState nor a whole subscription id is ever logged (`fingerprint`).
 */

export type GraphNotification =
  /** Something changed in the subscribed resource: `changeType` created, updated or deleted. */
  | { kind: 'change'; subscriptionId: string; changeType: string; resource?: string }
  /** Graph's lifecycle events: reauthorizationRequired, subscriptionRemoved, missed (others are passed on as well). */
  | { kind: 'lifecycle'; subscriptionId: string; lifecycleEvent: string };

export type GraphNotificationHandler = (notification: GraphNotification) => void;

/** What became of each notification (or of a refused request), for exh_graph_notifications_total{outcome}. */
export const notificationOutcomes = ['accepted', 'unknown_subscription', 'client_state_mismatch', 'refused'] as const;
export type NotificationOutcome = (typeof notificationOutcomes)[number];

export interface GraphWebhookReceiver {
  /** Where it listens. */
  readonly address: { host: string; port: number };
  /** The path change notifications are posted to; lifecycle notifications to `${path}/lifecycle`. */
  readonly path: string;
  /**
   * From now on the notifications of `subscriptionId` whose clientState equals `clientState` reach `handler` (after
   * the answer to Graph, never awaited). Registering an id again replaces its state and handler.
   */
  register(subscriptionId: string, clientState: string, handler: GraphNotificationHandler): void;
  /** Notifications of this id are dropped as unknown from now on. Idempotent. */
  unregister(subscriptionId: string): void;
  /** Notifications by outcome since the start (a refused request counts once as `refused`). */
  counts(): Readonly<Record<NotificationOutcome, number>>;
  close(): Promise<void>;
}

export interface GraphWebhookReceiverOptions {
  host: string;
  /** 0 picks a free port. */
  port: number;
  /**
   * The path of exchange.graph.notificationUrl, as the reverse proxy in front passes it on; default `/`. Other paths
   * get 404.
   */
  path?: string;
  /** A request must arrive whole within this time, or it gets 408 (listeners.graph.requestTimeoutMs). */
  requestTimeoutMs?: number;
  /** The largest body accepted (listeners.graph.maxBodyBytes); larger gets 413. Default 1 MiB. */
  maxBodyBytes?: number;
  logger: ExhLogger;
}

export const lifecycleSuffix = '/lifecycle';

/**
 * The receiver as configured: started on listeners.graph when exchange.graph.notifications is "webhook", serving the
 * path of exchange.graph.notificationUrl (a reverse proxy in front passes the path on as it is); else undefined.
 * Throws EXH_CONFIG_INVALID when listeners.graph is off, EXH_LISTENER_FAILED naming it when its port cannot be had.
 */
export async function startConfiguredGraphWebhook(
  config: Config,
  logger: ExhLogger,
): Promise<GraphWebhookReceiver | undefined> {
  const graph = config.exchange.graph;
  if (graph.notifications !== 'webhook' || !graph.notificationUrl) return undefined;
  const listener = config.listeners.graph;
  if (!listener.enabled) {
    throw errors.configInvalid('configuration', [
      'listeners.graph.enabled: must be true when exchange.graph.notifications is "webhook" (Graph posts change ' +
        'notifications to it through exchange.graph.notificationUrl)',
    ]);
  }
  return startGraphWebhookReceiver({
    host: listener.host,
    port: listener.port,
    path: receiverPathOf(graph.notificationUrl),
    requestTimeoutMs: listener.requestTimeoutMs,
    maxBodyBytes: listener.maxBodyBytes,
    logger,
  });
}

/** The lifecycleNotificationUrl of a subscription whose notificationUrl is `notificationUrl`: `/lifecycle` appended. */
export function lifecycleUrlOf(notificationUrl: string): string {
  const url = new URL(notificationUrl);
  url.pathname = `${url.pathname.replace(/\/+$/, '')}${lifecycleSuffix}`;
  return url.toString();
}

/** The path a receiver serves for a notificationUrl: its pathname without trailing slashes ('/' for none). */
export function receiverPathOf(notificationUrl: string): string {
  return normalizePath(new URL(notificationUrl).pathname);
}

function normalizePath(path: string): string {
  const trimmed = path.replace(/\/+$/, '');
  return trimmed === '' ? '/' : trimmed.startsWith('/') ? trimmed : `/${trimmed}`;
}

// Loose objects: Graph adds properties over time (tenantId, encryptedContent, …); only what is read is checked.
const notificationSchema = z
  .looseObject({
    subscriptionId: z.string().min(1).max(256),
    clientState: z.string().max(256).nullish(),
    changeType: z.string().min(1).max(64).optional(),
    lifecycleEvent: z.string().min(1).max(64).optional(),
    resource: z.string().max(2048).optional(),
  })
  .refine((n) => (n.changeType === undefined) !== (n.lifecycleEvent === undefined), {
    message: 'a notification has either changeType or lifecycleEvent',
  });
const batchSchema = z.looseObject({ value: z.array(notificationSchema).min(1).max(1000) });
type Notification = z.infer<typeof notificationSchema>;

interface Registration {
  digest: Buffer;
  handler: GraphNotificationHandler;
}

export async function startGraphWebhookReceiver(options: GraphWebhookReceiverOptions): Promise<GraphWebhookReceiver> {
  const log = options.logger.child({ actor: 'graph-webhook' });
  const path = normalizePath(options.path ?? '/');
  const lifecyclePath = path === '/' ? lifecycleSuffix : `${path}${lifecycleSuffix}`;
  const registrations = new Map<string, Registration>();
  const counts: Record<NotificationOutcome, number> = {
    accepted: 0,
    unknown_subscription: 0,
    client_state_mismatch: 0,
    refused: 0,
  };
  const warnDropped = throttledWarning(log);
  const warnRefused = throttledWarning(log);
  const app = Fastify({
    logger: false,
    bodyLimit: options.maxBodyBytes ?? 1024 * 1024,
    forceCloseConnections: true,
    // The reverse proxy in front runs on this machine: logs name the client it forwarded for, not the proxy.
    trustProxy: 'loopback',
    ...requestDeadline(options.requestTimeoutMs),
  });
  // Every body is read as bytes and judged by the handler, so that any content type not JSON is 400, not 415.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'buffer' }, (_request, body, done) => done(null, body));

  const refuse = (remote: string, why: string) => {
    counts.refused++;
    warnRefused({ remote }, `Refused a post to the Graph notification listener from ${remote}: ${why}`);
  };

  // The handshake before anything else, the body (empty or text/plain) unread: Graph waits 10 s at most.
  app.addHook('onRequest', async (request, reply) => {
    const url = request.routeOptions.url;
    if (request.method !== 'POST' || (url !== path && url !== lifecyclePath)) return;
    const token = (request.query as Record<string, unknown> | undefined)?.validationToken;
    if (token === undefined) return;
    if (typeof token !== 'string') return reply.code(400).type('text/plain').send('One validationToken expected.');
    log.info({ lifecycle: url === lifecyclePath }, 'Graph validated the notification URL (subscription handshake)');
    return reply.code(200).type('text/plain; charset=utf-8').header('x-content-type-options', 'nosniff').send(token);
  });
  app.setNotFoundHandler((_request, reply) => reply.code(404).type('text/plain').send('Not found.'));
  app.setErrorHandler((error: { statusCode?: number }, request, reply) => {
    const status = error.statusCode === 413 ? 413 : (error.statusCode ?? 500) < 500 ? 400 : 500;
    if (status === 500) log.error({ err: error }, 'The Graph notification listener failed on a request');
    else refuse(request.ip, status === 413 ? 'body too large' : 'unreadable request');
    return reply
      .code(status)
      .type('text/plain')
      .send(status === 413 ? 'Body too large.' : status === 400 ? 'Bad request.' : 'Internal error.');
  });

  const handle = async (request: FastifyRequest, reply: FastifyReply) => {
    const batch = readBatch(request.headers['content-type'], request.body);
    if (typeof batch === 'string') {
      refuse(request.ip, batch);
      return reply.code(400).type('text/plain').send(`Expected a Graph notification batch: ${batch}.`);
    }
    const accepted: Array<[GraphNotificationHandler, GraphNotification]> = [];
    for (const notification of batch) {
      const registration = registrations.get(notification.subscriptionId);
      const outcome: NotificationOutcome = !registration
        ? 'unknown_subscription'
        : sameSecret(registration.digest, notification.clientState)
          ? 'accepted'
          : 'client_state_mismatch';
      counts[outcome]++;
      if (registration && outcome === 'accepted') {
        accepted.push([registration.handler, toNotification(notification)]);
        continue;
      }
      warnDropped(
        { remote: request.ip, subscription: fingerprint(notification.subscriptionId), outcome },
        outcome === 'unknown_subscription'
          ? `Dropped a Graph notification for a subscription not registered here (${fingerprint(notification.subscriptionId)})`
          : `Dropped a Graph notification whose clientState does not match its subscription's (${fingerprint(notification.subscriptionId)})`,
      );
    }
    // Handed over once Graph has its answer: a handler's work never delays the 202.
    if (accepted.length > 0) setImmediate(() => deliver(accepted));
    return reply.code(202).send();
  };
  const deliver = (accepted: Array<[GraphNotificationHandler, GraphNotification]>) => {
    for (const [handler, notification] of accepted) {
      try {
        handler(notification);
      } catch (error) {
        log.error(
          { err: error, subscription: fingerprint(notification.subscriptionId) },
          'A Graph subscription failed on a notification',
        );
      }
    }
  };
  app.post(path, handle);
  app.post(lifecyclePath, handle);

  try {
    await app.listen({ host: options.host, port: options.port });
  } catch (error) {
    throw errors.listenerFailed('graph', options.host, options.port, error);
  }
  keepServing(app.server, log, 'graph');
  const address = app.server.address();
  const port = typeof address === 'object' && address ? address.port : options.port;
  log.info(
    { host: options.host, port, path },
    `Graph change notifications are received at ${options.host}:${port}${path} (lifecycle: ${lifecyclePath})`,
  );
  return {
    address: { host: options.host, port },
    path,
    register(subscriptionId, clientState, handler) {
      registrations.set(subscriptionId, { digest: sha256(clientState), handler });
    },
    unregister(subscriptionId) {
      registrations.delete(subscriptionId);
    },
    counts: () => ({ ...counts }),
    close: () => app.close(),
  };
}

/** The notifications of a post, or why it is not a batch. */
function readBatch(contentType: unknown, body: unknown): Notification[] | string {
  const type = typeof contentType === 'string' ? contentType.split(';')[0]?.trim().toLowerCase() : undefined;
  if (type !== 'application/json') return 'not application/json';
  if (!Buffer.isBuffer(body)) return 'no body';
  let json: unknown;
  try {
    json = JSON.parse(body.toString('utf8'));
  } catch {
    return 'malformed JSON';
  }
  const parsed = batchSchema.safeParse(json);
  return parsed.success ? parsed.data.value : 'not a {"value":[…]} batch of notifications';
}

function toNotification(notification: Notification): GraphNotification {
  if (notification.lifecycleEvent !== undefined) {
    return {
      kind: 'lifecycle',
      subscriptionId: notification.subscriptionId,
      lifecycleEvent: notification.lifecycleEvent,
    };
  }
  return {
    kind: 'change',
    subscriptionId: notification.subscriptionId,
    changeType: notification.changeType ?? '',
    ...(notification.resource !== undefined ? { resource: notification.resource } : {}),
  };
}

/** Constant time whatever the lengths: both sides are compared as SHA-256 digests. */
function sameSecret(expected: Buffer, given: string | null | undefined): boolean {
  if (typeof given !== 'string') return false;
  return timingSafeEqual(expected, sha256(given));
}

function sha256(text: string): Buffer {
  return createHash('sha256').update(text, 'utf8').digest();
}
