import { spawnSync } from 'node:child_process';
import { appendFileSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/load.js';
import { createLogging, testLogDirVariable } from '../../src/logging/logger.js';
import { connectionStringPassword, describeLeaks, registerConfigSecrets, scanLogs } from './log-scan.js';

/**
 * The scan at the end of the run (test/support/global-setup.ts) must catch a leak: planted here in a folder of this
 * test's own, never in the run's, whose registry does not know these secrets.
 */

const folders: string[] = [];
function folder(): string {
  const made = mkdtempSync(join(tmpdir(), 'exh-log-scan-test-'));
  folders.push(made);
  return made;
}
afterEach(() => {
  for (const made of folders.splice(0)) rmSync(made, { recursive: true, force: true });
});

function plantSecret(into: string, key: string, value: string): void {
  appendFileSync(join(into, 'secrets-1.jsonl'), `${JSON.stringify({ key, value })}\n`);
}

/** A real logger writing its records (JSON lines) to a log file of the folder, as the run's loggers do. */
function loggerInto(into: string, name = 'log-1.jsonl') {
  return createLogging({ level: 'debug', format: 'json', file: join(into, name), toStdout: false }).logger;
}

describe('the log scan', () => {
  it('finds a planted secret and names the file, the line and the key, never the secret', async () => {
    const into = folder();
    const secret = 'plantedsecret0123456789abcdef';
    plantSecret(into, 'listeners.http.adminToken', secret);
    const logger = loggerInto(into);
    logger.info('an ordinary record');
    logger.warn({ detail: `the header was Bearer ${secret}` }, 'a careless record');
    const result = await scanLogs(into);
    expect(result.leaks).toEqual([{ file: 'log-1.jsonl', line: 2, key: 'listeners.http.adminToken' }]);
    const said = describeLeaks(result, into);
    expect(said).toContain('log-1.jsonl line 2: the secret registered as listeners.http.adminToken');
    expect(said).not.toContain(secret);
  });

  it('finds nothing when the logger redacted the secret, and nothing that only looks alike', async () => {
    const into = folder();
    const secret = 'plantedsecret0123456789abcdef';
    plantSecret(into, 'listeners.database.token', secret);
    const logger = loggerInto(into);
    logger.warn({ token: secret, password: secret }, 'refused');
    logger.info({ near: secret.slice(0, -1) }, 'a prefix of it is not the secret');
    expect((await scanLogs(into)).leaks).toEqual([]);
  });

  it('finds a secret split between two chunks of a large file, at the right line', async () => {
    const into = folder();
    const secret = 'splitsecret0123456789abcdef';
    plantSecret(into, 'database.connectionString (password)', secret);
    // The scan reads 4 MiB at a time: the secret straddles the first boundary.
    const first = `${'x'.repeat(1_000)}\n`.repeat(4_000);
    const before = (1 << 22) - first.length - 10;
    writeFileSync(join(into, 'log-2.jsonl'), `${first}${'y'.repeat(before)}${secret}\nafter\n`);
    expect((await scanLogs(into)).leaks).toEqual([
      { file: 'log-2.jsonl', line: 4_001, key: 'database.connectionString (password)' },
    ]);
  });

  it('registers what a configuration holds: tokens, passwords of connection strings, Basic credentials', () => {
    const into = folder();
    const saved = process.env[testLogDirVariable];
    process.env[testLogDirVariable] = into;
    try {
      registerConfigSecrets({
        database: { type: 'postgres', connectionString: 'postgres://exh:conn3ction-Secret@db:5432/app' },
        exchange: { impersonationUser: 'svc@contoso.test', impersonationPassword: 'impers0nation-Secret' },
        listeners: { database: { token: 'listener-token-0123456789' }, http: { adminToken: 'short' } },
      });
    } finally {
      process.env[testLogDirVariable] = saved;
    }
    const registered = readFileSync(join(into, `secrets-${process.pid}.jsonl`), 'utf8')
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line));
    expect(registered).toEqual([
      { key: 'database.connectionString (password)', value: 'conn3ction-Secret' },
      { key: 'exchange.impersonationPassword', value: 'impers0nation-Secret' },
      {
        key: 'exchange.impersonationPassword (Basic credentials)',
        value: Buffer.from('svc@contoso.test:impers0nation-Secret').toString('base64'),
      },
      { key: 'listeners.database.token', value: 'listener-token-0123456789' },
    ]);
    expect(connectionStringPassword('Server=db;User Id=exh;Password=kw-Secret-0123;')).toBe('kw-Secret-0123');
  });

  it('sees the records of every logger of a process while EXH_TEST_LOG_DIR is set; without it, writes no file', () => {
    // Child processes, so that the logger's once-per-process file is opened afresh for each; run in an empty folder.
    const logger = fileURLToPath(new URL('../../src/logging/logger.ts', import.meta.url));
    // Started in the checkout (where tsx is found), then moved to the folder given.
    const script =
      `process.chdir(process.argv[2]); const { createLogging } = await import(${JSON.stringify(logger)}); ` +
      "createLogging({ format: 'json', stdout: { write() {} } }).logger.warn({ note: process.argv[1] }, 'marker');";
    const run = (env: NodeJS.ProcessEnv, marker: string, cwd: string) =>
      spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script, marker, cwd], {
        env,
        encoding: 'utf8',
        timeout: 20_000,
      });
    const into = folder();
    const withFolder = run({ ...process.env, [testLogDirVariable]: into }, 'marker-with-folder', folder());
    expect(withFolder.status, withFolder.stderr).toBe(0);
    expect(readFileSync(join(into, `log-${withFolder.pid}.jsonl`), 'utf8')).toContain('marker-with-folder');

    const empty = folder();
    const env = { ...process.env };
    delete env[testLogDirVariable];
    const without = run(env, 'marker-without-folder', empty);
    expect(without.status, without.stderr).toBe(0);
    expect(readdirSync(empty)).toEqual([]);
  });

  it('is no configuration key: exh started by a test (which inherits EXH_TEST_LOG_DIR) does not refuse it', () => {
    const env = {
      EXH_DATABASE_TYPE: 'pglite',
      EXH_EXCHANGE_IMPERSONATION_USER: 'svc@contoso.test',
      EXH_EXCHANGE_IMPERSONATION_PASSWORD: 'x',
      [testLogDirVariable]: folder(),
    };
    expect(loadConfig({ env, cwd: folder() }).fromEnv).not.toContain(testLogDirVariable);
    expect(() => loadConfig({ env: { ...env, EXH_TEST_LOG_DIRECTORY: 'x' }, cwd: folder() })).toThrow(
      /EXH_TEST_LOG_DIRECTORY: unknown environment variable/,
    );
  });
});
