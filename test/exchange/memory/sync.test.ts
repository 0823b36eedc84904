import { beforeEach, describe, expect, it } from 'vitest';
import { createMemoryExchange, type MemoryExchange } from '../../../src/exchange/memory/index.js';
import type { MailboxConnection, SyncChange } from '../../../src/ports/exchange.port.js';

/** Pages of folder changes from the in-memory Exchange, and the sync states it gives and takes (./sync.ts). */
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
    const second = await page(first.syncState, 2);
    const third = await page(second.syncState, 2);
    expect([first, second, third].map((p) => [summary(p.changes), p.done])).toEqual([
      [['create a', 'create b'], false],
      [['create c', 'create d'], false],
      [['create e'], true],
    ]);
    expect((await page(third.syncState)).changes).toEqual([]);
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
    const next = await page(start.syncState);
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
    const rest = await page(first.syncState);
    expect(summary(rest.changes)).toEqual(['create b', 'update a2']);
  });

  it('refuses a state it cannot take: garbled, of another folder or mailbox, or forgotten', async () => {
    task('a');
    const { syncState } = await page(null);
    const other = await exchange.connect('b@x.test', call);
    const refusals = [
      connection.syncFolder('tasks', 'not a state', { ...call, maxChanges: 10 }),
      connection.syncFolder('contacts', syncState, { ...call, maxChanges: 10 }),
      other.syncFolder('tasks', syncState, { ...call, maxChanges: 10 }),
    ];
    for (const refusal of refusals)
      await expect(refusal).rejects.toMatchObject({ code: 'EXH_EXCHANGE_INVALID_SYNC_STATE' });
    await expect(page(syncState)).resolves.toMatchObject({ changes: [] });
    exchange.admin.forgetSyncStates(user, 'tasks');
    await expect(page(syncState)).rejects.toMatchObject({ code: 'EXH_EXCHANGE_INVALID_SYNC_STATE', retryable: false });
    // From the beginning, everything there is.
    expect(summary((await page(null)).changes)).toEqual(['create a']);
  });
});
