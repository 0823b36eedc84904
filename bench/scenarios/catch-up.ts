/**
 * Catch-up (issue 15): items already in Exchange, the connector started, how fast they reach the application's
 * tables — for EWS and for Microsoft Graph, each part in a process of its own (emulator, connector, PostgreSQL).
 *
 *   node --expose-gc --import tsx bench/scenarios/catch-up.ts [--quick]
 *
 * Shapes: 1 mailbox × 5,000 appointments and 100 mailboxes × 1,000 mixed items (40% appointments, 30% e-mail, 20%
 * contacts, 10% tasks); --quick: 1 × 1,000 and 20 × 200. Realistic items (bench/support/items.ts).
 *
 * Per shape and backend:
 * - connector: `exh start` on a fresh schema; items/s from the moment it is ready (exh_set_up written, what it does
 *   on database.ready before any mailbox starts) until every row is in the example application's tables;
 * - the limit: min(read alone, write alone) from bench/support/alone.ts (the adapter alone at the same concurrency,
 *   then the same rows applied alone through the DatabasePort's applyChanges, i.e. exh_from_exh_* per page in one
 *   transaction); target ≥ 0.8;
 * - naive: bench/support/naive.ts, one mailbox at a time, one upsert per item, its rate over its first 60 s (quick:
 *   5 s); target ≥ 5×.
 * The connector runs first, so any warming of the emulator and the server favours the yardsticks, not exh.
 *
 * Also told on stderr: CPU seconds per 1,000 items of each process (connector or reader/writer alone, emulator,
 * PostgreSQL backends, from /proc), and the limit the CPU sum makes on two cores.
 *
 * To run a part only: BENCH_CATCHUP_SHAPE=<text in the shape's label>, BENCH_CATCHUP_BACKEND=ews|graph,
 * BENCH_CATCHUP_NAIVE=0 (no naive script). To profile the connector: BENCH_CONNECTOR_NODE_OPTIONS='--cpu-prof
 * --cpu-prof-dir=/tmp/prof' (bench/support/connector.ts).
 */
import { availableParallelism } from 'node:os';
import type { LoggedRequest } from '../../emulator/request-log.js';
import type { ItemTypeName } from '../../src/ports/database.port.js';
import type { AloneResult, PartCpu } from '../support/alone.js';
import { startConnector } from '../support/connector.js';
import { type BenchItemType, backendCpu, freshSchema, tableOf, withApplicationName } from '../support/database.js';
import { type EmulatorProcess, startEmulatorProcess } from '../support/emulator.js';
import { appointmentsFrom, mixOf, type SeedMix, sizeOf } from '../support/items.js';
import type { NaiveRequest } from '../support/naive.js';
import { cpuSeconds, spawnTs } from '../support/process.js';
import { figure, perSecond, progress, quick, ratio, runScenario } from '../support/report.js';

interface Shape {
  label: string;
  mailboxes: number;
  mix: SeedMix;
  types: BenchItemType[];
}

const allTypes: BenchItemType[] = ['calendar', 'email', 'contact', 'task'];
const allShapes: Shape[] = quick
  ? [
      { label: '1×1000 appointments', mailboxes: 1, mix: { CalendarItem: 1_000 }, types: ['calendar'] },
      { label: '20×200 mixed', mailboxes: 20, mix: mixOf(200), types: allTypes },
    ]
  : [
      { label: '1×5000 appointments', mailboxes: 1, mix: { CalendarItem: 5_000 }, types: ['calendar'] },
      { label: '100×1000 mixed', mailboxes: 100, mix: mixOf(1_000), types: allTypes },
    ];
const shapes = allShapes.filter((s) => s.label.includes(process.env.BENCH_CATCHUP_SHAPE ?? ''));
const backends = (['ews', 'graph'] as const).filter((b) => b.includes(process.env.BENCH_CATCHUP_BACKEND ?? ''));
const withNaive = process.env.BENCH_CATCHUP_NAIVE !== '0';
/** A connector whose row count has not moved for this long has stalled: the scenario fails, naming the counts. */
const stallMs = 60_000;
/** The naive script's rate is taken over its first this many seconds (bench/support/naive.ts, budgetSeconds). */
const naiveBudgetSeconds = quick ? 5 : 60;

/** Runs a bench/support entry that prints one JSON line; fails when it exits non-zero. */
async function jsonOf<T>(file: string, input: unknown): Promise<T> {
  let last = '';
  const { exited } = spawnTs(file, [JSON.stringify(input)], {
    nodeArgs: ['--expose-gc'],
    onLine: (line) => {
      if (line.startsWith('{')) last = line;
      else process.stderr.write(`${line}\n`);
    },
  });
  const { code } = await exited;
  if (code !== 0 || !last) throw new Error(`${file} failed (exit code ${code}).`);
  return JSON.parse(last) as T;
}

/** Seconds from the connector's start to ready, and from ready to `expected` rows in the types' tables. */
async function connectorRun(emulator: EmulatorProcess, backend: 'ews' | 'graph', users: string[], shape: Shape) {
  const db = await freshSchema(`catchup_${backend}`, { users, types: shape.types });
  try {
    await db.pool.query('delete from exh_set_up');
    const counted = `select ${shape.types.map((t) => `(select count(*) from ${tableOf[t]})`).join(' + ')} as n`;
    const rows = async () => Number((await db.pool.query<{ n: string }>(counted)).rows[0]?.n ?? 0);
    const expected = sizeOf(shape.mix) * shape.mailboxes;
    const spawned = performance.now();
    const application = `${db.schema}_exh`;
    const database = {
      ...db.database,
      connectionString: withApplicationName(db.database.connectionString, application),
    };
    const exh = startConnector({ database, exchange: emulator.exchange(backend) });
    let readyAt = 0;
    let cpuAtReady = { connector: 0, emulator: 0, backends: new Map<number, number>() };
    let ready: number | undefined;
    let last = { n: 0, at: performance.now() };
    try {
      for (;;) {
        if (!exh.alive()) throw new Error('The connector stopped during the catch-up; its errors are above.');
        if (ready === undefined) {
          const setUp = await db.pool.query('select 1 from exh_set_up limit 1');
          if (setUp.rowCount) {
            ready = performance.now();
            readyAt = Date.now();
            cpuAtReady = {
              connector: exh.cpuSeconds() ?? 0,
              emulator: cpuSeconds(emulator.pid) ?? 0,
              backends: await backendCpu(db.pool, application),
            };
          }
        } else {
          const n = await rows();
          if (n >= expected) {
            const done = performance.now();
            const rss = exh.rssMiB();
            const backends = await backendCpu(db.pool, application);
            if (process.env.BENCH_CATCHUP_REQUESTS === '1') await tellRequests(emulator, readyAt);
            let postgres = 0;
            for (const [pid, seconds] of backends) postgres += seconds - (cpuAtReady.backends.get(pid) ?? 0);
            const cpu = {
              process: (exh.cpuSeconds() ?? 0) - cpuAtReady.connector,
              emulator: (cpuSeconds(emulator.pid) ?? 0) - cpuAtReady.emulator,
              postgres,
            };
            return {
              cpu,
              rows: n,
              startSeconds: (ready - spawned) / 1000,
              seconds: (done - ready) / 1000,
              rss,
            };
          }
          if (n !== last.n) last = { n, at: performance.now() };
          else if (performance.now() - last.at > stallMs)
            throw new Error(`The connector stalled at ${n} of ${expected} rows for ${stallMs / 1000} s.`);
        }
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    } finally {
      await exh.stop();
    }
  } finally {
    await db.drop();
  }
}

async function aloneRun(emulator: EmulatorProcess, backend: 'ews' | 'graph', users: string[], shape: Shape) {
  const db = await freshSchema(`alone_${backend}`, { users, types: shape.types });
  try {
    return await jsonOf<AloneResult>('bench/support/alone.ts', {
      users,
      types: shape.types as ItemTypeName[],
      exchange: emulator.exchange(backend),
      database: {
        ...db.database,
        connectionString: withApplicationName(db.database.connectionString, `${db.schema}_alone`),
      },
      emulatorPid: emulator.pid,
    });
  } finally {
    await db.drop();
  }
}

async function naiveRun(emulator: EmulatorProcess, backend: 'ews' | 'graph', users: string[], shape: Shape) {
  const db = await freshSchema(`naive_${backend}`);
  try {
    const request: NaiveRequest = {
      backend,
      users,
      types: shape.types,
      emulator,
      database: db.url,
      budgetSeconds: naiveBudgetSeconds,
    };
    return await jsonOf<{ items: number; seconds: number }>('bench/support/naive.ts', request);
  } finally {
    await db.drop();
  }
}

/** BENCH_CATCHUP_REQUESTS=1: the emulator's requests since `since` (ms), one line each, on stderr. */
async function tellRequests(emulator: EmulatorProcess, since: number) {
  const log = await emulator.admin<LoggedRequest[]>('requests', { since: since - 5_000 });
  for (const r of log)
    progress(`request ${r.operation} ${r.mailbox ?? ''} at ${r.at - since} ms, ${r.answeredAt - r.at} ms, ${r.status}`);
}

/** CPU seconds per 1,000 items of each process, and the rate their sum allows on this machine's cores. */
function cpuBreakdown(label: string, exh: { rows: number; seconds: number; cpu: PartCpu }, alone: AloneResult) {
  const cores = availableParallelism();
  const per = (seconds: number, items: number) => (items ? (1000 * seconds) / items : 0);
  const part = (cpu: PartCpu, items: number, wall: number) => {
    const sum = cpu.process + cpu.emulator + cpu.postgres;
    return (
      `process ${per(cpu.process, items).toFixed(2)}, emulator ${per(cpu.emulator, items).toFixed(2)}, ` +
      `postgres ${per(cpu.postgres, items).toFixed(2)}, sum ${per(sum, items).toFixed(2)} ` +
      `(${(sum / wall).toFixed(2)} of ${cores} cores busy)`
    );
  };
  const exhSum = exh.cpu.process + exh.cpu.emulator + exh.cpu.postgres;
  progress(`${label} cpu-s per 1000 items, connector: ${part(exh.cpu, exh.rows, exh.seconds)}`);
  if (!alone.read.cpu || !alone.write?.cpu) return;
  progress(`${label} cpu-s per 1000 items, read alone: ${part(alone.read.cpu, alone.read.items, alone.read.seconds)}`);
  progress(
    `${label} cpu-s per 1000 items, write alone: ${part(alone.write.cpu, alone.write.rows, alone.write.seconds)}`,
  );
  const aloneSum =
    per(alone.read.cpu.process + alone.read.cpu.emulator + alone.read.cpu.postgres, alone.read.items) +
    per(alone.write.cpu.process + alone.write.cpu.emulator + alone.write.cpu.postgres, alone.write.rows);
  progress(
    `${label} cpu limit: read + write alone ${aloneSum.toFixed(2)} cpu-s per 1000 items → ` +
      `${((1000 * cores) / aloneSum).toFixed(0)} items/s on ${cores} cores; the connector ` +
      `${per(exhSum, exh.rows).toFixed(2)} → ${((1000 * cores) / per(exhSum, exh.rows)).toFixed(0)} items/s; ` +
      `it reached ${(exh.rows / exh.seconds).toFixed(0)}/s = ${(exh.rows / exh.seconds / ((1000 * cores) / aloneSum)).toFixed(2)} of the cpu limit`,
  );
}

runScenario(async () => {
  for (const shape of shapes) {
    const users = Array.from({ length: shape.mailboxes }, (_, i) => `bench${i}@contoso.test`);
    const emulator = await startEmulatorProcess({ mailboxes: users });
    try {
      progress(`${shape.label}: seeding ${sizeOf(shape.mix) * shape.mailboxes} items`);
      await emulator.seed({ mailboxes: users, mix: shape.mix, start: appointmentsFrom() });
      for (const backend of backends) {
        const began = performance.now();
        const took = () => `${((performance.now() - began) / 1000).toFixed(0)} s`;
        progress(`${shape.label} (${backend}): the connector`);
        const exh = await connectorRun(emulator, backend, users, shape);
        progress(`${shape.label} (${backend}): read alone, write alone (at ${took()})`);
        const alone = await aloneRun(emulator, backend, users, shape);
        progress(`${shape.label} (${backend}): the naive script (at ${took()})`);
        const naive = withNaive ? await naiveRun(emulator, backend, users, shape) : { items: 1, seconds: 1 };
        progress(`${shape.label} (${backend}): done in ${took()}`);
        const rate = exh.rows / exh.seconds;
        const read = alone.read.items / alone.read.seconds;
        const write = alone.write ? alone.write.rows / alone.write.seconds : Number.POSITIVE_INFINITY;
        const naiveRate = naive.items / naive.seconds;
        if (alone.write && alone.write.rows !== exh.rows)
          progress(`note: the connector wrote ${exh.rows} rows, the writer alone ${alone.write.rows}`);
        cpuBreakdown(`${shape.label} (${backend})`, exh, alone);
        figure(
          `catch-up ${shape.label} (${backend}): ${perSecond(exh.rows, exh.seconds)} items/s, ` +
            `ratio ${ratio(rate / Math.min(read, write))} of the limit ` +
            `(read ${perSecond(alone.read.items, alone.read.seconds)}/s, write ${alone.write ? perSecond(alone.write.rows, alone.write.seconds) : '?'}/s), ` +
            `${ratio(rate / naiveRate)}× the naive script (${perSecond(naive.items, naive.seconds)}/s over ${naive.items} items); ` +
            `${exh.rows} rows in ${exh.seconds.toFixed(1)} s after ${exh.startSeconds.toFixed(1)} s to ready, ` +
            `connector RSS ${exh.rss?.toFixed(0) ?? '?'} MiB`,
        );
      }
    } finally {
      await emulator.stop();
    }
  }
});
