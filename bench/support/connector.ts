/**
 * The connector as a user runs it: `exh start --config <file>` in a process of its own, compiled (`node bin/exh.js`,
 * which runs dist/; tsx would cost some 50 MiB of RSS and its start-up). `npm run bench` builds dist/ once before the
 * scenarios; a scenario started alone needs `npm run build` first, and says so when dist/ is missing or older than a
 * source. BENCH_CONNECTOR_TSX=1 runs the sources through tsx instead (`node --import tsx src/cli.ts`).
 *
 *   const exh = startConnector({ database: db.database, exchange: emulator.exchange('ews'), logLevel: 'warn' });
 *   await exh.waitForRecord((r) => r.event === 'mailbox.live');  // needs logLevel 'action' or lower
 *   exh.rssMiB(); exh.cpuSeconds(); await exh.stop();              // SIGTERM, as systemd stops it
 *
 * Every listener is off or on port 0 (a bench must run beside a demo or another connector); logs are JSON records
 * on its stdout, kept in `records` and written to this process's stderr when they are warnings or errors (a bench
 * that hides why it stalls measures nothing).
 */
import { mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cpuSeconds, repoRoot, rssMiB, type SpawnedTs, spawnTs, stopChild } from './process.js';

export interface ConnectorOptions {
  database: Record<string, unknown>;
  exchange: Record<string, unknown>;
  sync?: Record<string, unknown>;
  /** `cluster` (docs/scale-out.md): instanceId, leaseSeconds, heartbeatSeconds; absent, a single instance. */
  cluster?: Record<string, unknown>;
  /** Merged over the listeners, which are all off or on port 0 by default. */
  listeners?: Record<string, Record<string, unknown>>;
  /** Default warn. 'action' logs mailbox.live and each applied page (a cost of its own, small). */
  logLevel?: 'debug' | 'info' | 'action' | 'warn' | 'error';
  /** Kept in `records` (default: only warnings and errors are kept). */
  keep?: (record: LogRecord) => boolean;
  /** Told every record as it comes. */
  onRecord?: (record: LogRecord) => void;
  /** Extra node flags (--cpu-prof, --max-old-space-size=...). */
  nodeArgs?: string[];
}

export interface LogRecord {
  cat?: 'E' | 'W' | 'A' | 'M';
  msg?: string;
  event?: string;
  [key: string]: unknown;
}

export interface ConnectorProcess {
  pid: number;
  records: LogRecord[];
  exited: SpawnedTs['exited'];
  alive(): boolean;
  waitForRecord(predicate: (record: LogRecord) => boolean, timeoutMs?: number): Promise<LogRecord>;
  rssMiB(): number | undefined;
  cpuSeconds(): number | undefined;
  /** SIGTERM; resolves with the exit code (0 for a clean stop). */
  stop(): Promise<number | null>;
}

/** The configuration file's content for these options. */
export function connectorConfig(options: ConnectorOptions): Record<string, unknown> {
  const listeners = options.listeners ?? {};
  return {
    database: options.database,
    exchange: options.exchange,
    listeners: {
      log: { enabled: false, ...listeners.log },
      database: { host: '127.0.0.1', port: 0, ...listeners.database },
      exchange: { host: '127.0.0.1', port: 0, ...listeners.exchange },
      graph: { enabled: false, host: '127.0.0.1', port: 0, ...listeners.graph },
      http: { enabled: false, host: '127.0.0.1', port: 0, ...listeners.http },
    },
    ...(options.sync ? { sync: options.sync } : {}),
    ...(options.cluster ? { cluster: options.cluster } : {}),
    log: { level: options.logLevel ?? 'warn', format: 'json' },
  };
}

const fromSources = process.env.BENCH_CONNECTOR_TSX === '1';
let checked = false;

/** dist/ is there and no source is newer than it: else a figure would be of another connector than the tree's. */
function checkBuilt(): void {
  if (checked || fromSources) return;
  checked = true;
  let built: number;
  try {
    built = statSync(join(repoRoot, 'dist/src/cli.js')).mtimeMs;
  } catch {
    throw new Error(
      'bench: dist/ is missing: run `npm run build` first (npm run bench does it), or set BENCH_CONNECTOR_TSX=1',
    );
  }
  const newer = ['src', 'actors', 'machines'].flatMap((dir) =>
    (readdirSync(join(repoRoot, dir), { recursive: true }) as string[])
      .filter((file) => file.endsWith('.ts') && statSync(join(repoRoot, dir, file)).mtimeMs > built)
      .map((file) => `${dir}/${file}`),
  );
  if (newer.length > 0) {
    process.stderr.write(
      `bench: ${newer.length} source file(s) changed since dist/ was built (${newer.slice(0, 3).join(', ')}${newer.length > 3 ? ', ...' : ''}): ` +
        'the connector measured is the build; run `npm run build` to measure the sources\n',
    );
  }
}

export function startConnector(options: ConnectorOptions): ConnectorProcess {
  checkBuilt();
  const dir = mkdtempSync(join(tmpdir(), 'exh-bench-'));
  const file = join(dir, 'exh.config.json');
  writeFileSync(file, JSON.stringify(connectorConfig(options), null, 2), { mode: 0o600 });
  const records: LogRecord[] = [];
  const waiters = new Set<() => void>();
  const keep = options.keep ?? ((r: LogRecord) => r.cat === 'E' || r.cat === 'W');
  // BENCH_CONNECTOR_NODE_OPTIONS (not EXH_: the connector refuses an EXH_ variable naming no key): node flags for every connector a bench starts, e.g. `--cpu-prof
  // --cpu-prof-dir=/tmp/prof` to profile it (split on spaces).
  const envArgs = process.env.BENCH_CONNECTOR_NODE_OPTIONS?.split(' ').filter(Boolean) ?? [];
  const nodeArgs = [...(options.nodeArgs ?? []), ...envArgs];
  const spawned = spawnTs(fromSources ? 'src/cli.ts' : 'bin/exh.js', ['start', '--config', file], {
    ...(nodeArgs.length ? { nodeArgs } : {}),
    tsx: fromSources,
    onLine(line) {
      let record: LogRecord;
      try {
        record = JSON.parse(line);
      } catch {
        process.stderr.write(`exh: ${line}\n`);
        return;
      }
      if (record.cat === 'E' || record.cat === 'W') process.stderr.write(`exh: ${line}\n`);
      if (keep(record)) records.push(record);
      options.onRecord?.(record);
      for (const wake of waiters) wake();
    },
  });
  void spawned.exited.then(() => {
    rmSync(dir, { recursive: true, force: true });
    for (const wake of waiters) wake();
  });
  const pid = spawned.child.pid ?? 0;
  const alive = () => spawned.child.exitCode === null && spawned.child.signalCode === null;
  return {
    pid,
    records,
    exited: spawned.exited,
    alive,
    async waitForRecord(predicate, timeoutMs = 60_000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const found = records.find(predicate);
        if (found) return found;
        const left = deadline - Date.now();
        if (left <= 0 || !alive()) throw new Error(`exh: no matching record (running: ${alive()})`);
        await new Promise<void>((resolve) => {
          const wake = () => {
            clearTimeout(timer);
            waiters.delete(wake);
            resolve();
          };
          const timer = setTimeout(wake, left);
          waiters.add(wake);
        });
      }
    },
    rssMiB: () => rssMiB(pid),
    cpuSeconds: () => cpuSeconds(pid),
    stop: () => stopChild(spawned),
  };
}
