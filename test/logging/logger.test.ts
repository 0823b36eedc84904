import { describe, expect, it } from 'vitest';
import { createLogging } from '../../src/logging/logger.js';

function capture(format: 'json' | 'pretty' = 'json') {
  const lines: string[] = [];
  const logging = createLogging({ format, level: 'debug', stdout: { write: (line: string) => void lines.push(line) } });
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
