import { describe, expect, it } from 'vitest';
import type { SyncChange } from '../../../src/ports/exchange.port.js';
import { alice, emulatorTokens, graphAdapter, startGraphEmulator, syncAll } from './adapter-support.js';

const emulator = await startGraphEmulator({ mailboxes: [alice] });
const adapter = graphAdapter(emulator);
const tokens = emulatorTokens(emulator);

/** A move as Outlook makes it: POST messages/{id}/move, with immutable ids (docs/emulator.md). */
async function move(id: string, destinationId: string): Promise<string> {
  const token = await tokens.getToken({ signal: AbortSignal.timeout(10_000) });
  const response = await fetch(`${emulator.graphUrl}/users/${alice}/messages/${encodeURIComponent(id)}/move`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, prefer: 'IdType="ImmutableId"', 'content-type': 'application/json' },
    body: JSON.stringify({ destinationId }),
  });
  expect(response.status).toBe(201);
  return ((await response.json()) as { id: string }).id;
}

const deleted = (changes: SyncChange[]) => changes.filter((c) => c.type === 'delete').map((c) => c.itemId);
const reported = (changes: SyncChange[]) =>
  changes.flatMap((c) => (c.type === 'create' || c.type === 'update' ? [c.item.id] : []));

describe('syncFolder through Graph: a message moved between the e-mail folders is not deleted', () => {
  it('Inbox → Sent Items: the Inbox removal is no deletion, whichever folder is read first; Sent Items reports it', async () => {
    const connection = await adapter.connect(alice);
    const id = emulator.admin.createItem(alice, { kind: 'Message', folder: 'inbox', Subject: 'Figures' })
      ?.graphId as string;
    let inbox = await syncAll(connection, 'inbox');
    let sent = await syncAll(connection, 'sentitems');
    expect(reported(inbox.changes)).toContain(id);

    expect(await move(id, 'sentitems')).toBe(id);
    // Sent Items first: the item is reported there, then the Inbox's @removed must not take it.
    sent = await syncAll(connection, 'sentitems', sent.continuation);
    expect(reported(sent.changes)).toEqual([id]);
    inbox = await syncAll(connection, 'inbox', inbox.continuation);
    expect(deleted(inbox.changes)).toEqual([]);

    // Back to the Inbox, the other way round: Inbox reads it, Sent Items' removal is no deletion either.
    expect(await move(id, 'inbox')).toBe(id);
    inbox = await syncAll(connection, 'inbox', inbox.continuation);
    expect(reported(inbox.changes)).toEqual([id]);
    sent = await syncAll(connection, 'sentitems', sent.continuation);
    expect(deleted(sent.changes)).toEqual([]);
    expect(reported(sent.changes)).toEqual([]);
  });

  it('moved to a folder of no type (Junk Email) or deleted (Deleted Items, or for good), the removal is a deletion', async () => {
    const connection = await adapter.connect(alice);
    const junk = emulator.admin.createItem(alice, { kind: 'Message', folder: 'inbox', Subject: 'Offer' })
      ?.graphId as string;
    const binned = emulator.admin.createItem(alice, { kind: 'Message', folder: 'inbox', Subject: 'Old' })
      ?.graphId as string;
    const purged = emulator.admin.createItem(alice, { kind: 'Message', folder: 'inbox', Subject: 'Spam' })
      ?.graphId as string;
    let inbox = await syncAll(connection, 'inbox');
    expect(reported(inbox.changes)).toEqual(expect.arrayContaining([junk, binned, purged]));

    await move(junk, 'junkemail');
    emulator.admin.deleteItem(alice, binned);
    emulator.admin.deleteItem(alice, purged, { hard: true });
    inbox = await syncAll(connection, 'inbox', inbox.continuation);
    expect(deleted(inbox.changes).sort()).toEqual([junk, binned, purged].sort());
  });
});
