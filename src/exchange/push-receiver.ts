import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { hostname } from 'node:os';
import Fastify, { type FastifyReply } from 'fastify';
import { errors } from '../errors.js';
import { keepServing } from '../http/keep-serving.js';
import { requestDeadline } from '../http/request-deadline.js';
import type { ExhLogger } from '../logging/logger.js';
import { throttledWarning } from '../logging/throttled-warning.js';
import { type NotificationSummary, summarize } from './ews/subscriptions/events.js';
import { fingerprint } from './ews/subscriptions/lifecycle.js';
import { all, at, parseXml, textOf, type XmlValue } from './ews/xml.js';

/**
 * The HTTP listener Exchange posts push notifications to (`listeners.exchange`). Every push subscription registers a
 * URL of its own, `<url>/<secret>`, with an unguessable secret (256 random bits) opened here for it: a post is looked
 * at only when its path carries a live secret (found by its SHA-256, then compared in constant time), and only the
 * notifications of the subscription bound to that secret reach it. A post without one gets 404 before its body is
 * read, and touches no subscription: a subscription id read from a log is not enough to forge a notification.
 * The answer is `SendNotificationResult`: OK when the subscription took it, Unsubscribe for a secret whose
 * subscription has ended (so that Exchange stops posting). A post may arrive before the Subscribe answer has bound
 * its secret; it waits `registrationGraceMs` for that. Status events are handed over too, so a subscription can tell
 * a silent Exchange from a quiet mailbox. What is not a SendNotification gets 400 and changes nothing; bodies over
 * `bodyLimit` get 413. Neither secrets nor whole subscription ids are ever logged (`fingerprint`).
 */

export type PushNotificationHandler = (notification: NotificationSummary) => void;

/** One subscription's place at the receiver: its own URL and secret. */
export interface PushEndpoint {
  /** The URL to subscribe with (the receiver's URL and this endpoint's secret). A secret: never log it. */
  readonly url: string;
  /** From now on the notifications of `subscriptionId` posted to this URL reach `onNotification`. */
  bind(subscriptionId: string, onNotification: PushNotificationHandler): void;
  /** The subscription has ended: posts to this URL are answered Unsubscribe and reach nobody. Idempotent. */
  close(): void;
}

export interface PushReceiver {
  /** The receiver's URL without any secret, for logs and messages. */
  readonly url: string;
  /** Where it listens. */
  readonly address: { host: string; port: number };
  /** A new endpoint with its own secret, for one subscription. */
  open(): PushEndpoint;
  close(): Promise<void>;
}

export interface PushReceiverOptions {
  host: string;
  /** 0 picks a free port. */
  port: number;
  /**
   * The URL Exchange reaches this listener at, without the secret (each subscription appends `/<secret>`); default
   * http://<host or this machine's name>:<port>/exh/notifications.
   */
  publicUrl?: string;
  logger: ExhLogger;
  /** Largest body accepted, default 1 MiB (a SendNotification carries at most a few hundred events). */
  bodyLimit?: number;
  registrationGraceMs?: number;
  /** How long the secret of an ended subscription is still answered with Unsubscribe; default 1 hour. */
  retiredTtlMs?: number;
  /** A request must arrive whole within this time, or it gets 408 (src/http/request-deadline.ts); default 30 s. */
  requestTimeoutMs?: number;
}

export const pushPath = '/exh/notifications';

const messagesNamespace = 'http://schemas.microsoft.com/exchange/services/2006/messages';

function result(status: 'OK' | 'Unsubscribe'): string {
  return (
    '<?xml version="1.0" encoding="utf-8"?><soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/">' +
    `<soap:Body><SendNotificationResult xmlns="${messagesNamespace}"><SubscriptionStatus>${status}</SubscriptionStatus>` +
    '</SendNotificationResult></soap:Body></soap:Envelope>'
  );
}

/** The notifications of a SendNotification body; undefined when the body is not one. */
export function readSendNotification(body: string): NotificationSummary[] | undefined {
  let messages: XmlValue[];
  try {
    const send = at(parseXml(body), 'Envelope', 'Body', 'SendNotification');
    if (send === undefined) return undefined;
    messages = all(at(send, 'ResponseMessages'), 'SendNotificationResponseMessage');
  } catch {
    return undefined;
  }
  const notifications = messages.flatMap((message) => all(message, 'Notification')).map(summarize);
  return notifications.length > 0 && notifications.every((n) => n.subscriptionId) ? notifications : undefined;
}

/** A secret's place: unbound until the Subscribe answer names its subscription, retired once that ends. */
interface Slot {
  readonly digest: Buffer;
  subscriptionId?: string;
  handler?: PushNotificationHandler;
  retiredAt?: number;
  /** Posts that came before `bind`, waiting for it. */
  readonly waiting: Set<() => void>;
}

export async function startPushReceiver(options: PushReceiverOptions): Promise<PushReceiver> {
  const log = options.logger.child({ actor: 'push-receiver' });
  /** By the hex SHA-256 of the secret: the lookup's timing depends on the digest, which tells nothing of a secret. */
  const slots = new Map<string, Slot>();
  const grace = options.registrationGraceMs ?? 2_000;
  const retiredTtlMs = options.retiredTtlMs ?? 60 * 60_000;
  const warnRefused = throttledWarning(log);
  const app = Fastify({
    logger: false,
    bodyLimit: options.bodyLimit ?? 1024 * 1024,
    forceCloseConnections: true,
    ...requestDeadline(options.requestTimeoutMs),
  });
  app.addContentTypeParser(
    ['text/xml', 'application/soap+xml', 'application/xml'],
    { parseAs: 'string' },
    (_request, body, done) => done(null, body),
  );

  const forgetRetired = () => {
    const now = Date.now();
    for (const [key, slot] of slots)
      if (slot.retiredAt !== undefined && now - slot.retiredAt > retiredTtlMs) slots.delete(key);
  };
  const slotOf = (secret: unknown): Slot | undefined => {
    if (typeof secret !== 'string' || secret === '') return undefined;
    const digest = sha256(secret);
    const slot = slots.get(digest.toString('hex'));
    return slot && timingSafeEqual(slot.digest, digest) ? slot : undefined;
  };
  const bound = (slot: Slot): Promise<void> => {
    if (slot.handler || slot.retiredAt !== undefined) return Promise.resolve();
    return new Promise((resolve) => {
      const wake = () => {
        clearTimeout(timer);
        slot.waiting.delete(wake);
        resolve();
      };
      const timer = setTimeout(wake, grace);
      slot.waiting.add(wake);
    });
  };
  const notFound = (reply: FastifyReply) => reply.code(404).type('text/plain').send('Not found.');

  // Before the body is read: a post without a live secret costs nothing more and reaches nothing.
  app.addHook('onRequest', async (request, reply) => {
    const secret = (request.params as { secret?: unknown } | undefined)?.secret;
    if (request.routeOptions.url === `${pushPath}/:secret` && slotOf(secret)) return;
    warnRefused(
      { remote: request.ip },
      `Refused a post to the push listener from ${request.ip}: no valid secret in its URL`,
    );
    return notFound(reply);
  });
  app.setNotFoundHandler((_request, reply) => notFound(reply));

  app.post(`${pushPath}/:secret`, async (request, reply) => {
    const slot = slotOf((request.params as { secret: string }).secret);
    if (!slot) return notFound(reply);
    const notifications = typeof request.body === 'string' ? readSendNotification(request.body) : undefined;
    if (!notifications) {
      log.warn({ remote: request.ip }, 'A post to the push listener is not a SendNotification: refused');
      return reply.code(400).type('text/plain').send('Expected a SOAP SendNotification.');
    }
    await bound(slot);
    let owned = false;
    if (slot.retiredAt === undefined && slot.handler) {
      for (const notification of notifications) {
        // Only the subscription this secret was opened for: a secret does not open another subscription's door.
        if (notification.subscriptionId !== slot.subscriptionId) continue;
        owned = true;
        try {
          slot.handler(notification);
        } catch (error) {
          log.error(
            { err: error, subscription: fingerprint(notification.subscriptionId) },
            'A push subscription failed on a notification',
          );
        }
      }
    }
    if (!owned) {
      log.info(
        { subscriptions: notifications.map((n) => fingerprint(n.subscriptionId)) },
        'Push for no live subscription of this URL: Unsubscribe',
      );
      // Exchange drops the subscription on this answer; an unbound secret stays open for its Subscribe answer.
      if (slot.retiredAt !== undefined) slots.delete(slot.digest.toString('hex'));
    }
    return reply.type('text/xml; charset=utf-8').send(result(owned ? 'OK' : 'Unsubscribe'));
  });

  try {
    await app.listen({ host: options.host, port: options.port });
  } catch (error) {
    throw errors.listenerFailed('exchange', options.host, options.port, error);
  }
  keepServing(app.server, log, 'push');
  const address = app.server.address();
  const port = typeof address === 'object' && address ? address.port : options.port;
  const visibleHost = options.host === '0.0.0.0' || options.host === '::' ? hostname() : options.host;
  const url = (
    options.publicUrl ?? `http://${visibleHost.includes(':') ? `[${visibleHost}]` : visibleHost}:${port}${pushPath}`
  ).replace(/\/+$/, '');
  log.info({ url }, `Push notifications are received at ${url}/… (a secret per subscription)`);
  if (!options.publicUrl && isLoopback(options.host)) {
    log.warn(
      { url },
      `The push listener listens on ${options.host}: only an Exchange on this machine can post to it. Set ` +
        'listeners.exchange.host (and listeners.exchange.publicUrl, the URL Exchange reaches it at) for another one.',
    );
  }
  return {
    url,
    address: { host: options.host, port },
    open() {
      forgetRetired();
      const secret = randomBytes(32).toString('base64url');
      const digest = sha256(secret);
      const slot: Slot = { digest, waiting: new Set() };
      slots.set(digest.toString('hex'), slot);
      const wakeAll = () => {
        for (const wake of [...slot.waiting]) wake();
      };
      return {
        url: `${url}/${secret}`,
        bind(subscriptionId, onNotification) {
          if (slot.retiredAt !== undefined) return;
          slot.subscriptionId = subscriptionId;
          slot.handler = onNotification;
          wakeAll();
        },
        close() {
          if (slot.retiredAt !== undefined) return;
          slot.retiredAt = Date.now();
          delete slot.handler;
          wakeAll();
        },
      };
    },
    async close() {
      for (const slot of slots.values()) for (const wake of [...slot.waiting]) wake();
      await app.close();
    },
  };
}

function sha256(text: string): Buffer {
  return createHash('sha256').update(text, 'utf8').digest();
}

function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || host.startsWith('127.');
}

/** Plain text of a SubscriptionStatus answer, for tests and diagnostics. */
export function subscriptionStatusOf(answer: string): string | undefined {
  try {
    return textOf(parseXml(answer), 'Envelope', 'Body', 'SendNotificationResult', 'SubscriptionStatus')?.trim();
  } catch {
    return undefined;
  }
}
