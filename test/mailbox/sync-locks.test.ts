import { describe, expect, it } from 'vitest';
import { CommittedWatermarks, SyncLocks } from '../../src/mailbox/sync-locks.js';

describe('SyncLocks', () => {
  it('runs work for one key one at a time, in order, even when an earlier one fails', async () => {
    const locks = new SyncLocks();
    const log: string[] = [];
    let release!: () => void;
    const first = locks.run('alice/calendar', async () => {
      log.push('first starts');
      await new Promise<void>((resolve) => {
        release = resolve;
      });
      log.push('first ends');
      throw new Error('first failed');
    });
    const second = locks.run('alice/calendar', async () => void log.push('second runs'));
    const other = locks.run('bob/calendar', async () => void log.push('other key runs'));
    await other;
    expect(log).toEqual(['first starts', 'other key runs']);
    release();
    await expect(first).rejects.toThrow('first failed');
    await second;
    expect(log).toEqual(['first starts', 'other key runs', 'first ends', 'second runs']);
  });
});

describe('CommittedWatermarks', () => {
  it('remembers the newest committed watermark per key until the database is connected again', () => {
    const committed = new CommittedWatermarks();
    committed.set('k', 'w1');
    committed.set('k', 'w2');
    expect(committed.get('k')).toBe('w2');
    committed.clear();
    expect(committed.get('k')).toBeUndefined();
  });
});
