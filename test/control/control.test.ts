import { beforeEach, describe, expect, it, vi } from 'vitest';
import { createControl } from '../../src/control/control.js';
import { isExhError } from '../../src/errors.js';
import { Connections } from '../../src/mailbox/connections.js';
import { SyncLocks, syncLockKey } from '../../src/mailbox/sync-locks.js';
import type { SyncItemsRequest } from '../../src/ports/control.port.js';
import type { DatabasePort, UserRegistration } from '../../src/ports/database.port.js';
import type { MailboxConnection } from '../../src/ports/exchange.port.js';
import { registration } from '../machines/helpers.js';
import { recordingLogger } from '../protocol/helpers.js';

/** The resynchronisation itself is tested in test/sync/resync.test.ts; here it is scripted. */
const core = vi.hoisted(() => ({ resyncItemType: vi.fn() }));
vi.mock('../../src/sync/executors/resync.js', async (importOriginal) => ({
  ...(await importOriginal<typeof import('../../src/sync/executors/resync.js')>()),
  resyncItemType: core.resyncItemType,
}));

const alice = 'alice@contoso.test';
const bob = 'bob@contoso.test';

/** Alice (calendar and email) is connected, Bob (calendar and email) is registered but not connected. */
function control(users: UserRegistration[] = [registration(alice), registration(bob)]) {
  const logged: Array<{ user?: string; code: string }> = [];
  const lockedKeys: string[] = [];
  const connections = new Connections();
  connections.set(alice, { endpoint: 'https://mail.contoso.test/EWS' } as unknown as MailboxConnection);
  const locks = new SyncLocks();
  const run = locks.run.bind(locks);
  locks.run = (key, work) => {
    lockedKeys.push(key);
    return run(key, work);
  };
  const db = {
    logError: async (entry: { user?: string; code: string }) => void logged.push(entry),
    retryOutbox: async () => ({ retried: 2 }),
  } as unknown as DatabasePort;
  const { logger, records } = recordingLogger();
  let usersSyncs = 0;
  const port = createControl({
    db,
    connections,
    locks,
    settings: {} as never,
    logger,
    users: () => users,
    requestUsersSync: () => {
      usersSyncs += 1;
    },
    signal: new AbortController().signal,
  });
  return { port, logged, lockedKeys, records, usersSyncs: () => usersSyncs };
}

const request = (overrides: Partial<SyncItemsRequest> = {}): SyncItemsRequest => ({
  direction: 0,
  user: null,
  itemType: null,
  add: true,
  chg: true,
  del: true,
  ...overrides,
});

async function codeOf(promise: Promise<unknown>): Promise<string | undefined> {
  const error = await promise.then(
    () => undefined,
    (caught: unknown) => caught,
  );
  return isExhError(error) ? error.code : undefined;
}

beforeEach(() => {
  core.resyncItemType.mockReset();
  core.resyncItemType.mockResolvedValue({ added: 1, changed: 2, deleted: 3, failed: 0 });
});

describe('the ControlPort of a running connector', () => {
  it('asks the supervisor to register users again', () => {
    const { port, usersSyncs } = control();
    port.syncUsers();
    expect(usersSyncs()).toBe(1);
  });

  it('refuses an unknown user, and a registered one whose mailbox is not connected (try again later)', async () => {
    const { port } = control();
    expect(await codeOf(port.syncItems(request({ user: 'mallory@contoso.test' })))).toBe('EXH_MAILBOX_UNKNOWN');
    expect(await codeOf(port.syncItems(request({ user: 'Bob@Contoso.test' })))).toBe('EXH_MAILBOX_NOT_CONNECTED');
    expect(core.resyncItemType).not.toHaveBeenCalled();
  });

  it("resynchronises every connected user's enabled types, counts the others as failed and says so in exh_log", async () => {
    const { port, logged, lockedKeys } = control();
    const outcome = await port.syncItems(request());
    // Alice: calendar and email, each 1 + 2 + 3; Bob: not connected, one failure.
    expect(outcome).toEqual({ added: 2, changed: 4, deleted: 6, failed: 1 });
    expect(core.resyncItemType.mock.calls.map(([deps, resync]) => [deps.definition.name, resync.user])).toEqual([
      ['calendar', alice],
      ['email', alice],
    ]);
    expect(logged).toEqual([expect.objectContaining({ user: bob, code: 'EXH_MAILBOX_NOT_CONNECTED' })]);
    // Towards the database a resync takes the live sync's lock of the mailbox and type.
    expect(lockedKeys).toEqual([syncLockKey(alice, 'calendar'), syncLockKey(alice, 'email')]);
  });

  it('writes towards Exchange without the lock, and only the type asked for', async () => {
    const { port, lockedKeys } = control();
    await port.syncItems(request({ direction: 1, user: alice, itemType: 'email', del: false }));
    expect(core.resyncItemType).toHaveBeenCalledTimes(1);
    expect(core.resyncItemType.mock.calls[0]?.[1]).toMatchObject({ user: alice, direction: 1, del: false, ranges: {} });
    expect(lockedKeys).toEqual([]);
  });

  it('warns that a range on a field the type lacks is ignored, as exh_get_item_{type} ignores it', async () => {
    const { port, records } = control();
    await port.syncItems(
      request({ user: alice, itemType: 'email', start: { from: new Date('2026-01-01T00:00:00Z') } }),
    );
    expect(core.resyncItemType.mock.calls[0]?.[1].ranges).toEqual({
      start: { from: new Date('2026-01-01T00:00:00Z') },
    });
    expect(records().map((record) => record.msg)).toContain(
      'exh_sync_item: email items have no start, so the start range is ignored for them',
    );
  });

  it('retries failed outbox rows and then reads the connected mailboxes again, adding and changing only', async () => {
    const { port } = control();
    expect(await port.retryFailed({})).toEqual({ retried: 2, rereading: [alice] });
    await vi.waitFor(() => expect(core.resyncItemType).toHaveBeenCalledTimes(2));
    expect(core.resyncItemType.mock.calls[0]?.[1]).toMatchObject({
      user: alice,
      direction: 0,
      add: true,
      chg: true,
      del: false,
    });
    expect(await codeOf(port.retryFailed({ user: 'mallory@contoso.test' }))).toBe('EXH_MAILBOX_UNKNOWN');
  });
});
