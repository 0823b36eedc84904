import { mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { loadConfig } from '../../src/config/load.js';
import { exhOutput } from '../support/exh-process.js';

/** `exh config migrate` as a real process; what it converts and how: test/config/migrate.test.ts. */
const sample = new URL('../fixtures/ExchangeSyncService.exe.config', import.meta.url);

describe('exh config migrate', () => {
  it('prints the configuration, names what it did not carry over on stderr, and exh accepts the result', async () => {
    const { code, stdout, stderr } = await exhOutput(['config', 'migrate', sample.pathname]);
    expect(code).toBe(0);
    const printed = JSON.parse(stdout);
    expect(printed.database.type).toBe('sqlserver');
    expect(stderr).toContain('not carried over as it was: ClientSettingsProvider.ServiceUri');
    const dir = mkdtempSync(join(tmpdir(), 'exh-migrate-'));
    const file = join(dir, 'exh.config.json');
    writeFileSync(file, stdout);
    expect(loadConfig({ file, env: {} }).config.sync.maxSyncedRecurrences).toBe(25);
  });

  it('writes YAML with --out, readable only by its owner', async () => {
    const out = join(mkdtempSync(join(tmpdir(), 'exh-migrate-')), 'exh.yaml');
    const { code, stdout } = await exhOutput(['config', 'migrate', sample.pathname, '--out', out]);
    expect(code).toBe(0);
    expect(stdout).toBe('');
    expect(parseYaml(readFileSync(out, 'utf8')).exchange.concurrency).toBe(16);
    expect(statSync(out).mode & 0o777).toBe(0o600);
  });

  it('exits 2 with a clear message for a missing file and for broken XML', async () => {
    const missing = await exhOutput(['config', 'migrate', '/nonexistent/ExchangeSyncService.exe.config']);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/EXH_CONFIG_MIGRATE_NOT_FOUND: .*does not exist/);
    const broken = join(mkdtempSync(join(tmpdir(), 'exh-migrate-')), 'broken.config');
    writeFileSync(broken, '<configuration><appSettings><add key="LogPort" value="1"></appSettings></configuration>');
    const unreadable = await exhOutput(['config', 'migrate', broken]);
    expect(unreadable.code).toBe(2);
    expect(unreadable.stderr).toMatch(/EXH_CONFIG_MIGRATE_UNREADABLE: .*broken XML at line 1/);
  });

  it('prints YAML with --format yaml, and takes the format from an --out ending in .yml', async () => {
    const printed = await exhOutput(['config', 'migrate', sample.pathname, '--format', 'yaml']);
    expect(printed.code).toBe(0);
    expect(printed.stdout.trimStart().startsWith('{')).toBe(false);
    expect(parseYaml(printed.stdout).database.type).toBe('sqlserver');
    const out = join(mkdtempSync(join(tmpdir(), 'exh-migrate-')), 'exh.yml');
    expect((await exhOutput(['config', 'migrate', sample.pathname, '--out', out])).code).toBe(0);
    const written = readFileSync(out, 'utf8');
    expect(written.trimStart().startsWith('{')).toBe(false);
    expect(parseYaml(written).exchange.concurrency).toBe(16);
  });
});
