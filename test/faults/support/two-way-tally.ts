import type pg from 'pg';
import type { RunningEmulator } from '../../../emulator/index.js';
import { appItemIdProperty } from '../../../src/exchange/ews/index.js';
import { exchangeSide, itemTables } from './tally.js';

/**
 * Both ways at once, over every user and table: the items in Exchange (people's and the application's) against the
 * rows of the example application's tables, joined by item id, and the application's rows against the items carrying
 * their application id. What the cluster case asserts and prints.
 */
export interface TwoWayTally {
  /** Items in Exchange (of the tables' kinds and folders). */
  items: number;
  /** Rows of the application's tables. */
  rows: number;
  /** Items with no row, and application rows with no item carrying their id: changes that never arrived. */
  lost: number;
  /** Rows beyond the first for one item, and items beyond the first carrying one application id. */
  duplicates: number;
  /** Rows whose item is gone, and items carrying the id of a row that is gone: deletions that never arrived. */
  stale: number;
  /** A row and its item with different labels (subject, a contact's surname): the last value did not win. */
  outdated: number;
  examples: string[];
}

export const twoWayAgree = (t: TwoWayTally) => t.lost + t.duplicates + t.stale + t.outdated === 0;

export const describeTwoWay = (t: TwoWayTally) =>
  `${t.items} items in Exchange, ${t.rows} rows: ${t.lost} lost, ${t.duplicates} duplicates, ${t.stale} stale, ` +
  `${t.outdated} outdated`;

/** The application id an item carries, if the application made it. */
export const appIdOf = (item: { extendedProperties: { uri: Record<string, string>; value: unknown }[] }) => {
  const value = item.extendedProperties.find((p) => p.uri.PropertyName === appItemIdProperty.name)?.value;
  return typeof value === 'string' ? value : undefined;
};

export async function twoWayTally(
  admin: pg.Client,
  schema: string,
  emulator: RunningEmulator,
  users: readonly string[],
): Promise<TwoWayTally> {
  const t: TwoWayTally = { items: 0, rows: 0, lost: 0, duplicates: 0, stale: 0, outdated: 0, examples: [] };
  const note = (text: string) => {
    if (t.examples.length < 6) t.examples.push(text);
  };
  for (const table of itemTables) {
    const side = exchangeSide[table];
    const { rows } = await admin.query<{ exh_user: string; item: string | null; app: string | null; label: unknown }>(
      `SELECT exh_user, exh_item_id AS item, exh_app_item_id AS app, ${side.column} AS label
       FROM ${schema}.${table} WHERE exh_user = ANY($1::text[])`,
      [users],
    );
    for (const user of users) {
      const mine = rows.filter((r) => r.exh_user === user);
      t.rows += mine.length;
      const items = side.folders
        .flatMap((folder) => emulator.admin.items(user, folder))
        .filter((item) => item.kind === side.kind);
      t.items += items.length;
      const rowsByItem = new Map<string, typeof mine>();
      for (const row of mine) if (row.item) rowsByItem.set(row.item, [...(rowsByItem.get(row.item) ?? []), row]);
      const itemsByApp = new Map<string, typeof items>();
      for (const item of items) {
        const app = appIdOf(item);
        if (app) itemsByApp.set(app, [...(itemsByApp.get(app) ?? []), item]);
        const found = rowsByItem.get(item.id) ?? [];
        const label = item.properties[side.label] ?? null;
        // An item the application made is counted from its row's side (below).
        if (found.length === 0 && !app) {
          t.lost += 1;
          note(`${user} ${table}: item ${item.id} (${label}) has no row`);
        }
        t.duplicates += Math.max(0, found.length - 1);
        if (found.length > 1) note(`${user} ${table}: ${found.length} rows of item ${item.id}`);
        for (const row of found) {
          if (row.label === label) continue;
          t.outdated += 1;
          note(`${user} ${table}: item ${item.id} is "${label}" in Exchange, "${row.label}" in its row`);
        }
      }
      const ids = new Set(items.map((item) => item.id));
      for (const row of mine) {
        if (row.item && ids.has(row.item)) continue;
        if (row.app && itemsByApp.has(row.app)) {
          t.lost += 1;
          note(`${user} ${table}: row ${row.app} not linked to its item (the echo never arrived)`);
        } else if (row.app && !row.item) {
          t.lost += 1;
          note(`${user} ${table}: row ${row.app} (${row.label}) never reached Exchange`);
        } else {
          t.stale += 1;
          note(`${user} ${table}: row ${row.app ?? ''} of item ${row.item}, which Exchange no longer has`);
        }
      }
      const apps = new Set(mine.map((row) => row.app));
      for (const [app, carried] of itemsByApp) {
        t.duplicates += carried.length - 1;
        if (carried.length > 1) note(`${user} ${table}: ${carried.length} items carry ${app}`);
        if (!apps.has(app)) {
          t.stale += carried.length;
          note(`${user} ${table}: item of ${app}, whose row is gone`);
        }
      }
    }
  }
  return t;
}
