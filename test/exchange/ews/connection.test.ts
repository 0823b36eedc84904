import { getEventListeners } from 'node:events';
import { describe, expect, it } from 'vitest';
import type { EwsConnection } from '../../../src/exchange/ews/connection.js';
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

describe('EwsConnection.request', () => {
  it("leaves no abort listener behind on the signal its task ran with, nor on its caller's", async () => {
    // A listener left on the pool's signal (an AbortSignal.any) keeps it, and the request's result, alive until the
    // pool closes: the connector's memory grew by some 3 KiB for every request.
    const connection = (await adapter.connect(alice)) as EwsConnection;
    const caller = new AbortController();
    let used: AbortSignal | undefined;
    const result = await connection.request(
      { priority: 'live', signal: caller.signal },
      {},
      async (signal: AbortSignal) => {
        used = signal;
        return 'done';
      },
    );
    expect(result).toBe('done');
    expect(getEventListeners(used as AbortSignal, 'abort')).toHaveLength(0);
    expect(getEventListeners(caller.signal, 'abort')).toHaveLength(0);
    // It still gives up with its caller when the task never settles.
    const never = connection.request({ priority: 'live', signal: caller.signal }, {}, () => new Promise(() => {}));
    caller.abort();
    await expect(never).rejects.toMatchObject({ code: 'EXH_POOL_ABORTED' });
  });
});
