/**
 * Several instances on one database (issue 17, docs/scale-out.md): catch-up throughput with 1, 2 and 3 instances, and
 * the time a SIGKILLed instance's mailboxes take to run elsewhere. The emulator, the PostgreSQL server and every
 * instance (`exh start` from dist/, ../support/connector.ts) each in a process of its own; every instance has a
 * `cluster` configuration (its own instanceId, one shared listeners.database.token, its own HTTP port for /readyz).
 *
 *   npm run bench -- --only cluster            (after npm run build also: node --import tsx bench/scenarios/cluster.ts)
 *   npm run bench -- --quick --only cluster    45–55 s: bench/run.ts leaves it out of the plain --quick run
 *
 * Catch-up: 100 mailboxes × 500 mixed items (quick: 30 × 100; 40% appointments, 30% e-mail, 20% contacts, 10% tasks,
 * ../support/items.ts), EWS. For each count, a fresh schema: the instances are started and have joined (exh_member)
 * before any user is registered, so that each claims only its rendezvous share and nothing is handed over mid-way;
 * then the users go into app_user, and the rate is from the first lease taken to every row in the application's
 * tables. A beat a second and the users read every 0.5 s, so that the instances' claims come close together (leases
 * of 10 s: a beat held up by a busy process must not lose them); the spread (first to last lease) is printed. One uncounted run (30 of
 * the mailboxes) first warms the emulator; then the counts run 3, 2, 1, so that any warming left favours the single
 * instance. Each instance has exchange.concurrency 8 (its default): three instances also put three times the requests
 * in flight.
 * The figure gives the CPU seconds per 1,000 items of each process (every instance, the emulator, the instances'
 * PostgreSQL backends, from /proc) and how many cores they kept busy, beside how many the whole machine did
 * (/proc/stat): on two cores more processes cannot add CPU, and whatever else runs takes its share.
 *
 * Failover: 3 instances live on 30 empty mailboxes (registered once all three joined), a trickle of new items (5 a
 * second, the four kinds in turn, round the mailboxes, each marked `bench-<seq>-<ms>`, ../support/arrivals.ts); the
 * instance holding the most leases is killed with SIGKILL. Time from the kill to its leases held by the others
 * (exh_lease) and to every one of its mailboxes live in another (their `mailbox.live` records, log level action). The
 * trickle goes on 2 s (quick: 1 s) past that; then every change must be in the database exactly once (rows counted by
 * marker). leaseSeconds 10 / heartbeatSeconds 2, and in the full form also the default 20 / 5: a crash is noticed when
 * its last lease ends and a survivor beats, at most leaseSeconds + heartbeatSeconds after the kill.
 *
 * BENCH_CLUSTER_PART=catch-up|failover runs one part only.
 */
import { randomBytes } from 'node:crypto';
import { availableParallelism } from 'node:os';
import type pg from 'pg';
import { markerColumn, marker as markerOf } from '../support/arrivals.js';
import { type ConnectorProcess, startConnector } from '../support/connector.js';
import {
  backendCpu,
  type FreshSchema,
  freshSchema,
  registerUsers,
  tableOf,
  withApplicationName,
} from '../support/database.js';
import { type EmulatorProcess, startEmulatorProcess } from '../support/emulator.js';
import { freePort, readiness } from '../support/http-probe.js';
import { appointmentsFrom, mixOf, type SeedKind, sizeOf, templates } from '../support/items.js';
import { cpuSeconds, machineBusy, waitUntil } from '../support/process.js';
import { figure, perSecond, progress, quick, ratio, runScenario } from '../support/report.js';

const catchUpShape = quick ? { mailboxes: 30, items: 100 } : { mailboxes: 100, items: 500 };
/** Run in this order: any warming favours the single instance. */
const counts = [3, 2, 1];
/**
 * A beat a second, so that the instances' claims of newly registered users come close together; a lease of 10 s, so
 * that a beat held up by a busy process does not lose every lease (with 4 s one instance lost its 100 mailboxes' leases
 * near the end of its catch-up, EXH_CLUSTER_LEASE_LOST, on this loaded machine).
 */
const catchUpCluster = { leaseSeconds: 10, heartbeatSeconds: 1 };
const failoverLeases = quick
  ? [{ leaseSeconds: 10, heartbeatSeconds: 2 }]
  : [
      { leaseSeconds: 10, heartbeatSeconds: 2 },
      { leaseSeconds: 20, heartbeatSeconds: 5 },
    ];
const failoverMailboxes = 30;
const trickleRate = 5;
/** The trickle runs this long before the kill and this long after the mailboxes are live elsewhere. */
const trickleMarginMs = quick ? 1_000 : 2_000;
/** How long a change made is waited for, after the trickle, before it counts as missing. */
const drainMs = 30_000;
const stallMs = 60_000;
const part = process.env.BENCH_CLUSTER_PART;

const token = randomBytes(24).toString('hex');
const scenarioStarted = performance.now();
/** Progress with the seconds since the scenario started (where the quick form's time goes). */
const step = (message: string) =>
  progress(`${((performance.now() - scenarioStarted) / 1000).toFixed(1)} s: ${message}`);
const addresses = (prefix: string, n: number) => Array.from({ length: n }, (_, i) => `${prefix}${i}@contoso.test`);

interface Instance {
  id: string;
  exh: ConnectorProcess;
  httpPort: number;
}

/** `count` instances on `db`, each with its own id, HTTP port and application_name (`<schema>_<id>`). */
async function startInstances(
  db: FreshSchema,
  emulator: EmulatorProcess,
  count: number,
  cluster: { leaseSeconds: number; heartbeatSeconds: number },
  options: { logLevel: 'warn' | 'action'; onRecord?: (id: string, record: Record<string, unknown>) => void },
): Promise<Instance[]> {
  const instances: Instance[] = [];
  for (let n = 1; n <= count; n++) {
    const id = `exh-${n}`;
    const httpPort = await freePort();
    const exh = startConnector({
      database: {
        ...db.database,
        connectionString: withApplicationName(db.database.connectionString, `${db.schema}_${id}`),
      },
      exchange: emulator.exchange('ews'),
      cluster: { instanceId: id, ...cluster },
      listeners: { database: { token }, http: { enabled: true, port: httpPort } },
      // Users registered after the start are read within half a second (the default is 5 minutes).
      sync: { usersRefreshMs: 500 },
      logLevel: options.logLevel,
      ...(options.onRecord ? { onRecord: (record) => options.onRecord?.(id, record) } : {}),
    });
    instances.push({ id, exh, httpPort });
  }
  return instances;
}

async function stopAll(instances: Instance[]): Promise<void> {
  const codes = await Promise.all(instances.map((i) => i.exh.stop()));
  codes.forEach((code, k) => {
    if (code !== 0 && code !== null) step(`${instances[k]?.id} exited with ${code}`);
  });
}

async function scalar(pool: pg.Pool, sql: string): Promise<number> {
  return Number((await pool.query<{ n: string }>(sql)).rows[0]?.n ?? 0);
}

interface Cpu {
  instances: number[];
  emulator: number;
  postgres: Map<number, number>;
  machine: { busy: number; all: number } | undefined;
}

async function cpuNow(instances: Instance[], emulator: EmulatorProcess, db: FreshSchema): Promise<Cpu> {
  return {
    instances: instances.map((i) => i.exh.cpuSeconds() ?? 0),
    emulator: cpuSeconds(emulator.pid) ?? 0,
    postgres: await backendCpu(db.pool, `${db.schema}_exh-%`),
    machine: machineBusy(),
  };
}

interface CatchUpRun {
  count: number;
  rows: number;
  seconds: number;
  /** From the first lease taken to the last user's. */
  leaseSpread: number;
  /** Mailboxes each instance held at the end. */
  shares: number[];
  cpu: { instances: number[]; emulator: number; postgres: number };
  /** Cores the whole machine kept busy meanwhile (these processes and anything else running). */
  machineCores: number;
  /** cluster.leasesLost warnings of the instances (every mailbox of one stopped, then taken again). */
  leasesLost: number;
}

async function catchUpRun(emulator: EmulatorProcess, count: number, users: string[]): Promise<CatchUpRun> {
  const db = await freshSchema(`cluster_${count}`);
  let leasesLost = 0;
  const instances = await startInstances(db, emulator, count, catchUpCluster, {
    logLevel: 'warn',
    onRecord: (_id, record) => {
      if (record.event === 'cluster.leasesLost') leasesLost++;
    },
  });
  const alive = () => instances.every((i) => i.exh.alive());
  try {
    await waitUntil(
      `${count} instances in exh_member`,
      async () => (await scalar(db.pool, 'select count(*) as n from exh_member')) >= count,
      { alive, intervalMs: 100, timeoutMs: 120_000 },
    );
    step(`catch-up: ${count} joined`);
    await registerUsers(db.pool, users);
    await waitUntil('a lease', async () => (await scalar(db.pool, 'select count(*) as n from exh_lease')) > 0, {
      alive,
      intervalMs: 20,
      timeoutMs: 60_000,
    });
    const began = performance.now();
    const before = await cpuNow(instances, emulator, db);
    const expected = users.length * sizeOf(mixOf(catchUpShape.items));
    const counted = `select ${Object.values(tableOf)
      .map((t) => `(select count(*) from ${t})`)
      .join(' + ')} as n`;
    let allLeased: number | undefined;
    let last = { n: -1, at: performance.now() };
    for (;;) {
      if (!alive()) throw new Error('An instance stopped during the catch-up; its errors are above.');
      if (allLeased === undefined && (await scalar(db.pool, 'select count(*) as n from exh_lease')) >= users.length)
        allLeased = performance.now();
      const n = await scalar(db.pool, counted);
      if (n >= expected) break;
      if (n !== last.n) last = { n, at: performance.now() };
      else if (performance.now() - last.at > stallMs)
        throw new Error(`${count} instances stalled at ${n} of ${expected} rows for ${stallMs / 1000} s.`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    const seconds = (performance.now() - began) / 1000;
    step(`catch-up: ${count} caught up`);
    const after = await cpuNow(instances, emulator, db);
    let postgres = 0;
    for (const [pid, s] of after.postgres) postgres += s - (before.postgres.get(pid) ?? 0);
    const held = await db.pool.query<{ id: string; n: string }>(
      'select exh_instance_id as id, count(*) as n from exh_lease where exh_expires_at > now() group by 1',
    );
    const shares = instances.map((i) => Number(held.rows.find((r) => r.id === i.id)?.n ?? 0));
    return {
      count,
      rows: expected,
      seconds,
      leaseSpread: ((allLeased ?? began) - began) / 1000,
      shares,
      cpu: {
        instances: after.instances.map((s, k) => s - (before.instances[k] ?? 0)),
        emulator: after.emulator - before.emulator,
        postgres,
      },
      machineCores:
        before.machine && after.machine
          ? ((after.machine.busy - before.machine.busy) / (after.machine.all - before.machine.all)) *
            availableParallelism()
          : Number.NaN,
      leasesLost,
    };
  } finally {
    await stopAll(instances);
    await db.drop();
  }
}

function describeCatchUp(run: CatchUpRun, single: CatchUpRun | undefined): string {
  const per = (s: number) => ((1000 * s) / run.rows).toFixed(2);
  const exh = run.cpu.instances.reduce((a, b) => a + b, 0);
  const sum = exh + run.cpu.emulator + run.cpu.postgres;
  const rate = run.rows / run.seconds;
  const vsOne = single && single !== run ? ` = ${ratio(rate / (single.rows / single.seconds))}× one` : '';
  // CPU per item against one instance's: what more processes cost, whatever share of the machine the run got.
  const singleSum =
    single && single.cpu.instances.reduce((a, b) => a + b, 0) + single.cpu.emulator + single.cpu.postgres;
  const cpuVsOne =
    single && single !== run && singleSum ? ` (${ratio(sum / run.rows / (singleSum / single.rows))}× one's)` : '';
  return (
    `${run.count} instance${run.count > 1 ? 's' : ''} ${perSecond(run.rows, run.seconds)} items/s${vsOne} ` +
    `(${run.seconds.toFixed(1)} s; mailboxes ${run.shares.join('/')}, last lease ${run.leaseSpread.toFixed(1)} s after the first; ` +
    `cpu-s per 1000 items: exh ${run.cpu.instances.map(per).join('+')}, emulator ${per(run.cpu.emulator)}, ` +
    `postgres ${per(run.cpu.postgres)}, sum ${per(sum)}${cpuVsOne}: ${(sum / run.seconds).toFixed(2)} of ${availableParallelism()} cores busy with these, ` +
    `${run.machineCores.toFixed(2)} with everything on the machine` +
    `${run.leasesLost ? `; leases lost ${run.leasesLost} time(s), cluster.leasesLost` : ''})`
  );
}

async function catchUp(): Promise<void> {
  const users = addresses('cluster', catchUpShape.mailboxes);
  const emulator = await startEmulatorProcess({ mailboxes: users });
  try {
    const mix = mixOf(catchUpShape.items);
    step(`catch-up: seeding ${catchUpShape.mailboxes} × ${sizeOf(mix)} items`);
    await emulator.seed({ mailboxes: users, mix, start: appointmentsFrom() });
    // The emulator's first catch-up is slower (its code still cold: 0.33 against 0.19 cpu-s per 1,000 items in a run
    // without this): one instance on 30 of the mailboxes first, not counted.
    step('catch-up: warming up (1 instance on 30 of the mailboxes, not counted)');
    await catchUpRun(emulator, 1, users.slice(0, 30));
    const runs: CatchUpRun[] = [];
    for (const count of counts) {
      step(`catch-up: ${count} instance(s)`);
      const run = await catchUpRun(emulator, count, users);
      step(`catch-up: ${describeCatchUp(run, undefined)}`);
      runs.push(run);
    }
    const single = runs.find((r) => r.count === 1);
    const ordered = [...runs].sort((a, b) => a.count - b.count);
    figure(
      `cluster catch-up ${catchUpShape.mailboxes}×${catchUpShape.items} mixed (ews), 1/2/3 instances on one database: ` +
        `${ordered.map((r) => describeCatchUp(r, single)).join('; ')}. On ${availableParallelism()} cores more ` +
        'processes add no CPU: the instances, the emulator and PostgreSQL share it (exchange.concurrency 8 each)',
    );
  } finally {
    await emulator.stop();
  }
}

interface Made {
  seq: number;
  user: string;
  at: number;
}

const kinds: SeedKind[] = ['CalendarItem', 'Message', 'Contact', 'Task'];
/** Numbers every change of the scenario: the mailboxes (and their earlier items) are the same in each failover run. */
let lastSeq = 0;

/** New items at `rate` a second over `users` in turn until `stop()` holds, each marked; what was made is returned. */
async function trickle(emulator: EmulatorProcess, users: string[], stop: () => boolean): Promise<Made[]> {
  const made: Made[] = [];
  const started = performance.now();
  for (let k = 0; !stop(); k++) {
    const due = started + (k * 1000) / trickleRate;
    const wait = due - performance.now();
    if (wait > 1) await new Promise((resolve) => setTimeout(resolve, wait));
    const seq = ++lastSeq;
    const user = users[k % users.length] as string;
    const kind = kinds[k % kinds.length] as SeedKind;
    const mark = markerOf(seq, Date.now());
    const marked = kind === 'Contact' ? { GivenName: `Annemarie ${mark}` } : { Subject: `Trickle ${mark}` };
    const start = Math.floor(Date.now() / 3_600_000 + 1) * 3_600_000;
    await emulator.admin('createItem', user, {
      kind,
      ...templates[kind],
      ...(kind === 'Message' ? { folder: 'inbox' } : {}),
      ...(kind === 'CalendarItem'
        ? { Start: new Date(start).toISOString(), End: new Date(start + 1_800_000).toISOString() }
        : {}),
      ...marked,
    });
    made.push({ seq, user, at: performance.now() });
  }
  return made;
}

/** Rows per change seq in the application's tables (by its marker). */
async function rowsPerSeq(pool: pg.Pool): Promise<Map<number, number>> {
  const marked = Object.entries(markerColumn)
    .map(([table, column]) => `select (regexp_match(${column}, 'bench-(\\d+)-'))[1]::int as seq from ${table}`)
    .join(' union all ');
  const { rows } = await pool.query<{ seq: number; n: number }>(
    `select seq, count(*)::int as n from (${marked}) m where seq is not null group by seq`,
  );
  return new Map(rows.map((r) => [r.seq, r.n]));
}

async function failoverRun(
  emulator: EmulatorProcess,
  users: string[],
  lease: { leaseSeconds: number; heartbeatSeconds: number },
): Promise<string> {
  const db = await freshSchema('cluster_failover');
  /** When each instance told a mailbox live (`<id> <user>` → performance.now()), the last time. */
  const liveAt = new Map<string, number>();
  let leasesLost = 0;
  const instances = await startInstances(db, emulator, 3, lease, {
    logLevel: 'action',
    onRecord: (id, record) => {
      if (record.event === 'mailbox.live') liveAt.set(`${id} ${String(record.user).toLowerCase()}`, performance.now());
      if (record.event === 'cluster.leasesLost') leasesLost++;
    },
  });
  const leases = async () =>
    (
      await db.pool.query<{ user: string; id: string; live: boolean }>(
        'select exh_user_key as user, exh_instance_id as id, exh_expires_at > now() as live from exh_lease',
      )
    ).rows;
  let stopTrickle = false;
  let trickling: Promise<Made[]> | undefined;
  try {
    const started = performance.now();
    // Registered once the three have joined: each claims its share, nothing is handed over on the way.
    await waitUntil(
      '3 instances in exh_member',
      async () => (await scalar(db.pool, 'select count(*) as n from exh_member')) >= 3,
      {
        alive: () => instances.every((i) => i.exh.alive()),
        intervalMs: 100,
        timeoutMs: 120_000,
      },
    );
    await registerUsers(db.pool, users);
    await waitUntil(
      `${users.length} mailboxes live, spread over the 3 instances`,
      async () => {
        const ready = await Promise.all(instances.map((i) => readiness(i.httpPort)));
        const total = ready.reduce((sum, r) => sum + (r?.total ?? 0), 0);
        const live = ready.reduce((sum, r) => sum + (r?.live ?? 0), 0);
        return total === users.length && live === users.length && ready.every((r) => (r?.total ?? 0) > 0);
      },
      { alive: () => instances.every((i) => i.exh.alive()), intervalMs: 250, timeoutMs: 120_000 },
    );
    step(
      `failover: ${users.length} mailboxes live on 3 instances after ${((performance.now() - started) / 1000).toFixed(1)} s`,
    );
    trickling = trickle(emulator, users, () => stopTrickle);
    await new Promise((resolve) => setTimeout(resolve, trickleMarginMs));
    const held = (await leases()).filter((l) => l.live);
    const byInstance = instances.map((i) => ({ i, users: held.filter((l) => l.id === i.id).map((l) => l.user) }));
    const victim = byInstance.reduce((a, b) => (b.users.length > a.users.length ? b : a));
    const orphaned = victim.users;
    const survivors = instances.filter((i) => i !== victim.i).map((i) => i.id);
    const killedAt = performance.now();
    process.kill(victim.i.exh.pid, 'SIGKILL');
    step(`failover: SIGKILL ${victim.i.id}, holding ${orphaned.length} of ${users.length} leases`);
    let leasedAt: number | undefined;
    let liveAllAt: number | undefined;
    const deadline = killedAt + (lease.leaseSeconds + lease.heartbeatSeconds + 60) * 1000;
    while (liveAllAt === undefined || leasedAt === undefined) {
      if (performance.now() > deadline) {
        const missing = orphaned.filter((u) => !survivors.some((id) => (liveAt.get(`${id} ${u}`) ?? 0) > killedAt));
        throw new Error(`${victim.i.id}'s mailboxes not live elsewhere in time: ${missing.join(', ')}`);
      }
      const now = performance.now();
      if (leasedAt === undefined) {
        const moved = new Map((await leases()).filter((l) => l.live).map((l) => [l.user, l.id]));
        if (orphaned.every((u) => survivors.includes(moved.get(u) ?? ''))) leasedAt = now;
      }
      if (
        liveAllAt === undefined &&
        orphaned.every((u) => survivors.some((id) => (liveAt.get(`${id} ${u}`) ?? 0) > killedAt))
      ) {
        liveAllAt = Math.max(...orphaned.map((u) => Math.max(...survivors.map((id) => liveAt.get(`${id} ${u}`) ?? 0))));
      }
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    await new Promise((resolve) => setTimeout(resolve, trickleMarginMs));
    stopTrickle = true;
    const made = await trickling;
    trickling = undefined;
    let rows = new Map<number, number>();
    await waitUntil(
      `all ${made.length} changes in the database`,
      async () => {
        rows = await rowsPerSeq(db.pool);
        return made.every((m) => (rows.get(m.seq) ?? 0) > 0);
      },
      { intervalMs: 250, timeoutMs: drainMs },
    ).catch(() => undefined);
    const missing = made.filter((m) => !rows.get(m.seq)).length;
    const twice = made.filter((m) => (rows.get(m.seq) ?? 0) > 1).length;
    const orphanedSet = new Set(orphaned);
    const inGap = made.filter((m) => orphanedSet.has(m.user) && m.at >= killedAt && m.at <= (liveAllAt ?? 0)).length;
    const s = (at: number) => ((at - killedAt) / 1000).toFixed(1);
    return (
      `cluster failover (ews), leaseSeconds ${lease.leaseSeconds}, heartbeatSeconds ${lease.heartbeatSeconds}: ` +
      `SIGKILL of 1 of 3 instances (${victim.i.id}, ${orphaned.length} of ${users.length} mailboxes) → its leases held ` +
      `by the others after ${s(leasedAt)} s, all its mailboxes live there after ${s(liveAllAt)} s ` +
      `(the leases within leaseSeconds + heartbeatSeconds = ${lease.leaseSeconds + lease.heartbeatSeconds} s of a crash); ` +
      `${made.length} new items made at ${trickleRate}/s throughout (${inGap} in its mailboxes between the kill and ` +
      `live): ${made.length - missing - twice} in the database once, ${missing} missing, ${twice} more than once` +
      (leasesLost ? `; cluster.leasesLost ${leasesLost} time(s) in the instances` : '')
    );
  } finally {
    stopTrickle = true;
    await trickling?.catch(() => undefined);
    await stopAll(instances);
    await db.drop();
  }
}

async function failover(): Promise<void> {
  const users = addresses('failover', failoverMailboxes);
  const emulator = await startEmulatorProcess({ mailboxes: users });
  try {
    await emulator.seed({ mailboxes: users, mix: {}, start: 0 });
    for (const lease of failoverLeases) {
      step(`failover: leaseSeconds ${lease.leaseSeconds}, heartbeatSeconds ${lease.heartbeatSeconds}`);
      figure(await failoverRun(emulator, users, lease));
    }
  } finally {
    await emulator.stop();
  }
}

runScenario(async () => {
  if (part !== 'failover') await catchUp();
  if (part !== 'catch-up') await failover();
});
