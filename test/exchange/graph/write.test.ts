import { describe, expect, it } from 'vitest';
import type { ItemWrite, MailboxConnection, MailboxWriter } from '../../../src/ports/exchange.port.js';
import { alice, bob, graphAdapter, live, startGraphEmulator, syncAll } from './adapter-support.js';

const carol = 'carol@contoso.test';
const emulator = await startGraphEmulator({ mailboxes: [alice, bob, carol, 'writes@contoso.test'] });
const adapter = graphAdapter(emulator, { now: () => new Date('2026-01-02T08:00:00Z') });
const user = 'writes@contoso.test';

type Connection = MailboxConnection & MailboxWriter;

const appointment = (properties: ItemWrite['properties']): ItemWrite => ({
  itemClass: 'IPM.Appointment',
  folder: 'calendar',
  properties,
});

async function graphRequests(): Promise<number> {
  return emulator.admin.requests({}).filter((r) => r.operation.startsWith('graph.')).length;
}

describe('createItem', () => {
  it('makes a meeting with its attendees invited, stamped, and a retried create (same app id) is not doubled', async () => {
    const connection = await adapter.connect(alice);
    const write = {
      ...appointment({
        subject: 'Planning',
        body: '<p>Bring numbers</p>',
        start: '2026-01-06T13:00:00Z',
        end: '2026-01-06T14:00:00Z',
        requiredAttendees: `${bob}; ${carol}`,
        location: 'Room 4',
        freeBusy: 'tentative',
        reminderSet: true,
        reminderMinutes: 10,
      }),
      appItemId: 'M-1',
    };
    const created = await connection.createItem(write, live());
    expect(created.uid).toEqual(expect.any(String));
    const again = await connection.createItem(write, live());
    expect(again.itemId).toBe(created.itemId);
    const read = await connection.readItem(created.itemId, live());
    expect(read?.properties).toMatchObject({
      subject: 'Planning',
      body: '<p>Bring numbers</p>',
      bodyType: 'HTML',
      requiredAttendees: [bob, carol],
      organizer: alice,
      location: 'Room 4',
      freeBusy: 'Tentative',
      reminderSet: true,
      reminderMinutes: 10,
      isMeeting: true,
      appItemId: 'M-1',
    });
    expect(await connection.findByAppItemId(['calendar'], 'M-1', live())).toBe(created.itemId);
    const invited = await syncAll(await adapter.connect(bob), 'calendar');
    expect(invited.changes).toContainEqual(
      expect.objectContaining({ item: expect.objectContaining({ uid: created.uid }) }),
    );
  });

  it("sends an e-mail with recipients (its id is the sent copy's) and keeps one without as a draft", async () => {
    const connection = await adapter.connect(alice);
    const sent = await connection.createItem(
      {
        itemClass: 'IPM.Note',
        folder: 'inbox',
        appItemId: 'E-1',
        properties: { subject: 'Hello Bob', body: 'Hi', to: bob, importance: 'high', inReplyTo: '<x@contoso.test>' },
      },
      live(),
    );
    expect(await connection.findByAppItemId(['sentitems'], 'E-1', live())).toBe(sent.itemId);
    expect(await connection.findByAppItemId(['drafts'], 'E-1', live())).toBeNull();
    const received = await syncAll(await adapter.connect(bob), 'inbox');
    expect(received.changes).toContainEqual(
      expect.objectContaining({
        item: expect.objectContaining({
          properties: expect.objectContaining({
            subject: 'Hello Bob',
            from: alice,
            importance: 'High',
            inReplyTo: '<x@contoso.test>',
          }),
        }),
      }),
    );
    const draft = await connection.createItem(
      { itemClass: 'IPM.Note', folder: 'inbox', appItemId: 'E-2', properties: { subject: 'Not yet' } },
      live(),
    );
    expect(await connection.findByAppItemId(['sentitems'], 'E-2', live())).toBeNull();
    expect(await connection.findByAppItemId(['sentitems', 'drafts'], 'E-2', live())).toBe(draft.itemId);
  });

  it('puts a task in the default To Do list with its linked resource, found again by the app id', async () => {
    const connection = await adapter.connect(user);
    const created = await connection.createItem(
      {
        itemClass: 'IPM.Task',
        folder: 'tasks',
        appItemId: 'T-1',
        properties: { subject: 'File taxes', status: 'notstarted' },
      },
      live(),
    );
    expect(await connection.findByAppItemId(['tasks'], 'T-1', live())).toBe(created.itemId);
    expect(await connection.findByAppItemId(['tasks'], 'T-none', live())).toBeNull();
    expect((await connection.readItem(created.itemId, live()))?.properties).toMatchObject({
      subject: 'File taxes',
      status: 'NotStarted',
      appItemId: 'T-1',
    });
  });

  it('refuses a value Graph cannot take before sending anything, naming the label', async () => {
    const connection: Connection = await adapter.connect(user);
    const before = await graphRequests();
    await expect(
      connection.createItem(
        {
          ...appointment({ subject: 'Bad', start: 'next tuesday', end: '2026-01-06T14:00:00Z' }),
          labels: { start: 'exh_start' },
          appItemId: 'BAD',
        },
        live(),
      ),
    ).rejects.toMatchObject({ code: 'EXH_EXCHANGE_REQUEST_FAILED', message: expect.stringContaining('exh_start') });
    await expect(
      connection.createItem(
        { itemClass: 'IPM.Contact', folder: 'contacts', appItemId: 'BAD2', properties: { birthday: 'someday' } },
        live(),
      ),
    ).rejects.toMatchObject({ code: 'EXH_EXCHANGE_REQUEST_FAILED', message: expect.stringContaining('birthday') });
    expect(await graphRequests()).toBe(before);
  });
});

describe('updateItem', () => {
  it("leaves what is NULL, clears what is '', and keeps the contact's other addresses and phones", async () => {
    const connection = await adapter.connect(user);
    const contact = { itemClass: 'IPM.Contact', folder: 'contacts' as const };
    const created = await connection.createItem(
      {
        ...contact,
        appItemId: 'C-1',
        properties: {
          displayName: 'Ann Smith',
          jobTitle: 'Buyer',
          email1: 'ann@work.test',
          email2: 'ann@home.test',
          businessPhone: '+1 1',
          'homeAddress.city': 'Utrecht',
          'homeAddress.street': 'Main 1',
        },
      },
      live(),
    );
    await connection.updateItem(
      created.itemId,
      {
        ...contact,
        properties: { displayName: null, jobTitle: '', email2: 'ann@club.test', 'homeAddress.city': 'Zeist' },
      },
      live(),
    );
    expect((await connection.readItem(created.itemId, live()))?.properties).toMatchObject({
      displayName: 'Ann Smith',
      jobTitle: null,
      email1: 'ann@work.test',
      email2: 'ann@club.test',
      businessPhone: '+1 1',
      'homeAddress.city': 'Zeist',
      'homeAddress.street': 'Main 1',
    });
  });

  it('changes a task known only by its app id (an outbox change written before the create ran), past the first page of the list', async () => {
    const connection = await adapter.connect(carol);
    // 100 tasks made in To Do before it, so that the connector's task is on the list's second page ($top=100).
    for (let i = 0; i < 100; i++) emulator.admin.createItem(carol, { kind: 'Task', Subject: `Chore ${i}` });
    const created = await connection.createItem(
      { itemClass: 'IPM.Task', folder: 'tasks', appItemId: 'T-late', properties: { subject: 'Written while down' } },
      live(),
    );
    // A connection that never saw the create, as after a restart: it finds the task by its linked resource alone.
    const later = await adapter.connect(carol);
    const listed = () => emulator.admin.requests({ mailbox: carol, operation: 'graph.todo.tasks' }).length;
    const before = listed();
    const found = await later.findByAppItemId(['tasks'], 'T-late', live());
    expect(found).toBe(created.itemId);
    expect(listed() - before, 'pages of the list read').toBe(2);
    await later.updateItem(
      found as string,
      { itemClass: 'IPM.Task', folder: 'tasks', properties: { subject: 'Changed while down' } },
      live(),
    );
    expect((await connection.readItem(created.itemId, live()))?.properties).toMatchObject({
      subject: 'Changed while down',
      appItemId: 'T-late',
    });
  });

  it("leaves a task's percent complete and owner out both ways (To Do has neither), so a resync finds nothing differing", async () => {
    const connection = await adapter.connect(carol);
    const created = await connection.createItem(
      {
        itemClass: 'IPM.Task',
        folder: 'tasks',
        appItemId: 'T-percent',
        properties: { subject: 'Half done', percentComplete: 50, owner: 'Carol' },
      },
      live(),
    );
    await connection.updateItem(
      created.itemId,
      { itemClass: 'IPM.Task', folder: 'tasks', properties: { percentComplete: 60 } },
      live(),
    );
    // Absent, not null: read as null, the application's 60 would differ from Exchange on every resync towards it.
    const read = (await connection.readItem(created.itemId, live()))?.properties ?? {};
    expect(read).toMatchObject({ subject: 'Half done', appItemId: 'T-percent' });
    expect(Object.keys(read)).not.toContain('percentComplete');
    expect(Object.keys(read)).not.toContain('owner');
    expect(emulator.admin.item(carol, created.itemId).properties.PercentComplete).toBeUndefined();
  });

  it('writes only with the change key it was given (412 → EXH_EXCHANGE_CONFLICT), and only as the organizer', async () => {
    const connection = await adapter.connect(alice);
    const created = await connection.createItem(
      {
        ...appointment({
          subject: 'Review',
          start: '2026-01-07T09:00:00Z',
          end: '2026-01-07T10:00:00Z',
          requiredAttendees: bob,
        }),
        appItemId: 'R-1',
      },
      live(),
    );
    const first = await connection.updateItem(created.itemId, appointment({ location: 'Room 9' }), {
      ...live(),
      changeKey: created.changeKey,
    });
    expect(first.changeKey).not.toBe(created.changeKey);
    await expect(
      connection.updateItem(created.itemId, appointment({ location: 'Room 10' }), {
        ...live(),
        changeKey: created.changeKey,
      }),
    ).rejects.toMatchObject({ code: 'EXH_EXCHANGE_CONFLICT' });
    expect((await connection.readItem(created.itemId, live()))?.properties.location).toBe('Room 9');

    const bobs = await adapter.connect(bob);
    const copy = (await syncAll(bobs, 'calendar')).changes.find((c) => 'item' in c && c.item.uid === created.uid) as {
      item: { id: string };
    };
    await expect(bobs.updateItem(copy.item.id, appointment({ subject: 'Mine now' }), live())).rejects.toMatchObject({
      code: 'EXH_EXCHANGE_NOT_ORGANIZER',
    });
  });
});

describe('readItem and deleteItem', () => {
  it('deletes idempotently; a gone item reads as null', async () => {
    const connection = await adapter.connect(user);
    const created = await connection.createItem(
      { itemClass: 'IPM.Contact', folder: 'contacts', appItemId: 'X-1', properties: { displayName: 'Short-lived' } },
      live(),
    );
    await connection.deleteItem(created.itemId, live());
    await connection.deleteItem(created.itemId, live());
    expect(await connection.readItem(created.itemId, live())).toBeNull();
    // An id this connection never saw: its kind is asked of Graph.
    const fresh = await adapter.connect(user);
    expect(await fresh.readItem(created.itemId, live())).toBeNull();
    await fresh.deleteItem(created.itemId, live());
  });

  it('reads an item another connection made (its kind found by $batch)', async () => {
    const maker = await adapter.connect(user);
    const created = await maker.createItem(
      { itemClass: 'IPM.Task', folder: 'tasks', appItemId: 'K-1', properties: { subject: 'Found' } },
      live(),
    );
    const reader = await adapter.connect(user);
    expect(await reader.readItem(created.itemId, live())).toMatchObject({
      id: created.itemId,
      itemClass: 'IPM.Task',
      properties: { subject: 'Found', appItemId: 'K-1' },
    });
  });
});
