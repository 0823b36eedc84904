import { describe, expect, it } from 'vitest';
import { progressBar, progressLine } from '../../src/commands/sync.js';
import { ok } from '../../src/protocol/replies.js';
import { exh, useDatabaseListener } from './client-process.js';

describe('exh sync-items and exh sync-users against a database listener', () => {
  const { received, flags } = useDatabaseListener('a-token-for-the-sync-items-test', () => ok());

  it("turns the sync-items flags into exh_sync_item's parameters (docs/database.md)", async () => {
    received.length = 0;
    const items = await exh([
      'sync-items',
      '--user',
      'ann@x.test',
      '--type',
      'email',
      '--direction',
      '1',
      '--no-del',
      '--from',
      '2026-01-01',
      '--start-until',
      '2026-02-01T00:00:00Z',
      ...flags(),
    ]);
    expect(items.code).toBe(0);
    expect(received).toEqual([
      {
        type: 'syncItems',
        direction: 1,
        user: 'ann@x.test',
        item: 2,
        add: true,
        chg: true,
        del: false,
        createdFrom: null,
        createdUntil: null,
        modifiedFrom: '2026-01-01',
        modifiedUntil: null,
        receivedFrom: null,
        receivedUntil: null,
        startFrom: null,
        startUntil: '2026-02-01T00:00:00Z',
        // Always asked for: the progress lines (and their heartbeat) keep the time-out from ending a long resync.
        progress: true,
      },
    ]);
    // Neither --del nor --no-del: the connector's default (deletions for direction 0 only) is left to it.
    received.length = 0;
    expect((await exh(['sync-items', '--user', 'ann@x.test', '--direction', '1', ...flags()])).code).toBe(0);
    expect(received[0]).not.toHaveProperty('del');
  }, 30_000);

  it('sends exh sync-users as the one syncUsers request', async () => {
    received.length = 0;
    expect((await exh(['sync-users', ...flags()])).code).toBe(0);
    expect(received).toEqual([{ type: 'syncUsers' }]);
  }, 30_000);
});

describe('the progress bar of exh sync-items', () => {
  it('draws done of total, or a count while the total is unknown, on one line rewritten in place', () => {
    expect(progressLine({ user: 'a@x.test', itemType: 'task', done: 5, total: 10 }, 80)).toBe(
      `a@x.test task [${'#'.repeat(20)}${'.'.repeat(20)}] 5/10`,
    );
    expect(progressLine({ user: 'a@x.test', itemType: 'email', done: 7, total: null }, 80)).toBe(
      'a@x.test email: 7 items',
    );
    const written: string[] = [];
    const bar = progressBar({ write: (text: string) => written.push(text), columns: 80 });
    bar.update({ user: 'a', itemType: 'task', done: 1, total: 2 });
    bar.end();
    expect(written[0]?.startsWith('\r\u001b[2K')).toBe(true);
    expect(written[0]).toMatch(/a task \[#+\.+\] 1\/2$/);
    expect(written[1]).toBe('\n');
  });

  it('leaves a finished line per user and type standing when the next one starts', () => {
    let screen = '';
    const bar = progressBar({ write: (text: string) => (screen += text), columns: 80 });
    bar.update({ user: 'a', itemType: 'task', done: 1, total: null });
    bar.update({ user: 'a', itemType: 'task', done: 3, total: null });
    bar.update({ user: 'a', itemType: 'email', done: 2, total: 4 });
    bar.update({ user: 'a', itemType: 'email', done: 4, total: 4 });
    bar.update({ user: 'b', itemType: 'task', done: 0, total: null });
    bar.end();
    // What a terminal shows: each line as its last rewrite left it.
    const lines = screen.split('\n').map((line) => line.split('\r\u001b[2K').at(-1));
    expect(lines).toEqual(['a task: 3 items', `a email [${'#'.repeat(40)}] 4/4`, 'b task: 0 items', '']);
  });
});
