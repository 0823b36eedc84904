import { describe, expect, it, vi } from 'vitest';
import { EwsTransport } from '../../../src/exchange/ews/transport.js';
import { alice, live, startTestEmulator, testAdapter } from './support.js';

const emulator = await startTestEmulator();
const adapter = testAdapter(emulator);
const sync = (connection: Awaited<ReturnType<typeof adapter.connect>>, options = live()) =>
  connection.syncFolder('calendar', null, { ...options, maxChanges: 10 });

describe('the transport against Exchange (the emulator)', () => {
  it('turns ErrorServerBusy into EXH_EXCHANGE_THROTTLED with the back-off Exchange asked for', async () => {
    const connection = await adapter.connect();
    emulator.admin.faults.add({ kind: 'serverBusy', backOffMs: 1500, calls: 1, operations: ['SyncFolderItems'] });
    const error = await sync(connection).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'EXH_EXCHANGE_THROTTLED', retryable: true, details: { backOffMs: 1500 } });
    await expect(sync(connection)).resolves.toMatchObject({ done: true });
  });

  it('turns a bare HTTP 503 into EXH_EXCHANGE_UNAVAILABLE and a mailbox move into EXH_EXCHANGE_MAILBOX_MOVING', async () => {
    const connection = await adapter.connect();
    emulator.admin.faults.add({ kind: 'httpStatus', status: 503, calls: 1 });
    await expect(sync(connection)).rejects.toMatchObject({
      code: 'EXH_EXCHANGE_UNAVAILABLE',
      message: expect.stringContaining('HTTP 503'),
    });
    emulator.admin.faults.add({ kind: 'mailboxMove', calls: 1, mailbox: alice });
    await expect(sync(connection)).rejects.toMatchObject({ code: 'EXH_EXCHANGE_MAILBOX_MOVING', retryable: true });
  });

  it('honours exchange.timeoutMs: a slow answer is abandoned with EXH_EXCHANGE_TIMEOUT', async () => {
    const quick = testAdapter(emulator, { timeoutMs: 300 });
    const connection = await quick.connect();
    emulator.admin.faults.add({ kind: 'latency', ms: 3000, calls: 1, operations: ['SyncFolderItems'] });
    const started = Date.now();
    const error = await sync(connection).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'EXH_EXCHANGE_TIMEOUT', retryable: true, details: { timeoutMs: 300 } });
    expect(Date.now() - started).toBeLessThan(2500);
  });

  it('a stopped caller cancels its queued request before it is sent, and its running one', async () => {
    const single = testAdapter(emulator, {}, { concurrency: 1 });
    const connection = await single.connect();
    emulator.admin.faults.add({ kind: 'latency', ms: 3000, calls: 1, operations: ['SyncFolderItems'] });
    const sent = emulator.admin.recordedOperations().SyncFolderItems ?? 0;
    const running = new AbortController();
    const queued = new AbortController();
    const first = sync(connection, live(running.signal)).catch((e: unknown) => e);
    const second = sync(connection, live(queued.signal)).catch((e: unknown) => e);
    await vi.waitFor(() => expect(single.pool.stats()).toMatchObject({ running: 1, queued: 1 }));
    // The first request has reached Exchange (it took the latency fault) and waits for its answer.
    await vi.waitFor(() => expect(emulator.admin.faults.list()).toEqual([]));
    queued.abort();
    expect(await second).toMatchObject({ code: 'EXH_POOL_ABORTED' });
    const started = Date.now();
    running.abort();
    expect(await first).toMatchObject({ code: 'EXH_POOL_ABORTED' });
    expect(Date.now() - started).toBeLessThan(1000);
    // Neither request got an answer from Exchange.
    expect(emulator.admin.recordedOperations().SyncFolderItems ?? 0).toBe(sent);
  });

  it('acts as the user: impersonation header and X-AnchorMailbox on every request, the library’s and its own', async () => {
    const send = vi.spyOn(EwsTransport.prototype, 'send');
    try {
      const connection = await adapter.connect();
      await sync(connection);
      const calls = send.mock.calls.filter(([, body]) => body.includes('SyncFolderItems') || body.includes('GetFolder'));
      expect(calls.length).toBeGreaterThanOrEqual(2);
      for (const [, body, headers] of calls) {
        expect(body).toMatch(/<t:SmtpAddress>alice@contoso\.test<\/t:SmtpAddress>/);
        expect(Object.entries(headers).find(([name]) => name.toLowerCase() === 'x-anchormailbox')?.[1]).toBe(alice);
      }
    } finally {
      send.mockRestore();
    }
  });
});
