/**
 * Exchange → database catch-up throughput and the memory of the actor tree, measured through every real part: the
 * emulator over HTTP, the EWS adapter, the mailbox and item-type actors, and the database with the example
 * application (PGlite in this process; and the PostgreSQL server when PG_URL is set).
 *
 *   node --expose-gc --import tsx bench/sync.ts [items] [mailboxes]
 *
 * 1. catch-up: `items` appointments already in one mailbox, connector started, time until all rows are there;
 * 2. idle actors: `mailboxes` users live (catch-up of empty mailboxes), RSS per mailbox.
 */
import { PGlite } from '@electric-sql/pglite';
import { startEmulator } from '../emulator/index.js';
import { configSchema } from '../src/config/schema.js';
import type { InstallableDatabase } from '../src/db/adapters/installable.js';
import { createPgliteDatabase } from '../src/db/adapters/pglite.js';
import { installInto } from '../src/db/commands.js';
import { createDatabase } from '../src/db/create-database.js';
import { createExchangeBackend } from '../src/exchange/create-exchange.js';
import { createLogging } from '../src/logging/logger.js';
import { startRuntime } from '../src/runtime.js';

const items = Number(process.argv[2] ?? 5_000);
const mailboxCount = Number(process.argv[3] ?? 500);
/** Errors and warnings still reach stderr: a bench that hides why it stalls measures nothing. */
const problemsOnly = {
  write: (line: string) => {
    if (line.includes('"cat":"E"') || line.includes('"cat":"W"')) process.stderr.write(line);
  },
};
/** How long a measurement may take before the bench gives up and says what it was waiting for. */
const limitMs = Number(process.env.EXH_BENCH_LIMIT_MS ?? 600_000);

/** Waits for `done`; fails after limitMs, or at once when the runtime stopped (its errors are on stderr). */
async function waitFor(what: string, done: () => boolean | Promise<boolean>, runtime: { done: Promise<unknown> }) {
  let stopped = false;
  void runtime.done.then(() => {
    stopped = true;
  });
  const deadline = Date.now() + limitMs;
  while (!(await done())) {
    if (stopped) throw new Error(`The connector stopped before ${what}; its errors are above.`);
    if (Date.now() > deadline) {
      throw new Error(`No ${what} within ${limitMs / 1000} s (EXH_BENCH_LIMIT_MS); the errors logged are above.`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function catchUp(label: string, db: InstallableDatabase, count: (sql: string) => Promise<number>) {
  const user = 'bench@contoso.test';
  const emulator = await startEmulator({ port: 0, mailboxes: [user] });
  emulator.admin.seed(user, 'CalendarItem', items);
  await db.connect();
  await installInto(db, { exampleApp: true });
  await db.runScript(`DELETE FROM calendar_item; DELETE FROM exh_watermark; DELETE FROM app_user;
    INSERT INTO app_user (exh_user, sync_calendar, sync_contact, sync_email, sync_task) VALUES ('${user}', true, false, false, false);`);
  const config = configSchema.parse({
    database: { type: 'pglite' },
    exchange: {
      staticEwsUrl: emulator.url,
      impersonationUser: emulator.serviceAccount,
      impersonationPassword: emulator.password,
    },
    // No listener on a fixed port (8888, 8080): the bench must run beside a connector or a demo.
    listeners: { log: { enabled: false }, database: { port: 0 }, http: { enabled: false } },
  });
  const logging = createLogging({ level: 'warn', format: 'json', stdout: problemsOnly });
  const backend = await createExchangeBackend(config, logging.logger);
  const started = performance.now();
  const runtime = startRuntime({ config, logging, db, exchange: backend.port });
  await waitFor(
    `${items} appointments in calendar_item`,
    async () => (await count('SELECT count(*)::int AS n FROM calendar_item')) >= items,
    runtime,
  );
  const seconds = (performance.now() - started) / 1000;
  await runtime.stop();
  await backend.close();
  await emulator.close();
  console.log(
    `| catch-up of ${items} appointments into ${label} | ${seconds.toFixed(1)} s (${Math.round(items / seconds)} items/s) |`,
  );
}

async function idleMailboxes() {
  const users = Array.from({ length: mailboxCount }, (_, i) => `user${i}@contoso.test`);
  const emulator = await startEmulator({ port: 0, mailboxes: users });
  const instance = await PGlite.create();
  const db = createPgliteDatabase({ instance });
  await db.connect();
  await installInto(db, { exampleApp: true });
  await db.runScript(`INSERT INTO app_user (exh_user) VALUES ${users.map((u) => `('${u}')`).join(', ')};`);
  const config = configSchema.parse({
    database: { type: 'pglite' },
    exchange: {
      staticEwsUrl: emulator.url,
      impersonationUser: emulator.serviceAccount,
      impersonationPassword: emulator.password,
      concurrency: 16,
    },
    // No listener on a fixed port (8888, 8080): the bench must run beside a connector or a demo.
    listeners: { log: { enabled: false }, database: { port: 0 }, http: { enabled: false } },
  });
  let live = 0;
  const logging = createLogging({
    level: 'action',
    format: 'json',
    stdout: {
      write: (line: string) => {
        if (line.includes('"mailbox.live"')) live += 1;
        problemsOnly.write(line);
      },
    },
  });
  global.gc?.();
  global.gc?.();
  const before = process.memoryUsage();
  const backend = await createExchangeBackend(config, logging.logger);
  const started = performance.now();
  const runtime = startRuntime({ config, logging, db, exchange: backend.port });
  await waitFor(`${mailboxCount} mailboxes live`, () => live >= mailboxCount, runtime);
  const seconds = (performance.now() - started) / 1000;
  global.gc?.();
  global.gc?.();
  const after = process.memoryUsage();
  // Heap, not RSS: PGlite's WebAssembly memory and freed pages make RSS deltas meaningless here.
  const perMailbox = (key: 'heapUsed') => Math.round((after[key] - before[key]) / mailboxCount / 1024);
  console.log(
    `| ${mailboxCount} mailboxes from start to live (4 item types each, streaming) | ${seconds.toFixed(1)} s |`,
  );
  console.log(
    `| heap per live mailbox (connector actors, connections, open streams; emulator side included) | ${perMailbox('heapUsed')} KiB |`,
  );
  await runtime.stop();
  await backend.close();
  await emulator.close();
  await instance.close();
}

console.log(`Node ${process.version}, ${process.platform} ${process.arch}\n\n| measure | result |\n|---|---|`);
const pglite = await PGlite.create();
await catchUp(
  'PGlite (in process)',
  createPgliteDatabase({ instance: pglite }),
  async (sql) => (await pglite.query<{ n: number }>(sql)).rows[0]?.n ?? 0,
);
await pglite.close();
if (process.env.PG_URL) {
  // A schema of its own, dropped afterwards: the benchmark leaves the server as it found it.
  const pg = await import('pg');
  const client = new pg.default.Client({ connectionString: process.env.PG_URL });
  await client.connect();
  const schema = `exh_bench_${process.pid}`;
  await client.query(`CREATE SCHEMA ${schema}`);
  await client.query(`SET search_path = ${schema}`);
  const url = new URL(process.env.PG_URL);
  url.searchParams.set('options', `-c search_path=${schema}`);
  const server = createDatabase({ type: 'postgres', connectionString: url.toString() });
  try {
    await catchUp('the PostgreSQL server', server, async (sql) => (await client.query(sql)).rows[0]?.n ?? 0);
  } finally {
    await client.query(`DROP SCHEMA ${schema} CASCADE`);
    await client.end();
  }
}
await idleMailboxes();
process.exit(0);
