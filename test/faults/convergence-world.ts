import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { vi } from 'vitest';
import { type RunningEmulator, startEmulator } from '../../emulator/index.js';
import { configSchema } from '../../src/config/schema.js';
import { installBaseProject } from '../../src/db/commands.js';
import { createExchangeBackend, type ExchangeBackend } from '../../src/exchange/create-exchange.js';
import { createLogging } from '../../src/logging/logger.js';
import { type Runtime, startRuntime } from '../../src/runtime.js';
import type { ConflictRule } from '../../src/sync/decisions/conflicts.js';
import { testConfig } from '../support/config.js';
import { freePort, TcpProxy } from '../support/net.js';
import { schemaUrl } from '../support/pg.js';

/**
 * The world the convergence property runs in (test/faults/convergence.test.ts): a schema of its own on the PostgreSQL
 * server with the base project and the example application, the emulator over HTTP with a clock the test can skew
 * (a person's edit made an hour earlier or later, for `latest-wins`), a TCP proxy in front of the server (the
 * database cut), and the real runtime started and stopped in-process. Two item types, two fields each, are compared.
 */

export const users = ['alice@contoso.test', 'bob@contoso.test'] as const;
export type User = (typeof users)[number];

// Fields both sides can write (a task's Owner, say, is read-only in EWS); Categories is a list in Exchange, one here.
export const tables = {
  task_item: {
    folder: 'tasks',
    kind: 'Task',
    columns: ['exh_subject', 'exh_categories'],
    properties: ['Subject', 'Categories'],
  },
  contact_item: {
    folder: 'contacts',
    kind: 'Contact',
    columns: ['exh_surname', 'exh_company'],
    properties: ['Surname', 'CompanyName'],
  },
} as const;
export type Table = keyof typeof tables;
export const tableNames = Object.keys(tables) as Table[];

/** The two compared values of an item or a row. */
export type Values = [string | null, string | null];

export interface Row {
  appItemId: string;
  itemId: string | null;
  values: Values;
}

export interface ExchangeState {
  id: string;
  values: Values;
  /** LastModifiedTime, as the emulator keeps it (it never goes back, whatever the clock does). */
  modified: string;
}

/** Both sides as they are now, per user and table. */
export interface Snapshot {
  rows: Record<User, Record<Table, Row[]>>;
  exchange: Record<User, Record<Table, ExchangeState[]>>;
  /** Outbox rows still to be carried out. */
  pending: number;
}

/** Nothing held on either side (before the first sync of a run). */
export const emptySnapshot: Snapshot = {
  rows: Object.fromEntries(users.map((u) => [u, { task_item: [], contact_item: [] }])) as unknown as Snapshot['rows'],
  exchange: Object.fromEntries(
    users.map((u) => [u, { task_item: [], contact_item: [] }]),
  ) as unknown as Snapshot['exchange'],
  pending: 0,
};

/** A compared value as text: a list (Categories) joined as the database holds it. */
const text = (value: unknown): string | null => {
  const joined = Array.isArray(value) ? value.join('; ') : value;
  return typeof joined === 'string' && joined !== '' ? joined : null;
};

/** A value as the admin API takes it for a property. */
export const propertyValue = (property: string, value: string) => (property === 'Categories' ? [value] : value);

export async function convergenceWorld(pgUrl: string) {
  const schema = `exh_convergence_${randomBytes(4).toString('hex')}`;
  const admin = new pg.Client({ connectionString: pgUrl });
  await admin.connect();
  await admin.query(`create schema ${schema}`);
  await admin.query(`set search_path to ${schema}`);
  await installBaseProject({ type: 'postgres', connectionString: schemaUrl(pgUrl, schema) }, { exampleApp: true });
  // Tasks and contacts only: the other types would only add work to every start.
  await admin.query(
    `insert into app_user (exh_user, sync_calendar, sync_email) select unnest($1::text[]), false, false`,
    [users],
  );
  const skew = { ms: 0 };
  const emulator: RunningEmulator = await startEmulator({
    port: 0,
    mailboxes: [...users],
    now: () => Date.now() + skew.ms,
  });
  const server = new URL(pgUrl);
  const proxy = new TcpProxy(await freePort(), { host: server.hostname, port: Number(server.port || 5432) });
  await proxy.open();
  let runtime: Runtime | undefined;
  let backend: ExchangeBackend | undefined;
  const records: Array<Record<string, unknown>> = [];
  /** Every connector's log lines and the test's operations since the last reset, for CONVERGENCE_LOG. */
  const history: string[] = [];
  const level = process.env.CONVERGENCE_LOG ? 'debug' : 'action';

  const world = {
    schema,
    admin,
    emulator,
    records,
    history,
    /** The emulator's clock, shifted for a person's edit (ms; 0: real time). */
    skew,
    get running() {
      return runtime !== undefined;
    },
    async startConnector(rule: ConflictRule): Promise<void> {
      const config = configSchema.parse(
        testConfig(
          emulator,
          {
            type: 'postgres',
            connectionString: schemaUrl(pgUrl, schema, { port: proxy.port }),
            probeIntervalMs: 250,
            probeTimeoutMs: 2_000,
          },
          {
            sync: { conflicts: rule, outboxPollMs: 100, usersRefreshMs: 0 },
            retry: {
              databaseFirstMs: 50,
              databaseIntervalMs: 500,
              exchangeBackoff: { firstMs: 20, maxMs: 250 },
              permanentFailures: 20,
              mailboxRestarts: { max: 1_000, windowMs: 60_000 },
            },
            log: { level, format: 'json' },
          },
        ),
      );
      records.length = 0;
      const logging = createLogging({
        level,
        format: 'json',
        stdout: {
          write: (line: string) => {
            records.push(JSON.parse(line));
            history.push(line);
          },
        },
      });
      backend = await createExchangeBackend(config, logging.logger);
      runtime = startRuntime({ config, logging, exchange: backend.port });
    },
    async stopConnector(): Promise<void> {
      await runtime?.stop();
      await backend?.close();
      runtime = undefined;
      backend = undefined;
    },
    /** The network to the database goes away for `ms`, every open connection cut, then comes back. */
    async cutDatabase(ms: number): Promise<void> {
      await proxy.cut();
      await new Promise((resolve) => setTimeout(resolve, ms));
      await proxy.open();
    },
    /** Back to empty: no items, no rows, no outbox, no versions, no watermarks (the connector is stopped). */
    async reset(): Promise<void> {
      history.length = 0;
      emulator.admin.faults.clear();
      emulator.admin.reset();
      await admin.query(
        'truncate task_item, contact_item, exh_outbox, exh_log, exh_item_version, exh_watermark, exh_meeting',
      );
    },
    async snapshot(): Promise<Snapshot> {
      const rows = {} as Snapshot['rows'];
      const exchange = {} as Snapshot['exchange'];
      for (const user of users) {
        rows[user] = {} as Record<Table, Row[]>;
        exchange[user] = {} as Record<Table, ExchangeState[]>;
        for (const table of tableNames) {
          const { columns, properties, folder, kind } = tables[table];
          const result = await admin.query(
            `select exh_app_item_id, exh_item_id, ${columns.join(', ')} from ${table} where exh_user = $1
             order by exh_app_item_id`,
            [user],
          );
          rows[user][table] = result.rows.map((row) => ({
            appItemId: row.exh_app_item_id,
            itemId: row.exh_item_id,
            values: [text(row[columns[0]]), text(row[columns[1]])],
          }));
          exchange[user][table] = emulator.admin
            .items(user, folder)
            .filter((item) => item.kind === kind)
            .map((item) => ({
              id: item.id,
              values: [text(item.properties[properties[0]]), text(item.properties[properties[1]])],
              modified: item.modified,
            }));
        }
      }
      const { rows: counted } = await admin.query<{ n: string }>(
        "select count(*) as n from exh_outbox where exh_state = 'pending'",
      );
      return { rows, exchange, pending: Number(counted[0]?.n ?? 0) };
    },
    /**
     * Waits until nothing is left to carry out and both sides say the same, twice in a row `stableMs` apart; gives
     * up after `timeoutMs` and returns the last snapshot either way (the caller's assertions say what differs).
     */
    async quiesce(timeoutMs = 30_000, stableMs = 300): Promise<{ snapshot: Snapshot; settled: boolean }> {
      const until = Date.now() + timeoutMs;
      let previous = '';
      let last = await world.snapshot();
      while (Date.now() < until) {
        last = await world.snapshot();
        const now = JSON.stringify(last);
        if (last.pending === 0 && convergenceProblems(last).length === 0 && now === previous) {
          return { snapshot: last, settled: true };
        }
        previous = last.pending === 0 && convergenceProblems(last).length === 0 ? now : '';
        await new Promise((resolve) => setTimeout(resolve, stableMs));
      }
      return { snapshot: last, settled: false };
    },
    /** exh_log's conflict records since `afterId`: the item id each names and the side that won. */
    async conflicts(afterId: number): Promise<Array<{ id: number; message: string }>> {
      const { rows } = await admin.query<{ exh_log_id: string; exh_message: string }>(
        "select exh_log_id, exh_message from exh_log where exh_code = 'EXH_SYNC_CONFLICT' and exh_log_id > $1 order by exh_log_id",
        [afterId],
      );
      return rows.map((row) => ({ id: Number(row.exh_log_id), message: row.exh_message }));
    },
    async lastLogId(): Promise<number> {
      const { rows } = await admin.query<{ id: string | null }>('select max(exh_log_id) as id from exh_log');
      return Number(rows[0]?.id ?? 0);
    },
    /** Outbox rows that failed for another reason than losing a conflict: there must be none. */
    async unexpectedFailures(): Promise<string[]> {
      const { rows } = await admin.query<{ exh_action: string; exh_error_message: string | null }>(
        "select exh_action, exh_error_message from exh_outbox where exh_state = 'failed' order by exh_outbox_id",
      );
      return rows
        .filter((row) => !row.exh_error_message?.startsWith('not applied:'))
        .map((row) => `${row.exh_action}: ${row.exh_error_message}`);
    },
    /**
     * What a failing run leaves to read (CONVERGENCE_LOG): every outbox row with its outcome, what the connector knows
     * of each item's version, and each Exchange item with its change key and last-modified time.
     */
    async diagnosis(): Promise<string[]> {
      const lines: string[] = [];
      const outbox = await admin.query(
        `select exh_outbox_id, exh_user, exh_item_type, exh_action, exh_state, exh_attempts, exh_exit_code,
                exh_error_message, exh_created, exh_completed_at, left(exh_payload, 400) as exh_payload
         from exh_outbox order by exh_outbox_id`,
      );
      for (const row of outbox.rows) lines.push(JSON.stringify({ outbox: row }));
      const versions = await admin.query('select * from exh_item_version order by exh_user, exh_item_id');
      for (const row of versions.rows) lines.push(JSON.stringify({ itemVersion: row }));
      for (const user of users) {
        for (const table of tableNames) {
          for (const item of emulator.admin.items(user, tables[table].folder)) {
            lines.push(JSON.stringify({ exchange: { user, table, item } }));
          }
        }
      }
      return lines.map((line) => `${line}\n`);
    },
    async close(): Promise<void> {
      await world.stopConnector();
      await proxy.cut();
      await emulator.close();
      await admin.query(`drop schema if exists ${schema} cascade`);
      await admin.end();
    },
  };
  return world;
}

export type ConvergenceWorld = Awaited<ReturnType<typeof convergenceWorld>>;

/**
 * What keeps the two sides from being converged: an Exchange item without exactly one row of its user, a row whose
 * values differ from its item's, a row without an item in Exchange (never created there, or deleted there but not
 * here). Empty when every Exchange item is once in the database with equal fields and every row has its item.
 */
export function convergenceProblems(snapshot: Snapshot): string[] {
  const problems: string[] = [];
  for (const user of users) {
    for (const table of tableNames) {
      const rows = snapshot.rows[user][table];
      const items = new Map(snapshot.exchange[user][table].map((item) => [item.id, item]));
      for (const item of items.values()) {
        const found = rows.filter((row) => row.itemId === item.id);
        if (found.length !== 1) problems.push(`${user} ${table} ${item.id}: ${found.length} rows`);
        else if (JSON.stringify(found[0]?.values) !== JSON.stringify(item.values)) {
          problems.push(
            `${user} ${table} ${item.id}: row ${JSON.stringify(found[0]?.values)}, Exchange ${JSON.stringify(item.values)}`,
          );
        }
      }
      for (const row of rows) {
        if (row.itemId === null || !items.has(row.itemId)) {
          problems.push(`${user} ${table} row ${row.appItemId} (${row.itemId ?? 'no item id'}): no item in Exchange`);
        }
      }
    }
  }
  return problems;
}

/** Vitest's waitFor with this file's defaults, for the few waits on records. */
export const waitFor = <T>(check: () => T | Promise<T>, timeout = 20_000) =>
  vi.waitFor(check, { timeout, interval: 50 });
