import { hostname } from 'node:os';
import Fastify from 'fastify';
import { errors } from '../errors.js';
import type { ExhLogger } from '../logging/logger.js';
import { type NotificationSummary, summarize } from './ews/subscriptions/events.js';
import { all, at, parseXml, textOf, type XmlValue } from './ews/xml.js';

/**
 * The HTTP listener Exchange posts push notifications to (`listeners.exchange`): it parses `SendNotification`,
 * hands each notification to the subscription registered under its id and answers `SendNotificationResult`: OK for
 * ids it owns, Unsubscribe for the others, so that Exchange stops posting for subscriptions nobody holds any more.
 * A notification for an id not registered yet waits `registrationGraceMs` first: Exchange may post before the
 * Subscribe answer has reached the adapter. Status events are handed over too, so a subscription can tell a silent
 * Exchange from a quiet mailbox. What is not a SendNotification (malformed XML, another body) gets 400 and changes
 * nothing; bodies over `bodyLimit` get 413.
 */

export type PushNotificationHandler = (notification: NotificationSummary) => void;

export interface PushReceiver {
  /** Where Exchange should post (the PushSubscriptionRequest URL). */
  readonly url: string;
  register(subscriptionId: string, onNotification: PushNotificationHandler): void;
  unregister(subscriptionId: string): void;
  close(): Promise<void>;
}

export interface PushReceiverOptions {
  host: string;
  /** 0 picks a free port. */
  port: number;
  /** The URL Exchange reaches this listener at; default http://<host or this machine's name>:<port>/exh/notifications. */
  publicUrl?: string;
  logger: ExhLogger;
  /** Largest body accepted, default 1 MiB (a SendNotification carries at most a few hundred events). */
  bodyLimit?: number;
  registrationGraceMs?: number;
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

export async function startPushReceiver(options: PushReceiverOptions): Promise<PushReceiver> {
  const log = options.logger.child({ actor: 'push-receiver' });
  const handlers = new Map<string, PushNotificationHandler>();
  const waiting = new Map<string, Set<() => void>>();
  const grace = options.registrationGraceMs ?? 2_000;
  const app = Fastify({ logger: false, bodyLimit: options.bodyLimit ?? 1024 * 1024, forceCloseConnections: true });
  app.addContentTypeParser(
    ['text/xml', 'application/soap+xml', 'application/xml'],
    { parseAs: 'string' },
    (_request, body, done) => done(null, body),
  );

  const registered = (id: string): Promise<boolean> => {
    if (handlers.has(id)) return Promise.resolve(true);
    return new Promise((resolve) => {
      const wake = () => {
        clearTimeout(timer);
        const set = waiting.get(id);
        set?.delete(wake);
        if (set?.size === 0) waiting.delete(id);
        resolve(handlers.has(id));
      };
      const timer = setTimeout(wake, grace);
      const set = waiting.get(id) ?? new Set<() => void>();
      waiting.set(id, set);
      set.add(wake);
    });
  };

  app.post(pushPath, async (request, reply) => {
    const notifications = typeof request.body === 'string' ? readSendNotification(request.body) : undefined;
    if (!notifications) {
      log.warn({ remote: request.ip }, 'A post to the push listener is not a SendNotification: refused');
      return reply.code(400).type('text/plain').send('Expected a SOAP SendNotification.');
    }
    let owned = false;
    for (const notification of notifications) {
      if (!(await registered(notification.subscriptionId))) continue;
      owned = true;
      try {
        handlers.get(notification.subscriptionId)?.(notification);
      } catch (error) {
        log.error(
          { err: error, subscription: notification.subscriptionId },
          'A push subscription failed on a notification',
        );
      }
    }
    if (!owned)
      log.info(
        { subscriptions: notifications.map((n) => n.subscriptionId) },
        'Push for unknown subscription: Unsubscribe',
      );
    return reply.type('text/xml; charset=utf-8').send(result(owned ? 'OK' : 'Unsubscribe'));
  });

  try {
    await app.listen({ host: options.host, port: options.port });
  } catch (error) {
    throw errors.listenerFailed('exchange', options.host, options.port, error);
  }
  const address = app.server.address();
  const port = typeof address === 'object' && address ? address.port : options.port;
  const visibleHost = options.host === '0.0.0.0' || options.host === '::' ? hostname() : options.host;
  const url =
    options.publicUrl ?? `http://${visibleHost.includes(':') ? `[${visibleHost}]` : visibleHost}:${port}${pushPath}`;
  log.info({ url }, `Push notifications are received at ${url}`);
  return {
    url,
    register(id, onNotification) {
      handlers.set(id, onNotification);
      for (const wake of [...(waiting.get(id) ?? [])]) wake();
    },
    unregister(id) {
      handlers.delete(id);
    },
    async close() {
      for (const set of waiting.values()) for (const wake of [...set]) wake();
      await app.close();
    },
  };
}

/** Plain text of a SubscriptionStatus answer, for tests and diagnostics. */
export function subscriptionStatusOf(answer: string): string | undefined {
  try {
    return textOf(parseXml(answer), 'Envelope', 'Body', 'SendNotificationResult', 'SubscriptionStatus')?.trim();
  } catch {
    return undefined;
  }
}
