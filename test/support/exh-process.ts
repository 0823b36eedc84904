import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

/**
 * The `exh` command as tests run it: the sources through tsx (test/support/exh-sources.js), so that a test never runs
 * an older build; `node <exhBin> …` works like `exh …`. The built bin/exh.js has its own test (test/bin/exh.test.ts).
 */
export const exhBin = fileURLToPath(new URL('./exh-sources.js', import.meta.url));

export interface LogRecord {
  cat: 'E' | 'W' | 'A' | 'M';
  msg: string;
  event?: string;
  [key: string]: unknown;
}

/** `exh …` as a real child process, its stdout read as pino JSON records; `script` is the built bin/exh.js in test/bin/. */
export function runExh(args: string[], env: NodeJS.ProcessEnv = {}, script = exhBin) {
  const child: ChildProcess = spawn(process.execPath, [script, ...args], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const records: LogRecord[] = [];
  let stdout = '';
  let stderr = '';
  const waiters = new Set<() => void>();
  child.stdout?.setEncoding('utf8').on('data', (chunk: string) => {
    stdout += chunk;
    let end = stdout.indexOf('\n');
    while (end >= 0) {
      const line = stdout.slice(0, end);
      stdout = stdout.slice(end + 1);
      try {
        records.push(JSON.parse(line));
      } catch {
        // Not a log record (exh config check prints JSON over several lines).
      }
      end = stdout.indexOf('\n');
    }
    for (const wake of waiters) wake();
  });
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => {
    stderr += chunk;
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.on('exit', (code, signal) => {
      for (const wake of waiters) wake();
      resolve({ code, signal });
    }),
  );
  return {
    child,
    records,
    exited,
    stderr: () => stderr,
    /** Waits for a record to match; fails with everything logged so far when it does not come in time. */
    async waitForRecord(predicate: (record: LogRecord) => boolean, timeoutMs = 15_000): Promise<LogRecord> {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const found = records.find(predicate);
        if (found) return found;
        const left = deadline - Date.now();
        if (left <= 0 || child.exitCode !== null) {
          const log = records.map((r) => `${r.cat} ${r.msg}`).join('\n');
          throw new Error(`no matching record (exit code ${child.exitCode}); log:\n${log}\nstderr:\n${stderr}`);
        }
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
  };
}

/** `exh …` run to its end: its exit code and everything it printed on stdout and on stderr. */
export async function exhOutput(args: string[], env: NodeJS.ProcessEnv = {}) {
  const exh = runExh(args, env);
  let stdout = '';
  exh.child.stdout?.on('data', (chunk: string) => {
    stdout += chunk;
  });
  const { code } = await exh.exited;
  return { code, stdout, stderr: exh.stderr() };
}
