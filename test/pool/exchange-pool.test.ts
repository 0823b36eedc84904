import { describe, expect, it } from 'vitest';
import { createActor, fromPromise, setup, toPromise } from 'xstate';
import { ExchangePool } from '../../src/pool/exchange-pool.js';

function deferred() {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => {
    resolve = r;
  });
  return { promise, resolve };
}

describe('ExchangePool', () => {
  it('never runs more than `concurrency` requests at once', async () => {
    const pool = new ExchangePool(2);
    let running = 0;
    let peak = 0;
    const never = new AbortController().signal;
    await Promise.all(
      Array.from({ length: 10 }, () =>
        pool.run(
          async () => {
            running += 1;
            peak = Math.max(peak, running);
            await new Promise((r) => setImmediate(r));
            running -= 1;
          },
          { priority: 'catchUp', signal: never },
        ),
      ),
    );
    expect(peak).toBe(2);
  });

  it('runs live notifications before catch-up before resync when a slot frees', async () => {
    const pool = new ExchangePool(1);
    const signal = new AbortController().signal;
    const gate = deferred();
    const order: string[] = [];
    const blocker = pool.run(() => gate.promise, { priority: 'resync', signal });
    const queued = [
      pool.run(async () => void order.push('resync'), { priority: 'resync', signal }),
      pool.run(async () => void order.push('catchUp'), { priority: 'catchUp', signal }),
      pool.run(async () => void order.push('live'), { priority: 'live', signal }),
    ];
    expect(pool.stats()).toEqual({ concurrency: 1, running: 1, queued: 3 });
    gate.resolve();
    await Promise.all([blocker, ...queued]);
    expect(order).toEqual(['live', 'catchUp', 'resync']);
  });

  it('cancels queued and running work when the promise actor that asked for it stops', async () => {
    const pool = new ExchangePool(1);
    const gate = deferred();
    const seen: string[] = [];
    let runningSignal: AbortSignal | undefined;
    const blocker = pool.run(
      async (signal) => {
        runningSignal = signal;
        await gate.promise;
      },
      { priority: 'live', signal: new AbortController().signal },
    );
    const machine = setup({
      actors: {
        fetchItems: fromPromise(({ signal }) =>
          pool.run(async () => void seen.push('ran'), { priority: 'catchUp', signal }),
        ),
      },
    }).createMachine({ initial: 'working', states: { working: { invoke: { src: 'fetchItems' } } } });
    const actor = createActor(machine).start();
    expect(pool.stats().queued).toBe(1);
    actor.stop();
    // The stopped actor's request leaves the queue at once instead of waiting for a slot.
    expect(pool.stats().queued).toBe(0);
    gate.resolve();
    await blocker;
    expect(seen).toEqual([]);
    expect(runningSignal?.aborted).toBe(false);
  });

  it('rejects with EXH_POOL_ABORTED for an already stopped caller and on close()', async () => {
    const pool = new ExchangePool(1);
    const aborted = AbortSignal.abort();
    await expect(pool.run(async () => 1, { priority: 'live', signal: aborted })).rejects.toMatchObject({
      code: 'EXH_POOL_ABORTED',
    });
    const gate = deferred();
    let sawAbort = false;
    const running = pool.run(
      async (signal) => {
        signal.addEventListener('abort', () => {
          sawAbort = true;
          gate.resolve();
        });
        await gate.promise;
      },
      { priority: 'live', signal: new AbortController().signal },
    );
    const queued = pool.run(async () => 2, { priority: 'live', signal: new AbortController().signal });
    const outcomes = Promise.allSettled([running, queued]);
    await pool.close();
    const [, queuedOutcome] = await outcomes;
    expect(sawAbort).toBe(true);
    expect(queuedOutcome).toMatchObject({ status: 'rejected', reason: { code: 'EXH_POOL_ABORTED' } });
    await expect(
      pool.run(async () => 3, { priority: 'live', signal: new AbortController().signal }),
    ).rejects.toMatchObject({
      code: 'EXH_POOL_ABORTED',
    });
  });

  it('passes results and errors of the task through', async () => {
    const pool = new ExchangePool(3);
    const signal = new AbortController().signal;
    await expect(pool.run(async () => 42, { priority: 'live', signal })).resolves.toBe(42);
    await expect(
      pool.run(
        async () => {
          throw new Error('ErrorServerBusy');
        },
        { priority: 'live', signal },
      ),
    ).rejects.toThrow('ErrorServerBusy');
    const actor = createActor(fromPromise(() => pool.run(async () => 'done', { priority: 'resync', signal })));
    actor.start();
    await expect(toPromise(actor)).resolves.toBe('done');
  });

  it('asks mayStart once a request has its place, after its wait: a throw then runs nothing and frees the place', async () => {
    const pool = new ExchangePool(1);
    pool.limitPerMailbox(1);
    const signal = new AbortController().signal;
    const gate = deferred();
    const ran: string[] = [];
    let allowed = true;
    const busy = pool.run(
      async () => {
        ran.push('first');
        await gate.promise;
      },
      { priority: 'live', signal, mailbox: 'alice' },
    );
    // Asked when its turn comes, not when it is queued: the lease (say) ends while it waits.
    const waiting = pool.run(
      async () => {
        ran.push('second');
      },
      {
        priority: 'live',
        signal,
        mailbox: 'alice',
        mayStart: () => {
          if (!allowed) throw new Error('the lease ended');
        },
      },
    );
    allowed = false;
    gate.resolve();
    await busy;
    await expect(waiting).rejects.toThrow('the lease ended');
    expect(ran).toEqual(['first']);
    // The place is free again, for the mailbox and the pool.
    await expect(pool.run(async () => 'next', { priority: 'live', signal, mailbox: 'alice' })).resolves.toBe('next');
  });

  it('with a per-mailbox limit, holds a busy mailbox to it and lets the other mailboxes use the rest of the pool', async () => {
    const pool = new ExchangePool(8);
    pool.limitPerMailbox(4);
    const never = new AbortController().signal;
    const running = new Map<string, number>();
    const peak = new Map<string, number>();
    const gate = deferred();
    const request = (address: string) => {
      const mailbox = address.toLowerCase();
      return pool.run(
        async () => {
          running.set(mailbox, (running.get(mailbox) ?? 0) + 1);
          peak.set(mailbox, Math.max(peak.get(mailbox) ?? 0, running.get(mailbox) ?? 0));
          await gate.promise;
          running.set(mailbox, (running.get(mailbox) ?? 0) - 1);
        },
        { priority: 'catchUp', signal: never, mailbox: address },
      );
    };
    // Mailbox addresses are case-insensitive: both spellings count as one mailbox.
    const busy = Array.from({ length: 10 }, (_, i) => request(i % 2 === 0 ? 'a@x.test' : 'A@X.TEST'));
    const others = ['b@x.test', 'c@x.test', 'd@x.test', 'e@x.test'].map(request);
    await new Promise((r) => setImmediate(r));
    // Four of the busy mailbox's ten run, and every other mailbox's one gets a slot beside them.
    expect(pool.stats().running).toBe(8);
    expect(running.get('a@x.test')).toBe(4);
    for (const other of ['b@x.test', 'c@x.test', 'd@x.test', 'e@x.test']) expect(running.get(other)).toBe(1);
    gate.resolve();
    await Promise.all([...busy, ...others]);
    expect(peak.get('a@x.test')).toBe(4);
  });

  it('a request waiting for its mailbox leaves when its caller stops, and the mailbox goes on', async () => {
    const pool = new ExchangePool(4);
    pool.limitPerMailbox(1);
    const gate = deferred();
    const never = new AbortController().signal;
    const first = pool.run(() => gate.promise, { priority: 'live', signal: never, mailbox: 'a@x.test' });
    const stopped = new AbortController();
    const waiting = pool.run(async () => 'ran', { priority: 'live', signal: stopped.signal, mailbox: 'a@x.test' });
    const after = pool.run(async () => 'after', { priority: 'live', signal: never, mailbox: 'a@x.test' });
    stopped.abort();
    await expect(waiting).rejects.toMatchObject({ code: 'EXH_POOL_ABORTED' });
    gate.resolve();
    await first;
    await expect(after).resolves.toBe('after');
  });

  it('refuses a per-mailbox limit that is not a whole number of at least 1', () => {
    expect(() => new ExchangePool(2).limitPerMailbox(0)).toThrow(RangeError);
    expect(() => new ExchangePool(2).limitPerMailbox(1.5)).toThrow(RangeError);
  });
});
