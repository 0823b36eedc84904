import {
  EventType,
  FolderId,
  type ItemEvent,
  type NotificationEventArgs,
  StreamingSubscriptionConnection,
  WellKnownFolderName,
} from 'ews-javascript-api';
import { describe, expect, it } from 'vitest';
import { SimulatedClock } from '../support/clock.js';
import { codeOf, ewsService, soap, startTestEmulator } from '../support/harness.js';
import { openStream, type StreamClient } from '../support/stream-client.js';

// Time is simulated: keep-alives (every 30 seconds) and ConnectionTimeout happen when a test moves the clock.
const clock = new SimulatedClock();
const emulator = await startTestEmulator({ clock });
const keepAlive = 30_000;
const minute = 60_000;
const ok = (e: string) => e.includes('<m:ConnectionStatus>OK</m:ConnectionStatus>');
const closed = (e: string) => e.includes('<m:ConnectionStatus>Closed</m:ConnectionStatus>');

/** Moves the clock and waits for the envelope that should follow. */
async function tick(stream: StreamClient, ms: number, match: (envelope: string) => boolean): Promise<string> {
  const from = stream.envelopes.length;
  clock.advance(ms);
  return stream.next(match, from);
}

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
    const alive = await tick(stream, keepAlive, ok);
    expect(alive).toMatch(/^<Envelope xmlns="http:\/\/schemas\.xmlsoap\.org\/soap\/envelope\/">/);
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
    await tick(stream, 30_000, ok);
    await tick(stream, 30_000, closed);
    await stream.ended;
  });

  it('answers ErrorExceededConnectionCount past 3 hanging connections, the on-premises default', async () => {
    expect(emulator.admin.settings().maxHangingConnections).toBe(3);
    const user = fresh('busy');
    const streams = [];
    for (let i = 0; i < 3; i++) streams.push(await openStream(emulator, user, [await subscribe(user)]));
    const fourth = await openStream(emulator, user, [await subscribe(user)]);
    await fourth.ended;
    expect(fourth.text).toContain('<m:ResponseCode>ErrorExceededConnectionCount</m:ResponseCode>');
    for (const stream of streams) stream.close();
  });

  it('takes a new connection limit at run time', async () => {
    const user = fresh('limited');
    emulator.admin.updateSettings({ maxHangingConnections: 1 });
    try {
      const first = await openStream(emulator, user, [await subscribe(user)]);
      const second = await openStream(emulator, user, [await subscribe(user)]);
      await second.ended;
      expect(second.text).toContain('<m:ResponseCode>ErrorExceededConnectionCount</m:ResponseCode>');
      emulator.admin.updateSettings({ maxHangingConnections: 2 });
      const third = await openStream(emulator, user, [await subscribe(user)]);
      expect(await tick(third, keepAlive, ok)).toContain('ConnectionStatus');
      first.close();
      third.close();
    } finally {
      emulator.admin.updateSettings({ maxHangingConnections: 3 });
    }
  });

  it('carries the subscriptions of several mailboxes on one connection, impersonating any of them (grouped)', async () => {
    const anchor = fresh('anchor');
    const member = fresh('member');
    const ids = [await subscribe(anchor), await subscribe(member)];
    const stream = await openStream(emulator, anchor, ids);
    emulator.admin.createItem(member, {
      kind: 'CalendarItem',
      Subject: 'Member change',
      Start: '2026-05-01T09:00:00Z',
      End: '2026-05-01T10:00:00Z',
    });
    const notification = await stream.next((e) => e.includes('CreatedEvent'));
    expect(notification).toContain(`<t:SubscriptionId>${ids[1]}</t:SubscriptionId>`);
    stream.close();
  });

  it('refuses a subscription made by another account: ErrorSubscriptionAccessDenied', async () => {
    const owner = fresh('owner');
    const other = fresh('intruder');
    const id = await subscribe(owner);
    const answer = await soap(
      emulator,
      `<m:GetStreamingEvents><m:SubscriptionIds><t:SubscriptionId>${id}</t:SubscriptionId></m:SubscriptionIds><m:ConnectionTimeout>1</m:ConnectionTimeout></m:GetStreamingEvents>`,
      { account: other },
    );
    expect(codeOf(answer)).toBe('ErrorSubscriptionAccessDenied');
  });

  it('takes at most 200 subscriptions on one connection', async () => {
    const user = fresh('crowded');
    const id = await subscribe(user);
    const ids = Array.from({ length: 201 }, () => `<t:SubscriptionId>${id}</t:SubscriptionId>`).join('');
    const answer = await soap(
      emulator,
      `<m:GetStreamingEvents><m:SubscriptionIds>${ids}</m:SubscriptionIds><m:ConnectionTimeout>1</m:ConnectionTimeout></m:GetStreamingEvents>`,
      { impersonate: user },
    );
    expect(codeOf(answer)).toBe('ErrorInvalidRequest');
  });

  it('names the subscriptions it does not know in ErrorSubscriptionIds and carries the others', async () => {
    const user = fresh('partial');
    const id = await subscribe(user);
    const stream = await openStream(emulator, user, ['gone-subscription', id]);
    const first = await stream.next((e) => e.includes('ErrorSubscriptionNotFound'));
    expect(first).toContain('<t:SubscriptionId>gone-subscription</t:SubscriptionId>');
    expect(await tick(stream, keepAlive, ok)).toContain('ConnectionStatus');
    stream.close();
  });

  it('tells the client when a subscription it carries expires, and ends the connection', async () => {
    const user = fresh('expiring');
    const id = await subscribe(user);
    const stream = await openStream(emulator, user, [id]);
    await tick(stream, keepAlive, ok);
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
    await tick(stalled, keepAlive, ok);
    const fault = emulator.admin.faults.add({ kind: 'stallStreaming', mailbox: user });
    const seen = stalled.envelopes.length;
    const item = emulator.admin.createItem(user, { kind: 'CalendarItem', Subject: 'Held back' });
    // The client gives up on the silent connection and opens another, which takes the subscription over.
    const next = await openStream(emulator, user, [id]);
    await stalled.ended;
    expect(stalled.envelopes.length).toBe(seen);
    emulator.admin.faults.remove(fault.id);
    const delivered = await tick(next, keepAlive, (e) => e.includes('<m:Notification>'));
    expect(delivered).toContain(`<t:ItemId Id="${item?.id}"`);
    next.close();
  });

  it('closes a connection that was stalled past its ConnectionTimeout once the stall ends, with Closed', async () => {
    const user = fresh('overdue');
    const stream = await openStream(emulator, user, [await subscribe(user)], 1);
    await tick(stream, keepAlive, ok);
    const fault = emulator.admin.faults.add({ kind: 'stallStreaming', mailbox: user });
    const seen = stream.envelopes.length;
    const sent = () => emulator.admin.recordedOperations().GetStreamingEvents;
    const before = sent();
    clock.advance(2 * minute);
    // Silent past the deadline: nothing was written, not even Closed.
    expect(sent()).toBe(before);
    emulator.admin.faults.remove(fault.id);
    await tick(stream, keepAlive, closed);
    await stream.ended;
    expect(stream.envelopes.slice(seen).filter(ok)).toEqual([]);
  });
});
