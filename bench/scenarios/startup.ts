/**
 * Start-up, as a user meets it: the installed command `node bin/exh.js` (the compiled dist/; `npm run build` first when
 * it is missing).
 *
 *   node --import tsx bench/scenarios/startup.ts [--quick]
 *
 * 1. `exh --help`, mean of 10 runs, against `node -e 0` (Node's own start, the floor any command stands on);
 * 2. `exh start` to ready, median of 3: a configuration against the emulator (its own process) and a fresh schema on
 *    the PostgreSQL server with 3 users of 20 items each; ready is the first 200 from /readyz (the database is ready,
 *    src/http/routes/health.ts); the time until its 3 mailboxes are live (/readyz counts them) is told beside it.
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connectorConfig } from '../support/connector.js';
import { freshSchema } from '../support/database.js';
import { startEmulatorProcess } from '../support/emulator.js';
import { freePort, readiness } from '../support/http-probe.js';
import { appointmentsFrom, mixOf } from '../support/items.js';
import { repoRoot } from '../support/process.js';
import { figure, progress, ratio, runScenario } from '../support/report.js';

const helpRuns = 10;
const startRuns = 3;
const users = ['ann@contoso.test', 'bo@contoso.test', 'carla@contoso.test'];
const limitMs = 60_000;

/** Milliseconds one run of `node args` takes, from spawn to exit. */
function timeRun(args: string[]): number {
  const started = performance.now();
  const result = spawnSync(process.execPath, args, { cwd: repoRoot, stdio: ['ignore', 'ignore', 'pipe'] });
  const ms = performance.now() - started;
  if (result.status !== 0) throw new Error(`node ${args.join(' ')} exited ${result.status}: ${result.stderr}`);
  return ms;
}

const mean = (values: number[]) => values.reduce((sum, v) => sum + v, 0) / values.length;
const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] ?? 0;
const seconds = (ms: number) => `${(ms / 1000).toFixed(2)} s`;

function ensureBuilt(): void {
  const cli = join(repoRoot, 'dist/src/cli.js');
  if (existsSync(cli)) {
    // Not rebuilt here (a build empties dist/ first, under whatever else runs it): said, so a stale figure is known.
    const lastCommit = spawnSync('git', ['log', '-1', '--format=%ct', '--', 'src', 'actors', 'machines'], {
      cwd: repoRoot,
      encoding: 'utf8',
    });
    if (Number(lastCommit.stdout) * 1000 > statSync(cli).mtimeMs)
      progress('dist/ is older than the last commit to the sources: npm run build for a figure of them');
    return;
  }
  progress('dist/ is missing: npm run build');
  const result = spawnSync('npm', ['run', 'build'], { cwd: repoRoot, stdio: ['ignore', 2, 2] });
  if (result.status !== 0) throw new Error(`npm run build exited ${result.status}`);
}

/** One `exh start`: ms to the first /readyz 200, and to all mailboxes live. */
async function startOnce(
  configFile: string,
  config: ReturnType<typeof connectorConfig>,
): Promise<{ ready: number; live: number }> {
  const port = await freePort();
  const listeners = config.listeners as Record<string, Record<string, unknown>>;
  writeFileSync(
    configFile,
    JSON.stringify({ ...config, listeners: { ...listeners, http: { ...listeners.http, enabled: true, port } } }),
  );
  const started = performance.now();
  const child = spawn(process.execPath, ['bin/exh.js', 'start', '--config', configFile], {
    cwd: repoRoot,
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  let ready = 0;
  try {
    for (;;) {
      const now = performance.now() - started;
      if (child.exitCode !== null) throw new Error(`exh start exited with ${child.exitCode} before it was ready`);
      if (now > limitMs) throw new Error(`exh start: not ready with all mailboxes live within ${limitMs / 1000} s`);
      const state = await readiness(port);
      if (state?.status === 200 && ready === 0) ready = now;
      if (state?.status === 200 && state.live >= users.length) return { ready, live: performance.now() - started };
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
  } finally {
    child.kill('SIGTERM');
    const code = await exited;
    if (code !== 0) progress(`exh start exited with ${code} after SIGTERM`);
  }
}

runScenario(async () => {
  ensureBuilt();
  progress(`exh --help, ${helpRuns} runs (and node -e 0 as often)`);
  const node = Array.from({ length: helpRuns }, () => timeRun(['-e', '0']));
  const help = Array.from({ length: helpRuns }, () => timeRun(['bin/exh.js', '--help']));
  figure(
    `start-up, exh --help: ${seconds(mean(help))} mean of ${helpRuns}, ratio ${ratio(mean(node) / mean(help))} of the ` +
      `limit (node -e 0 alone: ${seconds(mean(node))})`,
  );

  const emulator = await startEmulatorProcess({ mailboxes: users });
  const db = await freshSchema('startup', { users });
  const dir = mkdtempSync(join(tmpdir(), 'exh-bench-startup-'));
  try {
    await emulator.seed({ mailboxes: users, mix: mixOf(20), start: appointmentsFrom() });
    const config = connectorConfig({ database: db.database, exchange: emulator.exchange('ews'), logLevel: 'warn' });
    const runs: { ready: number; live: number }[] = [];
    for (let run = 1; run <= startRuns; run++) {
      const result = await startOnce(join(dir, 'exh.config.json'), config);
      progress(`exh start run ${run}: ready ${seconds(result.ready)}, all live ${seconds(result.live)}`);
      runs.push(result);
    }
    figure(
      `start-up, exh start to ready: ${seconds(median(runs.map((r) => r.ready)))} median of ${startRuns} ` +
        `(/readyz 200; its ${users.length} mailboxes live at ${seconds(median(runs.map((r) => r.live)))})`,
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
    await db.drop();
    await emulator.stop();
  }
});
