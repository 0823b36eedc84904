import {
  EventType,
  type ExchangeService,
  FolderId,
  type ItemEvent,
  PullSubscription,
  WellKnownFolderName,
} from 'ews-javascript-api';
import { describe, expect, it } from 'vitest';
import { SimulatedClock } from '../support/clock.js';
import { errorCodeOf, ewsService, startTestEmulator } from '../support/harness.js';

const clock = new SimulatedClock();
const emulator = await startTestEmulator({ clock });
const minute = 60_000;
const calendar = [new FolderId(WellKnownFolderName.Calendar)];
// The library's typings say string; at run time null means "from now".
const noWatermark = null as unknown as string;

function itemEvents(events: ItemEvent[]): string[] {
  return events.map((e) => `${EventType[e.EventType]} ${e.ItemId.UniqueId}`);
}

async function mailbox(name: string) {
  const user = `${name}@contoso.test`;
  emulator.admin.addMailbox(user);
  return { user, service: ewsService(emulator, user) };
}

describe('pull notifications', () => {
  it('delivers the events of the subscribed folder since the last watermark, then a status event', async () => {
    const { user, service } = await mailbox('pull');
    const subscription = await service.SubscribeToPullNotifications(
      calendar,
      10,
      noWatermark,
      EventType.Created,
      EventType.Modified,
      EventType.Deleted,
    );
    const item = emulator.admin.createItem(user, { kind: 'CalendarItem', Subject: 'Sprint review' });
    emulator.admin.createItem(user, { kind: 'Task', Subject: 'not in the calendar' });
    emulator.admin.updateItem(user, item?.id ?? '', { Location: 'Room 3' });
    const first = await subscription.GetEvents();
    expect(itemEvents(first.ItemEvents)).toEqual([`Created ${item?.id}`, `Modified ${item?.id}`]);
    const watermark = subscription.Watermark;
    const second = await subscription.GetEvents();
    expect(second.ItemEvents).toEqual([]);
    expect(subscription.Watermark).not.toBe('');
    emulator.admin.deleteItem(user, item?.id ?? '', { hard: true });
    const third = await subscription.GetEvents();
    expect(itemEvents(third.ItemEvents)).toEqual([`Deleted ${item?.id}`]);
    expect(watermark).not.toBe(subscription.Watermark);
  });

  it('reports MovedEvent when an item goes to Deleted Items, and folder events to those who ask', async () => {
    const { user, service } = await mailbox('moves');
    const all = await service.SubscribeToPullNotificationsOnAllFolders(
      10,
      noWatermark,
      EventType.Moved,
      EventType.Modified,
    );
    const item = emulator.admin.createItem(user, { kind: 'Contact', GivenName: 'Eve' });
    emulator.admin.deleteItem(user, item?.id ?? '');
    const events = await all.GetEvents();
    const moved = events.ItemEvents.find((e) => e.EventType === EventType.Moved);
    expect(moved?.OldItemId.UniqueId).toBe(item?.id);
    expect(moved?.ItemId.UniqueId).not.toBe(item?.id);
    expect(events.FolderEvents.length).toBeGreaterThan(0);
  });

  it('resumes from a watermark given at Subscribe', async () => {
    const { user, service } = await mailbox('resume');
    const first = await service.SubscribeToPullNotifications(calendar, 10, noWatermark, EventType.Created);
    const watermark = first.Watermark;
    await first.Unsubscribe();
    const missed = emulator.admin.createItem(user, { kind: 'CalendarItem', Subject: 'while away' });
    const resumed = await service.SubscribeToPullNotifications(calendar, 10, watermark, EventType.Created);
    expect(itemEvents((await resumed.GetEvents()).ItemEvents)).toEqual([`Created ${missed?.id}`]);
  });

  it('answers ErrorInvalidWatermark for a watermark it did not issue', async () => {
    const { service } = await mailbox('badmark');
    expect(
      await errorCodeOf(() => service.SubscribeToPullNotifications(calendar, 10, 'AAAAAAAAAAAA', EventType.Created)),
    ).toBe('ErrorInvalidWatermark');
  });

  it('ends a subscription at Unsubscribe and after Timeout minutes without GetEvents', async () => {
    const { service } = await mailbox('expiry');
    const gone = await service.SubscribeToPullNotifications(calendar, 10, noWatermark, EventType.Created);
    await gone.Unsubscribe();
    expect(await errorCodeOf(() => gone.GetEvents())).toBe('ErrorSubscriptionNotFound');
    const idle = await service.SubscribeToPullNotifications(calendar, 2, noWatermark, EventType.Created);
    clock.advance(1.5 * minute);
    await idle.GetEvents();
    clock.advance(1.5 * minute);
    await idle.GetEvents();
    clock.advance(2 * minute + 1);
    expect(await errorCodeOf(() => idle.GetEvents())).toBe('ErrorSubscriptionNotFound');
  });

  it('keeps a subscription to the account and the mailbox it was made for', async () => {
    const { user, service } = await mailbox('mine');
    const other = await mailbox('theirs');
    const subscription = await service.SubscribeToPullNotifications(calendar, 10, noWatermark, EventType.Created);
    // The same service account, impersonating someone else, cannot read it or end it.
    const elsewhere = new (PullSubscription as unknown as new (service: ExchangeService) => PullSubscription)(
      other.service,
    );
    Object.assign(elsewhere, { id: subscription.Id, watermark: subscription.Watermark });
    expect(await errorCodeOf(() => elsewhere.GetEvents())).toBe('ErrorSubscriptionAccessDenied');
    expect(await errorCodeOf(() => elsewhere.Unsubscribe())).toBe('ErrorSubscriptionAccessDenied');
    emulator.admin.createItem(user, { kind: 'CalendarItem', Subject: 'still mine' });
    expect((await subscription.GetEvents()).ItemEvents).toHaveLength(1);
  });

  it('keeps a subscription to the account that made it', async () => {
    const { user, service } = await mailbox('owner');
    const subscription = await service.SubscribeToPullNotifications(calendar, 10, noWatermark, EventType.Created);
    const self = ewsService(emulator, user, { account: user, impersonate: null });
    const stolen = new (PullSubscription as unknown as new (service: ExchangeService) => PullSubscription)(self);
    Object.assign(stolen, { id: subscription.Id, watermark: subscription.Watermark });
    expect(await errorCodeOf(() => stolen.GetEvents())).toBe('ErrorSubscriptionAccessDenied');
  });
});
