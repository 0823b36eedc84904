import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { registerItemType, unregisterItemType } from '../../src/items/index.js';
import { sendRequest } from '../../src/protocol/client.js';
import { alice, bob, carol, connectorWorld } from '../support/connector.js';
import { note } from './note.item.js';

const pgUrl = process.env.PG_URL;

/**
 * The item-type registry's promise (docs/extending.md): a fifth type, Outlook notes, from one definition module
 * (./note.item.ts) registered before the connector starts, with no other file of the connector changed, synchronises
 * both ways through every real part: the emulator's Notes folder over EWS, the EWS adapter, the actor tree, the
 * PostgreSQL server with the base project and the example application generated for it.
 */
describe.skipIf(!pgUrl)('a fifth item type from one definition module: Outlook notes, both ways', () => {
  let world: Awaited<ReturnType<typeof connectorWorld>>;

  beforeAll(async () => {
    registerItemType(note);
    // The base project and the example application are generated with the type registered: note_item and its
    // procedures exist, app_user has sync_note.
    world = await connectorWorld(pgUrl as string, 'note');
    await world.startConnector();
    await world.live([alice, bob, carol]);
  });
  afterAll(async () => {
    await world?.close();
    unregisterItemType('note');
  });

  const rows = () => world.rows('note_item', alice);
  const eventually = (check: () => Promise<void>) => world.eventually(check);

  it('a note made, changed and deleted in Outlook is followed in note_item', async () => {
    const made = world.emulator.admin.createItem(alice, {
      kind: 'Message',
      folder: 'notes',
      ItemClass: 'IPM.StickyNote',
      Subject: 'Call the printer',
      Body: 'Toner for the 3rd floor',
    });
    const id = made?.id as string;
    expect(made?.folder).toBe('notes');
    await eventually(async () => {
      expect(await rows()).toEqual([
        expect.objectContaining({
          exh_item_id: id,
          exh_subject: 'Call the printer',
          // Read as HTML (sync.htmlBody's default), the text inside.
          exh_body: expect.stringContaining('Toner for the 3rd floor'),
          exh_body_type: 'HTML',
        }),
      ]);
    });
    world.emulator.admin.updateItem(alice, id, { Subject: 'Call the printer (done)', Categories: ['Office'] });
    await eventually(async () => {
      expect(await rows()).toEqual([
        expect.objectContaining({ exh_item_id: id, exh_subject: 'Call the printer (done)', exh_categories: 'Office' }),
      ]);
    });
    world.emulator.admin.deleteItem(alice, id);
    await eventually(async () => expect(await rows()).toEqual([]));
  });

  it('a row the application inserts, updates and deletes becomes a sticky note in Notes and follows', async () => {
    const appItemId = `note-${randomBytes(3).toString('hex')}`;
    await world.admin.query(
      `insert into ${world.schema}.note_item (exh_app_item_id, exh_user, exh_subject, exh_body)
       values ($1, $2, 'Buy milk', 'Two litres')`,
      [appItemId, alice],
    );
    let itemId = '';
    await eventually(async () => {
      const [row] = (await rows()).filter((r) => r.exh_app_item_id === appItemId);
      expect(row?.exh_item_id).toEqual(expect.any(String));
      itemId = row?.exh_item_id as string;
    });
    const inExchange = world.emulator.admin.item(alice, itemId);
    expect(inExchange.folder).toBe('notes');
    expect(inExchange.properties).toEqual(
      expect.objectContaining({
        ItemClass: 'IPM.StickyNote',
        Subject: 'Buy milk',
        Body: { BodyType: 'Text', value: 'Two litres' },
      }),
    );
    // The echo of the connector's own write updates the row it came from: never a second row.
    expect((await rows()).filter((r) => r.exh_app_item_id === appItemId)).toHaveLength(1);

    await world.admin.query(
      `update ${world.schema}.note_item set exh_subject = 'Buy oat milk' where exh_app_item_id = $1`,
      [appItemId],
    );
    await eventually(async () => {
      expect(world.emulator.admin.item(alice, itemId).properties.Subject).toBe('Buy oat milk');
    });

    await world.admin.query(`delete from ${world.schema}.note_item where exh_app_item_id = $1`, [appItemId]);
    await eventually(async () => {
      expect(() => world.emulator.admin.item(alice, itemId)).toThrow();
    });
  });

  it('is taken by the database listener like a built-in type: a note added by a sender, a field it lacks refused', async () => {
    const { target, token } = await world.setUp();
    const addNote = (fields: Record<string, string>) =>
      sendRequest(
        target,
        { token, type: 'item', action: 'add', itemType: 'note', user: bob, fields },
        { timeoutMs: 10_000 },
      );
    const added = await addNote({ app_item_id: `note-${randomBytes(3).toString('hex')}`, subject: 'From a sender' });
    expect(added.exitCode).toBe(0);
    expect(world.emulator.admin.item(bob, added.outputValue as string)).toEqual(
      expect.objectContaining({
        folder: 'notes',
        properties: expect.objectContaining({ ItemClass: 'IPM.StickyNote' }),
      }),
    );
    const refused = await addNote({ app_item_id: 'x', location: 'Room 1' });
    expect(refused.exitCode).toBe(1);
    expect(refused.errorMessage).toMatch(/location/);
  });
});
