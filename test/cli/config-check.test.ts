import { chmodSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runExh } from '../support/exh-process.js';

function file(content: unknown): string {
  const path = join(mkdtempSync(join(tmpdir(), 'exh-cli-')), 'exh.config.json');
  writeFileSync(path, JSON.stringify(content));
  return path;
}

async function run(args: string[], env: NodeJS.ProcessEnv = {}) {
  const exh = runExh(args, env);
  let stdout = '';
  exh.child.stdout?.on('data', (chunk: string) => {
    stdout += chunk;
  });
  const { code } = await exh.exited;
  return { code, stdout, stderr: exh.stderr() };
}

describe('exh config check', () => {
  it('prints the effective configuration with every secret masked and exits 0', async () => {
    const config = file({
      database: { type: 'sqlserver', connectionString: 'Server=sql1;Database=app;User Id=exh;Password=Sql-S3cret' },
      exchange: { impersonationUser: 'svc@contoso.test', impersonationPassword: 'Ews-S3cret' },
    });
    const { code, stdout, stderr } = await run(['config', 'check', '--config', config], {
      EXH_LISTENERS_HTTP_ADMIN_TOKEN: 'Admin-S3cret-0123456789',
    });
    expect(code).toBe(0);
    const printed = JSON.parse(stdout);
    expect(printed.database.connectionString).toBe('Server=sql1;Database=app;User Id=exh;Password=***');
    expect(printed.exchange.impersonationPassword).toBe('***');
    expect(printed.listeners.http.adminToken).toBe('***');
    expect(printed.retry.databaseIntervalMs).toBe(300_000);
    expect(stdout + stderr).not.toMatch(/S3cret/);
    expect(stderr).toContain('Configuration is valid');
  });

  it('warns about a file with secrets that others can read, naming the keys and chmod 600, never the values', async () => {
    const config = file({
      database: { type: 'postgres', connectionString: 'postgres://exh:Pg-S3cret@db.contoso.test/app' },
      exchange: { impersonationUser: 'svc@contoso.test', impersonationPassword: 'Ews-S3cret' },
    });
    chmodSync(config, 0o644);
    const readable = await run(['config', 'check', '--config', config]);
    expect(readable.code).toBe(0);
    expect(readable.stderr).toContain('Warning: ');
    expect(readable.stderr).toContain('database.connectionString, exchange.impersonationPassword');
    expect(readable.stderr).toContain(`chmod 600 ${config}`);
    expect(readable.stdout + readable.stderr).not.toMatch(/S3cret/);
    chmodSync(config, 0o600);
    expect((await run(['config', 'check', '--config', config])).stderr).not.toContain('Warning');
  });

  it('exits non-zero naming the key for an invalid configuration', async () => {
    const config = file({
      database: { type: 'oracle' },
      exchange: { impersonationUser: 'svc@contoso.test', impersonationPassword: 'x' },
    });
    const { code, stderr } = await run(['config', 'check', '--config', config]);
    expect(code).toBe(2);
    expect(stderr).toContain('database.type');
    expect(stderr).toContain('expected one of postgres, pglite, sqlserver, db2');
  });

  it('exits non-zero for a named file that does not exist', async () => {
    const { code, stderr } = await run(['config', 'check', '--config', '/nonexistent/exh.json']);
    expect(code).toBe(2);
    expect(stderr).toContain('/nonexistent/exh.json does not exist');
  });
});

describe('exh', () => {
  it('prints its version and help for every command', async () => {
    const version = await run(['--version']);
    expect(version.code).toBe(0);
    expect(version.stdout.trim()).toMatch(/^\d+\.\d+\.\d+$/);
    for (const args of [['--help'], ['start', '--help'], ['config', 'check', '--help']]) {
      const help = await run(args);
      expect(help.code).toBe(0);
      expect(help.stdout).toContain('Usage: exh');
    }
  });
});
