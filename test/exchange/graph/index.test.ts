import { describe, expect, it } from 'vitest';
import { alice, graphAdapter, live, startGraphEmulator, syncAll } from './adapter-support.js';

const emulator = await startGraphEmulator({ mailboxes: [alice, 'bob@contoso.test'] });
const adapter = graphAdapter(emulator);

describe('createGraphExchange', () => {
  it('connects to a mailbox and round-trips a contact', async () => {
    const connection = await adapter.connect();
    expect(connection.endpoint).toBe(`${emulator.graphUrl}/users/${alice}`);
    const created = await connection.createItem(
      {
        itemClass: 'IPM.Contact',
        folder: 'contacts',
        appItemId: 'C-1',
        properties: { givenName: 'Jan', surname: 'Dijk', displayName: 'Jan Dijk', email1: 'jan@work.test' },
      },
      live(),
    );
    const { changes } = await syncAll(connection, 'contacts');
    const item = changes.find((c) => 'item' in c && c.item.id === created.itemId);
    expect(item).toMatchObject({ type: 'create', item: { properties: { appItemId: 'C-1', email1: 'jan@work.test' } } });
  });
});
