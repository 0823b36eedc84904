import { beforeEach, describe, expect, it } from 'vitest';
import { errors } from '../../../src/errors.js';
import { MemoryAdmin } from '../../../src/exchange/memory/admin.js';
import { createMemoryExchange, type MemoryExchange } from '../../../src/exchange/memory/index.js';
import { MemoryMailbox } from '../../../src/exchange/memory/store.js';
import type {
  MailboxConnection,
  MailboxWriter,
  SubscriptionEvent,
  SyncChange,
} from '../../../src/ports/exchange.port.js';

/**
 * MemoryAdmin (src/exchange/memory/admin.ts): the in-memory Exchange as its mailboxes' owners and Exchange itself
 * act on it; what it does is read back through the port, as the connector would see it.
 */
const alice = 'alice@x.test';
const bob = 'bob@x.test';
const call = { signal: new AbortController().signal, priority: 'live' as const };
let exchange: MemoryExchange;
let connection: MailboxConnection & MailboxWriter;
beforeEach(async () => {
  exchange = createMemoryExchange({ mailboxes: [alice, bob] });
  connection = await exchange.connect(alice, call);
});
const admin = () => exchange.admin;
const page = async (folder: 'tasks' | 'calendar', state: string | null) =>
  connection.syncFolder(folder, state, { ...call, maxChanges: 100, occurrences: 10 });
const kinds = (changes: SyncChange[]) =>
  changes.map((c) => (c.type === 'create' || c.type === 'update' ? `${c.type} ${c.item.properties.subject}` : c.type));
const series = () =>
  admin().makeItem(alice, {
    itemClass: 'IPM.Appointment',
    folder: 'calendar',
    properties: { subject: 'Weekly', start: '2026-03-02T09:00:00.000Z', end: '2026-03-02T10:00:00.000Z' },
    occurrences: [
      { start: '2026-03-02T09:00:00.000Z', end: '2026-03-02T10:00:00.000Z' },
      { start: '2026-03-09T09:00:00.000Z', end: '2026-03-09T10:00:00.000Z' },
    ],
  });

describe('mailboxes', () => {
  it('adds a mailbox once and names them all; refuses a user it has no mailbox for', () => {
    admin().addMailbox('carol@x.test');
    admin().addMailbox('CAROL@x.test');
    expect(admin().mailboxNames()).toEqual([alice, bob, 'carol@x.test']);
    expect(() => admin().listFolder('dave@x.test', 'inbox')).toThrow(
      expect.objectContaining({ code: 'EXH_EXCHANGE_MAILBOX_NOT_FOUND' }),
    );
  });
});

describe('items as a person makes them', () => {
  it('makes an item the port reads as made, and lists a folder oldest first', async () => {
    const first = admin().makeItem(alice, { itemClass: 'IPM.Task', folder: 'tasks', properties: { subject: 'One' } });
    admin().makeItem(alice, { itemClass: 'IPM.Task', folder: 'tasks' });
    expect(await connection.readItem(first.id, call)).toEqual(first);
    expect(admin().item(alice, first.id)).toEqual(first);
    expect(
      admin()
        .listFolder(alice, 'tasks')
        .map((item) => item.properties.subject),
    ).toEqual(['One', null]);
    expect(admin().item(alice, 'no-such-id')).toBeNull();
  });

  it('changes properties (null removes one, lists are copied) with a new change key the sync reports', async () => {
    const tags = ['Red'];
    const made = admin().makeItem(alice, {
      itemClass: 'IPM.Task',
      folder: 'tasks',
      properties: { subject: 'A', body: 'text' },
    });
    const { continuation } = await page('tasks', null);
    const changed = admin().changeItem(alice, made.id, { subject: 'B', body: null, categories: tags });
    tags.push('Blue');
    expect(changed.changeKey).not.toBe(made.changeKey);
    expect(changed.properties).toMatchObject({ subject: 'B', body: null, categories: ['Red'] });
    expect(admin().item(alice, made.id)?.properties.categories).toEqual(['Red']);
    expect(kinds((await page('tasks', continuation)).changes)).toEqual(['update B']);
    expect(() => admin().changeItem(alice, 'gone', {})).toThrow(
      expect.objectContaining({ code: 'EXH_EXCHANGE_ITEM_NOT_FOUND' }),
    );
  });

  it('marks read as a read-flag change only (the journal of the store it was given)', () => {
    const store = new Map<string, MemoryMailbox>();
    const own = new MemoryAdmin({
      find: (address) => store.get(address.toLowerCase()),
      add: (address) => {
        const mailbox = store.get(address.toLowerCase()) ?? new MemoryMailbox(address, { now: () => new Date() });
        store.set(address.toLowerCase(), mailbox);
        return mailbox;
      },
      all: () => [...store.values()],
    });
    own.addMailbox(alice);
    const made = own.makeItem(alice, { itemClass: 'IPM.Note', folder: 'inbox', properties: { subject: 'Hi' } });
    expect(own.markRead(alice, made.id, true).properties.isRead).toBe(true);
    own.changeItem(alice, made.id, { isRead: false, subject: 'Hi again' });
    expect(
      store
        .get(alice)
        ?.folders.get('inbox')
        ?.journal.map((entry) => entry.kind),
    ).toEqual(['create', 'readFlag', 'update']);
  });

  it('changes and deletes an occurrence by its id, leaving the series', async () => {
    const master = series();
    const { changes } = await page('calendar', null);
    const occurrenceIds = changes.flatMap((c) =>
      (c.type === 'create' || c.type === 'update') && c.item.id !== master.id ? [c.item.id] : [],
    );
    expect(occurrenceIds).toHaveLength(2);
    const [first, second] = occurrenceIds as [string, string];
    const moved = admin().changeItem(alice, first, { start: '2026-03-02T11:00:00.000Z' });
    expect(moved).toMatchObject({
      id: first,
      properties: { subject: 'Weekly', start: '2026-03-02T11:00:00.000Z', originalStart: '2026-03-02T09:00:00.000Z' },
    });
    expect(admin().item(alice, first)?.properties.start).toBe('2026-03-02T11:00:00.000Z');
    admin().deleteItem(alice, second);
    expect(admin().item(alice, second)).toBeNull();
    expect(admin().item(alice, master.id)?.changeKey).not.toBe(master.changeKey);
    expect(admin().listFolder(alice, 'calendar')).toHaveLength(1);
  });

  it('deletes as Outlook does: to Deleted Items, from there for good', () => {
    const made = admin().makeItem(alice, { itemClass: 'IPM.Task', folder: 'tasks', properties: { subject: 'A' } });
    admin().deleteItem(alice, made.id);
    expect(admin().item(alice, made.id)).toBeNull();
    const [moved] = admin().listFolder(alice, 'deleteditems');
    expect(moved?.properties.subject).toBe('A');
    admin().deleteItem(alice, moved?.id as string);
    expect(admin().listFolder(alice, 'deleteditems')).toEqual([]);
    expect(() => admin().deleteItem(alice, made.id)).toThrow(
      expect.objectContaining({ code: 'EXH_EXCHANGE_ITEM_NOT_FOUND' }),
    );
  });

  it('attaches a file the port gives back, with a default content type', async () => {
    const made = admin().makeItem(alice, { itemClass: 'IPM.Task', folder: 'tasks' });
    const content = Buffer.from('bytes');
    const id = admin().attach(alice, made.id, { name: 'a.bin', content });
    expect(admin().item(alice, made.id)?.properties).toMatchObject({
      hasAttachments: true,
      attachments: [{ name: 'a.bin', id }],
    });
    expect(await connection.getAttachment(made.id, id, { ...call, maxBytes: 100 })).toEqual({
      name: 'a.bin',
      contentType: 'application/octet-stream',
      content,
    });
  });

  it('sends mail to another mailbox when asked', () => {
    admin().makeItem(alice, {
      itemClass: 'IPM.Note',
      folder: 'drafts',
      properties: { subject: 'Hello', to: [bob] },
      send: true,
    });
    expect(
      admin()
        .listFolder(alice, 'sentitems')
        .map((i) => i.properties.subject),
    ).toEqual(['Hello']);
    expect(
      admin()
        .listFolder(bob, 'inbox')
        .map((i) => i.properties.subject),
    ).toEqual(['Hello']);
  });
});

describe('what Exchange does to the connector', () => {
  it('forgets the sync states of a folder: the continuation it gave is refused from then on', async () => {
    admin().makeItem(alice, { itemClass: 'IPM.Task', folder: 'tasks', properties: { subject: 'A' } });
    const tasks = await page('tasks', null);
    const calendar = await page('calendar', null);
    admin().forgetSyncStates(alice, 'tasks');
    await expect(page('tasks', tasks.continuation)).rejects.toMatchObject({ code: 'EXH_EXCHANGE_INVALID_SYNC_STATE' });
    await expect(page('calendar', calendar.continuation)).resolves.toMatchObject({ changes: [] });
    admin().forgetSyncStates(alice);
    await expect(page('calendar', calendar.continuation)).rejects.toMatchObject({
      code: 'EXH_EXCHANGE_INVALID_SYNC_STATE',
    });
  });

  it('reads a folder within a window only, and the whole folder again when the window is taken away', async () => {
    for (const [subject, day] of [
      ['Early', '01'],
      ['Inside', '10'],
      ['Late', '25'],
    ] as const) {
      admin().makeItem(alice, {
        itemClass: 'IPM.Appointment',
        folder: 'calendar',
        properties: { subject, start: `2026-03-${day}T09:00:00.000Z`, end: `2026-03-${day}T10:00:00.000Z` },
      });
    }
    admin().readWithin(alice, 'calendar', { from: '2026-03-05T00:00:00.000Z', until: '2026-03-20T00:00:00.000Z' });
    const within = await page('calendar', null);
    expect(kinds(within.changes)).toEqual(['create Inside']);
    admin().readWithin(alice, 'calendar', undefined);
    expect(kinds((await page('calendar', null)).changes)).toEqual(['create Early', 'create Inside', 'create Late']);
    expect(() => admin().readWithin(alice, 'nofolder' as 'calendar', undefined)).toThrow('no folder nofolder');
  });

  it('ends the subscriptions, each told lost, and counts those open', async () => {
    const events: SubscriptionEvent[] = [];
    await connection.subscribe(['tasks'], 'streaming', (event) => events.push(event), call);
    await connection.subscribe(['calendar'], 'pull', (event) => events.push(event), call);
    expect(admin().subscriptions(alice)).toBe(2);
    admin().endSubscriptions(alice, 'maintenance');
    expect(admin().subscriptions(alice)).toBe(0);
    await Promise.resolve();
    expect(events).toEqual([
      { type: 'lost', error: expect.objectContaining({ code: 'EXH_EXCHANGE_SUBSCRIPTION_LOST', retryable: true }) },
      { type: 'lost', error: expect.objectContaining({ code: 'EXH_EXCHANGE_SUBSCRIPTION_LOST', retryable: true }) },
    ]);
    expect((events[0] as { error: { message: string } }).error.message).toContain('maintenance');
  });

  it('fails the mailbox’s next requests with the errors queued, one each, in order', async () => {
    admin().failNext(
      alice,
      errors.exchangeThrottled('memory://', 1_000),
      errors.exchangeUnavailable('memory://', 'down'),
    );
    await expect(connection.readItem('x', call)).rejects.toMatchObject({ code: 'EXH_EXCHANGE_THROTTLED' });
    await expect(connection.readItem('x', call)).rejects.toMatchObject({ code: 'EXH_EXCHANGE_UNAVAILABLE' });
    await expect(connection.readItem('x', call)).resolves.toBeNull();
    // Bob's requests were never affected.
    await expect((await exchange.connect(bob, call)).readItem('x', call)).resolves.toBeNull();
  });

  it('fails the reading of one series’ occurrences once', async () => {
    const master = series();
    admin().failOccurrences(alice, master.id, errors.exchangeUnavailable('memory://', 'occurrences unreadable'));
    await expect(page('calendar', null)).rejects.toMatchObject({ code: 'EXH_EXCHANGE_UNAVAILABLE' });
    // Once: the next read gives the series and its two occurrences.
    expect(kinds((await page('calendar', null)).changes)).toEqual(['create Weekly', 'create Weekly', 'create Weekly']);
  });
});
