/**
 * Child processes for the benchmarks: every part a user runs apart (the emulator, the connector, a reader or writer
 * measured alone) runs here in a process of its own, so that a figure is not one event loop's share of another's.
 *
 * - spawnTs(file, args): `node --import tsx <file>` from the repository root, its stdout read line by line
 *   (`{ tsx: false }`: `node <file>`, for the compiled connector).
 * - rssMiB(pid), cpuSeconds(pid): what /proc says of a process (Linux; undefined elsewhere).
 * - machineBusy(): CPU ticks of the whole machine so far (/proc/stat), busy and in all, to tell what others took.
 * - waitUntil(what, check): polls until check() holds; fails naming what it waited for.
 * - stopChild(child): SIGTERM, then SIGKILL after a grace period; resolves with the exit code.
 */
import { type ChildProcess, type SpawnOptions, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export const repoRoot = fileURLToPath(new URL('../..', import.meta.url));

export interface SpawnedTs {
  child: ChildProcess;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/**
 * `node --import tsx <file> ...args` from the repository root. Its stdout goes to `onLine` line by line (default: this
 * process's stderr, since a scenario's stdout carries its figures only), its stderr to this process's stderr.
 */
export function spawnTs(
  file: string,
  args: string[] = [],
  options: {
    onLine?: (line: string) => void;
    env?: NodeJS.ProcessEnv;
    ipc?: boolean;
    nodeArgs?: string[];
    /** false: `file` is JavaScript, run by node alone (the connector from dist/). */
    tsx?: boolean;
  } = {},
): SpawnedTs {
  const spawnOptions: SpawnOptions = {
    cwd: repoRoot,
    env: { ...process.env, ...options.env },
    stdio: ['ignore', 'pipe', 'inherit', ...(options.ipc ? (['ipc'] as const) : [])],
  };
  const loader = options.tsx === false ? [] : ['--import', 'tsx'];
  const child = spawn(process.execPath, [...(options.nodeArgs ?? []), ...loader, file, ...args], spawnOptions);
  const onLine = options.onLine ?? ((line: string) => process.stderr.write(`${line}\n`));
  let buffered = '';
  child.stdout?.setEncoding('utf8').on('data', (chunk: string) => {
    buffered += chunk;
    let end = buffered.indexOf('\n');
    while (end >= 0) {
      onLine(buffered.slice(0, end));
      buffered = buffered.slice(end + 1);
      end = buffered.indexOf('\n');
    }
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.on('exit', (code, signal) => {
      if (buffered) onLine(buffered);
      resolve({ code, signal });
    }),
  );
  return { child, exited };
}

/** SIGTERM, then SIGKILL after `graceMs`; resolves once the process has exited. */
export async function stopChild(spawned: SpawnedTs, graceMs = 15_000): Promise<number | null> {
  const { child } = spawned;
  if (child.exitCode !== null || child.signalCode !== null) return child.exitCode;
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
  const { code } = await spawned.exited;
  clearTimeout(timer);
  return code;
}

/** Resident memory of a process in MiB (VmRSS of /proc/<pid>/status); undefined where there is no /proc. */
export function rssMiB(pid: number): number | undefined {
  try {
    const match = /^VmRSS:\s+(\d+)\s+kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return match ? Number(match[1]) / 1024 : undefined;
  } catch {
    return undefined;
  }
}

/** CPU time (user + system) a process has used, in seconds (/proc/<pid>/stat, clock ticks of 100 Hz). */
export function cpuSeconds(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name may contain spaces: the fields are counted after its closing parenthesis.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return undefined;
  }
}

/**
 * The whole machine's CPU ticks so far (/proc/stat's first line): busy (user, nice, system, irq, softirq, steal) and
 * in all (those, idle and iowait). Between two readings, busy ÷ all × cores is how many cores were busy, by this
 * benchmark or by anything else running; undefined where there is no /proc.
 */
export function machineBusy(): { busy: number; all: number } | undefined {
  try {
    const fields = readFileSync('/proc/stat', 'utf8').split('\n')[0]?.trim().split(/\s+/).slice(1).map(Number) ?? [];
    const [user = 0, nice = 0, system = 0, idle = 0, iowait = 0, irq = 0, softirq = 0, steal = 0] = fields;
    const busy = user + nice + system + irq + softirq + steal;
    return { busy, all: busy + idle + iowait };
  } catch {
    return undefined;
  }
}

/**
 * Polls `check` every `intervalMs` until it holds; fails after `timeoutMs`, or at once when `alive` says the process
 * that should make it hold has gone.
 */
export async function waitUntil(
  what: string,
  check: () => boolean | Promise<boolean>,
  options: { timeoutMs?: number; intervalMs?: number; alive?: () => boolean } = {},
): Promise<void> {
  const deadline = Date.now() + (options.timeoutMs ?? 600_000);
  while (!(await check())) {
    if (options.alive && !options.alive()) throw new Error(`The process stopped before ${what}.`);
    if (Date.now() > deadline) throw new Error(`No ${what} within ${(options.timeoutMs ?? 600_000) / 1000} s.`);
    await new Promise((resolve) => setTimeout(resolve, options.intervalMs ?? 50));
  }
}
