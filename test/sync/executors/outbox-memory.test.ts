import { describe, expect, it } from 'vitest';
import type { ControlPort } from '../../../src/ports/control.port.js';
import type { FieldValue, ItemAction } from '../../../src/ports/database.port.js';
import type { MailboxConnection, MailboxWriter } from '../../../src/ports/exchange.port.js';
import type { ConflictRule } from '../../../src/sync/decisions/conflicts.js';
import { applyItemChange, drainOutbox } from '../../../src/sync/executors/outbox.js';
import { alice, bob, type MemoryWorld, useMemoryWorld } from '../../support/memory-world.js';

/**
 * The database → Exchange half of the core (src/sync/executors/outbox.ts) on the in-memory Exchange: the example
 * application's own rows reach the mailbox through its triggers and the outbox and come back as the same rows; e-mail
 * is filed where Exchange files it; a meeting's UID links the attendees' copies; only the organizer changes a meeting;
 * a change made in Exchange meanwhile is a conflict decided by sync.conflicts.
 */
let world: MemoryWorld;
useMemoryWorld((made) => {
  world = made;
});

const control: ControlPort = {
  syncUsers: () => {},
  syncItems: async () => ({ added: 0, changed: 0, deleted: 0, failed: 0 }),
  retryFailed: async () => ({ retried: 0, rereading: [] }),
};

async function drain(connection: MailboxConnection & MailboxWriter) {
  return drainOutbox(
    {
      db: world.db,
      logger: world.logger,
      control,
      maxAttachmentBytes: 1024,
      isRegistered: () => true,
      writerOf: (user) => (user.toLowerCase() === connection.user.toLowerCase() ? connection : undefined),
    },
    { limit: 100, signal: world.call.signal },
  );
}

/** One change of the application's, as the outbox or a sender on the database listener hands it over. */
async function change(
  user: string,
  itemType: string,
  action: ItemAction,
  fields: Record<string, FieldValue>,
  options: { rule?: ConflictRule; outboxId?: string } = {},
) {
  const connection = await world.connect(user);
  return applyItemChange(
    {
      db: world.db,
      logger: world.logger,
      ...(options.rule ? { conflicts: { rule: options.rule, exclusive: (_u, _t, work) => work() } } : {}),
    },
    connection,
    { id: `test ${action}`, user, itemType, action, fields: { user, ...fields }, attempts: 0, ...options },
    world.call,
  );
}

describe('the application’s rows, through the outbox into the mailbox and back', () => {
  it('add, chg (null unchanged, empty cleared) and del, each echoed into the same row without a second outbox row', async () => {
    const alices = await world.connect(alice);
    await world.instance.query(
      `INSERT INTO task_item (exh_app_item_id, exh_user, exh_subject, exh_body, exh_status, exh_percent_complete, exh_due)
       VALUES ('t-1', $1, 'File report', 'Q1 figures', 'inprogress', 50, '2026-03-06T17:00:00Z')`,
      [alice],
    );
    expect(await drain(alices)).toEqual({ done: 1, failed: 0, waiting: 0 });
    const [made] = world.admin.listFolder(alice, 'tasks');
    expect(made?.properties).toMatchObject({
      appItemId: 't-1',
      subject: 'File report',
      body: 'Q1 figures',
      bodyType: 'Text',
      status: 'InProgress',
      percentComplete: 50,
      dueDate: '2026-03-06T17:00:00.000Z',
    });
    expect((await world.outbox()).map((row) => [row.exh_action, row.exh_state, row.exh_output_value])).toEqual([
      ['add', 'done', made?.id],
    ]);

    // Its echo finds the row by the application's id: the same row, now with the item id.
    await world.sync(alice, 'task');
    expect(await world.rows('task', alice)).toEqual([
      expect.objectContaining({ exh_app_item_id: 't-1', exh_item_id: made?.id, exh_status: 'InProgress' }),
    ]);

    // The trigger sends NULL for what did not change and '' for what was cleared.
    await world.instance.query(`UPDATE task_item SET exh_subject = 'File the report', exh_body = NULL`);
    expect(await drain(alices)).toMatchObject({ done: 1, failed: 0 });
    const changed = world.admin.item(alice, made?.id as string);
    expect(changed?.properties).toMatchObject({ subject: 'File the report', body: null, percentComplete: 50 });
    expect(changed?.changeKey).not.toBe(made?.changeKey);
    await world.sync(alice, 'task');
    expect(await world.rows('task', alice)).toEqual([
      expect.objectContaining({ exh_subject: 'File the report', exh_body: null, exh_percent_complete: 50 }),
    ]);

    await world.instance.query('DELETE FROM task_item');
    expect(await drain(alices)).toMatchObject({ done: 1, failed: 0 });
    expect(world.admin.listFolder(alice, 'tasks')).toEqual([]);
    expect(world.admin.listFolder(alice, 'deleteditems').map((item) => item.properties.appItemId)).toEqual(['t-1']);
    // Deleting what is gone already is done, not failed.
    expect(await change(alice, 'task', 'del', { item_id: made?.id as string, app_item_id: 't-1' })).toMatchObject({
      exitCode: 0,
    });
    // add, chg, del: no echo of the connector's own writes came back as a change of the application's.
    expect((await world.outbox()).map((row) => [row.exh_action, row.exh_state])).toEqual([
      ['add', 'done'],
      ['chg', 'done'],
      ['del', 'done'],
    ]);
  });

  it('an add tried again after a crash finds the item it made instead of making a second', async () => {
    const fields = { app_item_id: 'c-1', display_name: 'Dana Scully', business_phone: '+1 202 555 0100' };
    const first = await change(alice, 'contact', 'add', fields);
    const again = await change(alice, 'contact', 'add', fields);
    expect(first).toMatchObject({ exitCode: 0 });
    expect(again.outputValue).toBe(first.outputValue);
    expect(world.admin.listFolder(alice, 'contacts').map((item) => [item.id, item.properties.businessPhone])).toEqual([
      [first.outputValue, '+1 202 555 0100'],
    ]);
  });

  it('refuses a value Exchange cannot take, naming the column, and changes nothing', async () => {
    const outcome = await change(alice, 'task', 'add', { app_item_id: 'bad', subject: 'x', percent_complete: 'lots' });
    expect(outcome).toMatchObject({ exitCode: 1 });
    expect(outcome.errorMessage).toContain('exh_percent_complete');
    expect(world.admin.listFolder(alice, 'tasks')).toEqual([]);
  });
});

describe('e-mail', () => {
  it('with recipients is sent: kept in Sent Items and delivered; without, a draft that a repeated add finds', async () => {
    const sent = await change(alice, 'email', 'add', {
      app_item_id: 'e-1',
      subject: 'Minutes',
      to: `${bob}; carol@x.test`,
    });
    expect(world.admin.listFolder(alice, 'sentitems')).toEqual([
      expect.objectContaining({
        id: sent.outputValue,
        properties: expect.objectContaining({ appItemId: 'e-1', from: alice }),
      }),
    ]);
    // Bob's copy is his own item: it does not carry Alice's stamp.
    expect(world.admin.listFolder(bob, 'inbox')).toEqual([
      expect.objectContaining({
        properties: expect.objectContaining({ subject: 'Minutes', appItemId: null, isRead: false }),
      }),
    ]);

    const draft = await change(alice, 'email', 'add', { app_item_id: 'e-2', subject: 'Later' });
    expect(world.admin.listFolder(alice, 'drafts').map((item) => item.id)).toEqual([draft.outputValue]);
    expect((await change(alice, 'email', 'add', { app_item_id: 'e-2', subject: 'Later' })).outputValue).toBe(
      draft.outputValue,
    );
    expect(world.admin.listFolder(alice, 'drafts')).toHaveLength(1);
  });
});

describe('meetings', () => {
  it("link attendees' copies to the organizer's application id by UID, and only the organizer may change them", async () => {
    const made = await change(alice, 'calendar', 'add', {
      app_item_id: 'm-1',
      subject: 'Board',
      start: new Date('2026-06-01T09:00:00Z'),
      end: new Date('2026-06-01T10:00:00Z'),
      required_attendees: bob,
    });
    const organizers = world.admin.item(alice, made.outputValue as string);
    const { rows: links } = await world.instance.query('SELECT exh_uid, exh_app_item_id FROM exh_meeting');
    expect(links).toEqual([{ exh_uid: organizers?.uid, exh_app_item_id: 'm-1' }]);
    const [copy] = world.admin.listFolder(bob, 'calendar');
    expect(copy).toMatchObject({ uid: organizers?.uid, properties: { appItemId: null, organizer: alice } });

    await world.sync(bob, 'calendar');
    expect(await world.rows('calendar', bob)).toEqual([
      expect.objectContaining({ exh_item_id: copy?.id, exh_app_item_id: 'm-1', exh_organizer: alice }),
    ]);

    const refused = await change(bob, 'calendar', 'chg', { item_id: copy?.id as string, subject: 'Mine now' });
    expect(refused).toMatchObject({ exitCode: 1 });
    expect(refused.errorMessage).toContain('EXH_EXCHANGE_NOT_ORGANIZER');
    expect(world.admin.item(bob, copy?.id as string)?.properties.subject).toBe('Board');

    // The organizer's change reaches the copy.
    expect(
      await change(alice, 'calendar', 'chg', { item_id: made.outputValue as string, subject: 'Board (moved)' }),
    ).toMatchObject({
      exitCode: 0,
    });
    expect(world.admin.item(bob, copy?.id as string)?.properties.subject).toBe('Board (moved)');
  });
});

describe('a change made in Exchange meanwhile', () => {
  it('is a conflict sync.conflicts decides: exchange-wins keeps the person’s, database-wins writes over it', async () => {
    const made = await change(alice, 'task', 'add', { app_item_id: 't-9', subject: 'Draft budget' });
    const itemId = made.outputValue as string;
    world.admin.changeItem(alice, itemId, { subject: 'Draft budget (Alice)' });

    const lost = await change(
      alice,
      'task',
      'chg',
      { item_id: itemId, subject: 'Draft budget (app)' },
      { rule: 'exchange-wins' },
    );
    expect(lost).toMatchObject({ exitCode: 1 });
    expect(lost.errorMessage).toContain('won the conflict');
    expect(world.admin.item(alice, itemId)?.properties.subject).toBe('Draft budget (Alice)');

    const won = await change(
      alice,
      'task',
      'chg',
      { item_id: itemId, subject: 'Draft budget (app)' },
      { rule: 'database-wins' },
    );
    expect(won).toMatchObject({ exitCode: 0 });
    expect(world.admin.item(alice, itemId)?.properties.subject).toBe('Draft budget (app)');
    expect((await world.log()).map((entry) => entry.exh_code)).toEqual(['EXH_SYNC_CONFLICT', 'EXH_SYNC_CONFLICT']);

    // Without a change in Exchange since the write, the connector's own key matches: no conflict.
    const plain = await change(alice, 'task', 'chg', { item_id: itemId, subject: 'Budget' }, { rule: 'exchange-wins' });
    expect(plain).toMatchObject({ exitCode: 0 });
    expect(await world.log()).toHaveLength(2);
  });
});
