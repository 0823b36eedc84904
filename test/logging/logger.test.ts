import { describe, expect, it } from 'vitest';
import { configSchema } from '../../src/config/schema.js';
import { createLogging } from '../../src/logging/logger.js';

function capture(format: 'json' | 'pretty' = 'json', level = 'debug') {
  const lines: string[] = [];
  const logging = createLogging({ format, level, stdout: { write: (line: string) => void lines.push(line) } });
  return { ...logging, lines };
}

describe('createLogging', () => {
  it('gives every record its category letter from the level', () => {
    const { logger, lines } = capture();
    logger.error('e');
    logger.warn('w');
    logger.action('a');
    logger.info('m');
    logger.debug('d');
    expect(lines.map((line) => JSON.parse(line).cat)).toEqual(['E', 'W', 'A', 'M', 'M']);
  });

  it('keeps actor bindings of child loggers', () => {
    const { logger, lines } = capture();
    logger.child({ actor: 'mailbox', user: 'alice@contoso.test' }).child({ itemType: 'calendar' }).action('subscribed');
    expect(JSON.parse(lines[0] ?? '{}')).toMatchObject({
      actor: 'mailbox',
      user: 'alice@contoso.test',
      itemType: 'calendar',
      msg: 'subscribed',
    });
  });

  it.each([
    ['debug', ['E', 'W', 'A', 'M', 'M']],
    ['info', ['E', 'W', 'A', 'M']],
    ['action', ['E', 'W', 'A']],
    ['warn', ['E', 'W']],
    ['error', ['E']],
  ])('at level %s writes exactly the records at or above it', (level, expected) => {
    const { logger, lines } = capture('json', level);
    logger.error('e');
    logger.warn('w');
    logger.action('a');
    logger.info('m');
    logger.debug('d');
    expect(lines.map((line) => JSON.parse(line).cat)).toEqual(expected);
  });

  it('masks every secret of a real configuration object at any depth', () => {
    const { logger, lines } = capture();
    const config = configSchema.parse({
      database: { type: 'postgres', connectionString: 'postgres://exh:Db-S3cret@db:5432/app' },
      exchange: { impersonationUser: 'svc@contoso.test', impersonationPassword: 'Ews-S3cret' },
      listeners: { database: { token: 'Listener-S3cret-0123456789' }, http: { adminToken: 'Admin-S3cret-0123456789' } },
    });
    logger.info({ config }, 'configured');
    logger
      .child({ actor: 'http' })
      .info({ request: { headers: { Authorization: 'Basic S3cret' }, Password: 'S3cret' } }, 'request');
    const output = lines.join('');
    expect(output).not.toMatch(/S3cret/);
    expect(JSON.parse(lines[0] ?? '{}').config.database.connectionString).toBe('postgres://exh:***@db:5432/app');
    expect(JSON.parse(lines[0] ?? '{}').config.listeners.http.adminToken).toBe('***');
  });

  it('redacts secrets by configuration, in stdout and in the log feed', () => {
    const { logger, lines, hub } = capture();
    const fed: string[] = [];
    hub.subscribe((_record, line) => fed.push(line));
    logger.info(
      {
        password: 'p1',
        config: { exchange: { impersonationPassword: 'p2' }, listeners: { token: 'p3' } },
        connectionString: 'postgres://u:p4@h/db',
      },
      'configured',
    );
    for (const output of [lines.join(''), fed.join('')]) {
      for (const secret of ['p1', 'p2', 'p3', 'p4@h']) expect(output).not.toContain(secret);
      expect(output).toContain('***');
    }
  });

  it("writes the log feed's one-line form on a terminal", () => {
    const { logger, lines } = capture('pretty');
    logger.child({ actor: 'database' }).error({ target: 'postgres://127.0.0.1:5432/app' }, 'Cannot connect');
    expect(lines[0]).toMatch(
      /^E \d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3} \[database\] Cannot connect target=postgres:\/\/127\.0\.0\.1:5432\/app\n$/,
    );
  });
});
