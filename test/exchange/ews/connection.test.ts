import { describe, expect, it } from 'vitest';
import { alice, bob, live, startTestEmulator, testAdapter } from './support.js';

const emulator = await startTestEmulator();
const adapter = testAdapter(emulator);
const sync = (connection: Awaited<ReturnType<typeof adapter.connect>>, signal?: AbortSignal) =>
  connection.syncFolder('tasks', null, { ...live(signal), maxChanges: 10 });

describe('EwsConnection after ErrorServerBusy', () => {
  it('sends nothing more for that mailbox until BackOffMilliseconds have passed; other mailboxes go on', async () => {
    const backOffMs = 800;
    const mine = await adapter.connect(alice);
    const other = await adapter.connect(bob);
    emulator.admin.faults.add({ kind: 'serverBusy', backOffMs, calls: 1, mailbox: alice });
    const busyAt = Date.now();
    await expect(sync(mine)).rejects.toMatchObject({ code: 'EXH_EXCHANGE_THROTTLED' });
    await sync(other);
    await sync(mine);
    const log = emulator.admin.requests({ operation: 'SyncFolderItems', since: busyAt });
    const [busy, ofOther, next] = log;
    expect(busy).toMatchObject({ mailbox: alice, fault: 'ErrorServerBusy' });
    expect(ofOther).toMatchObject({ mailbox: bob, status: 200 });
    expect(next).toMatchObject({ mailbox: alice, status: 200 });
    expect((next?.at as number) - (busy?.answeredAt as number)).toBeGreaterThanOrEqual(backOffMs);
    // The quiet is over: the next request goes at once.
    const before = Date.now();
    await sync(mine);
    expect(Date.now() - before).toBeLessThan(backOffMs);
  });

  it('a request waiting out the back-off gives up with its caller, and never reaches Exchange', async () => {
    const mine = await adapter.connect(alice);
    emulator.admin.faults.add({ kind: 'serverBusy', backOffMs: 60_000, calls: 1, mailbox: alice });
    const since = Date.now();
    await expect(sync(mine)).rejects.toMatchObject({ code: 'EXH_EXCHANGE_THROTTLED' });
    const caller = new AbortController();
    const waiting = sync(mine, caller.signal);
    setTimeout(() => caller.abort(), 100);
    await expect(waiting).rejects.toMatchObject({ code: 'EXH_POOL_ABORTED' });
    expect(emulator.admin.requests({ mailbox: alice, since })).toHaveLength(1);
    // A new connection (the mailbox connecting again after its own back-off) is not held back by the old one's.
    await sync(await adapter.connect(alice));
  });
});
