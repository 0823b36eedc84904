import type pg from 'pg';
import type { RunningEmulator } from '../../../emulator/index.js';
import { appItemIdProperty } from '../../../src/exchange/ews/index.js';
import { exchangeSide } from './tally.js';

/** The example application's tables the outbox cases write, each with what a new row needs besides its label. */
const tables = ['task_item', 'contact_item', 'calendar_item'] as const;
type AppTable = (typeof tables)[number];

/** The INSERT of a new row of `table` for `user`, labelled `label` (`index` spreads appointments over time). */
export function insertRow(table: AppTable, appItemId: string, user: string, label: string, index: number) {
  switch (table) {
    case 'task_item':
      return {
        sql: 'insert into task_item (exh_app_item_id, exh_user, exh_subject) values ($1, $2, $3)',
        params: [appItemId, user, label],
      };
    case 'contact_item':
      return {
        sql: `insert into contact_item (exh_app_item_id, exh_user, exh_given_name, exh_surname) values ($1, $2, 'Ada', $3)`,
        params: [appItemId, user, label],
      };
    default: {
      const start = new Date(Date.UTC(2027, 5, 1, 8) + index * 3_600_000);
      return {
        sql: 'insert into calendar_item (exh_app_item_id, exh_user, exh_subject, exh_start, exh_end) values ($1, $2, $3, $4, $5)',
        params: [appItemId, user, label, start, new Date(start.getTime() + 1_800_000)],
      };
    }
  }
}

/**
 * What the application does to its rows while the connector is down, through `app` (a session whose search_path is
 * the schema, so that the triggers write exh_outbox): in each table of each user, `insert` new rows, `update` and
 * `remove` rows of earlier batches chosen by `random`, and `churn` rows inserted, changed and (one in three) deleted
 * again at once (their changes name the item by the application's id only). Returns the outbox rows written.
 */
export async function applicationChanges(
  app: pg.Client,
  users: readonly string[],
  counts: { insert: number; update: number; remove: number; churn: number },
  tag: string,
  random: () => number,
): Promise<number> {
  const before = await outboxCount(app);
  let index = 0;
  for (const user of users) {
    for (const table of tables) {
      const { column } = exchangeSide[table];
      const { rows } = await app.query<{ exh_app_item_id: string }>(
        `select exh_app_item_id from ${table} where exh_user = $1 order by id`,
        [user],
      );
      const older = rows.map((r) => r.exh_app_item_id);
      const pick = () => older.splice(Math.floor(random() * older.length), 1)[0];
      for (let i = 0; i < counts.update && older.length > 0; i++) {
        await app.query(`update ${table} set ${column} = $1 where exh_app_item_id = $2`, [`${tag} upd ${i}`, pick()]);
      }
      for (let i = 0; i < counts.remove && older.length > 0; i++) {
        await app.query(`delete from ${table} where exh_app_item_id = $1`, [pick()]);
      }
      for (let i = 0; i < counts.insert + counts.churn; i++) {
        const appItemId = `${tag}-${table}-${user}-${i}`;
        const row = insertRow(table, appItemId, user, `${tag} new ${i}`, index++);
        await app.query(row.sql, row.params);
        if (i < counts.insert) continue;
        await app.query(`update ${table} set ${column} = $1 where exh_app_item_id = $2`, [
          `${tag} churned ${i}`,
          appItemId,
        ]);
        if (i % 3 === 0) await app.query(`delete from ${table} where exh_app_item_id = $1`, [appItemId]);
      }
    }
  }
  return (await outboxCount(app)) - before;
}

async function outboxCount(app: pg.Client): Promise<number> {
  return (await app.query<{ n: number }>('select count(*)::int as n from exh_outbox')).rows[0]?.n ?? 0;
}

/** Database → Exchange, over every user and table the application writes: what the outbox cases assert and print. */
export interface WriteTally {
  /** The application's rows. */
  rows: number;
  /** Rows with exactly one item in Exchange carrying their application id and their label. */
  inExchange: number;
  /** Rows without an item in Exchange. */
  missing: number;
  /** Items beyond the first carrying the same application id. */
  doubled: number;
  /** Items whose row is gone (a deletion that did not arrive), or that carry no application id at all. */
  orphans: number;
  /** Items whose label is not their row's (a change that did not arrive). */
  outdated: number;
  /** Rows whose exh_item_id is not their item's yet (the echo from Exchange links them). */
  unlinked: number;
  /** Outbox rows by state. */
  outbox: Record<string, number>;
  /** A few of the differences, for a failure message. */
  examples: string[];
}

export const writesAgree = (t: WriteTally) =>
  t.inExchange === t.rows &&
  t.missing + t.doubled + t.orphans + t.outdated + t.unlinked === 0 &&
  Object.keys(t.outbox).every((state) => state === 'done');

export const describeWrites = (t: WriteTally) =>
  `${t.inExchange}/${t.rows} rows in Exchange once, ${t.missing} missing, ${t.doubled} doubled, ${t.orphans} orphans, ` +
  `${t.outdated} outdated, ${t.unlinked} unlinked; outbox ${JSON.stringify(t.outbox)}`;

/** The application's rows against the items in Exchange that carry their application id (the emulator's admin API). */
export async function writeTally(
  admin: pg.Client,
  schema: string,
  emulator: RunningEmulator,
  users: readonly string[],
): Promise<WriteTally> {
  const t: WriteTally = {
    rows: 0,
    inExchange: 0,
    missing: 0,
    doubled: 0,
    orphans: 0,
    outdated: 0,
    unlinked: 0,
    outbox: {},
    examples: [],
  };
  const note = (text: string) => {
    if (t.examples.length < 5) t.examples.push(text);
  };
  for (const table of tables) {
    const side = exchangeSide[table];
    const { rows } = await admin.query<{ exh_user: string; app: string; item: string | null; label: string | null }>(
      `select exh_user, exh_app_item_id as app, exh_item_id as item, ${side.column} as label
       from ${schema}.${table} where exh_user = any($1::text[])`,
      [users],
    );
    for (const user of users) {
      const items = new Map<string, Array<{ id: string; label: unknown }>>();
      for (const folder of side.folders) {
        for (const item of emulator.admin.items(user, folder)) {
          if (item.kind !== side.kind) continue;
          const app = item.extendedProperties.find(
            (p) => (p.uri as Record<string, string>).PropertyName === appItemIdProperty.name,
          )?.value;
          const entry = { id: item.id, label: item.properties[side.label] ?? null };
          if (typeof app !== 'string') {
            t.orphans += 1;
            note(`${user} ${table}: item ${item.id} without an application id`);
          } else items.set(app, [...(items.get(app) ?? []), entry]);
        }
      }
      const mine = rows.filter((r) => r.exh_user === user);
      const apps = new Set(mine.map((r) => r.app));
      for (const row of mine) {
        t.rows += 1;
        const found = items.get(row.app) ?? [];
        const [item] = found;
        t.doubled += Math.max(0, found.length - 1);
        if (!item) {
          t.missing += 1;
          note(`${user} ${table}: row ${row.app} has no item`);
        } else if (item.label !== row.label) {
          t.outdated += 1;
          note(`${user} ${table}: ${row.app} is "${item.label}" in Exchange, "${row.label}" in the row`);
        } else if (found.length === 1) t.inExchange += 1;
        if (item && row.item !== item.id) t.unlinked += 1;
        if (found.length > 1) note(`${user} ${table}: ${found.length} items carry ${row.app}`);
      }
      for (const [app, found] of items) {
        if (apps.has(app)) continue;
        t.orphans += found.length;
        note(`${user} ${table}: item of ${app}, whose row is gone`);
      }
    }
  }
  const { rows: states } = await admin.query<{ exh_state: string; n: number }>(
    `select exh_state, count(*)::int as n from ${schema}.exh_outbox group by exh_state`,
  );
  for (const { exh_state, n } of states) t.outbox[exh_state] = n;
  return t;
}
