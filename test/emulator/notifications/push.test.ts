import { EventType, FolderId, Uri, WellKnownFolderName } from 'ews-javascript-api';
import { describe, expect, it, vi } from 'vitest';
import { errorCodeOf, ewsService, startTestEmulator } from '../support/harness.js';
import { startPushReceiver } from '../support/push-receiver.js';

// One EWS minute is 200 ms here: retries start after "30 seconds" (100 ms) and double.
const emulator = await startTestEmulator({ minuteMs: 200 });
const noWatermark = null as unknown as string;

async function subscribePush(name: string, url: string, statusFrequency = 1) {
  const user = `${name}@contoso.test`;
  emulator.admin.addMailbox(user);
  const service = ewsService(emulator, user);
  const subscription = await service.SubscribeToPushNotifications(
    [new FolderId(WellKnownFolderName.Calendar)],
    new Uri(url),
    statusFrequency,
    noWatermark,
    EventType.Created,
  );
  return { user, id: subscription.Id };
}

const live = (id: string) => emulator.admin.subscriptions().some((s) => s.id === id);

describe('push notifications', () => {
  it('POSTs SendNotification with the events to the subscriber, as Exchange does', async () => {
    const receiver = await startPushReceiver();
    const { user, id } = await subscribePush('pushed', receiver.url, 30);
    const item = emulator.admin.createItem(user, { kind: 'CalendarItem', Subject: 'Pushed' });
    const [notification] = await receiver.waitFor(1);
    expect(notification?.body).toContain('<m:SendNotification ');
    expect(notification?.body).toContain(`<t:SubscriptionId>${id}</t:SubscriptionId>`);
    expect(notification?.body).toContain('<t:PreviousWatermark>');
    expect(notification?.body).toContain(`<t:CreatedEvent><t:Watermark>`);
    expect(notification?.body).toContain(`<t:ItemId Id="${item?.id}"`);
    expect(live(id)).toBe(true);
  });

  it('sends a StatusEvent every StatusFrequency minutes while nothing happens', async () => {
    const receiver = await startPushReceiver();
    const { id } = await subscribePush('status', receiver.url, 1);
    const [first, second] = await receiver.waitFor(2);
    expect(first?.body).toContain('<t:StatusEvent>');
    expect(second?.body).toContain(`<t:SubscriptionId>${id}</t:SubscriptionId>`);
    expect((second?.at ?? 0) - (first?.at ?? 0)).toBeGreaterThanOrEqual(150);
  });

  it('ends the subscription when the subscriber answers Unsubscribe', async () => {
    const receiver = await startPushReceiver();
    receiver.fallback = 'Unsubscribe';
    const { user, id } = await subscribePush('leaver', receiver.url, 30);
    emulator.admin.createItem(user, { kind: 'CalendarItem', Subject: 'Last one' });
    await receiver.waitFor(1);
    await vi.waitFor(() => expect(live(id)).toBe(false));
  });

  it('retries a failed delivery after 30 seconds, then after double the wait, and delivers', async () => {
    const receiver = await startPushReceiver();
    receiver.answers = [500, 503];
    const { user } = await subscribePush('retry', receiver.url, 30);
    const item = emulator.admin.createItem(user, { kind: 'CalendarItem', Subject: 'Retried' });
    const [a, b, c] = await receiver.waitFor(3);
    const first = (b?.at ?? 0) - (a?.at ?? 0);
    const second = (c?.at ?? 0) - (b?.at ?? 0);
    expect(first).toBeGreaterThanOrEqual(90);
    expect(second).toBeGreaterThanOrEqual(1.8 * first);
    expect(c?.body).toContain(`<t:ItemId Id="${item?.id}"`);
  });

  it('drops the subscription when retries would outlast StatusFrequency', async () => {
    const receiver = await startPushReceiver();
    receiver.fallback = 500;
    const { user, id } = await subscribePush('unreachable', receiver.url, 1);
    emulator.admin.createItem(user, { kind: 'CalendarItem', Subject: 'Nobody listens' });
    await vi.waitFor(() => expect(live(id)).toBe(false), { timeout: 5_000 });
    // Tries at 0 and after 100 ms; the next wait (200 ms) would pass the 1-minute (200 ms) StatusFrequency.
    expect(receiver.received.length).toBe(2);
  });

  it('refuses a URL that is not http(s)', async () => {
    const service = ewsService(emulator, 'alice@contoso.test');
    const code = await errorCodeOf(() =>
      service.SubscribeToPushNotifications(
        [new FolderId(WellKnownFolderName.Calendar)],
        new Uri('ftp://example.test/x'),
        1,
        noWatermark,
        EventType.Created,
      ),
    );
    expect(code).toBe('ErrorInvalidPushSubscriptionUrl');
  });
});
