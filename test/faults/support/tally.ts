import type pg from 'pg';
import type { RunningEmulator } from '../../../src/emulator/index.js';

/** The example application's table of each item type, the folders the connector reads for it and their item kind. */
export const itemTables = ['task_item', 'contact_item', 'calendar_item', 'email_item'] as const;
export type ItemTable = (typeof itemTables)[number];

const exchangeSide: Record<ItemTable, { folders: readonly string[]; kind: string }> = {
  task_item: { folders: ['tasks'], kind: 'Task' },
  contact_item: { folders: ['contacts'], kind: 'Contact' },
  calendar_item: { folders: ['calendar'], kind: 'CalendarItem' },
  email_item: { folders: ['inbox', 'sentitems'], kind: 'Message' },
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
  /** A few of the missing items, `user table id`, for the failure message. */
  missing: string[];
}

export const isComplete = (t: Tally) => t.arrived === t.expected && t.duplicates === 0 && t.stale === 0;

export const describeTally = (t: Tally) =>
  `${t.arrived}/${t.expected} items, ${t.duplicates} duplicates, ${t.stale} stale rows`;

/** Each user's rows against each user's items in Exchange (the emulator's admin API, as a person would see them). */
export async function tally(
  admin: pg.Client,
  schema: string,
  emulator: RunningEmulator,
  users: readonly string[],
  tables: readonly ItemTable[],
): Promise<Tally> {
  const result: Tally = { expected: 0, arrived: 0, duplicates: 0, stale: 0, missing: [] };
  for (const table of tables) {
    const { rows } = await admin.query<{ exh_user: string; exh_item_id: string }>(
      `select exh_user, exh_item_id from ${schema}.${table} where exh_user = any($1::text[])`,
      [users],
    );
    for (const user of users) {
      const counts = new Map<string, number>();
      for (const row of rows) {
        if (row.exh_user !== user) continue;
        counts.set(row.exh_item_id, (counts.get(row.exh_item_id) ?? 0) + 1);
      }
      const side = exchangeSide[table];
      const items = side.folders
        .flatMap((folder) => emulator.admin.items(user, folder))
        .filter((item) => item.kind === side.kind);
      const ids = new Set(items.map((item) => item.id));
      result.expected += ids.size;
      for (const id of ids) {
        const n = counts.get(id) ?? 0;
        if (n > 0) result.arrived += 1;
        else if (result.missing.length < 5) result.missing.push(`${user} ${table} ${id}`);
        result.duplicates += Math.max(0, n - 1);
      }
      for (const [id, n] of counts) if (!ids.has(id)) result.stale += n;
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
