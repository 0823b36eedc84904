/**
 * A fresh schema on the PostgreSQL server for one measurement: the base project and the example application
 * installed (the connector's routines and the application's tables, as `exh db install --example-app` does), the
 * given users in app_user, and a pg Pool to look at it. Dropped by drop().
 *
 *   const db = await freshSchema('catchup', { users, types: ['calendar'] });
 *   db.database  // the connector's `database` configuration: { type: 'postgres', connectionString } (search_path set)
 *   await db.count('calendar_item'); await db.pool.query('select ...'); await db.drop();
 *
 * PG_URL names the server (default postgres://postgres@127.0.0.1:5432/test, as the tests use).
 */
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { installBaseProject } from '../../src/db/commands.js';

export const pgUrl = process.env.PG_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

/** The example application's table of each item type. */
export const tableOf = {
  calendar: 'calendar_item',
  contact: 'contact_item',
  email: 'email_item',
  task: 'task_item',
} as const;
export type BenchItemType = keyof typeof tableOf;

export interface FreshSchema {
  schema: string;
  /** postgres://… with search_path set to the schema (every session of the connector works in it). */
  url: string;
  /** The connector's `database` configuration. */
  database: { type: 'postgres'; connectionString: string; poolSize?: number };
  /** Connections with search_path set to the schema. */
  pool: pg.Pool;
  /** Rows of a table (`select count(*)`). */
  count(table: string): Promise<number>;
  drop(): Promise<void>;
}

/** `url` confined to `schema`. */
export function schemaUrl(url: string, schema: string): string {
  const parsed = new URL(url);
  parsed.searchParams.set('options', `-c search_path=${schema}`);
  return parsed.toString();
}

export async function freshSchema(
  name: string,
  options: { users?: string[]; types?: BenchItemType[]; backend?: 'ews' | 'graph' } = {},
): Promise<FreshSchema> {
  const schema = `exh_bench_${name.replace(/[^a-z0-9_]/gi, '_')}_${randomBytes(3).toString('hex')}`.toLowerCase();
  const admin = new pg.Client({ connectionString: pgUrl });
  await admin.connect();
  try {
    await admin.query(`create schema ${schema}`);
  } finally {
    await admin.end();
  }
  const url = schemaUrl(pgUrl, schema);
  await installBaseProject({ type: 'postgres', connectionString: url }, { exampleApp: true });
  const pool = new pg.Pool({ connectionString: url, max: 4 });
  const users = options.users ?? [];
  const types = new Set(options.types ?? (Object.keys(tableOf) as BenchItemType[]));
  // In slices: 10,000 users are more parameters than one statement takes.
  for (let i = 0; i < users.length; i += 1_000) {
    const slice = users.slice(i, i + 1_000);
    await pool.query(
      `insert into app_user (exh_user, sync_calendar, sync_contact, sync_email, sync_task, exh_backend)
       select u, $2, $3, $4, $5, $6 from unnest($1::text[]) as u`,
      [
        slice,
        types.has('calendar'),
        types.has('contact'),
        types.has('email'),
        types.has('task'),
        options.backend ?? null,
      ],
    );
  }
  return {
    schema,
    url,
    database: { type: 'postgres', connectionString: url },
    pool,
    async count(table) {
      return (await pool.query<{ n: number }>(`select count(*)::int as n from ${table}`)).rows[0]?.n ?? 0;
    },
    async drop() {
      await pool.end();
      const client = new pg.Client({ connectionString: pgUrl });
      await client.connect();
      try {
        await client.query(`drop schema if exists ${schema} cascade`);
      } finally {
        await client.end();
      }
    },
  };
}
