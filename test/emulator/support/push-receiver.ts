import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll } from 'vitest';

/**
 * A tiny push-notification receiver (ews-javascript-api has none): it records every SendNotification it gets and
 * answers with what the test decides — a SendNotificationResult (OK or Unsubscribe) or an HTTP error.
 */
export interface ReceivedNotification {
  body: string;
}

export type Answer = 'OK' | 'Unsubscribe' | number;

export interface PushReceiver {
  url: string;
  received: ReceivedNotification[];
  /** How to answer the next requests, in order; after the list runs out every request gets `fallback`. */
  answers: Answer[];
  fallback: Answer;
  /** Resolves when `count` notifications have arrived in all. */
  waitFor(count: number): Promise<ReceivedNotification[]>;
}

export function result(status: 'OK' | 'Unsubscribe'): string {
  return (
    '<?xml version="1.0" encoding="utf-8"?><soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/">' +
    '<soap:Body><SendNotificationResult xmlns="http://schemas.microsoft.com/exchange/services/2006/messages">' +
    `<SubscriptionStatus>${status}</SubscriptionStatus></SendNotificationResult></soap:Body></soap:Envelope>`
  );
}

export async function startPushReceiver(): Promise<PushReceiver> {
  const waiters = new Set<() => void>();
  const receiver: PushReceiver = {
    url: '',
    received: [],
    answers: [],
    fallback: 'OK',
    waitFor(count) {
      return new Promise((resolve) => {
        const check = () => {
          if (receiver.received.length >= count) {
            waiters.delete(check);
            resolve(receiver.received.slice(0, count));
          }
        };
        waiters.add(check);
        check();
      });
    },
  };
  const server = createServer((request, response) => {
    let body = '';
    request.setEncoding('utf8');
    request.on('data', (chunk: string) => {
      body += chunk;
    });
    request.on('end', () => {
      const answer = receiver.answers.shift() ?? receiver.fallback;
      receiver.received.push({ body });
      if (typeof answer === 'number') response.writeHead(answer).end();
      else response.writeHead(200, { 'content-type': 'text/xml; charset=utf-8' }).end(result(answer));
      for (const wake of [...waiters]) wake();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  receiver.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/exh/push`;
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));
  return receiver;
}
