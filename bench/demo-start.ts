/**
 * Start-up of the demo: the time from spawning it until its dashboard (`GET /`) answers 200, over a few runs.
 *
 *   node --import tsx bench/demo-start.ts [runs] [-- command …]
 *
 * The command defaults to the compiled `node bin/exh.js demo` (npm run build first); to measure the TypeScript sources
 * through tsx instead: `node --import tsx bench/demo-start.ts 5 -- node --import tsx src/cli.ts demo`. The dashboard
 * gets a free port picked here; the demo's other listeners take port 0 (a free one each), and its simulated activity
 * is off, so nothing but start-up is measured. The bench's own start-up (tsx) is not part of the figure.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { type AddressInfo, createServer } from 'node:net';
import { fileURLToPath } from 'node:url';

const separator = process.argv.indexOf('--');
const runs = Number(process.argv[2] !== '--' && process.argv[2] !== undefined ? process.argv[2] : 5);
const command = separator >= 0 ? process.argv.slice(separator + 1) : ['node', 'bin/exh.js', 'demo'];
const root = fileURLToPath(new URL('..', import.meta.url));
/** Give up on a run after this long: a demo that never answers measures nothing. */
const limitMs = Number(process.env.EXH_BENCH_LIMIT_MS ?? 120_000);

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

async function answers(url: string): Promise<boolean> {
  try {
    const response = await fetch(url, { signal: AbortSignal.timeout(2_000) });
    await response.arrayBuffer();
    return response.status === 200;
  } catch {
    return false;
  }
}

async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = once(child, 'exit');
  child.kill('SIGINT');
  const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
  await exited;
  clearTimeout(timer);
}

/** One run: milliseconds from spawn to the first 200 from the dashboard. */
async function measure(): Promise<number> {
  const port = await freePort();
  const [program, ...args] = command;
  const started = performance.now();
  const child = spawn(program === 'node' ? process.execPath : (program as string), args, {
    cwd: root,
    env: {
      ...process.env,
      EXH_LISTENERS_HTTP_PORT: String(port),
      EXH_LISTENERS_LOG_PORT: '0',
      EXH_LISTENERS_DATABASE_PORT: '0',
      EXH_DEMO_EMULATOR_PORT: '0',
      EXH_DEMO_INTERVAL_MS: '0',
      EXH_LOG_FORMAT: 'json',
    },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => {
    stderr += chunk;
  });
  try {
    while (!(await answers(`http://127.0.0.1:${port}/`))) {
      if (child.exitCode !== null) throw new Error(`the demo exited with ${child.exitCode}:\n${stderr}`);
      if (performance.now() - started > limitMs) throw new Error(`no answer on :${port} within ${limitMs} ms`);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    return performance.now() - started;
  } finally {
    await stop(child);
  }
}

const times: number[] = [];
for (let run = 1; run <= runs; run++) {
  const ms = await measure();
  times.push(ms);
  process.stdout.write(`run ${run}: ${(ms / 1000).toFixed(2)} s\n`);
}
const sorted = [...times].sort((a, b) => a - b);
const mean = times.reduce((sum, ms) => sum + ms, 0) / times.length;
const median = sorted[Math.floor(sorted.length / 2)] ?? 0;
process.stdout.write(
  `${command.join(' ')}: demo start to first dashboard 200 in ${runs} runs: median ${(median / 1000).toFixed(2)} s, ` +
    `mean ${(mean / 1000).toFixed(2)} s, min ${((sorted[0] ?? 0) / 1000).toFixed(2)} s, max ${((sorted.at(-1) ?? 0) / 1000).toFixed(2)} s\n`,
);
