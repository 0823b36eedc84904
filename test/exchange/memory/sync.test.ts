import { beforeEach, describe, expect, it } from 'vitest';
import { errors } from '../../../src/errors.js';
import { createMemoryExchange, type MemoryExchange } from '../../../src/exchange/memory/index.js';
import type { MailboxConnection, SyncChange, SyncPage } from '../../../src/ports/exchange.port.js';

/** Pages of folder changes from the in-memory Exchange, and the continuations it gives and takes (./sync.ts). */
const user = 'a@x.test';
const call = { signal: new AbortController().signal, priority: 'live' as const };
let exchange: MemoryExchange;
let connection: MailboxConnection;
beforeEach(async () => {
  exchange = createMemoryExchange({ mailboxes: [user, 'b@x.test'] });
  connection = await exchange.connect(user, call);
});

const task = (subject: string) =>
  exchange.admin.makeItem(user, { itemClass: 'IPM.Task', folder: 'tasks', properties: { subject } });
const summary = (changes: SyncChange[]) =>
  changes.map((c) => (c.type === 'create' || c.type === 'update' ? `${c.type} ${c.item.properties.subject}` : c.type));
const page = (state: string | null, maxChanges = 100) => connection.syncFolder('tasks', state, { ...call, maxChanges });

describe('syncFolder', () => {
  it('pages at most maxChanges, done only on the last page, and resumes each page where the last ended', async () => {
    for (const subject of ['a', 'b', 'c', 'd', 'e']) task(subject);
    const first = await page(null, 2);
    const second = await page(first.continuation, 2);
    const third = await page(second.continuation, 2);
    expect([first, second, third].map((p) => [summary(p.changes), p.done])).toEqual([
      [['create a', 'create b'], false],
      [['create c', 'create d'], false],
      [['create e'], true],
    ]);
    expect((await page(third.continuation)).changes).toEqual([]);
  });

  it('reports each item once as it differs from what the state had seen', async () => {
    const keep = task('keep');
    const gone = task('gone');
    const read = task('read');
    const start = await page(null);
    exchange.admin.changeItem(user, keep.id, { subject: 'kept' });
    exchange.admin.changeItem(user, keep.id, { subject: 'kept again' });
    exchange.admin.deleteItem(user, gone.id);
    exchange.admin.markRead(user, read.id, true);
    // Made and deleted in between: the client never saw it, and hears nothing of it.
    exchange.admin.deleteItem(user, task('brief').id);
    const next = await page(start.continuation);
    expect(next.changes).toEqual([
      expect.objectContaining({ type: 'update', item: expect.objectContaining({ id: keep.id }) }),
      { type: 'delete', itemId: gone.id },
      // A read flag comes as the whole item, as the port asks.
      expect.objectContaining({
        type: 'update',
        item: expect.objectContaining({ id: read.id, properties: expect.objectContaining({ isRead: true }) }),
      }),
    ]);
    expect(summary(next.changes)[0]).toBe('update kept again');
  });

  it('reports an item changed after its page again on the next page', async () => {
    const a = task('a');
    task('b');
    const first = await page(null, 1);
    exchange.admin.changeItem(user, a.id, { subject: 'a2' });
    const rest = await page(first.continuation);
    expect(summary(rest.changes)).toEqual(['create b', 'update a2']);
  });

  it('refuses a state it cannot take: garbled, of another folder or mailbox, or forgotten', async () => {
    task('a');
    const { continuation } = await page(null);
    const other = await exchange.connect('b@x.test', call);
    const refusals = [
      connection.syncFolder('tasks', 'not a state', { ...call, maxChanges: 10 }),
      connection.syncFolder('contacts', continuation, { ...call, maxChanges: 10 }),
      other.syncFolder('tasks', continuation, { ...call, maxChanges: 10 }),
    ];
    for (const refusal of refusals)
      await expect(refusal).rejects.toMatchObject({ code: 'EXH_EXCHANGE_INVALID_SYNC_STATE' });
    await expect(page(continuation)).resolves.toMatchObject({ changes: [] });
    exchange.admin.forgetSyncStates(user, 'tasks');
    await expect(page(continuation)).rejects.toMatchObject({
      code: 'EXH_EXCHANGE_INVALID_SYNC_STATE',
      retryable: false,
    });
    // From the beginning, everything there is.
    expect(summary((await page(null)).changes)).toEqual(['create a']);
  });
});

describe('syncFolder with occurrences', () => {
  const at = (day: number) => `2026-02-0${day}T08:00:00.000Z`;
  const gym = () =>
    exchange.admin.makeItem(user, {
      itemClass: 'IPM.Appointment',
      folder: 'calendar',
      properties: { subject: 'Gym', start: at(2), end: at(2) },
      // The third occurrence was moved before the second: an exception.
      occurrences: [{ start: at(2) }, { start: at(6) }, { start: at(4), originalStart: at(7), subject: 'Gym (moved)' }],
    });
  const calendar = (continuation: string | null, occurrences = 10) =>
    connection.syncFolder('calendar', continuation, { ...call, maxChanges: 100, occurrences });
  const ids = (page: SyncPage) => page.changes.map((c) => [c.type, 'item' in c ? c.item.id : c.itemId]);

  it('gives each series’ occurrences after it in start order, at most the first `occurrences` of the pattern; none for a single item', async () => {
    const series = gym();
    const single = exchange.admin.makeItem(user, { itemClass: 'IPM.Appointment', folder: 'calendar', properties: {} });
    const page = await calendar(null);
    expect(
      page.changes.map((c) =>
        c.type === 'create'
          ? [
              c.item.id === series.id,
              c.item.properties.start,
              c.item.properties.originalStart,
              c.item.properties.subject,
            ]
          : c.type,
      ),
    ).toEqual([
      [true, at(2), null, 'Gym'],
      [false, at(2), at(2), 'Gym'],
      [false, at(4), at(7), 'Gym (moved)'],
      [false, at(6), at(6), 'Gym'],
      [false, null, null, null],
    ]);
    expect(page.changes.at(-1)).toMatchObject({ type: 'create', item: { id: single.id } });
    const two = await calendar(null, 2);
    expect(two.changes.map((c) => (c.type === 'create' ? c.item.properties.originalStart : c.type))).toEqual([
      null,
      at(2),
      at(6),
      null,
    ]);
    // Without `occurrences`: the masters alone.
    const masters = await connection.syncFolder('calendar', null, { ...call, maxChanges: 100 });
    expect(masters.changes).toHaveLength(2);
  });

  it('deletes an occurrence reported before and gone now, updates the others, and carries what it reported in the continuation', async () => {
    const series = gym();
    const first = await calendar(null);
    const [one, two, three] = first.changes.slice(1).map((c) => (c.type === 'create' ? c.item.id : ''));
    exchange.admin.deleteItem(user, two as string);
    const next = await calendar(first.continuation);
    expect(ids(next)).toEqual([
      ['update', series.id],
      ['delete', two],
      ['update', one],
      ['update', three],
    ]);
    // Nothing changed since: nothing to say.
    expect((await calendar(next.continuation)).changes).toEqual([]);
  });

  it('deletes the occurrences of a series that no longer recurs, no longer expanded, or deleted', async () => {
    const stops = gym();
    const unexpanded = gym();
    const deleted = gym();
    const first = await calendar(null);
    // Each master's occurrences come right after it.
    const occurrencesOf = (id: string) => {
      const index = first.changes.findIndex((c) => c.type === 'create' && c.item.id === id);
      return first.changes.slice(index + 1, index + 4).map((c) => ['delete', c.type === 'create' ? c.item.id : '']);
    };
    exchange.admin.changeItem(user, stops.id, { isRecurring: false });
    exchange.admin.changeItem(user, unexpanded.id, { subject: 'Gym at noon' });
    exchange.admin.deleteItem(user, deleted.id);
    const next = await calendar(first.continuation, 0);
    expect(ids(next)).toEqual([
      ['update', stops.id],
      ...occurrencesOf(stops.id),
      ['update', unexpanded.id],
      ...occurrencesOf(unexpanded.id),
      ['delete', deleted.id],
      ...occurrencesOf(deleted.id),
    ]);
    expect(next.changes).toHaveLength(12);
  });

  it('keeps the occurrences of a series it cannot read this time, says so on the page, and compares them the next time', async () => {
    const series = gym();
    const first = await calendar(null);
    const reported = first.changes.slice(1).map((c) => (c.type === 'create' ? c.item.id : ''));
    exchange.admin.deleteItem(user, reported[0] as string);
    exchange.admin.failOccurrences(user, series.id, errors.exchangeRequestFailed('memory://', 'refused', 'no series'));
    const refused = await calendar(first.continuation);
    expect(refused.changes).toEqual([
      expect.objectContaining({ type: 'update', item: expect.objectContaining({ id: series.id }) }),
      {
        type: 'unreadable',
        itemId: series.id,
        error: {
          code: 'EXH_EXCHANGE_REQUEST_FAILED',
          message: expect.stringContaining('its occurrences could not be read'),
        },
      },
    ]);
    expect(refused.incomplete).toEqual([series.id]);
    expect(first.incomplete).toBeUndefined();

    exchange.admin.changeItem(user, series.id, { subject: 'Gym again' });
    expect(ids(await calendar(refused.continuation))).toEqual([
      ['update', series.id],
      ['delete', reported[0]],
      ['update', reported[1]],
      ['update', reported[2]],
    ]);
  });

  it('fails the page when reading a series fails in a way worth retrying, and gives it whole when asked again', async () => {
    const series = gym();
    exchange.admin.failOccurrences(user, series.id, errors.exchangeUnavailable('memory://', 'down'));
    await expect(calendar(null)).rejects.toMatchObject({ code: 'EXH_EXCHANGE_UNAVAILABLE' });
    expect((await calendar(null)).changes).toHaveLength(4);
  });

  it('takes no occurrence ids from the caller: its continuations always carried them', async () => {
    const series = gym();
    const first = await calendar(null);
    exchange.admin.changeItem(user, series.id, { subject: 'Gym 2' });
    const next = await connection.syncFolder('calendar', first.continuation, {
      ...call,
      maxChanges: 100,
      occurrences: 10,
      knownOccurrences: { [series.id]: ['someone-else'] },
    });
    expect(next.changes.map((c) => c.type)).toEqual(['update', 'update', 'update', 'update']);
  });
});
