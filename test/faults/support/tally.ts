import type pg from 'pg';
import type { RunningEmulator } from '../../../emulator/index.js';

/** The example application's table of each item type, the folders the connector reads for it and their item kind. */
export const itemTables = ['task_item', 'contact_item', 'calendar_item', 'email_item'] as const;
export type ItemTable = (typeof itemTables)[number];

/** Where each table's items are in Exchange, and the property whose value a row must hold (`label`, its column). */
export const exchangeSide: Record<
  ItemTable,
  { folders: readonly string[]; kind: string; label: string; column: string }
> = {
  task_item: { folders: ['tasks'], kind: 'Task', label: 'Subject', column: 'exh_subject' },
  contact_item: { folders: ['contacts'], kind: 'Contact', label: 'Surname', column: 'exh_surname' },
  calendar_item: { folders: ['calendar'], kind: 'CalendarItem', label: 'Subject', column: 'exh_subject' },
  email_item: { folders: ['inbox', 'sentitems'], kind: 'Message', label: 'Subject', column: 'exh_subject' },
};

/** Exchange → database, counted over every user and table: what a fault case asserts and prints. */
export interface Tally {
  /** Items in Exchange. */
  expected: number;
  /** Items with at least one row. */
  arrived: number;
  /** Rows beyond the first for the same item. */
  duplicates: number;
  /** Rows whose item is not (or no longer) in Exchange. */
  stale: number;
  /** Rows whose subject (a contact's surname) is not the item's in Exchange: a change that did not arrive. */
  outdated: number;
  /** A few of the missing items, `user table id`, for the failure message. */
  missing: string[];
}

export const isComplete = (t: Tally) =>
  t.arrived === t.expected && t.duplicates === 0 && t.stale === 0 && t.outdated === 0;

export const describeTally = (t: Tally) =>
  `${t.arrived}/${t.expected} items, ${t.duplicates} duplicates, ${t.stale} stale rows, ${t.outdated} outdated`;

/** Each user's rows against each user's items in Exchange (the emulator's admin API, as a person would see them). */
export async function tally(
  admin: pg.Client,
  schema: string,
  emulator: RunningEmulator,
  users: readonly string[],
  tables: readonly ItemTable[],
): Promise<Tally> {
  const result: Tally = { expected: 0, arrived: 0, duplicates: 0, stale: 0, outdated: 0, missing: [] };
  for (const table of tables) {
    const side = exchangeSide[table];
    const { rows } = await admin.query<{ exh_user: string; exh_item_id: string; label: string | null }>(
      `select exh_user, exh_item_id, ${side.column} as label from ${schema}.${table} where exh_user = any($1::text[])`,
      [users],
    );
    for (const user of users) {
      const labels = new Map<string, Array<string | null>>();
      for (const row of rows) {
        if (row.exh_user !== user) continue;
        labels.set(row.exh_item_id, [...(labels.get(row.exh_item_id) ?? []), row.label]);
      }
      const items = side.folders
        .flatMap((folder) => emulator.admin.items(user, folder))
        .filter((item) => item.kind === side.kind);
      const byId = new Map(items.map((item) => [item.id, item.properties[side.label] ?? null]));
      result.expected += byId.size;
      for (const [id, label] of byId) {
        const found = labels.get(id) ?? [];
        if (found.length > 0) result.arrived += 1;
        else if (result.missing.length < 5) result.missing.push(`${user} ${table} ${id}`);
        result.duplicates += Math.max(0, found.length - 1);
        result.outdated += found.filter((value) => value !== label).length;
      }
      for (const [id, found] of labels) if (!byId.has(id)) result.stale += found.length;
    }
  }
  return result;
}

/** The item `index` of a batch `tag`: tasks, contacts, appointments and received e-mail by turns. */
export function itemInput(tag: string, index: number) {
  const subject = `${tag} ${index}`;
  switch (index % 4) {
    case 0:
      return { kind: 'Task' as const, Subject: subject, PercentComplete: index % 100 };
    case 1:
      return { kind: 'Contact' as const, GivenName: tag, Surname: String(index) };
    case 2: {
      const start = new Date(Date.UTC(2027, 0, 1, 8) + index * 3_600_000);
      return {
        kind: 'CalendarItem' as const,
        Subject: subject,
        Start: start.toISOString(),
        End: new Date(start.getTime() + 1_800_000).toISOString(),
      };
    }
    default:
      return { kind: 'Message' as const, folder: 'inbox', Subject: subject, Body: `Body of ${subject}` };
  }
}

/** Makes `count` items in each user's mailbox as their owner would; returns how many were made. */
export function makeItems(emulator: RunningEmulator, users: readonly string[], count: number, tag: string): number {
  for (const user of users) for (let i = 0; i < count; i++) emulator.admin.createItem(user, itemInput(tag, i));
  return users.length * count;
}

/**
 * As the mailboxes' owners would: changes the label (subject, a contact's surname) of `update` items and deletes
 * `remove` others in each mailbox, chosen by `random` among the items of every table. Returns how many changed.
 */
export function changeItems(
  emulator: RunningEmulator,
  users: readonly string[],
  counts: { update: number; remove: number },
  tag: string,
  random: () => number,
): number {
  let changed = 0;
  for (const user of users) {
    const items = itemTables.flatMap((table) => {
      const side = exchangeSide[table];
      return side.folders
        .flatMap((folder) => emulator.admin.items(user, folder))
        .filter((item) => item.kind === side.kind)
        .map((item) => ({ id: item.id, label: side.label }));
    });
    const pick = () => items.splice(Math.floor(random() * items.length), 1)[0];
    for (let i = 0; i < counts.update && items.length > 0; i++) {
      const item = pick();
      if (!item) break;
      emulator.admin.updateItem(user, item.id, { [item.label]: `${tag} ${i}` });
      changed += 1;
    }
    for (let i = 0; i < counts.remove && items.length > 0; i++) {
      const item = pick();
      if (!item) break;
      emulator.admin.deleteItem(user, item.id);
      changed += 1;
    }
  }
  return changed;
}
