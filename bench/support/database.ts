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
import { cpuSeconds } from './process.js';

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

/** Users in app_user (the example application's registration), syncing `types` (default every type). */
export async function registerUsers(
  pool: pg.Pool,
  users: string[],
  options: { types?: BenchItemType[]; backend?: 'ews' | 'graph' } = {},
): Promise<void> {
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
  await registerUsers(pool, options.users ?? [], options);
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

/** `url` with `application_name` set, so that its sessions' backends can be found in pg_stat_activity. */
export function withApplicationName(url: string, name: string): string {
  const parsed = new URL(url);
  parsed.searchParams.set('application_name', name);
  return parsed.toString();
}

/**
 * CPU seconds so far of each PostgreSQL backend whose application_name is like `pattern` (a LIKE pattern; the name
 * itself for one), by pid (/proc: the server runs on this machine).
 */
export async function backendCpu(pool: pg.Pool, pattern: string): Promise<Map<number, number>> {
  const { rows } = await pool.query<{ pid: number }>(
    'select pid from pg_stat_activity where application_name like $1',
    [pattern],
  );
  const cpu = new Map<number, number>();
  for (const { pid } of rows) cpu.set(pid, cpuSeconds(pid) ?? 0);
  return cpu;
}
