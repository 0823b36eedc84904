/**
 * What bounds a catch-up, each part measured alone in a process of its own (bench/scenarios/catch-up.ts starts it):
 *
 *   node --expose-gc --import tsx bench/support/alone.ts '<AloneRequest as JSON>'
 *
 * 1. read alone: every folder of the item types of every user read through the adapter from the beginning
 *    (createExchangeBackend(...).port → connect → syncFolder page by page, the connector's page size and body type),
 *    all users and types at once as the connector's actors run them, over one ExchangePool of exchange.concurrency
 *    with the backend's per-mailbox limit (Graph: 4), as src/runtime.ts builds it. No database; pages are dropped.
 * 2. (untimed) the same read again, each page planned into the rows it means (planPage: the definitions' mapping).
 * 3. write alone: those pages applied through the DatabasePort's applyChanges — exh_from_exh_* in one transaction
 *    with the watermark per page, as the connector applies them — database.poolSize writers over a pool of as many
 *    connections, each user's type's pages in order, into a fresh schema (every row an insert, as in a first
 *    catch-up).
 *
 * Prints one JSON line on stdout: { read: { items, seconds, cpu? }, write?: { rows, seconds, cpu? } }; cpu: CPU
 * seconds of this process, of the emulator (emulatorPid) and of the PostgreSQL backends of the connection string's
 * application_name, from /proc (Linux).
 */
import pg from 'pg';
import { configSchema } from '../../src/config/schema.js';
import { createDatabase } from '../../src/db/create-database.js';
import { createExchangeBackend } from '../../src/exchange/create-exchange.js';
import { itemType } from '../../src/items/index.js';
import { createLogging } from '../../src/logging/logger.js';
import { ExchangePool } from '../../src/pool/exchange-pool.js';
import type { ItemChange, ItemTypeName } from '../../src/ports/database.port.js';
import type { ExchangePort, FolderName, SyncPage } from '../../src/ports/exchange.port.js';
import { foldersOf } from '../../src/sync/decisions/folders.js';
import { planPage } from '../../src/sync/decisions/plan.js';
import { encodeWatermark, type FolderContinuations } from '../../src/sync/decisions/watermark.js';
import { folderOptions } from '../../src/sync/executors/sync-item-type.js';
import { cpuSeconds } from './process.js';

export interface AloneRequest {
  users: string[];
  types: ItemTypeName[];
  /** exchange.* of the connector's configuration (the same concurrency, backend, Graph settings). */
  exchange: Record<string, unknown>;
  sync?: Record<string, unknown>;
  /** The connector's `database` configuration of a fresh schema; absent: read alone only. */
  database?: { type: 'postgres'; connectionString: string; poolSize?: number };
  /** The emulator's process, whose CPU time is told. */
  emulatorPid?: number;
}

/** CPU seconds of a part's processes. */
export interface PartCpu {
  process: number;
  emulator: number;
  postgres: number;
}

export interface AloneResult {
  read: { items: number; seconds: number; cpu?: PartCpu };
  write?: { rows: number; seconds: number; cpu?: PartCpu };
}

const request: AloneRequest = JSON.parse(process.argv[2] ?? '{}');
const config = configSchema.parse({
  database: request.database ?? { type: 'pglite' },
  exchange: request.exchange,
  listeners: {
    log: { enabled: false },
    database: { enabled: false },
    exchange: { enabled: false },
    graph: { enabled: false },
    http: { enabled: false },
  },
  ...(request.sync ? { sync: request.sync } : {}),
});
const logging = createLogging({
  level: 'warn',
  format: 'json',
  stdout: { write: (line: string) => void process.stderr.write(line) },
});
// What src/runtime.ts gives the sync: the configuration's sync settings with its page size.
const settings = { ...config.sync, pageSize: 512 };
const signal = new AbortController().signal;

/** Every folder of every type of every user, read from the beginning; `onPage` sees each page. */
async function readAll(
  port: ExchangePort,
  onPage: (user: string, type: ItemTypeName, folder: FolderName, page: SyncPage) => void,
): Promise<void> {
  await Promise.all(
    request.users.map(async (user) => {
      const connection = await port.connect(user, { signal, priority: 'catchUp' });
      await Promise.all(
        request.types.map(async (type) => {
          const definition = itemType(type);
          for (const folder of foldersOf(type)) {
            let continuation: string | null = null;
            for (;;) {
              const page: SyncPage = await connection.syncFolder(folder, continuation, {
                ...folderOptions({ definition, settings }),
                signal,
                priority: 'catchUp',
              });
              onPage(user, type, folder, page);
              continuation = page.continuation;
              if (page.done) break;
            }
          }
        }),
      );
    }),
  );
}

async function withPort<T>(work: (port: ExchangePort) => Promise<T>): Promise<T> {
  const backend = await createExchangeBackend(config, logging.logger);
  const pool = new ExchangePool(config.exchange.concurrency);
  const port = backend.port(pool);
  pool.limitPerMailbox(port.capabilities.requestsPerMailbox);
  try {
    return await work(port);
  } finally {
    await backend.close();
  }
}

/** This process's CPU seconds so far. */
const ownCpu = () => {
  const { user, system } = process.cpuUsage();
  return (user + system) / 1e6;
};
const emulatorCpu = () => (request.emulatorPid ? (cpuSeconds(request.emulatorPid) ?? 0) : 0);
/** CPU seconds so far of each backend of the connection string's application_name, by pid. */
async function backendCpu(): Promise<Map<number, number>> {
  const cpu = new Map<number, number>();
  const url = request.database?.connectionString;
  const application = url ? new URL(url).searchParams.get('application_name') : null;
  if (!url || !application) return cpu;
  const client = new pg.Client({ connectionString: url, application_name: `${application}_probe` });
  await client.connect();
  try {
    const { rows } = await client.query<{ pid: number }>(
      'select pid from pg_stat_activity where application_name = $1',
      [application],
    );
    for (const { pid } of rows) cpu.set(pid, cpuSeconds(pid) ?? 0);
  } finally {
    await client.end();
  }
  return cpu;
}

const gc = (globalThis as { gc?: () => void }).gc;
const result: AloneResult = { read: { items: 0, seconds: 0 } };
await withPort(async (port) => {
  gc?.();
  const before = { process: ownCpu(), emulator: emulatorCpu() };
  const started = performance.now();
  await readAll(port, (_user, _type, _folder, page) => {
    result.read.items += page.changes.length;
  });
  result.read.seconds = (performance.now() - started) / 1000;
  result.read.cpu = { process: ownCpu() - before.process, emulator: emulatorCpu() - before.emulator, postgres: 0 };
});

if (request.database) {
  /** Each user's and type's pages in order, planned, with the watermark each commits. */
  interface Chain {
    user: string;
    type: ItemTypeName;
    continuations: FolderContinuations;
    pages: { changes: ItemChange[]; watermark: string }[];
  }
  const chains = new Map<string, Chain>();
  await withPort((port) =>
    readAll(port, (user, type, folder, page) => {
      const key = `${user}\u0000${type}`;
      const chain: Chain = chains.get(key) ?? { user, type, pages: [], continuations: {} };
      chains.set(key, chain);
      chain.continuations[folder] = page.continuation;
      const plan = planPage(itemType(type), page, {
        user,
        folder,
        maxBodyLength: settings.maxBodyLength,
        meetingRequestsResponses: settings.meetingRequestsResponses,
      });
      chain.pages.push({ changes: plan.changes, watermark: encodeWatermark(chain.continuations) });
    }),
  );
  const db = createDatabase({ ...config.database, poolSize: config.database.poolSize });
  await db.connect();
  // The pool's connections open as the writers need them: a backend not there before counts from its start.
  gc?.();
  const backendsBefore = await backendCpu();
  const before = { process: ownCpu(), emulator: emulatorCpu() };
  let rows = 0;
  const started = performance.now();
  // As many writers as the pool has connections, each taking the next user's type and applying its pages in order:
  // the database's concurrency is the pool's, as in the connector, and no call waits for a connection (which
  // would end as EXH_DB_POOL_EXHAUSTED after 10 s, where the connector backs off and tries again).
  const queue = [...chains.values()];
  const poolSize = config.database.poolSize;
  await Promise.all(
    Array.from({ length: poolSize }, async () => {
      for (let chain = queue.shift(); chain; chain = queue.shift()) {
        for (const { changes, watermark } of chain.pages) {
          await db.applyChanges({ user: chain.user, itemType: chain.type, changes, meetings: [], watermark });
          rows += changes.length;
        }
      }
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  const cpuProcess = ownCpu() - before.process;
  const cpuEmulator = emulatorCpu() - before.emulator;
  let postgres = 0;
  for (const [pid, cpu] of await backendCpu()) postgres += cpu - (backendsBefore.get(pid) ?? 0);
  result.write = { rows, seconds, cpu: { process: cpuProcess, emulator: cpuEmulator, postgres } };
  await db.close();
}
process.stdout.write(`${JSON.stringify(result)}\n`);
process.exit(0);
