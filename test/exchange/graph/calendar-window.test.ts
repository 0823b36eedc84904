import { describe, expect, it } from 'vitest';
import { calendarWindowOf, removalIsDeletion } from '../../../src/exchange/graph/calendar-window.js';
import type { ExchangeItem, SyncChange } from '../../../src/ports/exchange.port.js';
import { alice, graphAdapter, live, startGraphEmulator, syncAll } from './adapter-support.js';

const users = ['series@contoso.test', 'zero@contoso.test', 'window@contoso.test', 'roll@contoso.test'];
const emulator = await startGraphEmulator({ mailboxes: [alice, ...users] });
let today = new Date('2026-01-02T08:00:00Z');
const adapter = graphAdapter(emulator, {
  now: () => today,
  sync: { calendarWindow: { daysBack: 30, daysAhead: 60 } },
});

const items = (changes: SyncChange[]) =>
  changes.flatMap((c) => (c.type === 'create' || c.type === 'update' ? [{ type: c.type, item: c.item }] : []));
const subjects = (changes: SyncChange[], subject: string): ExchangeItem[] =>
  items(changes)
    .filter((c) => c.item.properties.subject === subject)
    .map((c) => c.item);

/** A weekly series of `count` Mondays from 2026-01-05, 09:00–10:00 UTC, stamped `appItemId`, made with Graph. */
async function weeklySeries(user: string, subject: string, count: number) {
  const connection = await adapter.connect(user);
  const created = await connection.createItem(
    {
      itemClass: 'IPM.Appointment',
      folder: 'calendar',
      appItemId: `app-${subject}`,
      properties: { subject, start: '2026-01-05T09:00:00Z', end: '2026-01-05T10:00:00Z' },
    },
    live(),
  );
  const stored = emulator.admin.items(user, 'calendar').find((i) => i.graphId === created.itemId);
  emulator.admin.updateItem(user, stored?.id ?? '', {
    Recurrence: {
      WeeklyRecurrence: { Interval: 1, DaysOfWeek: 'Monday' },
      NumberedRecurrence: { StartDate: '2026-01-05', NumberOfOccurrences: count },
    },
  });
  return { connection, masterId: created.itemId };
}

describe('calendarWindowOf', () => {
  it('is [today − daysBack, today + daysAhead) at UTC midnights', () => {
    expect(calendarWindowOf(new Date('2026-03-29T23:59:59Z'), { daysBack: 1, daysAhead: 2 })).toEqual({
      from: '2026-03-28T00:00:00.000Z',
      until: '2026-03-31T00:00:00.000Z',
    });
  });
});

describe('the calendar through calendarView/delta', () => {
  it('reports each series master before its occurrences, at most `occurrences` of them, each with originalStart; a deleted occurrence as delete', async () => {
    const { connection, masterId } = await weeklySeries('series@contoso.test', 'Standup', 5);
    const { changes, continuation, pages } = await syncAll(connection, 'calendar', null, { occurrences: 3 });
    expect(pages.every((p) => p.window?.from === '2025-12-03T00:00:00.000Z')).toBe(true);
    expect(pages.every((p) => p.window?.until === '2026-03-03T00:00:00.000Z')).toBe(true);
    const standups = subjects(changes, 'Standup');
    const master = standups.find((i) => i.id === masterId) as ExchangeItem;
    expect(master.properties).toMatchObject({
      isRecurring: true,
      originalStart: null,
      recurrence: 'Weekly every 1 week on Monday from 2026-01-05 for 5 occurrences',
      appItemId: 'app-Standup',
    });
    const occurrences = standups.filter((i) => i.id !== masterId);
    expect(occurrences).toHaveLength(3);
    const firstAt = items(changes).findIndex((c) => c.item.id === masterId);
    for (const occurrence of occurrences) {
      expect(items(changes).findIndex((c) => c.item.id === occurrence.id)).toBeGreaterThan(firstAt);
      expect(occurrence.properties).toMatchObject({ isRecurring: true, appItemId: 'app-Standup', recurrence: null });
      expect(occurrence.properties.originalStart).toBe(occurrence.properties.start);
    }
    expect(JSON.parse(continuation).series[masterId]).toEqual(occurrences.map((o) => o.id));

    // An occurrence deleted is a deletion, and is no longer held; the series stays.
    const [gone, ...kept] = occurrences;
    await connection.deleteItem(gone?.id as string, live());
    const after = await syncAll(connection, 'calendar', continuation, { occurrences: 3 });
    expect(after.changes.filter((c) => c.type === 'delete')).toEqual([{ type: 'delete', itemId: gone?.id }]);
    const held: string[] = JSON.parse(after.continuation).series[masterId];
    expect(held).toEqual(expect.arrayContaining(kept.map((o) => o.id)));
    expect(held).not.toContain(gone?.id);
    expect(held.length).toBeLessThanOrEqual(3);
  });

  it('with occurrences 0 reports the master alone', async () => {
    const { connection, masterId } = await weeklySeries('zero@contoso.test', 'Weekly', 4);
    const { changes } = await syncAll(connection, 'calendar', null, { occurrences: 0 });
    expect(subjects(changes, 'Weekly').map((i) => i.id)).toEqual([masterId]);
  });

  it('leaves events outside the window out, and one that moves out of it is not deleted', async () => {
    const user = 'window@contoso.test';
    const connection = await adapter.connect(user);
    const write = (subject: string, start: string, end: string) =>
      connection.createItem(
        { itemClass: 'IPM.Appointment', folder: 'calendar', appItemId: subject, properties: { subject, start, end } },
        live(),
      );
    const inside = await write('Inside', '2026-01-10T09:00:00Z', '2026-01-10T10:00:00Z');
    await write('Outside', '2026-06-10T09:00:00Z', '2026-06-10T10:00:00Z');
    const first = await syncAll(connection, 'calendar');
    expect(items(first.changes).map((c) => c.item.properties.subject)).toEqual(['Inside']);
    expect(items(first.changes)[0]?.item.properties.appItemId).toBe('Inside');
    await connection.updateItem(
      inside.itemId,
      {
        itemClass: 'IPM.Appointment',
        folder: 'calendar',
        properties: { start: '2026-07-01T09:00:00Z', end: '2026-07-01T10:00:00Z' },
      },
      live(),
    );
    const second = await syncAll(connection, 'calendar', first.continuation);
    expect(second.changes.filter((c) => c.type === 'delete')).toEqual([]);
  });

  it('rolls the window once a day: a fresh round, restarted, with the new window', async () => {
    const user = 'roll@contoso.test';
    const connection = await adapter.connect(user);
    await connection.createItem(
      {
        itemClass: 'IPM.Appointment',
        folder: 'calendar',
        appItemId: 'R',
        properties: { subject: 'Roll', start: '2026-01-20T09:00:00Z', end: '2026-01-20T10:00:00Z' },
      },
      live(),
    );
    const first = await syncAll(connection, 'calendar');
    const same = await connection.syncFolder('calendar', first.continuation, { ...live(), maxChanges: 100 });
    expect(same.restarted).toBeUndefined();
    expect(same.changes).toEqual([]);
    today = new Date('2026-01-03T00:30:00Z');
    try {
      const next = await syncAll(connection, 'calendar', first.continuation);
      expect(next.pages[0]?.restarted).toBe(true);
      expect(next.pages.slice(1).every((p) => p.restarted === undefined)).toBe(true);
      expect(next.pages[0]?.window).toEqual({ from: '2025-12-04T00:00:00.000Z', until: '2026-03-04T00:00:00.000Z' });
      expect(items(next.changes)).toEqual([expect.objectContaining({ type: 'create' })]);
    } finally {
      today = new Date('2026-01-02T08:00:00Z');
    }
  });
});

describe('bodies of the masters fetched beside the delta', () => {
  it('come in the body type asked for, as the delta does', async () => {
    const user = 'series@contoso.test';
    const { connection, masterId } = await weeklySeries(user, 'Plain', 2);
    await connection.updateItem(
      masterId,
      { itemClass: 'IPM.Appointment', folder: 'calendar', properties: { body: '<p>Agenda <b>now</b></p>' } },
      live(),
    );
    const { changes } = await syncAll(connection, 'calendar', null, { occurrences: 1, bodyType: 'text' });
    const plain = subjects(changes, 'Plain');
    expect(plain.length).toBeGreaterThan(1);
    for (const item of plain)
      expect(item.properties).toMatchObject({ bodyType: 'Text', body: expect.not.stringContaining('<') });
  });
});

describe('exceptions', () => {
  it('an occurrence changed becomes an exception, reported as an update of that occurrence after its master', async () => {
    const { connection, masterId } = await weeklySeries('window@contoso.test', 'Sync-up', 3);
    const first = await syncAll(connection, 'calendar', null, { occurrences: 3 });
    const second = subjects(first.changes, 'Sync-up').find(
      (i) => i.properties.originalStart === '2026-01-12T09:00:00.000Z',
    );
    expect(second).toBeDefined();
    await connection.updateItem(
      second?.id as string,
      {
        itemClass: 'IPM.Appointment',
        folder: 'calendar',
        properties: { subject: 'Sync-up (moved)', start: '2026-01-13T09:00:00Z', end: '2026-01-13T10:00:00Z' },
      },
      live(),
    );
    const { changes } = await syncAll(connection, 'calendar', first.continuation, { occurrences: 3 });
    const moved = items(changes).find((c) => c.item.id === second?.id);
    expect(moved).toMatchObject({
      type: 'update',
      item: {
        properties: {
          subject: 'Sync-up (moved)',
          start: '2026-01-13T09:00:00.000Z',
          originalStart: '2026-01-12T09:00:00.000Z',
          isRecurring: true,
          appItemId: 'app-Sync-up',
        },
      },
    });
    const order = items(changes).map((c) => c.item.id);
    expect(order.indexOf(masterId)).toBeLessThan(order.indexOf(second?.id as string));
  });
});

describe('removalIsDeletion (an event calendarView/delta removed that Graph still gives)', () => {
  const window = { from: '2026-01-01T00:00:00.000Z', until: '2027-01-01T00:00:00.000Z' };
  const at = (start: string, end: string) => ({
    start: { dateTime: start, timeZone: 'UTC' },
    end: { dateTime: end, timeZone: 'UTC' },
  });

  it('is a deletion while the event still overlaps the window: it left the calendar, not the window', () => {
    expect(removalIsDeletion(at('2026-06-01T09:00:00.0000000', '2026-06-01T10:00:00.0000000'), window)).toBe(true);
    // Across either edge it still overlaps.
    expect(removalIsDeletion(at('2025-12-31T23:00:00.0000000', '2026-01-01T01:00:00.0000000'), window)).toBe(true);
  });

  it('is no deletion once the event lies outside the window, or without times to tell', () => {
    expect(removalIsDeletion(at('2027-03-01T09:00:00.0000000', '2027-03-01T10:00:00.0000000'), window)).toBe(false);
    expect(removalIsDeletion(at('2025-06-01T09:00:00.0000000', '2025-06-01T10:00:00.0000000'), window)).toBe(false);
    expect(removalIsDeletion({}, window)).toBe(false);
  });
});
