import { request as httpRequest } from 'node:http';
import { networkInterfaces } from 'node:os';
import { afterAll, describe, expect, it } from 'vitest';
import { configSchema } from '../../src/config/schema.js';
import type { NotificationSummary } from '../../src/exchange/ews/subscriptions/events.js';
import { pushPath, startPushReceiver, subscriptionStatusOf } from '../../src/exchange/push-receiver.js';
import { createLogging } from '../../src/logging/logger.js';

const lines: string[] = [];
const { logger } = createLogging({
  level: 'debug',
  format: 'json',
  stdout: { write: (line) => void lines.push(line) },
});
const receiver = await startPushReceiver({
  host: '127.0.0.1',
  port: 0,
  logger,
  bodyLimit: 64 * 1024,
  registrationGraceMs: 100,
});
afterAll(() => receiver.close());

const t = 'http://schemas.microsoft.com/exchange/services/2006/types';
const m = 'http://schemas.microsoft.com/exchange/services/2006/messages';

function sendNotification(...notifications: string[]): string {
  const messages = notifications
    .map(
      (n) =>
        `<m:SendNotificationResponseMessage ResponseClass="Success"><m:ResponseCode>NoError</m:ResponseCode>${n}</m:SendNotificationResponseMessage>`,
    )
    .join('');
  return (
    `<?xml version="1.0" encoding="utf-8"?><soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Body>` +
    `<m:SendNotification xmlns:m="${m}" xmlns:t="${t}"><m:ResponseMessages>${messages}</m:ResponseMessages></m:SendNotification>` +
    '</soap:Body></soap:Envelope>'
  );
}

const created = (folder: string) =>
  `<t:CreatedEvent><t:Watermark>w2</t:Watermark><t:TimeStamp>2026-01-05T09:00:00Z</t:TimeStamp><t:ItemId Id="AAMkA1" ChangeKey="CK"/><t:ParentFolderId Id="${folder}" ChangeKey="F"/></t:CreatedEvent>`;
const notification = (id: string, events: string) =>
  `<m:Notification><t:SubscriptionId>${id}</t:SubscriptionId><t:PreviousWatermark>w1</t:PreviousWatermark><t:MoreEvents>false</t:MoreEvents>${events}</m:Notification>`;
const status = '<t:StatusEvent><t:Watermark>w3</t:Watermark></t:StatusEvent>';

async function post(
  url: string,
  body: string,
  contentType = 'text/xml; charset=utf-8',
): Promise<{ status: number; text: string }> {
  const response = await fetch(url, { method: 'POST', headers: { 'content-type': contentType }, body });
  return { status: response.status, text: await response.text() };
}

/** An endpoint bound to `id` whose notifications land in the returned array. */
function bound(id: string) {
  const got: NotificationSummary[] = [];
  const endpoint = receiver.open();
  endpoint.bind(id, (n) => got.push(n));
  return { endpoint, got };
}

describe('the push receiver', () => {
  it('hands a notification to its subscription and answers OK', async () => {
    const { endpoint, got } = bound('sub-1');
    const answer = await post(
      endpoint.url,
      sendNotification(notification('sub-1', created('calendar-id') + created('inbox-id'))),
    );
    expect(answer.status).toBe(200);
    expect(subscriptionStatusOf(answer.text)).toBe('OK');
    expect(got).toEqual([
      { subscriptionId: 'sub-1', folderIds: ['calendar-id', 'inbox-id'], changes: 2, status: false },
    ]);
  });

  it('hands status events over too, so that a subscription knows Exchange is alive', async () => {
    const { endpoint, got } = bound('sub-2');
    expect(subscriptionStatusOf((await post(endpoint.url, sendNotification(notification('sub-2', status)))).text)).toBe(
      'OK',
    );
    expect(got).toEqual([{ subscriptionId: 'sub-2', folderIds: [], changes: 0, status: true }]);
  });

  it('answers Unsubscribe for an id not bound to the URL, and once its subscription has ended', async () => {
    const { endpoint, got } = bound('sub-3');
    expect(
      subscriptionStatusOf((await post(endpoint.url, sendNotification(notification('nobody', status)))).text),
    ).toBe('Unsubscribe');
    expect(got).toEqual([]);
    endpoint.close();
    expect(subscriptionStatusOf((await post(endpoint.url, sendNotification(notification('sub-3', status)))).text)).toBe(
      'Unsubscribe',
    );
    expect(got).toEqual([]);
    // Exchange drops the subscription on that answer; the secret is forgotten.
    expect((await post(endpoint.url, sendNotification(notification('sub-3', status)))).status).toBe(404);
  });

  it('waits briefly for an id whose Subscribe answer has not arrived yet', async () => {
    const got: NotificationSummary[] = [];
    const endpoint = receiver.open();
    const answer = post(endpoint.url, sendNotification(notification('sub-4', created('x'))));
    setTimeout(() => endpoint.bind('sub-4', (n) => got.push(n)), 20);
    expect(subscriptionStatusOf((await answer).text)).toBe('OK');
    expect(got).toHaveLength(1);
  });

  it('refuses malformed XML and other bodies with 400, and changes nothing', async () => {
    const { endpoint, got } = bound('sub-5');
    expect((await post(endpoint.url, '<soap:Envelope><unclosed>')).status).toBe(400);
    expect(
      (
        await post(
          endpoint.url,
          '<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Body/></soap:Envelope>',
        )
      ).status,
    ).toBe(400);
    expect([400, 415]).toContain((await post(endpoint.url, '{"SubscriptionId":"sub-5"}', 'application/json')).status);
    expect(got).toEqual([]);
    expect(subscriptionStatusOf((await post(endpoint.url, sendNotification(notification('sub-5', status)))).text)).toBe(
      'OK',
    );
    expect(got).toHaveLength(1);
  });

  it('refuses bodies over its limit with 413', async () => {
    const { endpoint } = bound('sub-1b');
    const huge = sendNotification(notification('sub-1b', created('x').repeat(2000)));
    expect(huge.length).toBeGreaterThan(64 * 1024);
    expect((await post(endpoint.url, huge)).status).toBe(413);
  });

  it('survives a subscription that throws', async () => {
    const endpoint = receiver.open();
    endpoint.bind('sub-6', () => {
      throw new Error('bug in the subscription');
    });
    expect(
      subscriptionStatusOf((await post(endpoint.url, sendNotification(notification('sub-6', created('x'))))).text),
    ).toBe('OK');
  });
});

describe('only the URL Exchange was given reaches a subscription', () => {
  it('gives each subscription a URL of its own with at least 128 random bits', () => {
    const urls = Array.from({ length: 50 }, () => receiver.open().url);
    expect(new Set(urls).size).toBe(50);
    for (const url of urls) {
      expect(url.startsWith(`${receiver.url}/`)).toBe(true);
      const secret = url.slice(receiver.url.length + 1);
      expect(secret).toMatch(/^[A-Za-z0-9_-]+$/);
      expect(Buffer.from(secret, 'base64url').length * 8).toBeGreaterThanOrEqual(128);
    }
  });

  it('refuses a post with the right subscription id but no or a wrong secret with 404, touching nothing', async () => {
    const { endpoint, got } = bound('sub-7');
    const forged = sendNotification(notification('sub-7', created('inbox-id')));
    const other = receiver.open().url;
    const base = receiver.url;
    for (const url of [
      base,
      `${base}/`,
      `${base}/${'A'.repeat(43)}`,
      `${endpoint.url}x`,
      `${endpoint.url.slice(0, -1)}${endpoint.url.endsWith('A') ? 'B' : 'A'}`,
      `${endpoint.url}/more`,
      base.replace(pushPath, '/'),
    ]) {
      const answer = await post(url, forged);
      expect(answer.status, url.replace(endpoint.url, '<the real URL>')).toBe(404);
      expect(subscriptionStatusOf(answer.text)).toBeUndefined();
    }
    // The URL of another subscription does not carry this one's notifications either.
    expect(subscriptionStatusOf((await post(other, forged)).text)).toBe('Unsubscribe');
    expect(got).toEqual([]);
    // The subscription itself is untouched: Exchange's own post still reaches it.
    expect(subscriptionStatusOf((await post(endpoint.url, forged)).text)).toBe('OK');
    expect(got).toHaveLength(1);
  });

  it('does not read the body of a post without a secret', async () => {
    // A request that promises a large body and never sends it: answered at once, not after reading.
    const url = new URL(receiver.url);
    const status = await new Promise<number>((resolve, reject) => {
      const request = httpRequest(
        { host: url.hostname, port: url.port, path: `${pushPath}/not-a-secret`, method: 'POST' },
        (response) => {
          response.resume();
          resolve(response.statusCode ?? 0);
        },
      );
      request.on('error', reject);
      request.setHeader('content-type', 'text/xml');
      request.setHeader('content-length', String(60 * 1024));
      request.write('<soap:Envelope');
    });
    expect(status).toBe(404);
  });

  it('never logs a secret or a whole subscription id', async () => {
    const { endpoint } = bound('a-subscription-id-from-exchange');
    const throwing = receiver.open();
    throwing.bind('another-subscription-id', () => {
      throw new Error('bug');
    });
    await post(throwing.url, sendNotification(notification('another-subscription-id', created('x'))));
    await post(endpoint.url, sendNotification(notification('an-unknown-subscription-id', status)));
    await post(`${receiver.url}/guess`, sendNotification(notification('a-subscription-id-from-exchange', status)));
    const log = lines.join('\n');
    expect(log).toContain('Push for no live subscription');
    expect(log).toContain('A push subscription failed');
    for (const secret of [endpoint.url, throwing.url].map((u) => u.slice(receiver.url.length + 1))) {
      expect(log).not.toContain(secret);
    }
    for (const id of ['a-subscription-id-from-exchange', 'another-subscription-id', 'an-unknown-subscription-id']) {
      expect(log).not.toContain(id);
    }
  });
});

describe('where it listens', () => {
  it('binds 127.0.0.1 unless listeners.exchange.host says otherwise', async () => {
    const configured = configSchema.parse({
      database: { type: 'pglite' },
      exchange: { impersonationUser: 'svc@contoso.test', impersonationPassword: 'x', notifications: 'push' },
      listeners: { exchange: { port: 0 } },
    }).listeners.exchange;
    expect(configured.host).toBe('127.0.0.1');
    const lines: string[] = [];
    const logging = createLogging({ level: 'info', format: 'json', stdout: { write: (l) => void lines.push(l) } });
    const local = await startPushReceiver({ host: configured.host, port: configured.port, logger: logging.logger });
    try {
      expect(local.address.host).toBe('127.0.0.1');
      expect(local.url).toBe(`http://127.0.0.1:${local.address.port}${pushPath}`);
      // Another machine cannot post to it: nothing answers on this machine's other addresses.
      const outside = Object.values(networkInterfaces())
        .flat()
        .find((a) => a && !a.internal && a.family === 'IPv4')?.address;
      if (outside) {
        await expect(
          fetch(`http://${outside}:${local.address.port}${pushPath}/x`, { method: 'POST', body: '' }),
        ).rejects.toThrow();
      }
      // And the log says what to set for an Exchange elsewhere.
      expect(lines.join('\n')).toMatch(/only an Exchange on this machine can post to it.*listeners\.exchange\.host/);
    } finally {
      await local.close();
    }
  });
});
