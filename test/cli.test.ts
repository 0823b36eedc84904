import { chmodSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import { describe, expect, it } from 'vitest';
import { runExh } from './support/exh-process.js';
import { lineReader } from './support/net.js';

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

describe('exh emulator', () => {
  it('prints the one line with its URL, answers EWS there (401 without credentials), and stops on SIGTERM', async () => {
    const exh = runExh(['emulator', '--port', '0', '--mailboxes', 'carol@fabrikam.test']);
    const out = lineReader(exh.child.stdout as never);
    const line = await out.waitFor((l) => l.startsWith('EWS emulator listening on '));
    const url = line.replace('EWS emulator listening on ', '');
    expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/EWS\/Exchange\.asmx$/);
    const response = await fetch(url, { method: 'POST', body: '<x/>', headers: { 'content-type': 'text/xml' } });
    expect(response.status).toBe(401);
    exh.child.kill('SIGTERM');
    expect((await exh.exited).code).toBe(0);
  });

  it('refuses a port or a count it cannot use before starting, naming the option', async () => {
    const port = await run(['emulator', '--port', '70000']);
    expect(port.code).toBe(1);
    expect(port.stderr).toContain(
      "option '-p, --port <port>' argument '70000' is invalid. expected a port number 0–65535",
    );
    const count = await run(['emulator', '--port', '0', '--find-count-limit', '0']);
    expect(count.code).toBe(1);
    expect(count.stderr).toContain('expected a whole number of 1 or more');
  });
});

describe('exh start', () => {
  it('refuses an in-memory PGlite database, naming database.dataDir and the demo, with exit status 2', async () => {
    const config = file({
      database: { type: 'pglite' },
      exchange: { impersonationUser: 'svc@contoso.test', impersonationPassword: 'x' },
    });
    const { code, stderr } = await run(['start', '--config', config]);
    expect(code).toBe(2);
    expect(stderr).toContain('set database.dataDir (then run exh db install)');
    expect(stderr).toContain('npm start');
  });
});

describe('exh db', () => {
  it('prints the scripts asked for in order, and says which a dialect does not have', async () => {
    const all = await run(['db', 'script', '--dialect', 'postgres', '--example-app', '--sync-sender']);
    expect(all.code).toBe(0);
    const headers = all.stdout.split('\n').filter((line) => /^-- exh .* for /.test(line));
    expect(headers.map((line) => line.slice(0, line.indexOf(' for ')))).toEqual([
      '-- exh base project',
      '-- exh example application',
      '-- exh synchronous sender',
    ]);
    const base = await run(['db', 'script', '--dialect', 'sqlserver']);
    expect(base.stdout.split('\n').filter((line) => /^-- exh .* for /.test(line))).toHaveLength(1);
    const noDialect = await run(['db', 'script']);
    expect(noDialect.code).toBe(1);
    expect(noDialect.stderr).toContain('exh db script needs --dialect postgres|sqlserver|db2 (or --write DIR)');
    const noExample = await run(['db', 'script', '--dialect', 'db2', '--example-app']);
    expect(noExample.code).toBe(1);
    expect(noExample.stderr).toContain('there is no example application for db2');
    const noSender = await run(['db', 'script', '--dialect', 'sqlserver', '--sync-sender']);
    expect(noSender.code).toBe(1);
    expect(noSender.stderr).toContain('is in senders/ (docs/senders.md), not generated');
  });

  it('installs into the configured database, twice without harm, and names what it installed', async () => {
    const dataDir = join(mkdtempSync(join(tmpdir(), 'exh-cli-')), 'data');
    const config = file({
      database: { type: 'pglite', dataDir },
      exchange: { impersonationUser: 'svc@contoso.test', impersonationPassword: 'x' },
    });
    for (let round = 0; round < 2; round++) {
      const { code, stderr } = await run(['db', 'install', '--config', config, '--example-app']);
      expect(code).toBe(0);
      expect(stderr).toMatch(/^Installed into pglite: .*base-project\.sql.*example-app\.sql/);
    }
    // --example-app reached the installation: its table is in the database the configuration names.
    const instance = await PGlite.create({ dataDir });
    try {
      const { rows } = await instance.query<{ n: number }>('SELECT count(*)::int AS n FROM app_user');
      expect(rows).toEqual([{ n: 0 }]);
    } finally {
      await instance.close();
    }
  }, 60_000);
});
