import { existsSync, mkdtempSync, readFileSync, renameSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createLogging } from '../../src/logging/logger.js';

const lines = (file: string) =>
  readFileSync(file, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((line) => JSON.parse(line));

describe('log.file', () => {
  it('appends JSON lines to the file beside stdout, in a folder it creates', () => {
    const file = join(mkdtempSync(join(tmpdir(), 'exh-log-')), 'nested', 'exh.log');
    const stdout: string[] = [];
    const { logger } = createLogging({ format: 'pretty', file, stdout: { write: (l: string) => void stdout.push(l) } });
    logger.action({ user: 'alice@contoso.test' }, 'Subscribed');
    expect(lines(file)).toEqual([expect.objectContaining({ cat: 'A', msg: 'Subscribed', user: 'alice@contoso.test' })]);
    expect(stdout).toHaveLength(1);
  });

  it('writes to the file only with toStdout false, and to a new file after reopen (logrotate)', () => {
    const dir = mkdtempSync(join(tmpdir(), 'exh-log-'));
    const file = join(dir, 'exh.log');
    const stdout: string[] = [];
    const logging = createLogging({ file, toStdout: false, stdout: { write: (l: string) => void stdout.push(l) } });
    logging.logger.error('before rotation');
    renameSync(file, join(dir, 'exh.log.1'));
    logging.reopen();
    logging.logger.warn('after rotation');
    expect(lines(join(dir, 'exh.log.1')).map((r) => r.msg)).toEqual(['before rotation']);
    expect(lines(file).map((r) => [r.cat, r.msg])).toEqual([['W', 'after rotation']]);
    expect(stdout).toEqual([]);
  });

  // /dev/full answers every write with ENOSPC: a disk that is full. Before, the file's unhandled 'error' was thrown
  // into the call that logged.
  it.skipIf(!existsSync('/dev/full'))(
    'loses the records of a file it cannot write, says so once on stdout, and never throws',
    () => {
      const stdout: string[] = [];
      const { logger } = createLogging({
        format: 'json',
        file: '/dev/full',
        stdout: { write: (l: string) => void stdout.push(l) },
      });
      expect(() => {
        logger.info('first');
        logger.info('second');
      }).not.toThrow();
      const records = stdout.map((line) => JSON.parse(line));
      expect(records.map((r) => r.msg)).toEqual([
        'The log cannot be written to log.file /dev/full: ENOSPC: no space left on device, write; its records are lost until it can',
        'first',
        'second',
      ]);
      expect(records[0].cat).toBe('E');
    },
  );
});
