import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { runExh } from '../support/exh-process.js';
import { freePort } from '../support/net.js';

/**
 * bin/exh.js, the `exh` an installation runs: the build in dist/ (npm run build; npm ci and npm test run it), never the
 * TypeScript sources. The other tests run the sources (test/support/exh-process.ts); these check what ships.
 */
const root = new URL('../../', import.meta.url);
const bin = fileURLToPath(new URL('bin/exh.js', root));
const builtCli = new URL('dist/src/cli.js', root);
const { version } = JSON.parse(readFileSync(new URL('package.json', root), 'utf8')) as { version: string };
/** Makes any TypeScript module (a .ts file, tsx) fail to load in the process under test. */
const noTypeScript = { NODE_OPTIONS: `--import=${new URL('no-typescript.js', import.meta.url).href}` };

function run(
  program: string,
  args: string[],
  env: NodeJS.ProcessEnv = {},
): Promise<{ code: number; stdout: string; stderr: string }> {
  const options = { env: { ...process.env, ...env }, cwd: fileURLToPath(root), maxBuffer: 16 * 1024 * 1024 };
  return new Promise((resolve) => {
    execFile(program, args, options, (error, stdout, stderr) =>
      resolve({ code: error ? Number((error as { code?: unknown }).code ?? 1) : 0, stdout, stderr }),
    );
  });
}

beforeAll(() => {
  if (!existsSync(builtCli))
    throw new Error(`${fileURLToPath(builtCli)} is missing: run npm run build (npm test does)`);
});

describe('bin/exh.js (the built exh)', () => {
  it('answers --version and --help from dist/ without loading TypeScript', async () => {
    const shown = await run(process.execPath, [bin, '--version'], noTypeScript);
    expect(shown).toEqual({ code: 0, stdout: `${version}\n`, stderr: '' });
    const help = await run(process.execPath, [bin, '--help'], noTypeScript);
    expect(help.stderr).toBe('');
    expect(help.code).toBe(0);
    for (const command of ['start', 'config', 'demo', 'db', 'emulator', 'status']) {
      expect(help.stdout).toMatch(new RegExp(`^ {2}${command}\\b`, 'm'));
    }
  });

  it('serves the dashboard (read from src/dashboard/) from the built demo', async () => {
    const port = await freePort();
    const demo = runExh(
      ['demo'],
      {
        ...noTypeScript,
        EXH_LOG_FORMAT: 'json',
        EXH_LISTENERS_LOG_PORT: '0',
        EXH_DEMO_EMULATOR_PORT: '0',
        EXH_LISTENERS_DATABASE_PORT: '0',
        EXH_LISTENERS_HTTP_PORT: String(port),
        EXH_DEMO_INTERVAL_MS: '0',
      },
      bin,
    );
    try {
      const url = `http://127.0.0.1:${port}/`;
      const page = await answer(url, 30_000, () => demo.child.exitCode !== null);
      expect(page.status).toBe(200);
      expect(await page.text()).toBe(readFileSync(new URL('src/dashboard/index.html', root), 'utf8'));
      for (const file of ['app.js', 'style.css']) {
        expect((await fetch(`${url}dashboard/${file}`)).status).toBe(200);
      }
      demo.child.kill('SIGINT');
      expect((await demo.exited).code).toBe(0);
      expect(demo.stderr()).toBe('');
    } finally {
      demo.child.kill('SIGKILL');
    }
  });

  it('is packed with what it needs: dist/, the dashboard and package.json, no tests, no emulator', async () => {
    // --ignore-scripts: `prepare` would build again; this checks the package's file list ("files"), not the build.
    const packed = await run('npm', ['pack', '--dry-run', '--json', '--ignore-scripts']);
    expect(packed.code, packed.stderr).toBe(0);
    const [{ files }] = JSON.parse(packed.stdout) as [{ files: { path: string }[] }];
    const paths = files.map((file) => file.path);
    for (const path of [
      'bin/exh.js',
      'package.json',
      'dist/src/cli.js',
      'dist/src/cli.js.map',
      'dist/src/demo.js',
      'dist/machines/supervisor.machine.js',
      'dist/actors/http.actors.js',
      'src/dashboard/index.html',
      'src/dashboard/app.js',
    ]) {
      expect(paths).toContain(path);
    }
    expect(paths.filter((path) => /^(test|bench)\//.test(path) || path.startsWith('dist/test/'))).toEqual([]);
    // The emulator stays in the repository (docs/emulator.md); the build has it (the demo in a clone needs it).
    expect(existsSync(new URL('dist/emulator/index.js', root))).toBe(true);
    expect(paths.filter((path) => /^(dist\/)?(src\/)?emulator\//.test(path))).toEqual([]);
  });

  it('installed (the packed files, no emulator): exh demo and exh emulator say why they cannot run and where they can', async () => {
    const folder = mkdtempSync(join(tmpdir(), 'exh-installed-'));
    try {
      const packed = await run('npm', ['pack', '--json', '--ignore-scripts', '--pack-destination', folder]);
      expect(packed.code, packed.stderr).toBe(0);
      const [{ filename }] = JSON.parse(packed.stdout) as [{ filename: string }];
      const untar = await run('tar', ['xzf', join(folder, filename), '-C', folder]);
      expect(untar.code, untar.stderr).toBe(0);
      const installed = join(folder, 'package');
      symlinkSync(fileURLToPath(new URL('node_modules', root)), join(installed, 'node_modules'), 'dir');
      const installedBin = join(installed, 'bin', 'exh.js');
      for (const [command, args] of [
        ['exh demo', ['demo']],
        ['exh emulator', ['emulator', '--port', '0']],
      ] as const) {
        const result = await run(process.execPath, [installedBin, ...args], {
          ...noTypeScript,
          EXH_LISTENERS_LOG_PORT: '0',
          EXH_LISTENERS_HTTP_PORT: '0',
          EXH_LISTENERS_DATABASE_PORT: '0',
          EXH_DEMO_EMULATOR_PORT: '0',
        });
        expect(result.code, result.stderr).toBe(1);
        expect(result.stdout).toBe('');
        // One line: the cause (no emulator in an installed exh, the folder it looked for) and the fix (a clone).
        expect(result.stderr).toMatch(
          new RegExp(`^${command} needs the Exchange emulator, which is not part of an installed exh [^\n]*\n$`),
        );
        expect(result.stderr).toContain(`there is no ${join(installed, 'dist', 'emulator')}/`);
        expect(result.stderr).toContain('Run it from a clone of the exh repository: npm ci, then npm start');
      }
    } finally {
      rmSync(folder, { recursive: true, force: true });
    }
  });
});

/** The first answer from `url`, asked until it comes (the demo starts its listeners last). */
async function answer(url: string, timeoutMs: number, gone: () => boolean): Promise<Response> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await fetch(url);
    } catch (error) {
      if (Date.now() > deadline || gone()) throw error;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }
}
