import { beforeEach, describe, expect, it, vi } from 'vitest';
import { Connections } from '../../src/mailbox/connections.js';
import { syncMailboxItemType } from '../../src/mailbox/item-type-sync.js';
import { CommittedWatermarks, SyncLocks, syncLockKey } from '../../src/mailbox/sync-locks.js';
import type { DatabasePort } from '../../src/ports/database.port.js';
import type { MailboxConnection } from '../../src/ports/exchange.port.js';
import { recordingLogger } from '../protocol/helpers.js';

/** The sync core is tested on its own (test/sync/); here it is scripted, to see what the service does around it. */
const core = vi.hoisted(() => ({ syncItemType: vi.fn(), resyncItemType: vi.fn() }));
vi.mock('../../src/sync/executors/sync-item-type.js', () => ({ syncItemType: core.syncItemType }));
vi.mock('../../src/sync/executors/resync.js', () => ({ resyncItemType: core.resyncItemType }));

const alice = 'alice@contoso.test';

function service() {
  const applied: unknown[] = [];
  const connections = new Connections();
  connections.set(alice, { endpoint: 'https://mail.contoso.test/EWS' } as unknown as MailboxConnection);
  const deps = {
    db: { applyChanges: async (batch: unknown) => void applied.push(batch) } as unknown as DatabasePort,
    connections,
    settings: { pageSize: 512 } as never,
    logger: recordingLogger().logger,
    locks: new SyncLocks(),
    committed: new CommittedWatermarks(),
  };
  const run = (watermark: string | null = null) =>
    syncMailboxItemType(deps, { user: alice, itemType: 'calendar', watermark, signal: new AbortController().signal });
  return { deps, run, applied };
}

beforeEach(() => {
  core.syncItemType.mockReset();
  core.resyncItemType.mockReset();
});

describe('syncMailboxItemType', () => {
  it("resumes from the newest committed watermark, remembers each page's, and writes nothing more after an ordinary sync", async () => {
    const { deps, run, applied } = service();
    const key = syncLockKey('Alice@Contoso.test', 'calendar');
    deps.committed.set(key, '{"calendar":"s5"}');
    core.syncItemType.mockImplementation(async (_deps, sync) => {
      sync.onCommitted('{"calendar":"s6"}');
      return { watermark: '{"calendar":"s6"}', applied: 2, failed: 0, restarted: false };
    });
    expect(await run('{"calendar":"s1"}')).toEqual({ watermark: '{"calendar":"s6"}', applied: 2, failed: 0 });
    expect(core.syncItemType.mock.calls[0]?.[1]).toMatchObject({ user: alice, watermark: '{"calendar":"s5"}' });
    expect(deps.committed.get(key)).toBe('{"calendar":"s6"}');
    expect(core.resyncItemType).not.toHaveBeenCalled();
    expect(applied).toEqual([]);
  });

  it('after a restart compares deletions, then writes and remembers the watermark that says so', async () => {
    const { deps, run, applied } = service();
    core.syncItemType.mockResolvedValue({
      watermark: '{"calendar":"s1","compare":true}',
      applied: 5,
      failed: 1,
      restarted: true,
    });
    core.resyncItemType.mockResolvedValue({ added: 0, changed: 0, deleted: 2, failed: 1 });
    expect(await run()).toEqual({ watermark: '{"calendar":"s1"}', applied: 7, failed: 2 });
    expect(core.resyncItemType.mock.calls[0]?.[1]).toMatchObject({
      user: alice,
      direction: 0,
      add: false,
      chg: false,
      del: true,
      ranges: {},
    });
    expect(applied).toEqual([{ user: alice, itemType: 'calendar', changes: [], watermark: '{"calendar":"s1"}' }]);
    expect(deps.committed.get(syncLockKey(alice, 'calendar'))).toBe('{"calendar":"s1"}');
  });

  it('runs one sync at a time per mailbox and type: the second waits for the first, even when it fails', async () => {
    const { run } = service();
    const log: string[] = [];
    let fail!: (error: Error) => void;
    core.syncItemType
      .mockImplementationOnce(
        () =>
          new Promise((_resolve, reject) => {
            log.push('first starts');
            fail = reject;
          }),
      )
      .mockImplementationOnce(async () => {
        log.push('second starts');
        return { watermark: '{}', applied: 0, failed: 0, restarted: false };
      });
    const first = run();
    const second = run();
    await vi.waitFor(() => expect(log).toEqual(['first starts']));
    fail(new Error('Exchange went away'));
    await expect(first).rejects.toThrow('Exchange went away');
    await second;
    expect(log).toEqual(['first starts', 'second starts']);
  });
});
