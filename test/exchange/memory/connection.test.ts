import { beforeEach, describe, expect, it } from 'vitest';
import { errors } from '../../../src/errors.js';
import { createMemoryExchange, type MemoryExchange } from '../../../src/exchange/memory/index.js';
import { ExchangePool } from '../../../src/pool/exchange-pool.js';
import type { MailboxConnection, MailboxWriter, SubscriptionEvent } from '../../../src/ports/exchange.port.js';

/** The in-memory Exchange against the port's contracts (src/ports/exchange.port.ts), call by call. */
const alice = 'alice@x.test';
const bob = 'bob@x.test';
const call = { signal: new AbortController().signal, priority: 'live' as const };
let exchange: MemoryExchange;
let connection: MailboxConnection & MailboxWriter;
beforeEach(async () => {
  exchange = createMemoryExchange({ mailboxes: [alice, bob] });
  connection = await exchange.connect(alice, call);
});

describe('connect', () => {
  it('knows its mailboxes case-blind, refuses others, and with no list makes any asked for', async () => {
    expect((await exchange.connect('ALICE@x.test', call)).user).toBe(alice);
    await expect(exchange.connect('carol@x.test', call)).rejects.toMatchObject({
      code: 'EXH_EXCHANGE_MAILBOX_NOT_FOUND',
      retryable: false,
    });
    const open = createMemoryExchange();
    expect((await open.connect('carol@x.test', call)).user).toBe('carol@x.test');
    expect(open.admin.mailboxNames()).toEqual(['carol@x.test']);
  });

  it('honours the caller’s signal, the pool, and faults queued for the mailbox', async () => {
    const stopped = new AbortController();
    stopped.abort();
    await expect(connection.readItem('x', { ...call, signal: stopped.signal })).rejects.toMatchObject({
      code: 'EXH_POOL_ABORTED',
    });
    const pool = new ExchangePool(1);
    const pooled = await createMemoryExchange({ pool }).connect(alice, call);
    await expect(pooled.readItem('x', call)).resolves.toBeNull();
    exchange.admin.failNext(alice, errors.exchangeUnavailable('memory://', 'down for a test'));
    await expect(connection.readItem('x', call)).rejects.toMatchObject({
      code: 'EXH_EXCHANGE_UNAVAILABLE',
      retryable: true,
    });
    await expect(connection.readItem('x', call)).resolves.toBeNull();
  });
});

describe('the writer', () => {
  const write = { itemClass: 'IPM.Task', folder: 'tasks' as const };

  it('creates in the folder asked for, stamped; updates with a current change key; refuses a stale one', async () => {
    const made = await connection.createItem({ ...write, properties: { subject: 'A' }, appItemId: 'app-1' }, call);
    expect(exchange.admin.listFolder(alice, 'tasks')).toEqual([
      expect.objectContaining({
        id: made.itemId,
        changeKey: made.changeKey,
        properties: expect.objectContaining({ appItemId: 'app-1' }),
      }),
    ]);
    expect(await connection.findByAppItemId(['contacts', 'tasks'], 'app-1', call)).toBe(made.itemId);
    expect(await connection.findByAppItemId(['contacts'], 'app-1', call)).toBeNull();

    const updated = await connection.updateItem(
      made.itemId,
      { ...write, properties: { subject: 'B' } },
      {
        ...call,
        changeKey: made.changeKey,
      },
    );
    expect(updated.changeKey).not.toBe(made.changeKey);
    await expect(
      connection.updateItem(
        made.itemId,
        { ...write, properties: { subject: 'C' } },
        { ...call, changeKey: made.changeKey },
      ),
    ).rejects.toMatchObject({ code: 'EXH_EXCHANGE_CONFLICT' });
    // Nothing to change: the item keeps its version.
    const same = await connection.updateItem(made.itemId, { ...write, properties: { subject: 'B', body: null } }, call);
    expect(same.changeKey).toBe(updated.changeKey);
    expect((await connection.readItem(made.itemId, call))?.properties.subject).toBe('B');
    await expect(connection.updateItem('nope', { ...write, properties: {} }, call)).rejects.toMatchObject({
      code: 'EXH_EXCHANGE_ITEM_NOT_FOUND',
    });
  });

  it('refuses a bad value before anything changes', async () => {
    await expect(
      connection.createItem(
        { ...write, properties: { subject: 'A', dueDate: 'someday' }, labels: { dueDate: 'exh_due' }, appItemId: 'a' },
        call,
      ),
    ).rejects.toMatchObject({ code: 'EXH_EXCHANGE_REQUEST_FAILED', message: expect.stringContaining('exh_due') });
    expect(exchange.admin.listFolder(alice, 'tasks')).toEqual([]);
  });

  it('deletes idempotently: to Deleted Items, from there for good', async () => {
    const made = await connection.createItem({ ...write, properties: { subject: 'A' }, appItemId: 'a' }, call);
    await connection.deleteItem(made.itemId, call);
    await connection.deleteItem(made.itemId, call);
    expect(await connection.readItem(made.itemId, call)).toBeNull();
    const [moved] = exchange.admin.listFolder(alice, 'deleteditems');
    expect(moved?.properties.subject).toBe('A');
    await connection.deleteItem(moved?.id as string, call);
    expect(exchange.admin.listFolder(alice, 'deleteditems')).toEqual([]);
  });

  it('adds and gives attachments, within the size asked for', async () => {
    const made = await connection.createItem({ ...write, properties: { subject: 'A' }, appItemId: 'a' }, call);
    const content = Buffer.from('hello');
    const { attachmentId } = await connection.addAttachment(
      made.itemId,
      { name: 'a.txt', contentType: 'text/plain', content },
      call,
    );
    const item = await connection.readItem(made.itemId, call);
    expect(item?.properties).toMatchObject({
      attachments: [{ name: 'a.txt', id: attachmentId }],
      hasAttachments: true,
    });
    expect(item?.changeKey).not.toBe(made.changeKey);
    expect(await connection.getAttachment(made.itemId, attachmentId, { ...call, maxBytes: 5 })).toEqual({
      name: 'a.txt',
      contentType: 'text/plain',
      content,
    });
    await expect(connection.getAttachment(made.itemId, attachmentId, { ...call, maxBytes: 4 })).rejects.toMatchObject({
      code: 'EXH_EXCHANGE_ATTACHMENT_TOO_LARGE',
    });
  });

  it('lets only the organizer change a meeting', async () => {
    exchange.admin.makeItem(bob, {
      itemClass: 'IPM.Appointment',
      folder: 'calendar',
      properties: {
        subject: 'Bob’s',
        start: '2026-01-05T09:00:00.000Z',
        end: '2026-01-05T10:00:00.000Z',
        requiredAttendees: [alice],
      },
    });
    const [copy] = exchange.admin.listFolder(alice, 'calendar');
    await expect(
      connection.updateItem(
        copy?.id as string,
        { itemClass: 'IPM.Appointment', folder: 'calendar', properties: { subject: 'x' } },
        call,
      ),
    ).rejects.toMatchObject({ code: 'EXH_EXCHANGE_NOT_ORGANIZER' });
    expect(exchange.admin.item(alice, copy?.id as string)?.properties.subject).toBe('Bob’s');
  });
});

describe('subscribe', () => {
  it('says "changed" for its folders only, nothing once closed, and "lost" when Exchange ends it', async () => {
    const events: SubscriptionEvent[] = [];
    const subscription = await connection.subscribe(['tasks'], 'streaming', (e) => events.push(e), call);
    exchange.admin.makeItem(alice, { itemClass: 'IPM.Contact', folder: 'contacts', properties: {} });
    exchange.admin.makeItem(alice, { itemClass: 'IPM.Task', folder: 'tasks', properties: {} });
    await Promise.resolve();
    expect(events).toEqual([{ type: 'changed', folders: ['tasks'] }]);
    await subscription.close();
    exchange.admin.makeItem(alice, { itemClass: 'IPM.Task', folder: 'tasks', properties: {} });
    await Promise.resolve();
    expect(events).toHaveLength(1);

    await connection.subscribe(['tasks'], 'pull', (e) => events.push(e), call);
    exchange.admin.endSubscriptions(alice);
    await Promise.resolve();
    expect(events[1]).toMatchObject({
      type: 'lost',
      error: { code: 'EXH_EXCHANGE_SUBSCRIPTION_LOST', retryable: true },
    });
    expect(exchange.admin.subscriptions(alice)).toBe(0);
    await expect(connection.subscribe(['tasks'], 'push', () => {}, call)).rejects.toMatchObject({
      code: 'EXH_EXCHANGE_REQUEST_FAILED',
    });
  });
});
