import { EventType, FolderId, Uri, WellKnownFolderName } from 'ews-javascript-api';
import { describe, expect, it, vi } from 'vitest';
import { SimulatedClock } from '../support/clock.js';
import { errorCodeOf, ewsService, startTestEmulator } from '../support/harness.js';
import { startPushReceiver } from '../support/push-receiver.js';

// Time is simulated: the tests check which delays the emulator schedules, then run them. Each test ends once the
// emulator has scheduled what follows its last delivery, so the next test's marks see only its own timers.
const clock = new SimulatedClock();
const emulator = await startTestEmulator({ clock });
const second = 1000;
const minute = 60 * second;
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
    const created = clock.mark();
    const item = emulator.admin.createItem(user, { kind: 'CalendarItem', Subject: 'Pushed' });
    const [notification] = await receiver.waitFor(1);
    // Delivered: the next status event is StatusFrequency (30 minutes) away.
    expect(await clock.next(created)).toBe(30 * minute);
    expect(notification?.body).toContain('<m:SendNotification ');
    expect(notification?.body).toContain(`<t:SubscriptionId>${id}</t:SubscriptionId>`);
    expect(notification?.body).toContain('<t:PreviousWatermark>');
    expect(notification?.body).toContain(`<t:CreatedEvent><t:Watermark>`);
    expect(notification?.body).toContain(`<t:ItemId Id="${item?.id}"`);
    expect(live(id)).toBe(true);
  });

  it('sends a StatusEvent every StatusFrequency minutes while nothing happens', async () => {
    const receiver = await startPushReceiver();
    const subscribed = clock.mark();
    const { id } = await subscribePush('status', receiver.url, 3);
    expect(await clock.next(subscribed)).toBe(3 * minute);
    expect(receiver.received).toEqual([]);
    const delivered = clock.mark();
    clock.advance(3 * minute);
    const [first] = await receiver.waitFor(1);
    expect(first?.body).toContain('<t:StatusEvent>');
    expect(first?.body).toContain(`<t:SubscriptionId>${id}</t:SubscriptionId>`);
    // Delivered: the next status event is three minutes away again.
    expect(await clock.next(delivered)).toBe(3 * minute);
    clock.advance(3 * minute);
    const again = clock.mark();
    const [, second] = await receiver.waitFor(2);
    expect(second?.body).toContain('<t:StatusEvent>');
    expect(await clock.next(again)).toBe(3 * minute);
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
    const created = clock.mark();
    const item = emulator.admin.createItem(user, { kind: 'CalendarItem', Subject: 'Retried' });
    await receiver.waitFor(1);
    expect(await clock.next(created)).toBe(30 * second);
    const retried = clock.mark();
    clock.advance(30 * second);
    await receiver.waitFor(2);
    expect(await clock.next(retried)).toBe(60 * second);
    clock.advance(60 * second);
    const delivered = clock.mark();
    const [, , third] = await receiver.waitFor(3);
    expect(third?.body).toContain(`<t:ItemId Id="${item?.id}"`);
    expect(await clock.next(delivered)).toBe(30 * minute);
  });

  it('drops the subscription when retries would outlast StatusFrequency', async () => {
    const receiver = await startPushReceiver();
    receiver.fallback = 500;
    const { user, id } = await subscribePush('unreachable', receiver.url, 1);
    const created = clock.mark();
    emulator.admin.createItem(user, { kind: 'CalendarItem', Subject: 'Nobody listens' });
    await receiver.waitFor(1);
    expect(await clock.next(created)).toBe(30 * second);
    const retried = clock.mark();
    clock.advance(30 * second);
    await receiver.waitFor(2);
    // The next wait (60 seconds) would end 90 seconds after the first failure, past the 1-minute StatusFrequency.
    await vi.waitFor(() => expect(live(id)).toBe(false));
    expect(receiver.received.length).toBe(2);
    expect(clock.pendingSince(retried)).toEqual([]);
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
