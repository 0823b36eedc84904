import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, describe, expect, it, vi } from 'vitest';
import type { NotificationSummary } from '../../../../src/exchange/ews/subscriptions/events.js';
import { type PushReceiver, pushPath, startPushReceiver } from '../../../../src/exchange/push-receiver.js';
import { createLogging } from '../../../../src/logging/logger.js';
import type { SubscriptionEvent } from '../../../../src/ports/exchange.port.js';
import { alice, bob, type LogRecord, live, startTestEmulator, testAdapter } from '../support.js';

// An EWS "minute" of 200 ms: StatusFrequency 1 brings a StatusEvent every 200 ms when nothing happens.
const emulator = await startTestEmulator({ mailboxes: [alice, bob], minuteMs: 200 });
const { logger } = createLogging({ level: 'debug', format: 'json', stdout: { write: () => {} } });
const tuning = { minuteMs: 200, pushStatusFrequencyMinutes: 1 };

async function receiverFor(): Promise<{ receiver: PushReceiver; seen: NotificationSummary[]; urls: string[] }> {
  const receiver = await startPushReceiver({ host: '127.0.0.1', port: 0, logger, registrationGraceMs: 200 });
  afterAll(() => receiver.close());
  // Watch what reaches the receiver's subscriptions, and the URLs it gives out, without changing what it does.
  const seen: NotificationSummary[] = [];
  const urls: string[] = [];
  const open = receiver.open.bind(receiver);
  receiver.open = () => {
    const endpoint = open();
    urls.push(endpoint.url);
    return {
      url: endpoint.url,
      bind: (id, handler) =>
        endpoint.bind(id, (n) => {
          seen.push(n);
          handler(n);
        }),
      close: () => endpoint.close(),
    };
  };
  return { receiver, seen, urls };
}

const shared = await receiverFor();
const adapter = testAdapter(emulator, { notifications: 'push' }, { tuning, push: shared.receiver });

describe('push subscriptions through the push receiver', () => {
  it('round trip: Exchange posts, the receiver answers OK, the subscription reports the folder', async () => {
    const events: SubscriptionEvent[] = [];
    const subscription = await (await adapter.connect(alice)).subscribe(
      ['tasks'],
      'push',
      (e) => void events.push(e),
      live(),
    );
    emulator.admin.createItem(alice, { kind: 'Task', Subject: 'Pushed' });
    await vi.waitFor(() => expect(events).toContainEqual({ type: 'changed', folders: ['tasks'] }));
    // Status events keep a quiet subscription alive: several arrive, and it is not lost.
    const statusFrom = shared.seen.length;
    await vi.waitFor(() =>
      expect(shared.seen.slice(statusFrom).filter((n) => n.status).length).toBeGreaterThanOrEqual(3),
    );
    expect(events.filter((e) => e.type === 'lost')).toEqual([]);
    await subscription.close();
    // Closing unregisters: the next post gets Unsubscribe, and Exchange drops the subscription.
    await vi.waitFor(() => expect(emulator.admin.subscriptions().map((s) => s.id)).not.toContain(subscription.id));
  });

  it('a subscription silent for twice StatusFrequency is lost', async () => {
    const own = await receiverFor();
    const silent = testAdapter(emulator, { notifications: 'push' }, { tuning, push: own.receiver });
    const events: SubscriptionEvent[] = [];
    await (await silent.connect(bob)).subscribe(['calendar'], 'push', (e) => void events.push(e), live());
    await vi.waitFor(() => expect(own.seen.length).toBeGreaterThan(0));
    // The receiver goes away: Exchange's posts fail and nothing reaches the subscription any more.
    await own.receiver.close();
    await vi.waitFor(() => expect(events.filter((e) => e.type === 'lost')).toHaveLength(1));
    expect(events.find((e) => e.type === 'lost')).toMatchObject({
      error: { code: 'EXH_EXCHANGE_SUBSCRIPTION_LOST', message: expect.stringContaining('twice StatusFrequency') },
    });
  });

  it('without a push receiver, subscribe says what to configure', async () => {
    const none = testAdapter(emulator, { notifications: 'push' }, { tuning });
    await expect((await none.connect(alice)).subscribe(['inbox'], 'push', () => {}, live())).rejects.toMatchObject({
      code: 'EXH_EXCHANGE_PUSH_UNAVAILABLE',
      message: expect.stringContaining('listeners.exchange'),
    });
  });

  it('a forged SendNotification with the subscription id but no or a wrong secret is refused and changes nothing', async () => {
    const events: SubscriptionEvent[] = [];
    const subscription = await (await adapter.connect(alice)).subscribe(
      ['tasks'],
      'push',
      (e) => void events.push(e),
      live(),
    );
    try {
      const seenBefore = shared.seen.length;
      await vi.waitFor(() => expect(shared.seen.length).toBeGreaterThan(seenBefore));
      // What someone who read the id in a log would post: a change in alice's tasks, for that very subscription.
      const forged =
        '<?xml version="1.0" encoding="utf-8"?><soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/">' +
        '<soap:Body><m:SendNotification xmlns:m="http://schemas.microsoft.com/exchange/services/2006/messages" ' +
        'xmlns:t="http://schemas.microsoft.com/exchange/services/2006/types"><m:ResponseMessages>' +
        '<m:SendNotificationResponseMessage ResponseClass="Success"><m:ResponseCode>NoError</m:ResponseCode>' +
        `<m:Notification><t:SubscriptionId>${subscription.id}</t:SubscriptionId><t:PreviousWatermark>x</t:PreviousWatermark>` +
        '<t:MoreEvents>false</t:MoreEvents><t:CreatedEvent><t:Watermark>y</t:Watermark>' +
        '<t:TimeStamp>2026-01-05T09:00:00Z</t:TimeStamp><t:ItemId Id="AAMkForged" ChangeKey="CK"/>' +
        '<t:ParentFolderId Id="forged" ChangeKey="F"/></t:CreatedEvent></m:Notification>' +
        '</m:SendNotificationResponseMessage></m:ResponseMessages></m:SendNotification></soap:Body></soap:Envelope>';
      const seenAtForgery = shared.seen.length;
      for (const url of [shared.receiver.url, `${shared.receiver.url}/${'x'.repeat(43)}`]) {
        const answer = await fetch(url, {
          method: 'POST',
          headers: { 'content-type': 'text/xml; charset=utf-8' },
          body: forged,
        });
        expect(answer.status).toBe(404);
        expect(await answer.text()).not.toContain('SendNotificationResult');
      }
      expect(events).toEqual([]);
      expect(shared.seen.slice(seenAtForgery).filter((n) => n.changes > 0)).toEqual([]);
      // Exchange's subscription is untouched, and a real change still arrives through the URL it was given.
      expect(emulator.admin.subscriptions().map((s) => s.id)).toContain(subscription.id);
      emulator.admin.createItem(alice, { kind: 'Task', Subject: 'Real' });
      await vi.waitFor(() => expect(events).toContainEqual({ type: 'changed', folders: ['tasks'] }));
    } finally {
      await subscription.close();
    }
  });

  it('the records of a push run name no whole subscription id, secret or watermark', async () => {
    const lines: string[] = [];
    const recording = createLogging({ level: 'debug', format: 'json', stdout: { write: (l) => void lines.push(l) } });
    const receiver = await startPushReceiver({
      host: '127.0.0.1',
      port: 0,
      logger: recording.logger,
      registrationGraceMs: 200,
    });
    // Between Exchange and the receiver, a proxy that keeps every body Exchange posts (for its watermarks).
    const posted: string[] = [];
    const proxy = createServer((request, response) => {
      const chunks: Buffer[] = [];
      request.on('data', (c: Buffer) => chunks.push(c));
      request.on('end', async () => {
        const body = Buffer.concat(chunks).toString('utf8');
        posted.push(body);
        const answer = await fetch(`${receiver.url}${request.url?.slice(pushPath.length) ?? ''}`, {
          method: 'POST',
          headers: { 'content-type': request.headers['content-type'] ?? 'text/xml' },
          body,
        });
        response.writeHead(answer.status, { 'content-type': answer.headers.get('content-type') ?? 'text/plain' });
        response.end(await answer.text());
      });
    });
    await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
    afterAll(async () => {
      await new Promise((resolve) => proxy.close(resolve));
      await receiver.close();
    });
    const proxyBase = `http://127.0.0.1:${(proxy.address() as AddressInfo).port}${pushPath}`;
    const secrets: string[] = [];
    const open = receiver.open.bind(receiver);
    receiver.open = () => {
      const endpoint = open();
      const secret = endpoint.url.slice(receiver.url.length + 1);
      secrets.push(secret);
      return { url: `${proxyBase}/${secret}`, bind: endpoint.bind, close: endpoint.close };
    };
    const logged = testAdapter(emulator, { notifications: 'push' }, { tuning, push: receiver });

    const events: SubscriptionEvent[] = [];
    const subscription = await (await logged.connect(bob)).subscribe(
      ['tasks', 'contacts'],
      'push',
      (e) => void events.push(e),
      live(),
    );
    emulator.admin.createItem(bob, { kind: 'Task', Subject: 'Logged' });
    await vi.waitFor(() => expect(events).toContainEqual({ type: 'changed', folders: ['tasks'] }));
    await vi.waitFor(() => expect(posted.filter((b) => b.includes('StatusEvent')).length).toBeGreaterThanOrEqual(2));
    await subscription.close();
    await vi.waitFor(() => expect(emulator.admin.subscriptions().map((s) => s.id)).not.toContain(subscription.id));

    const records: LogRecord[] = [...logged.records, ...lines.map((l) => JSON.parse(l) as LogRecord)];
    const text = records.map((r) => JSON.stringify(r)).join('\n');
    const watermarks = [
      ...new Set(posted.flatMap((b) => [...b.matchAll(/Watermark>([^<]+)</g)].map((w) => w[1] as string))),
    ];
    expect(watermarks.length).toBeGreaterThan(2);
    expect(secrets).toHaveLength(1);
    // The run was logged, the subscription by its fingerprint.
    const about = records.filter((r) => r.subscription !== undefined);
    expect(about.length).toBeGreaterThan(0);
    for (const record of about) expect(record.subscription).toMatch(/^#[0-9a-f]{8}$/);
    expect(text).not.toContain(subscription.id);
    for (const secret of secrets) expect(text).not.toContain(secret);
    for (const watermark of watermarks) expect(text).not.toContain(watermark);
  });
});
