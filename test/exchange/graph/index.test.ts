import { describe, expect, it } from 'vitest';
import { itemType } from '../../../src/items/index.js';
import { createLogging } from '../../../src/logging/logger.js';
import { Connections } from '../../../src/mailbox/connections.js';
import { syncMailboxItemType } from '../../../src/mailbox/item-type-sync.js';
import { CommittedWatermarks, SyncLocks } from '../../../src/mailbox/sync-locks.js';
import type { ControlPort } from '../../../src/ports/control.port.js';
import type { ItemTypeName } from '../../../src/ports/database.port.js';
import type { MailboxConnection, MailboxWriter } from '../../../src/ports/exchange.port.js';
import { drainOutbox } from '../../../src/sync/executors/outbox.js';
import { type SyncSettings, syncItemType } from '../../../src/sync/executors/sync-item-type.js';
import { type ExampleDatabase, useExampleDatabase } from '../../support/example-database.js';
import { alice, bob, graphAdapter, live, startGraphEmulator } from './adapter-support.js';

/**
 * The Graph adapter under the backend-neutral sync core (src/sync/executors/), as the in-memory and EWS adapters are:
 * the emulator's mailboxes on one side, PGlite with the base project and the example application on the other. What
 * is made in the mailbox lands as rows; the application's rows go out through the outbox and come back as the same
 * rows; deletions travel both ways; a rolled calendar window is compared only within itself.
 */
const emulator = await startGraphEmulator({ mailboxes: [alice, bob] });
let today = new Date('2026-01-02T08:00:00Z');
const adapter = graphAdapter(emulator, {
  now: () => today,
  sync: { calendarWindow: { daysBack: 10, daysAhead: 30 } },
});
let database: ExampleDatabase;
useExampleDatabase([alice, bob], (made) => {
  database = made;
});
const { logger } = createLogging({ level: 'silent', format: 'json', stdout: { write: () => {} } });
const settings: SyncSettings = {
  htmlBody: false,
  maxBodyLength: 0,
  maxSyncedRecurrences: 0,
  meetingRequestsResponses: false,
  pageSize: 100,
  conflicts: 'exchange-wins',
};
const control: ControlPort = {
  syncUsers: () => {},
  syncItems: async () => ({ added: 0, changed: 0, deleted: 0, failed: 0 }),
  retryFailed: async () => ({ retried: 0, rereading: [] }),
};

async function watermark(user: string, type: ItemTypeName): Promise<string | null> {
  const { rows } = await database.instance.query<{ watermark: string | null }>(
    `SELECT exh_watermark_${type} AS watermark FROM exh_watermark WHERE exh_user = $1`,
    [user],
  );
  return rows[0]?.watermark ?? null;
}

async function sync(connection: MailboxConnection, type: ItemTypeName) {
  return syncItemType(
    { db: database.db, connection, definition: itemType(type), settings, logger },
    { user: connection.user, watermark: await watermark(connection.user, type), signal: live().signal },
  );
}

async function drain(connection: MailboxConnection & MailboxWriter) {
  return drainOutbox(
    {
      db: database.db,
      logger,
      control,
      maxAttachmentBytes: 1024,
      isRegistered: () => true,
      writerOf: (user) => (user.toLowerCase() === connection.user.toLowerCase() ? connection : undefined),
    },
    { limit: 100, signal: live().signal },
  );
}

async function rows(type: ItemTypeName, user: string) {
  return (
    await database.instance.query<Record<string, unknown>>(
      `SELECT * FROM ${type}_item WHERE exh_user = $1 ORDER BY id`,
      [user],
    )
  ).rows;
}

describe('createGraphExchange under the sync core', () => {
  it('connects with the mailbox as its endpoint', async () => {
    const connection = await adapter.connect();
    expect(connection.endpoint).toBe(`${emulator.graphUrl}/users/${alice}`);
    expect(connection.capabilities).toBe(adapter.exchange.capabilities);
  });

  it("the application's contact goes out through the outbox and comes back as the same row; a change and a deletion too", async () => {
    const connection = await adapter.connect(alice);
    await database.instance.query(
      `INSERT INTO contact_item (exh_app_item_id, exh_user, exh_display_name, exh_email_1, exh_business_city)
       VALUES ('c-1', $1, 'Ann Smith', 'ann@work.test', 'Utrecht')`,
      [alice],
    );
    expect(await drain(connection)).toEqual({ done: 1, failed: 0, waiting: 0 });
    await sync(connection, 'contact');
    const [row] = await rows('contact', alice);
    expect(row).toMatchObject({ exh_app_item_id: 'c-1', exh_display_name: 'Ann Smith', exh_business_city: 'Utrecht' });
    expect(row?.exh_item_id).toEqual(expect.any(String));
    expect(await rows('contact', alice)).toHaveLength(1);

    await database.instance.query(`UPDATE contact_item SET exh_email_2 = 'ann@home.test', exh_business_city = NULL`);
    expect(await drain(connection)).toMatchObject({ done: 1, failed: 0 });
    const item = await connection.readItem(row?.exh_item_id as string, live());
    expect(item?.properties).toMatchObject({
      email1: 'ann@work.test',
      email2: 'ann@home.test',
      'businessAddress.city': null,
    });

    // Deleted in the mailbox: the row goes with the next page.
    await connection.deleteItem(row?.exh_item_id as string, live());
    await sync(connection, 'contact');
    expect(await rows('contact', alice)).toEqual([]);
  });

  it("links an attendee's copy of the application's meeting to its application id by Graph's iCalUId", async () => {
    const alices = await adapter.connect(alice);
    await database.instance.query(
      `INSERT INTO calendar_item (exh_app_item_id, exh_user, exh_subject, exh_start, exh_end, exh_required_attendees)
       VALUES ('m-1', $1, 'Kick-off', '2026-01-12T09:00:00Z', '2026-01-12T10:00:00Z', $2)`,
      [alice, bob],
    );
    expect(await drain(alices)).toEqual({ done: 1, failed: 0, waiting: 0 });
    await sync(await adapter.connect(bob), 'calendar');
    expect(await rows('calendar', bob)).toEqual([
      expect.objectContaining({ exh_app_item_id: 'm-1', exh_subject: 'Kick-off', exh_organizer: alice }),
    ]);
  });

  it('what is made in the mailbox lands as rows, e-mail and tasks too', async () => {
    const connection = await adapter.connect(bob);
    await connection.createItem(
      {
        itemClass: 'IPM.Task',
        folder: 'tasks',
        appItemId: 'own-task',
        properties: { subject: 'Call Ann', status: 'InProgress' },
      },
      live(),
    );
    emulator.admin.createItem(alice, {
      kind: 'Message',
      send: true,
      Subject: 'To Bob',
      Body: { BodyType: 'Text', value: 'hello' },
      ToRecipients: [bob],
    });
    await sync(connection, 'task');
    await sync(connection, 'email');
    expect(await rows('task', bob)).toEqual([
      expect.objectContaining({ exh_subject: 'Call Ann', exh_status: 'InProgress', exh_app_item_id: 'own-task' }),
    ]);
    expect(await rows('email', bob)).toEqual([
      expect.objectContaining({
        exh_subject: 'To Bob',
        exh_from: alice,
        exh_direction: 'incoming',
        exh_folder: 'Inbox',
      }),
    ]);
  });

  it('a replayed delta page (Graph serving a round again) changes nothing: no row doubled, nothing failed', async () => {
    const connection = await adapter.connect(bob);
    for (const name of ['Replay One', 'Replay Two']) {
      await connection.createItem(
        { itemClass: 'IPM.Contact', folder: 'contacts', appItemId: name, properties: { displayName: name } },
        live(),
      );
    }
    await sync(connection, 'contact');
    const before = await rows('contact', bob);
    emulator.admin.faults.add({ kind: 'graphDeltaReplay', calls: 1, mailbox: bob });
    const replayed = await sync(connection, 'contact');
    // The round came again (its items applied once more, as upserts), and nothing failed.
    expect(replayed.applied).toBeGreaterThanOrEqual(2);
    expect(replayed.failed).toBe(0);
    expect(await rows('contact', bob)).toEqual(before);
  });

  it('a rolled calendar window compares only within itself: rows outside it stay', async () => {
    const connection = await adapter.connect(alice);
    const make = (subject: string, start: string, end: string) =>
      connection.createItem(
        { itemClass: 'IPM.Appointment', folder: 'calendar', appItemId: subject, properties: { subject, start, end } },
        live(),
      );
    const early = await make('Early', '2025-12-24T09:00:00Z', '2025-12-24T10:00:00Z');
    const inside = await make('Inside', '2026-01-10T09:00:00Z', '2026-01-10T10:00:00Z');
    await sync(connection, 'calendar');
    const ours = async () =>
      (await rows('calendar', alice)).filter((r) => r.exh_subject === 'Early' || r.exh_subject === 'Inside');
    expect((await ours()).map((r) => r.exh_subject).sort()).toEqual(['Early', 'Inside']);

    // Five days on, Early has left the window; Inside is deleted meanwhile without the delta saying so (a new round).
    today = new Date('2026-01-07T08:00:00Z');
    emulator.admin.deleteItem(
      alice,
      emulator.admin.items(alice, 'calendar').find((i) => i.graphId === inside.itemId)?.id ?? '',
      {
        hard: true,
      },
    );
    const result = await sync(connection, 'calendar');
    expect(result.restarted).toBe(true);
    // The mailbox's item-type sync then compares the fresh round with the rows (src/mailbox/item-type-sync.ts).
    const connections = new Connections();
    connections.set(alice, connection);
    await syncMailboxItemType(
      { db: database.db, connections, settings, logger, locks: new SyncLocks(), committed: new CommittedWatermarks() },
      { user: alice, itemType: 'calendar', watermark: await watermark(alice, 'calendar'), signal: live().signal },
    );
    expect((await ours()).map((r) => r.exh_item_id)).toEqual([early.itemId]);
  });
});
