import { chmodSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { envLeaves, envName, loadConfig } from '../../src/config/load.js';

const minimal = {
  database: { type: 'postgres', connectionString: 'postgres://exh:s3cret@db.contoso.test:5432/app' },
  exchange: { impersonationUser: 'exh-service@contoso.test', impersonationPassword: 'Pa55word!' },
};

function configFile(content: unknown, name = 'exh.config.json'): string {
  const dir = mkdtempSync(join(tmpdir(), 'exh-config-'));
  const file = join(dir, name);
  writeFileSync(file, typeof content === 'string' ? content : JSON.stringify(content));
  return file;
}

function problemsOf(fn: () => unknown): string[] {
  try {
    fn();
  } catch (error) {
    expect(error).toMatchObject({ code: 'EXH_CONFIG_INVALID' });
    return (error as { details: { problems: string[] } }).details.problems;
  }
  throw new Error('expected the configuration to be rejected');
}

describe('loadConfig', () => {
  it('fills the documented defaults (docs/configuration.md) around the required keys', () => {
    const { config, file } = loadConfig({ file: configFile(minimal), env: {} });
    expect(file).toMatch(/exh\.config\.json$/);
    expect(config.retry.databaseIntervalMs).toBe(300_000);
    expect(config.listeners.log).toEqual({ enabled: true, host: '127.0.0.1', port: 8888 });
    expect(config.listeners.database.port).toBe(9988);
    expect(config.listeners.exchange.port).toBe(8100);
    expect(config.exchange).toMatchObject({
      version: 'Exchange2013_SP1',
      ignoreSsl: false,
      notifications: 'streaming',
    });
    expect(config.sync).toEqual({
      htmlBody: true,
      maxBodyLength: 0,
      calendarWindow: { daysBack: 365, daysAhead: 730 },
      maxSyncedRecurrences: 0,
      meetingRequestsResponses: false,
      usersRefreshMs: 300_000,
      outboxPollMs: 2_000,
      maxAttachmentBytes: 10 * 1024 * 1024,
      conflicts: 'exchange-wins',
    });
  });

  it('reads YAML by extension', () => {
    const yaml = 'database:\n  type: pglite\nexchange:\n  impersonationUser: a@b.test\n  impersonationPassword: x\n';
    const { config } = loadConfig({ file: configFile(yaml, 'exh.yaml'), env: {} });
    expect(config.database.type).toBe('pglite');
  });

  it('lets every key be overridden by its EXH_ variable, with the value typed by the key', () => {
    const { config, fromEnv } = loadConfig({
      file: configFile(minimal),
      env: {
        EXH_LISTENERS_LOG_PORT: '9999',
        EXH_EXCHANGE_IGNORE_SSL: 'true',
        EXH_EXCHANGE_IMPERSONATION_PASSWORD: 'from-env',
        EXH_RETRY_MAILBOX_RESTARTS_MAX: '2',
        PATH: '/usr/bin',
      },
    });
    expect(config.listeners.log.port).toBe(9999);
    expect(config.exchange.ignoreSsl).toBe(true);
    expect(config.exchange.impersonationPassword).toBe('from-env');
    expect(config.retry.mailboxRestarts.max).toBe(2);
    expect(fromEnv.sort()).toEqual([
      'EXH_EXCHANGE_IGNORE_SSL',
      'EXH_EXCHANGE_IMPERSONATION_PASSWORD',
      'EXH_LISTENERS_LOG_PORT',
      'EXH_RETRY_MAILBOX_RESTARTS_MAX',
    ]);
  });

  it("takes EXH_EWS_SCHEMA_DIR (the schema checks' folder, set by CI) for no key and refuses no start for it", () => {
    const { fromEnv } = loadConfig({ file: configFile(minimal), env: { EXH_EWS_SCHEMA_DIR: '/srv/ews-schema' } });
    expect(fromEnv).toEqual([]);
  });

  it('reads a list from its EXH_ variable comma-separated (listeners.http.allowedHosts)', () => {
    const hosts = (value: string) =>
      loadConfig({ file: configFile(minimal), env: { EXH_LISTENERS_HTTP_ALLOWED_HOSTS: value } }).config.listeners.http
        .allowedHosts;
    expect(hosts('exh.contoso.com, exh')).toEqual(['exh.contoso.com', 'exh']);
    expect(hosts('')).toEqual([]);
    expect(loadConfig({ file: configFile(minimal), env: {} }).config.listeners.http.allowedHosts).toEqual([]);
  });

  it('works from the environment alone when no file exists and none was named', () => {
    const cwd = mkdtempSync(join(tmpdir(), 'exh-empty-'));
    const { config, file } = loadConfig({
      cwd,
      env: {
        EXH_DATABASE_TYPE: 'pglite',
        EXH_EXCHANGE_IMPERSONATION_USER: 'a@b.test',
        EXH_EXCHANGE_IMPERSONATION_PASSWORD: 'x',
      },
    });
    expect(file).toBeNull();
    expect(config.database.type).toBe('pglite');
  });

  it('names the key and what was expected for a wrong type, an unknown key and a missing key', () => {
    const problems = problemsOf(() =>
      loadConfig({
        file: configFile({
          database: { type: 'postgres', conectionString: 'postgres://x' },
          exchange: { impersonationUser: 'a@b.test', impersonationPassword: 'x', concurrency: 'eight' },
          listeners: { log: { port: 70000 } },
        }),
        env: {},
      }),
    );
    expect(problems).toContainEqual(
      expect.stringMatching(/^database\.conectionString: unknown key \(allowed here: .*connectionString/),
    );
    expect(problems).toContainEqual(expect.stringMatching(/^database\.connectionString: required/));
    expect(problems).toContainEqual('exchange.concurrency: expected number, received string');
    expect(problems).toContainEqual(expect.stringMatching(/^listeners\.log\.port: .*65535/));
  });

  it('says which environment variable carried a bad value, and rejects unknown EXH_ variables', () => {
    const problems = problemsOf(() =>
      loadConfig({ file: configFile(minimal), env: { EXH_SYNC_HTML_BODY: 'maybe', EXH_LISTENERS_LOG_PROT: '1' } }),
    );
    expect(problems).toContainEqual('sync.htmlBody (from EXH_SYNC_HTML_BODY): expected boolean, received string');
    expect(problems).toContainEqual(expect.stringMatching(/^EXH_LISTENERS_LOG_PROT: unknown environment variable/));
  });

  it('requires the secret that the chosen authentication needs', () => {
    const problems = problemsOf(() =>
      loadConfig({
        file: configFile({ ...minimal, exchange: { impersonationUser: 'a@b.test', auth: 'oauth' } }),
        env: {},
      }),
    );
    expect(problems).toEqual(['exchange.oauthToken: required when exchange.auth is "oauth"']);
  });

  it('never echoes a value in its messages, so a secret in the wrong place is not printed', () => {
    const problems = problemsOf(() =>
      loadConfig({
        file: configFile({ ...minimal, exchange: { ...minimal.exchange, impersonationPassword: 12345678 } }),
        env: {},
      }),
    );
    expect(problems.join('\n')).not.toContain('12345678');
  });

  it('reports a missing named file and unreadable JSON with the file name', () => {
    expect(() => loadConfig({ file: '/nonexistent/exh.config.json', env: {} })).toThrow(
      expect.objectContaining({
        code: 'EXH_CONFIG_NOT_FOUND',
        message: expect.stringContaining('/nonexistent/exh.config.json'),
      }),
    );
    const broken = configFile('{"database": {');
    expect(() => loadConfig({ file: broken, env: {} })).toThrow(
      expect.objectContaining({ code: 'EXH_CONFIG_UNREADABLE', message: expect.stringContaining(broken) }),
    );
  });

  it('says where a file fails to parse without quoting it, so a password on that line is not printed', () => {
    const cases: Array<[string, string, RegExp]> = [
      [
        'exh.config.json',
        '{"exchange": {"impersonationUser": "a",\n  "impersonationPassword": Ews-S3cret}}',
        /JSON syntax error at line 2, column 28/,
      ],
      [
        'exh.config.json',
        '{"exchange": {"impersonationPassword": "Ews-S3cret" "x": 1}}',
        /JSON syntax error at line 1, column \d+/,
      ],
      ['exh.yaml', 'exchange:\n  impersonationPassword: Ews-S3cret: x\n', /YAML syntax error at line 2, column \d+/],
    ];
    for (const [name, text, expected] of cases) {
      const file = configFile(text, name);
      try {
        loadConfig({ file, env: {} });
        throw new Error(`${name} was accepted`);
      } catch (error) {
        expect(error).toMatchObject({ code: 'EXH_CONFIG_UNREADABLE' });
        expect((error as Error).message).toMatch(expected);
        expect((error as Error).message).not.toContain('S3cret');
      }
    }
  });

  it('derives one distinct variable per key', () => {
    const names = envLeaves().map((leaf) => leaf.env);
    expect(new Set(names).size).toBe(names.length);
    expect(envName(['exchange', 'timeoutMs'])).toBe('EXH_EXCHANGE_TIMEOUT_MS');
    expect(names).toContain('EXH_DATABASE_CONNECTION_STRING');
  });
});

describe('a configuration file with secrets that others can read', () => {
  const write = (content: object, mode: number) => {
    const file = configFile(content);
    chmodSync(file, mode);
    return file;
  };
  const secrets = {
    database: { type: 'postgres', connectionString: 'postgres://exh:s3cret@db.contoso.test/app' },
    exchange: { impersonationUser: 'exh@contoso.test', impersonationPassword: 'hunter2-hunter2' },
  };

  it.skipIf(process.platform === 'win32')('is warned about, naming the keys and the fix, never the values', () => {
    const file = write(secrets, 0o644);
    const { warnings } = loadConfig({ file, env: {} });
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toContain('database.connectionString, exchange.impersonationPassword');
    expect(warnings[0]).toContain('every user of this machine');
    expect(warnings[0]).toContain(`chmod 600 ${file}`);
    expect(warnings[0]).not.toMatch(/s3cret|hunter2/);
    expect(loadConfig({ file: write(secrets, 0o640), env: {} }).warnings[0]).toContain('its group');
  });

  it.skipIf(process.platform === 'win32')(
    'is not warned about when only its owner can read it, or it holds no secret',
    () => {
      expect(loadConfig({ file: write(secrets, 0o600), env: {} }).warnings).toEqual([]);
      const noSecret = {
        database: { type: 'postgres', connectionString: 'postgres://exh@db.contoso.test/app' },
        exchange: { impersonationUser: 'exh@contoso.test' },
      };
      // The password passed as a variable, as the warning advises.
      const env = { EXH_EXCHANGE_IMPERSONATION_PASSWORD: 'hunter2-hunter2' };
      expect(loadConfig({ file: write(noSecret, 0o644), env }).warnings).toEqual([]);
    },
  );
});
