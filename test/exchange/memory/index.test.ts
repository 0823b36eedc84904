import { describe, expect, it } from 'vitest';
import {
  createMemoryExchange,
  MemoryAdmin,
  MemoryExchange,
  memoryCapabilities,
} from '../../../src/exchange/memory/index.js';
import { ExchangePool } from '../../../src/pool/exchange-pool.js';
import { folderNames } from '../../../src/ports/item-properties.js';

/**
 * MemoryExchange (src/exchange/memory/index.ts): the in-memory backend behind ExchangePort — what it declares it can
 * do, which mailboxes connect() gives, and what its options change.
 */
const call = { signal: new AbortController().signal, priority: 'live' as const };
const alice = 'alice@x.test';
const bob = 'bob@x.test';

describe('MemoryExchange', () => {
  it('declares streaming and pull notifications, every well-known folder and writes, for itself and its connections', async () => {
    expect(memoryCapabilities).toEqual({ notifications: ['streaming', 'pull'], folders: folderNames, writes: true });
    const exchange = createMemoryExchange();
    expect(exchange).toBeInstanceOf(MemoryExchange);
    expect(exchange.admin).toBeInstanceOf(MemoryAdmin);
    expect(exchange.capabilities).toBe(memoryCapabilities);
    expect((await exchange.connect(alice, call)).capabilities).toEqual(memoryCapabilities);
  });

  it('with a list has those mailboxes from the start, connects to them case-blind, and refuses others', async () => {
    const exchange = createMemoryExchange({ mailboxes: [alice, bob] });
    expect(exchange.admin.mailboxNames()).toEqual([alice, bob]);
    const upper = await exchange.connect('ALICE@X.TEST', call);
    expect(upper.user).toBe(alice);
    await upper.createItem(
      { itemClass: 'IPM.Task', folder: 'tasks', properties: { subject: 'A' }, appItemId: 'a' },
      call,
    );
    // One mailbox whatever the case it was reached by.
    expect(exchange.admin.listFolder(alice, 'tasks')).toHaveLength(1);
    await expect(exchange.connect('carol@x.test', call)).rejects.toMatchObject({
      code: 'EXH_EXCHANGE_MAILBOX_NOT_FOUND',
      retryable: false,
    });
    expect(exchange.admin.mailboxNames()).toEqual([alice, bob]);
  });

  it('makes a mailbox on connect without a list, or with createOnConnect', async () => {
    const open = createMemoryExchange();
    expect(open.admin.mailboxNames()).toEqual([]);
    await open.connect(alice, call);
    await open.connect('Alice@x.test', call);
    expect(open.admin.mailboxNames()).toEqual([alice]);

    const listed = createMemoryExchange({ mailboxes: [alice], createOnConnect: true });
    expect((await listed.connect(bob, call)).user).toBe(bob);
    expect(listed.admin.mailboxNames()).toEqual([alice, bob]);
  });

  it('connects nobody once the caller’s signal is aborted', async () => {
    const stopped = new AbortController();
    stopped.abort();
    const exchange = createMemoryExchange();
    await expect(exchange.connect(alice, { ...call, signal: stopped.signal })).rejects.toMatchObject({
      code: 'EXH_POOL_ABORTED',
    });
    expect(exchange.admin.mailboxNames()).toEqual([]);
  });

  it('delivers between the mailboxes of one exchange only', async () => {
    const one = createMemoryExchange({ mailboxes: [alice, bob] });
    const other = createMemoryExchange({ mailboxes: [alice, bob] });
    const connection = await one.connect(alice, call);
    await connection.createItem(
      { itemClass: 'IPM.Note', folder: 'drafts', properties: { subject: 'Hi', to: bob }, appItemId: 'm-1' },
      call,
    );
    expect(one.admin.listFolder(bob, 'inbox').map((item) => item.properties.subject)).toEqual(['Hi']);
    expect(other.admin.listFolder(bob, 'inbox')).toEqual([]);
  });

  it('stamps items with the clock it was given', async () => {
    const exchange = createMemoryExchange({ mailboxes: [alice], now: () => new Date('2030-01-02T03:04:05.000Z') });
    const connection = await exchange.connect(alice, call);
    const { itemId } = await connection.createItem(
      { itemClass: 'IPM.Task', folder: 'tasks', properties: { subject: 'A' }, appItemId: 'a' },
      call,
    );
    expect((await connection.readItem(itemId, call))?.properties).toMatchObject({
      created: '2030-01-02T03:04:05.000Z',
      lastModified: '2030-01-02T03:04:05.000Z',
    });
  });

  it('runs every request of its connections through the pool it was given', async () => {
    const pool = new ExchangePool(1);
    const exchange = createMemoryExchange({ mailboxes: [alice], pool });
    const connection = await exchange.connect(alice, call);
    let release!: () => void;
    const busy = pool.run(() => new Promise<void>((resolve) => (release = resolve)), {
      priority: 'live',
      signal: call.signal,
    });
    let read = false;
    const reading = connection.readItem('x', call).then((item) => {
      read = true;
      return item;
    });
    await new Promise((resolve) => setTimeout(resolve, 50));
    // The pool's one slot is taken: the request waits for it.
    expect(read).toBe(false);
    expect(pool.stats()).toMatchObject({ running: 1, queued: 1 });
    release();
    await busy;
    await expect(reading).resolves.toBeNull();
  });
});
