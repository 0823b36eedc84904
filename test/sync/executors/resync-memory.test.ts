import { describe, expect, it } from 'vitest';
import { errors } from '../../../src/errors.js';
import { itemType } from '../../../src/items/index.js';
import type { LeaseCheck } from '../../../src/sync/executors/outbox.js';
import { resyncItemType } from '../../../src/sync/executors/resync.js';
import { alice, type MemoryWorld, useMemoryWorld } from '../../support/memory-world.js';

/**
 * exh_sync_item (src/sync/executors/resync.ts) in both directions on the in-memory Exchange and the example application:
 * the comparison of every item with every row, and what each direction makes of the differences.
 */
let world: MemoryWorld;
useMemoryWorld((made) => {
  world = made;
});

async function resync(direction: 0 | 1, type: 'contact' | 'calendar' = 'contact', lease?: LeaseCheck) {
  return resyncItemType(
    {
      db: world.db,
      connection: await world.connect(alice),
      definition: itemType(type),
      settings: world.settings({ pageSize: 2, maxSyncedRecurrences: 10 }),
      logger: world.logger,
      lease,
    },
    { user: alice, direction, add: true, chg: true, del: true, ranges: {}, signal: world.call.signal },
  );
}

/** A row of the application's, written as the application would (its trigger's outbox row dropped: not tested here). */
async function row(values: { app: string; itemId?: string; name: string; job?: string }) {
  await world.instance.query(
    'INSERT INTO contact_item (exh_app_item_id, exh_item_id, exh_user, exh_display_name, exh_job_title) VALUES ($1, $2, $3, $4, $5)',
    [values.app, values.itemId ?? null, alice, values.name, values.job ?? null],
  );
  await world.instance.query('DELETE FROM exh_outbox');
}

const contact = (displayName: string, more: Record<string, string> = {}) =>
  world.admin.makeItem(alice, { itemClass: 'IPM.Contact', folder: 'contacts', properties: { displayName, ...more } });

describe('direction 0, Exchange → database', () => {
  it('adds the rows missing, corrects the rows that differ, deletes the rows whose item is gone', async () => {
    const ann = contact('Ann', { jobTitle: 'Manager' });
    const ben = contact('Ben');
    await row({ app: 'a-ann', itemId: ann.id, name: 'Ann', job: 'Clerk' });
    await row({ app: 'a-gone', itemId: 'deleted-meanwhile', name: 'Gone' });

    expect(await resync(0)).toEqual({ added: 1, changed: 1, deleted: 1, failed: 0 });
    const rows = await world.rows('contact', alice);
    expect(
      rows.map((r) => [r.exh_item_id, r.exh_app_item_id === 'a-ann', r.exh_display_name, r.exh_job_title]),
    ).toEqual([
      [ann.id, true, 'Ann', 'Manager'],
      [ben.id, false, 'Ben', null],
    ]);
    // Equal now: a second comparison finds nothing to do.
    expect(await resync(0)).toEqual({ added: 0, changed: 0, deleted: 0, failed: 0 });
  });
});

describe('direction 0 and recurring series', () => {
  const at = (day: number) => `2026-04-0${day}T09:00:00.000Z`;
  const standup = () =>
    world.admin.makeItem(alice, {
      itemClass: 'IPM.Appointment',
      folder: 'calendar',
      properties: { subject: 'Standup', start: at(6), end: at(6) },
      occurrences: [6, 7, 8].map((day) => ({ start: at(day), end: at(day) })),
    });
  const ids = async () => (await world.rows('calendar', alice)).map((r) => r.exh_item_id);

  it('adds a row per occurrence, and deletes the row of an occurrence deleted in Exchange', async () => {
    const series = standup();
    expect(await resync(0, 'calendar')).toEqual({ added: 4, changed: 0, deleted: 0, failed: 0 });
    const [, first, ...rest] = await ids();
    world.admin.deleteItem(alice, first as string);
    expect(await resync(0, 'calendar')).toEqual({ added: 0, changed: 0, deleted: 1, failed: 0 });
    expect(await ids()).toEqual([series.id, ...rest]);
  });

  it('leaves occurrence rows alone while a series will not expand: they cannot be judged (SyncPage.incomplete)', async () => {
    const series = standup();
    await resync(0, 'calendar');
    const before = await ids();
    world.admin.deleteItem(alice, before[1] as string);
    world.admin.failOccurrences(alice, series.id, errors.exchangeRequestFailed('memory://', 'refused', 'too many'));
    expect(await resync(0, 'calendar')).toEqual({ added: 0, changed: 0, deleted: 0, failed: 0 });
    expect(await ids()).toEqual(before);
    expect((await world.log()).map((r) => r.exh_code)).toEqual(['EXH_EXCHANGE_REQUEST_FAILED']);
  });
});

describe('direction 1, database → Exchange', () => {
  it('creates the items missing, changes only what differs, deletes only the connector’s items whose row is gone', async () => {
    const ann = contact('Ann', { jobTitle: 'Clerk', appItemId: 'a-ann', department: 'Sales' });
    const same = contact('Same', { appItemId: 'a-same' });
    const orphan = contact('Orphan', { appItemId: 'a-orphan' });
    const persons = contact('Made in Outlook');
    await row({ app: 'a-ann', itemId: ann.id, name: 'Ann', job: 'Manager' });
    await row({ app: 'a-same', itemId: same.id, name: 'Same' });
    await row({ app: 'a-new', name: 'New' });
    const sameKey = world.admin.item(alice, same.id)?.changeKey;

    expect(await resync(1)).toEqual({ added: 1, changed: 1, deleted: 1, failed: 0 });
    const items = world.admin.listFolder(alice, 'contacts');
    expect(
      items.map((item) => [item.properties.appItemId, item.properties.displayName, item.properties.jobTitle]),
    ).toEqual([
      ['a-ann', 'Ann', 'Manager'],
      ['a-same', 'Same', null],
      [null, 'Made in Outlook', null],
      ['a-new', 'New', null],
    ]);
    // Only what differed was written: Ann's department, which the row leaves NULL, is still there.
    expect(world.admin.item(alice, ann.id)?.properties.department).toBe('Sales');
    expect(world.admin.item(alice, same.id)?.changeKey).toBe(sameKey);
    expect(world.admin.item(alice, orphan.id)).toBeNull();
    expect(world.admin.item(alice, persons.id)).not.toBeNull();
  });

  it('in a cluster, writes nothing to Exchange once this instance’s lease of the user ended, and fails saying so', async () => {
    const ann = contact('Ann', { jobTitle: 'Clerk', appItemId: 'a-ann' });
    const orphan = contact('Orphan', { appItemId: 'a-orphan' });
    await row({ app: 'a-ann', itemId: ann.id, name: 'Ann', job: 'Manager' });
    await row({ app: 'a-new', name: 'New' });
    const before = JSON.stringify(world.admin.listFolder(alice, 'contacts'));
    await expect(resync(1, 'contact', { instanceId: 'exh-here', owns: () => false })).rejects.toMatchObject({
      code: 'EXH_CLUSTER_LEASE_LOST',
    });
    expect(JSON.stringify(world.admin.listFolder(alice, 'contacts'))).toBe(before);
    expect(world.admin.item(alice, orphan.id)).not.toBeNull();
    // Held: the same resync goes through.
    expect(await resync(1, 'contact', { instanceId: 'exh-here', owns: () => true })).toEqual({
      added: 1,
      changed: 1,
      deleted: 1,
      failed: 0,
    });
  });

  it('in a cluster, deletes no orphan once this instance’s lease of the user ended', async () => {
    const keep = contact('Keep', { appItemId: 'a-keep' });
    const orphan = contact('Orphan', { appItemId: 'a-orphan' });
    await row({ app: 'a-keep', itemId: keep.id, name: 'Keep' });
    await expect(resync(1, 'contact', { instanceId: 'exh-here', owns: () => false })).rejects.toMatchObject({
      code: 'EXH_CLUSTER_LEASE_LOST',
    });
    expect(world.admin.item(alice, orphan.id)).not.toBeNull();
  });

  it('deletes nothing when the application returns no rows at all: an empty template is not an empty mailbox', async () => {
    contact('Stamped', { appItemId: 'a-1' });
    await expect(resync(1)).rejects.toMatchObject({ code: 'EXH_RESYNC_REFUSED' });
    expect(world.admin.listFolder(alice, 'contacts')).toHaveLength(1);
  });
});
