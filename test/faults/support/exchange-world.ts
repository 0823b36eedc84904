import { randomBytes } from 'node:crypto';
import pg from 'pg';
import {
  type EmulatorOptions,
  type FaultInput,
  type LoggedRequest,
  type RunningEmulator,
  startEmulator,
} from '../../../emulator/index.js';
import { configSchema } from '../../../src/config/schema.js';
import { installBaseProject } from '../../../src/db/commands.js';
import { createExchangeBackend, type ExchangeBackend } from '../../../src/exchange/create-exchange.js';
import type { Tuning } from '../../../src/exchange/ews/index.js';
import { createLogging } from '../../../src/logging/logger.js';
import { type Runtime, startRuntime } from '../../../src/runtime.js';
import { testConfig } from '../../support/config.js';
import { schemaUrl } from '../../support/pg.js';

/**
 * Every real part for the Exchange fault suite (docs/reliability.md, "Exchange faults"): a schema of its own on the
 * PostgreSQL server with the base project and the example application, the emulator over HTTP with its fault
 * injection and request log (docs/emulator.md, "Faults"), and the real runtime in-process with short back-offs, so
 * that a fault and its recovery take seconds. Everything is timed on the wall clock: the emulator's request log and
 * the connector's log records (stamped as they arrive) share it.
 */

export type LogRecord = Record<string, unknown> & { at: number };
export type Notifications = 'streaming' | 'pull' | 'push';

/** Back-offs of the suite: 0.2 s doubling to 2 s (the defaults are 1 s and 60 s; docs/reliability.md, "Recovery"). */
export const suiteBackoff = { firstMs: 200, maxMs: 2_000 };

export interface WorldOptions {
  name: string;
  mailboxes: string[];
  /** The emulator's options beyond port, mailboxes and validation (keepAliveMs, minuteMs, …). */
  emulator?: Omit<EmulatorOptions, 'port' | 'mailboxes'>;
}

export interface ConnectorOptions {
  notifications?: Notifications;
  /** exchange.timeoutMs (default here 5 s: the emulator answers in milliseconds). */
  timeoutMs?: number;
  permanentFailures?: number;
  /** The dashboard and HTTP API on a free port (its port is in the `http.listening` record). */
  http?: boolean;
  tuning?: Partial<Tuning>;
}

export interface MadeItem {
  marker: string;
  id: string;
  kind: ItemKind;
}

type ItemKind = 'Task' | 'Contact' | 'CalendarItem' | 'Message';
const kinds: ItemKind[] = ['Task', 'Contact', 'CalendarItem', 'Message'];

/** What each item type's row is recognised by: the subject, or for contacts the surname. */
const markerColumns = [
  ['calendar_item', 'exh_subject'],
  ['contact_item', 'exh_surname'],
  ['email_item', 'exh_subject'],
  ['task_item', 'exh_subject'],
] as const;

export async function exchangeWorld(pgUrl: string, options: WorldOptions) {
  const schema = `exh_${options.name}_${randomBytes(4).toString('hex')}`;
  const admin = new pg.Client({ connectionString: pgUrl });
  await admin.connect();
  await admin.query(`create schema ${schema}`);
  await admin.query(`set search_path to ${schema}`);
  await installBaseProject({ type: 'postgres', connectionString: schemaUrl(pgUrl, schema) }, { exampleApp: true });
  for (const user of options.mailboxes) await admin.query('insert into app_user (exh_user) values ($1)', [user]);
  const emulator: RunningEmulator = await startEmulator({
    port: 0,
    mailboxes: options.mailboxes,
    validateResponses: true,
    ...options.emulator,
  });
  const records: LogRecord[] = [];
  let runtime: Runtime | undefined;
  let backend: ExchangeBackend | undefined;
  let made = 0;

  const world = {
    schema,
    admin,
    emulator,
    records,

    async startConnector(connector: ConnectorOptions = {}): Promise<Runtime> {
      const config = configSchema.parse(
        testConfig(
          emulator,
          { type: 'postgres', connectionString: schemaUrl(pgUrl, schema) },
          {
            exchange: {
              notifications: connector.notifications ?? 'streaming',
              timeoutMs: connector.timeoutMs ?? 5_000,
            },
            listeners: { http: { enabled: connector.http === true, host: '127.0.0.1', port: 0 } },
            retry: { exchangeBackoff: suiteBackoff, permanentFailures: connector.permanentFailures ?? 2 },
          },
        ),
      );
      records.length = 0;
      const logging = createLogging({
        level: 'debug',
        format: 'json',
        stdout: { write: (line: string) => void records.push({ ...JSON.parse(line), at: Date.now() }) },
      });
      backend = await createExchangeBackend(
        config,
        logging.logger,
        connector.tuning ? { tuning: connector.tuning } : {},
      );
      runtime = startRuntime({ config, logging, exchange: backend.port });
      return runtime;
    },

    async stopConnector(): Promise<void> {
      await runtime?.stop();
      await backend?.close();
      runtime = undefined;
      backend = undefined;
    },

    /** The first record at or after `since` that `match` accepts, waiting at most `timeoutMs` for it. */
    async record(match: (record: LogRecord) => boolean, since: number, timeoutMs: number): Promise<LogRecord> {
      return waitFor(
        () => records.find((record) => record.at >= since && match(record)),
        timeoutMs,
        () => `no such log record within ${timeoutMs} ms; since then: ${describeRecords(records, since)}`,
      );
    },

    /** When each user's mailbox was next live at or after `since`. */
    async liveAt(user: string, since: number, timeoutMs = 30_000): Promise<number> {
      const record = await world.record((r) => r.event === 'mailbox.live' && r.user === user, since, timeoutMs);
      return record.at;
    },

    /** An item made in Exchange as its owner would make it (admin API), of the kind after the last one's. */
    make(user: string, tag: string, kind: ItemKind = kinds[made % kinds.length] as ItemKind): MadeItem {
      made++;
      const marker = `${tag} ${made}`;
      const day = String(1 + (made % 28)).padStart(2, '0');
      const input =
        kind === 'Contact'
          ? { kind, GivenName: 'Fault', Surname: marker }
          : kind === 'CalendarItem'
            ? { kind, Subject: marker, Start: `2026-11-${day}T09:00:00Z`, End: `2026-11-${day}T10:00:00Z` }
            : kind === 'Message'
              ? { kind, folder: 'inbox', Subject: marker, Body: 'Made while Exchange misbehaved.' }
              : { kind, Subject: marker };
      const item = emulator.admin.createItem(user, input);
      if (!item) throw new Error(`the emulator made no ${kind} for ${user}`);
      return { marker, id: item.id, kind };
    },

    /** Makes an item every `everyMs` until stopped; returns what it made. */
    keepMaking(user: string, tag: string, everyMs: number) {
      const items: MadeItem[] = [world.make(user, tag)];
      const timer = setInterval(() => items.push(world.make(user, tag)), everyMs);
      return {
        items,
        stop: () => {
          clearInterval(timer);
          return items;
        },
      };
    },

    /** Rows of `user` in the example application's four tables, as marker → item ids (one per row). */
    async rowsByMarker(user: string): Promise<Map<string, string[]>> {
      const union = markerColumns
        .map(([table, column]) => `select ${column} as marker, exh_item_id from ${schema}.${table} where exh_user = $1`)
        .join(' union all ');
      const { rows } = await admin.query<{ marker: string | null; exh_item_id: string }>(union, [user]);
      const byMarker = new Map<string, string[]>();
      for (const row of rows) {
        if (row.marker === null) continue;
        byMarker.set(row.marker, [...(byMarker.get(row.marker) ?? []), row.exh_item_id]);
      }
      return byMarker;
    },

    /**
     * Waits until every item has its row, then checks once more after `settleMs` (a late duplicate would show
     * then): how many arrived, how many rows too many, and which are missing.
     */
    async arrivals(user: string, items: MadeItem[], timeoutMs = 20_000, settleMs = 500) {
      const count = async () => {
        const rows = await world.rowsByMarker(user);
        let arrived = 0;
        let duplicates = 0;
        const missing: string[] = [];
        for (const item of items) {
          const ids = rows.get(item.marker) ?? [];
          if (ids.includes(item.id)) arrived++;
          else missing.push(item.marker);
          duplicates += Math.max(0, ids.length - 1);
        }
        return { arrived, duplicates, missing, total: items.length };
      };
      await settle(count, (result) => result.missing.length === 0, timeoutMs);
      await sleep(settleMs);
      return count();
    },

    /** The emulator's request log for `user` from `since` on (docs/emulator.md, "Admin API"). */
    requests(user: string, since: number): LoggedRequest[] {
      return emulator.admin.requests({ mailbox: user, since });
    },

    fault(input: FaultInput) {
      return emulator.admin.faults.add(input);
    },

    async close(): Promise<void> {
      await world.stopConnector();
      await emulator.close();
      await admin.query(`drop schema if exists ${schema} cascade`);
      await admin.end();
    },
  };
  return world;
}

export type ExchangeWorld = Awaited<ReturnType<typeof exchangeWorld>>;

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Polls `probe` every 25 ms until it returns something, failing with `explain()` after `timeoutMs`. */
export async function waitFor<T>(probe: () => T | undefined, timeoutMs: number, explain: () => string): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(explain());
    await sleep(25);
  }
}

/**
 * Polls the async `probe` every 100 ms until `done` accepts its value or `timeoutMs` passes, and returns the last
 * value either way: the caller's assertion then says what was still wrong.
 */
export async function settle<T>(probe: () => Promise<T>, done: (value: T) => boolean, timeoutMs: number): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let value = await probe();
  while (!done(value) && Date.now() < deadline) {
    await sleep(100);
    value = await probe();
  }
  return value;
}

/** Seconds with one decimal, for the figures the cases print. */
export const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`;

/**
 * The longest a mailbox can take to come back after `failures` failed attempts in a row, not counting the requests
 * themselves: each wait is at most 1.2 × firstMs × 2^(k−1) (jitter), never more than maxMs (docs/reliability.md).
 */
export function backoffBound(failures: number, policy = suiteBackoff): number {
  let total = 0;
  for (let k = 1; k <= failures; k++) total += Math.min(policy.maxMs, 1.2 * policy.firstMs * 2 ** (k - 1));
  return total;
}

function describeRecords(records: LogRecord[], since: number): string {
  return (
    records
      .filter((r) => r.at >= since && (r.event !== undefined || r.cat === 'W' || r.cat === 'E'))
      .slice(-15)
      .map((r) => `${r.cat} ${String(r.event ?? '')} ${String(r.user ?? '')} ${String(r.msg ?? '')}`.trim())
      .join(' | ') || 'none'
  );
}
