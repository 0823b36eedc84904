import { PGlite } from '@electric-sql/pglite';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ItemSummary } from '../../emulator/admin/api.js';
import { defaultGraphApp, graphLoginPrefix } from '../../emulator/graph/token.js';
import { type RunningEmulator, startEmulator } from '../../emulator/index.js';
import { configSchema } from '../../src/config/schema.js';
import { createPgliteDatabase } from '../../src/db/adapters/pglite.js';
import type { PostgresFamilyDatabase } from '../../src/db/adapters/postgres-family.js';
import { postgresBaseProject } from '../../src/db/sql/postgres.js';
import { postgresExampleApp } from '../../src/db/sql/postgres-example.js';
import { appItemIdProperty } from '../../src/exchange/ews/index.js';
import { type RoutedExchange, routeConfigured } from '../../src/exchange/route-configured.js';
import { itemTypes } from '../../src/items/index.js';
import { createLogging } from '../../src/logging/logger.js';
import { Connections } from '../../src/mailbox/connections.js';
import { syncMailboxItemType } from '../../src/mailbox/item-type-sync.js';
import { planRenames } from '../../src/mailbox/switch-backend.js';
import { CommittedWatermarks, SyncLocks } from '../../src/mailbox/sync-locks.js';
import { ExchangePool } from '../../src/pool/exchange-pool.js';
import type { ItemTypeName } from '../../src/ports/database.port.js';
import type { MailboxConnection, MailboxWriter } from '../../src/ports/exchange.port.js';

const alice = 'alice@contoso.test';
const tables: Record<ItemTypeName, string> = {
  calendar: 'calendar_item',
  contact: 'contact_item',
  email: 'email_item',
  task: 'task_item',
};

/**
 * A user synchronised through EWS and switched to Microsoft Graph and back, through every real part: the project's
 * emulator serving both over one mailbox store (so an item has an EWS id and a Graph immutable id), the real EWS and
 * Graph adapters behind the configured routing, Graph's translateExchangeIds, the sync core's item-type sync, and
 * PGlite with the base project and the example application.
 */
describe('switching a user between EWS and Graph keeps its rows', () => {
  let emulator: RunningEmulator;
  let instance: PGlite;
  let db: PostgresFamilyDatabase;
  let routed: RoutedExchange;
  let pool: ExchangePool;
  const records: Array<Record<string, unknown>> = [];
  const connections = new Connections();
  const items: Record<string, ItemSummary> = {};

  beforeAll(async () => {
    emulator = await startEmulator({ port: 0, graph: true, mailboxes: [alice, 'bob@contoso.test'] });
    instance = await PGlite.create();
    await instance.exec(postgresBaseProject(itemTypes));
    await instance.exec(postgresExampleApp(itemTypes));
    await instance.query('INSERT INTO app_user (exh_user) VALUES ($1)', [alice]);
    db = createPgliteDatabase({ instance });
    await db.connect();
    const origin = new URL(emulator.graphUrl).origin;
    const config = configSchema.parse({
      database: { type: 'pglite' },
      exchange: {
        backend: 'ews',
        staticEwsUrl: emulator.url,
        impersonationUser: emulator.serviceAccount,
        impersonationPassword: emulator.password,
        timeoutMs: 5_000,
        graph: {
          baseUrl: emulator.graphUrl,
          authority: `${origin}${graphLoginPrefix}`,
          tenant: defaultGraphApp.tenant,
          clientId: defaultGraphApp.clientId,
          clientSecret: defaultGraphApp.clientSecret,
        },
      },
    });
    const { logger } = createLogging({
      format: 'json',
      stdout: { write: (line: string) => void records.push(JSON.parse(line)) },
    });
    pool = new ExchangePool(config.exchange.concurrency);
    routed = routeConfigured(config, logger, pool);
    const deps = { logger, settings: { ...config.sync, pageSize: 512 } };
    sync = async (itemType, user = alice) => {
      const registration = (await db.getUsers()).find((found) => found.user === user);
      await syncMailboxItemType(
        { ...deps, db, connections, locks: new SyncLocks(), committed: new CommittedWatermarks() },
        {
          user,
          itemType,
          watermark: registration?.watermarks[itemType] ?? null,
          signal: new AbortController().signal,
        },
      );
    };

    // A person's items (no stamp), one the application made (stamped), a meeting and mail both ways.
    const stamp = (value: string) => [
      { PropertySetId: appItemIdProperty.propertySetId, PropertyName: appItemIdProperty.name, Value: value },
    ];
    const made = (key: string, item: ItemSummary | undefined) => {
      if (!item) throw new Error(`the emulator made no ${key}`);
      items[key] = item;
    };
    made('contact', emulator.admin.createItem(alice, { kind: 'Contact', GivenName: 'Dana', Surname: 'Scully' }));
    made(
      'stampedContact',
      emulator.admin.createItem(alice, {
        kind: 'Contact',
        GivenName: 'Fox',
        Surname: 'Mulder',
        ExtendedProperties: stamp('app-contact-1'),
      }),
    );
    made('goneContact', emulator.admin.createItem(alice, { kind: 'Contact', GivenName: 'Walter', Surname: 'Skinner' }));
    made(
      'appointment',
      emulator.admin.createItem(alice, {
        kind: 'CalendarItem',
        Subject: 'Sprint review',
        Start: '2026-12-01T09:00:00Z',
        End: '2026-12-01T10:00:00Z',
      }),
    );
    made(
      'task',
      emulator.admin.createItem(alice, {
        kind: 'Task',
        Subject: 'File report',
        ExtendedProperties: stamp('app-task-1'),
      }),
    );
    made(
      'mail',
      emulator.admin.createItem('bob@contoso.test', {
        kind: 'Message',
        send: true,
        Subject: 'Hello',
        ToRecipients: [alice],
      }),
    );
  });
  afterAll(async () => {
    routed?.close();
    await pool?.close();
    await db?.close();
    await instance?.close();
    await emulator?.close();
  });

  let sync: (itemType: ItemTypeName, user?: string) => Promise<void>;
  const syncAll = async () => {
    for (const itemType of Object.keys(tables)) await sync(itemType);
  };
  const connect = async (
    backend: 'ews' | 'graph',
    wrap = (c: MailboxConnection & MailboxWriter) => c,
    user = alice,
  ) => {
    const connection = wrap(
      await routed.port.connect(user, { signal: new AbortController().signal, priority: 'catchUp', backend }),
    );
    connections.set(user, connection);
    return connection;
  };
  /** Every row of alice: table, the application's own key, the item id and the subject or name. */
  const rows = async () => {
    const all: Array<{ table: string; key: number; itemId: string; label: string }> = [];
    for (const table of Object.values(tables)) {
      const result = await instance.query<{ id: number; exh_item_id: string; label: string }>(
        `SELECT id, exh_item_id, coalesce(to_jsonb(t) ->> 'exh_subject', to_jsonb(t) ->> 'exh_surname') AS label
         FROM ${table} AS t WHERE exh_user = $1 ORDER BY id`,
        [alice],
      );
      for (const row of result.rows) all.push({ table, key: row.id, itemId: row.exh_item_id, label: row.label });
    }
    return all;
  };
  const outboxRows = async () =>
    (await instance.query<{ n: number }>('SELECT count(*)::int AS n FROM exh_outbox')).rows[0]?.n;
  const idsOf = (list: Awaited<ReturnType<typeof rows>>) => list.map((row) => row.itemId);

  it('EWS → Graph: the same rows take the Graph ids (translated, or by application id), nothing doubled, only the gone one deleted', async () => {
    await connect('ews');
    await syncAll();
    const before = await rows();
    expect(before.map((row) => row.label).sort()).toEqual(
      ['File report', 'Hello', 'Mulder', 'Scully', 'Skinner', 'Sprint review'].sort(),
    );
    const ewsIds = Object.fromEntries(Object.entries(items).map(([key, item]) => [key, item.id]));
    expect(idsOf(before)).toEqual(expect.arrayContaining(Object.values(ewsIds).filter((id) => id !== ewsIds.mail)));
    const queued = await outboxRows();

    // While it moves: one contact deleted in Exchange; and Graph fails to translate the stamped contact's id, so it is
    // found by the application id both backends read.
    emulator.admin.deleteItem(alice, items.goneContact?.id as string);
    await connect('graph', (connection) => ({
      ...connection,
      adoptItemIds: async (ids, options) => {
        const translated = (await connection.adoptItemIds?.(ids, options)) ?? new Map<string, string>();
        translated.delete(items.stampedContact?.id as string);
        return translated;
      },
    }));
    await syncAll();
    const after = await rows();
    const kept = before.filter((row) => row.label !== 'Skinner');
    // The same rows by the application's own key, no second row for any item, each with its item's Graph id.
    expect(after.map(({ table, key, label }) => ({ table, key, label }))).toEqual(
      kept.map(({ table, key, label }) => ({ table, key, label })),
    );
    const graphIds = Object.fromEntries(Object.entries(items).map(([key, item]) => [key, item.graphId]));
    for (const key of ['contact', 'stampedContact', 'appointment', 'task']) {
      expect(idsOf(after)).toContain(graphIds[key]);
      expect(idsOf(after)).not.toContain(ewsIds[key]);
    }
    expect(await outboxRows()).toBe(queued);
    expect(records.filter((r) => String(r.msg).includes('moved to another Exchange backend'))).toHaveLength(4);

    // Graph carries on from here: a change in Exchange changes the same row.
    emulator.admin.updateItem(alice, items.task?.id as string, { Subject: 'File the report' });
    await sync('task');
    expect((await rows()).filter((row) => row.table === 'task_item')).toEqual([
      expect.objectContaining({ key: kept.find((row) => row.table === 'task_item')?.key, label: 'File the report' }),
    ]);
  });

  it('Graph → EWS: back to the EWS ids, the same rows again', async () => {
    const before = await rows();
    await connect('ews');
    await syncAll();
    const after = await rows();
    expect(after.map(({ table, key, label }) => ({ table, key, label }))).toEqual(
      before.map(({ table, key, label }) => ({ table, key, label })),
    );
    for (const key of ['contact', 'stampedContact', 'appointment', 'task']) {
      expect(idsOf(after)).toContain(items[key]?.id);
    }
    // A second sync on EWS has nothing to move: the watermark is EWS's now.
    const moved = records.filter((r) => String(r.msg).includes('moved to another Exchange backend')).length;
    await syncAll();
    expect(records.filter((r) => String(r.msg).includes('moved to another Exchange backend'))).toHaveLength(moved);
    expect(await rows()).toEqual(after);
  });

  it("finds an attendee's copy of the application's meeting by its UID when the translation misses it", async () => {
    const bob = 'bob@contoso.test';
    await instance.query('INSERT INTO app_user (exh_user) VALUES ($1)', [bob]);
    const meeting = emulator.admin.createItem(alice, {
      kind: 'CalendarItem',
      Subject: 'Budget 2027',
      Start: '2026-12-10T14:00:00Z',
      End: '2026-12-10T15:00:00Z',
      RequiredAttendees: [bob],
      ExtendedProperties: [
        { PropertySetId: appItemIdProperty.propertySetId, PropertyName: appItemIdProperty.name, Value: 'budget-2027' },
      ],
    });
    expect(meeting).toBeDefined();
    // The organizer's copy carries the stamp and links the UID to it (exh_meeting); the attendee's gets it by UID.
    await connect('ews');
    await sync('calendar');
    await connect('ews', undefined, bob);
    await sync('calendar', bob);
    const copy = async () =>
      (
        await instance.query<{ id: number; exh_item_id: string; exh_app_item_id: string }>(
          'SELECT id, exh_item_id, exh_app_item_id FROM calendar_item WHERE exh_user = $1',
          [bob],
        )
      ).rows;
    const before = await copy();
    expect(before).toEqual([expect.objectContaining({ exh_app_item_id: 'budget-2027' })]);
    const ewsCopy = emulator.admin.items(bob, 'calendar').find((item) => item.id === before[0]?.exh_item_id);
    expect(ewsCopy).toBeDefined();
    // Graph translates nothing for bob: the copy is found by its UID, through the application id exh_meeting keeps.
    await connect(
      'graph',
      (connection) => ({ ...connection, adoptItemIds: async () => new Map<string, string>() }),
      bob,
    );
    await sync('calendar', bob);
    expect(await copy()).toEqual([
      { id: before[0]?.id, exh_item_id: ewsCopy?.graphId, exh_app_item_id: 'budget-2027' },
    ]);
  });
});

describe('planRenames', () => {
  it('moves each row to its translated id, else to the id of the item with its application id, one row per item', () => {
    const rows = [
      { item_id: 'e1', app_item_id: 'a1' },
      { item_id: 'e2', app_item_id: 'a2' },
      { item_id: 'e3', app_item_id: null },
      { item_id: 'e4', app_item_id: 'a4' },
      { item_id: 'e5', app_item_id: 'a5' },
      { item_id: 'g6', app_item_id: 'a6' },
    ];
    const translated = new Map([
      ['e1', 'g1'],
      ['e5', 'g1'],
      ['g6', 'g6'],
    ]);
    const byAppId = new Map([
      ['a1', 'other'],
      ['a2', 'g2'],
    ]);
    expect(planRenames(rows, translated, byAppId)).toEqual({
      // e1 translated (its application id is not asked); e2 by application id; e3 and e4 matched neither way; e5's
      // item is e1's, which e1 took; g6 already has its id.
      renames: [
        { from: 'e1', to: 'g1' },
        { from: 'e2', to: 'g2' },
      ],
      byAppId: 1,
    });
  });
});
