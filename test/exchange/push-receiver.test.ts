import { afterAll, describe, expect, it } from 'vitest';
import type { NotificationSummary } from '../../src/exchange/ews/subscriptions/events.js';
import { startPushReceiver, subscriptionStatusOf } from '../../src/exchange/push-receiver.js';
import { createLogging } from '../../src/logging/logger.js';

const { logger } = createLogging({ level: 'debug', format: 'json', stdout: { write: () => {} } });
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

async function post(body: string, contentType = 'text/xml; charset=utf-8'): Promise<{ status: number; text: string }> {
  const response = await fetch(receiver.url, { method: 'POST', headers: { 'content-type': contentType }, body });
  return { status: response.status, text: await response.text() };
}

describe('the push receiver', () => {
  it('hands a notification to its subscription and answers OK', async () => {
    const got: NotificationSummary[] = [];
    receiver.register('sub-1', (n) => got.push(n));
    const answer = await post(sendNotification(notification('sub-1', created('calendar-id') + created('inbox-id'))));
    expect(answer.status).toBe(200);
    expect(subscriptionStatusOf(answer.text)).toBe('OK');
    expect(got).toEqual([
      { subscriptionId: 'sub-1', folderIds: ['calendar-id', 'inbox-id'], changes: 2, status: false },
    ]);
  });

  it('hands status events over too, so that a subscription knows Exchange is alive', async () => {
    const got: NotificationSummary[] = [];
    receiver.register('sub-2', (n) => got.push(n));
    expect(subscriptionStatusOf((await post(sendNotification(notification('sub-2', status)))).text)).toBe('OK');
    expect(got).toEqual([{ subscriptionId: 'sub-2', folderIds: [], changes: 0, status: true }]);
  });

  it('answers Unsubscribe for an id it does not own, and for one unregistered', async () => {
    expect(subscriptionStatusOf((await post(sendNotification(notification('nobody', status)))).text)).toBe(
      'Unsubscribe',
    );
    receiver.register('sub-3', () => {});
    receiver.unregister('sub-3');
    expect(subscriptionStatusOf((await post(sendNotification(notification('sub-3', status)))).text)).toBe(
      'Unsubscribe',
    );
  });

  it('waits briefly for an id whose Subscribe answer has not arrived yet', async () => {
    const got: NotificationSummary[] = [];
    const answer = post(sendNotification(notification('sub-4', created('x'))));
    setTimeout(() => receiver.register('sub-4', (n) => got.push(n)), 20);
    expect(subscriptionStatusOf((await answer).text)).toBe('OK');
    expect(got).toHaveLength(1);
  });

  it('refuses malformed XML and other bodies with 400, and changes nothing', async () => {
    const got: NotificationSummary[] = [];
    receiver.register('sub-5', (n) => got.push(n));
    expect((await post('<soap:Envelope><unclosed>')).status).toBe(400);
    expect(
      (await post('<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Body/></soap:Envelope>'))
        .status,
    ).toBe(400);
    expect([400, 415]).toContain((await post('{"SubscriptionId":"sub-5"}', 'application/json')).status);
    expect(got).toEqual([]);
    expect(subscriptionStatusOf((await post(sendNotification(notification('sub-5', status)))).text)).toBe('OK');
    expect(got).toHaveLength(1);
  });

  it('refuses bodies over its limit with 413', async () => {
    const huge = sendNotification(notification('sub-1', created('x').repeat(2000)));
    expect(huge.length).toBeGreaterThan(64 * 1024);
    expect((await post(huge)).status).toBe(413);
  });

  it('survives a subscription that throws', async () => {
    receiver.register('sub-6', () => {
      throw new Error('bug in the subscription');
    });
    expect(subscriptionStatusOf((await post(sendNotification(notification('sub-6', created('x'))))).text)).toBe('OK');
  });
});
