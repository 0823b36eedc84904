/**
 * The connector as a user runs it: `exh start --config <file>` in a process of its own, from the sources in the
 * working tree (`node --import tsx src/cli.ts`, so a figure is never of an older build in dist/).
 *
 *   const exh = startConnector({ database: db.database, exchange: emulator.exchange('ews'), logLevel: 'warn' });
 *   await exh.waitForRecord((r) => r.event === 'mailbox.live');  // needs logLevel 'action' or lower
 *   exh.rssMiB(); exh.cpuSeconds(); await exh.stop();              // SIGTERM, as systemd stops it
 *
 * Every listener is off or on port 0 (a bench must run beside a demo or another connector); logs are JSON records
 * on its stdout, kept in `records` and written to this process's stderr when they are warnings or errors (a bench
 * that hides why it stalls measures nothing).
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cpuSeconds, rssMiB, type SpawnedTs, spawnTs, stopChild } from './process.js';

export interface ConnectorOptions {
  database: Record<string, unknown>;
  exchange: Record<string, unknown>;
  sync?: Record<string, unknown>;
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
    log: { level: options.logLevel ?? 'warn', format: 'json' },
  };
}

export function startConnector(options: ConnectorOptions): ConnectorProcess {
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
  const spawned = spawnTs('src/cli.ts', ['start', '--config', file], {
    ...(nodeArgs.length ? { nodeArgs } : {}),
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
