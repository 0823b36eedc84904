import {
  EventType,
  FolderId,
  type ItemEvent,
  type NotificationEventArgs,
  StreamingSubscriptionConnection,
  WellKnownFolderName,
} from 'ews-javascript-api';
import { describe, expect, it } from 'vitest';
import { ewsService, soap, startTestEmulator } from '../support/harness.js';
import { openStream } from '../support/stream-client.js';

const emulator = await startTestEmulator({ minuteMs: 400, keepAliveMs: 100, maxHangingConnections: 2 });

async function subscribe(user: string, folder = WellKnownFolderName.Calendar): Promise<string> {
  const service = ewsService(emulator, user);
  const subscription = await service.SubscribeToStreamingNotifications(
    [new FolderId(folder)],
    EventType.Created,
    EventType.Modified,
  );
  return subscription.Id;
}

function fresh(name: string): string {
  const user = `${name}@contoso.test`;
  emulator.admin.addMailbox(user);
  return user;
}

describe('GetStreamingEvents', () => {
  it("delivers notifications to ews-javascript-api's StreamingSubscriptionConnection", async () => {
    const user = fresh('library');
    const service = ewsService(emulator, user);
    const subscription = await service.SubscribeToStreamingNotifications(
      [new FolderId(WellKnownFolderName.Calendar)],
      EventType.Created,
    );
    const connection = new StreamingSubscriptionConnection(service, 1);
    connection.AddSubscription(subscription);
    const received = new Promise<ItemEvent[]>((resolve) => {
      connection.OnNotificationEvent.push((_sender: unknown, args: NotificationEventArgs) =>
        resolve(args.Events as ItemEvent[]),
      );
    });
    void connection.Open();
    const item = emulator.admin.createItem(user, { kind: 'CalendarItem', Subject: 'Streamed' });
    const events = await received;
    expect(events.map((e) => [EventType[e.EventType], e.ItemId.UniqueId])).toEqual([['Created', item?.id]]);
    connection.Close();
  });

  it('answers with one chunked response and one envelope per write, with keep-alives between', async () => {
    const user = fresh('raw');
    const id = await subscribe(user);
    const stream = await openStream(emulator, user, [id]);
    expect(stream.status).toBe(200);
    expect(stream.headers['transfer-encoding']).toBe('chunked');
    const keepAlive = await stream.next((e) => e.includes('<m:ConnectionStatus>OK</m:ConnectionStatus>'));
    expect(keepAlive).toMatch(/^<Envelope xmlns="http:\/\/schemas\.xmlsoap\.org\/soap\/envelope\/">/);
    const item = emulator.admin.createItem(user, { kind: 'CalendarItem', Subject: 'Raw' });
    const notification = await stream.next((e) => e.includes('<m:Notification>'));
    expect(notification).toContain(`<t:SubscriptionId>${id}</t:SubscriptionId>`);
    expect(notification).toContain(`<t:ItemId Id="${item?.id}"`);
    expect(stream.chunks).toBeGreaterThanOrEqual(stream.envelopes.length);
    stream.close();
  });

  it('carries several subscriptions on one connection and closes it after ConnectionTimeout', async () => {
    const user = fresh('several');
    const calendar = await subscribe(user, WellKnownFolderName.Calendar);
    const tasks = await subscribe(user, WellKnownFolderName.Tasks);
    emulator.admin.createItem(user, { kind: 'CalendarItem', Subject: 'A' });
    emulator.admin.createItem(user, { kind: 'Task', Subject: 'B' });
    const stream = await openStream(emulator, user, [calendar, tasks], 1);
    const first = await stream.next((e) => e.includes('<m:Notification>'));
    expect(first).toContain(`<t:SubscriptionId>${calendar}</t:SubscriptionId>`);
    expect(first).toContain(`<t:SubscriptionId>${tasks}</t:SubscriptionId>`);
    await stream.next((e) => e.includes('<m:ConnectionStatus>Closed</m:ConnectionStatus>'));
    await stream.ended;
  });

  it('answers ErrorExceededConnectionCount past the hanging connections a mailbox may hold', async () => {
    const user = fresh('busy');
    const streams = [
      await openStream(emulator, user, [await subscribe(user)]),
      await openStream(emulator, user, [await subscribe(user)]),
    ];
    await Promise.all(streams.map((s) => s.next((e) => e.includes('ConnectionStatus'))));
    const third = await openStream(emulator, user, [await subscribe(user)]);
    await third.ended;
    expect(third.text).toContain('<m:ResponseCode>ErrorExceededConnectionCount</m:ResponseCode>');
    for (const stream of streams) stream.close();
  });

  it('tells the client when a subscription it carries expires, and ends the connection', async () => {
    const user = fresh('expiring');
    const id = await subscribe(user);
    const stream = await openStream(emulator, user, [id]);
    await stream.next((e) => e.includes('ConnectionStatus'));
    expect(emulator.admin.expireSubscriptions({ mailbox: user })).toBe(1);
    const error = await stream.next((e) => e.includes('ErrorSubscriptionNotFound'));
    expect(error).toContain(
      `<m:ErrorSubscriptionIds><t:SubscriptionId>${id}</t:SubscriptionId></m:ErrorSubscriptionIds>`,
    );
    await stream.ended;
    const again = await soap(
      emulator,
      `<m:GetStreamingEvents><m:SubscriptionIds><t:SubscriptionId>${id}</t:SubscriptionId></m:SubscriptionIds><m:ConnectionTimeout>1</m:ConnectionTimeout></m:GetStreamingEvents>`,
      { impersonate: user },
    );
    expect(again.text).toContain('<m:ResponseCode>ErrorSubscriptionNotFound</m:ResponseCode>');
  });

  it('stalls silently when told to, and delivers what was held back once the stall ends', async () => {
    const user = fresh('stalling');
    const id = await subscribe(user);
    const stalled = await openStream(emulator, user, [id]);
    await stalled.next((e) => e.includes('ConnectionStatus'));
    const fault = emulator.admin.faults.add({ kind: 'stallStreaming', mailbox: user });
    const seen = stalled.envelopes.length;
    const item = emulator.admin.createItem(user, { kind: 'CalendarItem', Subject: 'Held back' });
    // The client gives up on the silent connection and opens another, which takes the subscription over.
    const next = await openStream(emulator, user, [id]);
    await stalled.ended;
    expect(stalled.envelopes.length).toBe(seen);
    emulator.admin.faults.remove(fault.id);
    const delivered = await next.next((e) => e.includes('<m:Notification>'));
    expect(delivered).toContain(`<t:ItemId Id="${item?.id}"`);
    next.close();
  });
});
