/**
 * Scale: many mailboxes registered and live at once.
 *
 *   npm run build && node --import tsx bench/scenarios/scale.ts [--quick] [--mailboxes N]
 *
 * 10,000 mailboxes (quick: 1,000) × 4 item types, empty (what is measured is registration, not catch-up), on EWS with
 * streaming notifications. Time from the connector's start to all live (its /readyz counts the live mailboxes,
 * src/http/routes/health.ts), its RSS then (and its peak, /proc), and its CPU over 30 s (quick: 10 s) of idleness once
 * all are live (/proc/<pid>/stat). Then, full run only, the same from a fresh schema at exchange.concurrency 32 beside
 * the default 8: registration should be bounded by the concurrency. The emulator's hanging-connection limit is raised
 * to one connection per mailbox and more, so the figure holds whether or not the connector groups subscriptions on
 * shared streaming connections; the connections it really holds to the emulator are counted and printed. The connector
 * runs compiled from dist/ (../support/connector.ts; through tsx it cost some 50 MiB of RSS more: 212 against 164 MiB
 * with one mailbox at 6e10098); its RSS with one mailbox is measured too, so the cost per mailbox is beside the total.
 * `--mailboxes N` measures another count (a profile at 2,500: BENCH_CONNECTOR_NODE_OPTIONS, ../support/connector.ts). RSS is taken when all are live and again after the idle period: most of it
 * is then garbage of the registration V8 has not given back (a heap snapshot at 1,000 live mailboxes: 41 KiB live heap
 * each), so the second figure says whether it did.
 */

import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { LoggedRequest } from '../../emulator/index.js';
import { startConnector } from '../support/connector.js';
import { freshSchema } from '../support/database.js';
import { type EmulatorProcess, startEmulatorProcess } from '../support/emulator.js';
import { freePort, readiness } from '../support/http-probe.js';
import { connectionsTo, peakRssMiB } from '../support/proc-net.js';
import { waitUntil } from '../support/process.js';
import { figure, progress, quick, ratio, runScenario } from '../support/report.js';

const countAt = process.argv.indexOf('--mailboxes');
const mailboxCount = countAt >= 0 ? Number(process.argv[countAt + 1]) : quick ? 1_000 : 10_000;
const idleSeconds = quick ? 10 : 30;
const concurrencies = quick ? [8] : [8, 32];
const rssTargetMiB = 400;
const users = Array.from({ length: mailboxCount }, (_, i) => `scale${i}@contoso.test`);
/** Enough for one streaming connection per mailbox however the emulator counts them, plus the pool's. */
const hangingLimit = mailboxCount + 100;

/**
 * BENCH_HEAP_SNAPSHOT_DIR: a heap snapshot of each connector once all its mailboxes are live, written there (V8 collects
 * the garbage first, so it holds the live heap; read it with Chrome's memory tab or bench/support/heap-summary.ts).
 */
const heapDir = process.env.BENCH_HEAP_SNAPSHOT_DIR;

/** Signals the connector to write a heap snapshot and waits until the file stops growing. */
async function heapSnapshot(pid: number): Promise<string> {
  const dir = heapDir ?? '.';
  const before = new Set(readdirSync(dir));
  process.kill(pid, 'SIGUSR2');
  let file: string | undefined;
  let size = -1;
  await waitUntil(
    'the heap snapshot',
    () => {
      file ??= readdirSync(dir).find((name) => name.endsWith('.heapsnapshot') && !before.has(name));
      if (!file) return false;
      const now = statSync(join(dir, file)).size;
      const stable = now > 0 && now === size;
      size = now;
      return stable;
    },
    { intervalMs: 2_000, timeoutMs: 600_000 },
  );
  return join(dir, file ?? '');
}

interface Registration {
  concurrency: number;
  seconds: number;
  /** CPU the connector used from its start to all live. */
  cpuSeconds: number;
  rssMiB: number;
  peakMiB: number;
  idleCpuShare?: number;
  /** RSS at the end of the idle period: what registration left as garbage is collected by then, or most of it. */
  idleRssMiB?: number;
  connections: number;
  /** Streaming subscriptions the emulator has attached to a connection. */
  attached: number;
  /** EWS requests per mailbox by operation, and the seconds the emulator spent answering them; absent when its log
   * (the last 10,000 requests) could not hold them all. */
  requests?: { perMailbox: Record<string, number>; busySeconds: number };
}

/** What the emulator answered since `since` (its request log), when the log still holds all of it. */
async function requestsSince(emulator: EmulatorProcess, since: number, mailboxes: number) {
  const log = await emulator.admin<LoggedRequest[]>('requests', { since });
  if (log.length >= 10_000) return undefined;
  const perMailbox: Record<string, number> = {};
  let busy = 0;
  for (const entry of log) {
    perMailbox[entry.operation] = (perMailbox[entry.operation] ?? 0) + 1 / mailboxes;
    // A stream is answered when its headers go out: its time is not work.
    if (entry.operation !== 'GetStreamingEvents') busy += entry.answeredAt - entry.at;
  }
  return { perMailbox, busySeconds: busy / 1000 };
}

async function register(
  emulator: EmulatorProcess,
  concurrency: number,
  options: { idle?: boolean; users?: string[] } = {},
): Promise<Registration> {
  const registered = options.users ?? users;
  const db = await freshSchema(`scale_${concurrency}`, { users: registered });
  const port = await freePort();
  const since = Date.now();
  const started = performance.now();
  const exh = startConnector({
    database: db.database,
    exchange: emulator.exchange('ews', { concurrency }),
    listeners: { http: { enabled: true, port } },
    logLevel: 'warn',
    ...(heapDir ? { nodeArgs: ['--heapsnapshot-signal=SIGUSR2', `--diagnostic-dir=${heapDir}`] } : {}),
  });
  try {
    let live = 0;
    let shown = 0;
    await waitUntil(
      `${registered.length} mailboxes live`,
      async () => {
        live = (await readiness(port))?.live ?? live;
        if (live - shown >= registered.length / 10) {
          shown = live;
          progress(`${live} live after ${((performance.now() - started) / 1000).toFixed(1)} s`);
        }
        return live >= registered.length;
      },
      { alive: exh.alive, intervalMs: 500, timeoutMs: 1_800_000 },
    );
    const seconds = (performance.now() - started) / 1000;
    const cpuSeconds = exh.cpuSeconds() ?? Number.NaN;
    const rssMiB = exh.rssMiB() ?? Number.NaN;
    const peakMiB = peakRssMiB(exh.pid) ?? Number.NaN;
    const connections = connectionsTo(exh.pid, Number(new URL(emulator.url).port)) ?? Number.NaN;
    const subscriptions = await emulator.admin<{ kind: string; connected: boolean }[]>('subscriptions');
    const attached = subscriptions.filter((s) => s.kind === 'streaming' && s.connected).length;
    const requests = await requestsSince(emulator, since, registered.length);
    if (requests) {
      const counts = Object.entries(requests.perMailbox).map(([op, n]) => `${op} ${n.toFixed(1)}`);
      progress(`requests per mailbox: ${counts.join(', ')}; the emulator busy ${requests.busySeconds.toFixed(1)} s`);
    }
    progress(
      `${registered.length} mailboxes, concurrency ${concurrency}: all live in ${seconds.toFixed(1)} s, RSS ${rssMiB.toFixed(0)} MiB, ` +
        `${connections} connections to the emulator, ${attached} streaming subscriptions attached`,
    );
    if (heapDir) {
      // After the figures above: writing a snapshot takes a while and a heap's worth of memory.
      const snapshot = await heapSnapshot(exh.pid);
      progress(`heap snapshot of ${registered.length} live mailboxes: ${snapshot}`);
    }
    let idleCpuShare: number | undefined;
    let idleRssMiB: number | undefined;
    if (options.idle) {
      // Nothing asks anything of it now (not even /readyz): what it spends is its own keeping-alive.
      const before = exh.cpuSeconds() ?? Number.NaN;
      await new Promise((resolve) => setTimeout(resolve, idleSeconds * 1000));
      idleCpuShare = ((exh.cpuSeconds() ?? Number.NaN) - before) / idleSeconds;
      idleRssMiB = exh.rssMiB();
    }
    return {
      concurrency,
      seconds,
      cpuSeconds,
      rssMiB,
      peakMiB,
      connections,
      attached,
      ...(requests ? { requests } : {}),
      ...(idleCpuShare === undefined ? {} : { idleCpuShare }),
      ...(idleRssMiB === undefined ? {} : { idleRssMiB }),
    };
  } finally {
    const code = await exh.stop();
    if (code !== 0) progress(`the connector exited with ${code}`);
    await db.drop();
  }
}

runScenario(async () => {
  const emulator = await startEmulatorProcess({ mailboxes: users.slice(0, 1), maxHangingConnections: hangingLimit });
  try {
    await emulator.seed({ mailboxes: users, mix: {}, start: 0 });
    progress(`${mailboxCount} empty mailboxes; emulator max hanging connections ${hangingLimit}`);
    // The connector with one mailbox: what its process costs before any mailbox (Node, the modules, the pools).
    const one = await register(emulator, 8, { users: users.slice(0, 1) });
    const runs: Registration[] = [];
    for (const [index, concurrency] of concurrencies.entries())
      runs.push(await register(emulator, concurrency, { idle: index === 0 }));
    const [first] = runs;
    if (!first) return;
    const perMailbox = ((first.rssMiB - one.rssMiB) * 1024) / (mailboxCount - 1);
    // At most `concurrency` of them are the pool's; the rest carry streaming subscriptions.
    const grouped = first.connections - first.concurrency < mailboxCount / 2;
    figure(
      `scale, ${mailboxCount} mailboxes × 4 types live: ${first.rssMiB.toFixed(0)} MiB RSS ` +
        `(peak ${first.peakMiB.toFixed(0)} MiB, ${(first.idleRssMiB ?? Number.NaN).toFixed(0)} MiB after ${idleSeconds} s idle), ratio ${ratio(first.rssMiB / rssTargetMiB)} of the limit (${rssTargetMiB} MiB) ` +
        `— target ≤ 400 MB; with one mailbox ${one.rssMiB.toFixed(0)} MiB, so ${perMailbox.toFixed(0)} KiB per live ` +
        `mailbox; ${first.attached} streaming subscriptions on ${first.connections} connections to Exchange ` +
        `(${grouped ? 'grouped on shared streaming connections' : 'about one streaming connection per mailbox'}, ` +
        `pool of ${first.concurrency} included; ` +
        `emulator hanging-connection limit raised to ${hangingLimit})`,
    );
    figure(
      `scale, ${mailboxCount} mailboxes: idle CPU ${((first.idleCpuShare ?? Number.NaN) * 100).toFixed(1)}% of a core ` +
        `over ${idleSeconds} s once all live`,
    );
    const speeds = runs.map(
      (r) =>
        `concurrency ${r.concurrency}: ${r.seconds.toFixed(1)} s (${Math.round(mailboxCount / r.seconds)} mailboxes/s, ` +
        `connector CPU ${r.cpuSeconds.toFixed(1)} s)`,
    );
    const last = runs.at(-1);
    const scaling =
      last && last !== first
        ? `, ${ratio(first.seconds / last.seconds)}× faster at ${last.concurrency / first.concurrency}× the concurrency`
        : '';
    const busy = first.requests
      ? `; the emulator was busy ${first.requests.busySeconds.toFixed(1)} s of the first run's ` +
        `${first.seconds.toFixed(1)} s (${Object.values(first.requests.perMailbox)
          .reduce((sum, n) => sum + n, 0)
          .toFixed(1)} requests per mailbox)`
      : '';
    figure(`scale, ${mailboxCount} mailboxes: start to all live, ${speeds.join('; ')}${scaling}${busy}`);
  } finally {
    await emulator.stop();
  }
});
