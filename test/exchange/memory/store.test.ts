import { describe, expect, it } from 'vitest';
import { MemoryMailbox, newId, type StoredItem } from '../../../src/exchange/memory/store.js';
import type { SubscriptionEvent } from '../../../src/ports/exchange.port.js';
import { folderNames } from '../../../src/ports/item-properties.js';

/**
 * The in-memory Exchange's store (src/exchange/memory/store.ts): every change goes through add, touch or remove,
 * which give a new change key, write the folder's journal and tell the subscriptions; removed items stay as tombstones.
 */
const at = new Date('2026-03-01T08:00:00.000Z');
const mailbox = (now: () => Date = () => at) => new MemoryMailbox('alice@x.test', { now });
const task = (m: MemoryMailbox, subject = 'A', folder: 'tasks' | 'calendar' = 'tasks'): StoredItem =>
  m.add({ folder, itemClass: 'IPM.Task', properties: { subject }, attachments: [], occurrences: [] });
const flush = () => new Promise<void>((resolve) => queueMicrotask(resolve));

describe('MemoryMailbox', () => {
  it('has every well-known folder, empty, at generation 1', () => {
    const m = mailbox();
    expect([...m.folders.keys()]).toEqual([...folderNames]);
    for (const state of m.folders.values()) expect(state).toEqual({ generation: 1, journal: [] });
  });

  it('adds an item with a fresh id and change key, stamped created and lastModified by its clock, journalled', () => {
    const m = mailbox();
    const a = task(m, 'A');
    const b = task(m, 'B');
    expect(a.id).not.toBe(b.id);
    expect(a.changeKey).not.toBe(b.changeKey);
    expect(a.properties).toEqual({ subject: 'A', created: at.toISOString(), lastModified: at.toISOString() });
    expect([a.createdSeq, b.createdSeq, m.seq]).toEqual([1, 2, 2]);
    expect(m.folders.get('tasks')?.journal).toEqual([
      { seq: 1, itemId: a.id, kind: 'create' },
      { seq: 2, itemId: b.id, kind: 'create' },
    ]);
    expect(m.live(a.id)).toBe(a);
    expect(m.inFolder('tasks')).toEqual([a, b]);
    expect(m.inFolder('calendar')).toEqual([]);
  });

  it('touch gives the item and its occurrences new change keys and a new lastModified, and journals the kind', () => {
    let now = at;
    const m = mailbox(() => now);
    const series = m.add({
      folder: 'calendar',
      itemClass: 'IPM.Appointment',
      properties: {},
      attachments: [],
      occurrences: [{ id: 'o1', changeKey: 'k1', originalStart: '2026-03-02T09:00:00.000Z', properties: {} }],
    });
    const before = { item: series.changeKey, occurrence: series.occurrences[0]?.changeKey };
    now = new Date('2026-03-01T09:30:00.000Z');
    m.touch(series);
    m.touch(series, 'readFlag');
    expect(series.changeKey).not.toBe(before.item);
    expect(series.occurrences[0]?.changeKey).not.toBe(before.occurrence);
    expect(series.properties.lastModified).toBe('2026-03-01T09:30:00.000Z');
    expect(series.properties.created).toBe(at.toISOString());
    expect(m.folders.get('calendar')?.journal.map((entry) => [entry.seq, entry.kind])).toEqual([
      [1, 'create'],
      [2, 'update'],
      [3, 'readFlag'],
    ]);
  });

  it('remove leaves a tombstone: not live, not in its folder, still known with the position it left at', () => {
    const m = mailbox();
    const a = task(m);
    m.remove(a);
    expect(m.live(a.id)).toBeUndefined();
    expect(m.inFolder('tasks')).toEqual([]);
    expect(m.items.get(a.id)?.deletedSeq).toBe(2);
    expect(m.folders.get('tasks')?.journal.at(-1)).toEqual({ seq: 2, itemId: a.id, kind: 'delete' });
  });

  it('finds an occurrence by its id in a live series only', () => {
    const m = mailbox();
    const occurrence = { id: 'occ-1', changeKey: 'k', originalStart: '2026-03-02T09:00:00.000Z', properties: {} };
    const series = m.add({
      folder: 'calendar',
      itemClass: 'IPM.Appointment',
      properties: {},
      attachments: [],
      occurrences: [occurrence],
    });
    expect(m.occurrence('occ-1')).toEqual({ master: series, occurrence });
    expect(m.occurrence('other')).toBeUndefined();
    m.remove(series);
    expect(m.occurrence('occ-1')).toBeUndefined();
  });

  it('forgets the sync states of one folder, or of all', () => {
    const m = mailbox();
    m.forgetSyncStates('tasks');
    expect(m.folders.get('tasks')?.generation).toBe(2);
    expect(m.folders.get('calendar')?.generation).toBe(1);
    m.forgetSyncStates();
    expect(m.folders.get('tasks')?.generation).toBe(3);
    expect(m.folders.get('calendar')?.generation).toBe(2);
  });

  it('tells a subscription of changes in its folders only, after the change, and nothing once it is gone', async () => {
    const m = mailbox();
    const events: SubscriptionEvent[] = [];
    const seen: Array<string | undefined> = [];
    const id = m.subscribe(['tasks'], (event) => {
      events.push(event);
      // Told after the change is complete: the item is there to be read.
      seen.push(m.inFolder('tasks')[0]?.properties.subject as string | undefined);
    });
    task(m, 'In tasks');
    task(m, 'In calendar', 'calendar');
    expect(events).toEqual([]);
    await flush();
    expect(events).toEqual([{ type: 'changed', folders: ['tasks'] }]);
    expect(seen).toEqual(['In tasks']);

    // Closed between the change and the telling: nothing.
    task(m, 'Late');
    m.listeners.delete(id);
    await flush();
    expect(events).toHaveLength(1);
  });

  it('ends every subscription with lost, once', async () => {
    const m = mailbox();
    const events: SubscriptionEvent[] = [];
    m.subscribe(['tasks'], (event) => events.push(event));
    m.subscribe(['calendar'], (event) => events.push(event));
    const error = { code: 'EXH_EXCHANGE_SUBSCRIPTION_LOST', message: 'gone', retryable: true };
    m.endSubscriptions(error);
    expect(m.listeners.size).toBe(0);
    task(m);
    await flush();
    expect(events).toEqual([
      { type: 'lost', error },
      { type: 'lost', error },
    ]);
  });
});

describe('newId', () => {
  it('is URL-safe and different each time', () => {
    const ids = new Set(Array.from({ length: 100 }, () => newId()));
    expect(ids.size).toBe(100);
    for (const id of ids) expect(id).toMatch(/^[A-Za-z0-9_-]{20}$/);
  });
});
