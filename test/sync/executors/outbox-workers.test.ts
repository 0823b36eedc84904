import { describe, expect, it, vi } from 'vitest';
import { outboxRowsPerUser } from '../../../src/db/outbox.js';
import { type ExhError, errors } from '../../../src/errors.js';
import type { ControlPort } from '../../../src/ports/control.port.js';
import type { DatabasePort } from '../../../src/ports/database.port.js';
import type { MailboxWriter } from '../../../src/ports/exchange.port.js';
import {
  createOutboxWorkers,
  type OutboxTimers,
  type OutboxWorkersDeps,
} from '../../../src/sync/executors/outbox-workers.js';
import { alice, bob, type MemoryWorld, useMemoryWorld } from '../../support/memory-world.js';
import { recordingLogger } from '../../support/recording-logger.js';

/**
 * The outbox's scheduler (src/sync/executors/outbox-workers.ts) on PGlite with the example application and the
 * in-memory Exchange: one worker per user, overlapping looks merged into one more, a full batch read again at once,
 * polling on a clock the test ticks, the database's notifications, and a lost database handed to its machine.
 */
let world: MemoryWorld;
useMemoryWorld((made) => {
  world = made;
});

const control: ControlPort = {
  syncUsers: () => {},
  syncItems: async () => ({ added: 0, changed: 0, deleted: 0, failed: 0 }),
  retryFailed: async () => ({ retried: 0, rereading: [] }),
};

/** A clock that ticks only when the test says so. */
function manualTimers() {
  const ticks: Array<() => void> = [];
  const cleared: unknown[] = [];
  const timers: OutboxTimers & { tick(): void; periods: number[]; cleared: unknown[] } = {
    periods: [],
    cleared,
    setInterval(tick, ms) {
      ticks.push(tick);
      timers.periods.push(ms);
      return ticks.length;
    },
    clearInterval: (handle) => void cleared.push(handle),
    tick: () => {
      for (const tick of ticks) tick();
    },
  };
  return timers;
}

/** The adapter with some of its methods replaced (bound to the adapter, whose fields are private). */
function dbWith(overrides: Partial<Record<keyof DatabasePort, unknown>>): DatabasePort {
  return new Proxy(world.db, {
    get(target, name, receiver) {
      if (name in overrides) return overrides[name as keyof DatabasePort];
      const value = Reflect.get(target, name, receiver);
      return typeof value === 'function' ? value.bind(target) : value;
    },
  }) as DatabasePort;
}

/** The database without notifications: only looks asked for, the clock and full batches read the outbox. */
function counted(overrides: Partial<Record<keyof DatabasePort, unknown>> = {}) {
  const reads: number[] = [];
  const db = dbWith({
    watchOutbox: undefined,
    readOutbox: (limit: number) => {
      reads.push(limit);
      return world.db.readOutbox(limit);
    },
    ...overrides,
  });
  return { db, reads };
}

function deferred() {
  let resolve: () => void = () => {};
  const promise = new Promise<void>((done) => {
    resolve = done;
  });
  return { promise, resolve };
}

async function workersOf(overrides: Partial<OutboxWorkersDeps> & { writers?: Record<string, MailboxWriter> } = {}) {
  const { logger, records } = recordingLogger<{ level: number; msg: string }>('debug');
  const { writers: given, ...rest } = overrides;
  const writers = given ?? { [alice]: await world.connect(alice), [bob]: await world.connect(bob) };
  const timers = manualTimers();
  const gone: unknown[] = [];
  const workers = createOutboxWorkers({
    db: world.db,
    logger,
    control,
    isRegistered: () => true,
    maxAttachmentBytes: 1024,
    writerOf: (user) => writers[user.toLowerCase()],
    pollMs: 5_000,
    onDatabaseGone: (error) => void gone.push(error),
    timers,
    ...rest,
  });
  return { workers, timers, gone, records };
}

/** The writer with some of its methods replaced; the others bound to it (the adapter's fields are private). */
function writerWith(target: MailboxWriter, overrides: Partial<MailboxWriter>): MailboxWriter {
  return new Proxy(target, {
    get(from, name, receiver) {
      if (name in overrides) return overrides[name as keyof MailboxWriter];
      const value = Reflect.get(from, name, receiver);
      return typeof value === 'function' ? value.bind(from) : value;
    },
  });
}

async function addTask(user: string, appItemId: string) {
  await world.instance.query(`INSERT INTO task_item (exh_app_item_id, exh_user, exh_subject) VALUES ($1, $2, $3)`, [
    appItemId,
    user,
    appItemId,
  ]);
}

async function states(user: string) {
  return (await world.outbox()).filter((row) => row.exh_user === user).map((row) => row.exh_state);
}

describe('the outbox workers', () => {
  it('drain what is pending when started, into the mailbox, and are idle after', async () => {
    await addTask(alice, 'a-1');
    await addTask(bob, 'b-1');
    const { db, reads } = counted();
    const { workers, timers } = await workersOf({ db });
    workers.start();
    await workers.idle();
    expect(await states(alice)).toEqual(['done']);
    expect(await states(bob)).toEqual(['done']);
    expect(world.admin.listFolder(alice, 'tasks').map((item) => item.properties.appItemId)).toEqual(['a-1']);
    expect(reads).toEqual([500]);
    expect(timers.periods).toEqual([5_000]);
    workers.stop();
  });

  it('run one worker per user: a user held up holds up only their own rows, and a row is never taken twice', async () => {
    const gate = deferred();
    const alices = await world.connect(alice);
    const creates: string[] = [];
    const heldAlice = writerWith(alices, {
      createItem: async (...args: Parameters<MailboxWriter['createItem']>) => {
        creates.push(args[0].appItemId);
        await gate.promise;
        return alices.createItem(...args);
      },
    });
    await addTask(alice, 'a-1');
    await addTask(bob, 'b-1');
    const { db } = counted();
    const { workers } = await workersOf({ db, writers: { [alice]: heldAlice, [bob]: await world.connect(bob) } });
    workers.start();
    await vi.waitFor(async () => expect(await states(bob)).toEqual(['done']), { timeout: 5_000 });
    expect(await states(alice)).toEqual(['pending']);
    // Alice's worker still runs: a look now starts no second one for her, whatever it reads.
    await addTask(alice, 'a-2');
    await workers.look();
    gate.resolve();
    await workers.idle();
    expect(creates).toEqual(['a-1']);
    expect(await states(alice)).toEqual(['done', 'pending']);
    await workers.look();
    await workers.idle();
    expect(creates).toEqual(['a-1', 'a-2']);
    expect(await states(alice)).toEqual(['done', 'done']);
    workers.stop();
  });

  it('look for an item a create may have made only when an earlier attempt may have reached Exchange', async () => {
    const alices = await world.connect(alice);
    const finds: string[] = [];
    let failOnce = 'a-2';
    const counting = writerWith(alices, {
      findByAppItemId: (...args: Parameters<MailboxWriter['findByAppItemId']>) => {
        finds.push(args[1]);
        return alices.findByAppItemId(...args);
      },
      createItem: async (...args: Parameters<MailboxWriter['createItem']>) => {
        if (args[0].appItemId === failOnce) {
          failOnce = '';
          // Whether Exchange made it or not, the row is tried again.
          throw errors.exchangeUnavailable('https://mail.contoso.test/EWS/Exchange.asmx', 'connection reset');
        }
        return alices.createItem(...args);
      },
    });
    // Pending when the connector starts: an earlier connector may have made it before it stopped.
    await addTask(alice, 'a-0');
    const { db } = counted();
    const { workers } = await workersOf({ db, writers: { [alice]: counting } });
    workers.start();
    await workers.idle();
    expect(finds).toEqual(['a-0']);
    // Written since: nothing to look for on its first attempt, one Exchange request fewer.
    await addTask(alice, 'a-1');
    await workers.look();
    await workers.idle();
    expect(finds).toEqual(['a-0']);
    // Tried, failed on the way: its second attempt looks first, so it is made once.
    await addTask(alice, 'a-2');
    await workers.look();
    await workers.idle();
    expect(await states(alice)).toEqual(['done', 'done', 'pending']);
    await workers.look();
    await workers.idle();
    expect(finds).toEqual(['a-0', 'a-2']);
    expect(await states(alice)).toEqual(['done', 'done', 'done']);
    expect(world.admin.listFolder(alice, 'tasks').map((item) => item.properties.appItemId)).toEqual([
      'a-0',
      'a-1',
      'a-2',
    ]);
    workers.stop();
  });

  it.each([
    [true, ['b-1']],
    [false, ['b-1', 'b-1']],
  ])(
    'with other instances on the same outbox (sharedOutbox %s), a row another instance wrote but did not record: copies in Exchange %j',
    async (sharedOutbox, made) => {
      // This instance (here) started before the row was written.
      const { workers: here } = await workersOf({ db: counted().db, sharedOutbox });
      here.start();
      await here.idle();
      await addTask(alice, 'b-1');
      // The instance that held alice's lease before writes it to Exchange, then loses the lease before its outcome is
      // recorded: the fenced database refuses the completion (src/cluster/fenced-database.ts) and the row stays pending.
      const { workers: before, records } = await workersOf({
        db: counted({
          completeOutbox: async () => {
            throw errors.leaseLost(alice, 'exh-before', 'the outcome of outbox row 1');
          },
        }).db,
        sharedOutbox,
      });
      before.start();
      await before.idle();
      before.stop();
      expect(records.map((r) => r.msg)).toContainEqual(expect.stringContaining('no longer holds the lease'));
      expect(await states(alice)).toEqual(['pending']);
      // Now here holds the lease: sharing the outbox, its create looks first and finds the item; otherwise (one
      // connector per outbox, where a row written since the start was never tried) it makes a second one.
      await here.look();
      await here.idle();
      expect(await states(alice)).toEqual(['done']);
      expect(world.admin.listFolder(alice, 'tasks').map((item) => item.properties.appItemId)).toEqual(made);
      here.stop();
    },
  );

  it('in a cluster, stop writing a user’s rows once this instance no longer holds the user: the rest stay pending', async () => {
    let held = true;
    const alices = await world.connect(alice);
    const creates: string[] = [];
    const counting = writerWith(alices, {
      createItem: async (...args: Parameters<MailboxWriter['createItem']>) => {
        creates.push(args[0].appItemId);
        const made = await alices.createItem(...args);
        // The lease goes to another instance while this row's outcome is on its way (its heartbeat failed, say).
        held = false;
        return made;
      },
    });
    await addTask(alice, 'h-1');
    await addTask(alice, 'h-2');
    const { workers } = await workersOf({
      db: counted().db,
      writers: { [alice]: counting },
      lease: { instanceId: 'exh-here', owns: () => held },
    });
    workers.start();
    await workers.idle();
    // The row in flight was written; the next one is left for the new holder, untouched.
    expect(creates).toEqual(['h-1']);
    expect(await states(alice)).toEqual(['done', 'pending']);
    held = true;
    await workers.look();
    await workers.idle();
    expect(creates).toEqual(['h-1', 'h-2']);
    expect(await states(alice)).toEqual(['done', 'done']);
    workers.stop();
  });

  it('in a cluster, write nothing to Exchange for a row whose lease ended during its own steps before the write', async () => {
    // What the multi-instance kill test met (test/faults/cluster-kill.test.ts): an instance looked for an earlier
    // attempt's item, found none, then its database stalled past its lease; the new holder made the item meanwhile,
    // and the stalled instance, let go on, made a second one. Here the lease ends during that look.
    let held = true;
    let looks = 0;
    const alices = await world.connect(alice);
    const creates: string[] = [];
    const losing = writerWith(alices, {
      findByAppItemId: async (...args: Parameters<MailboxWriter['findByAppItemId']>) => {
        const found = await alices.findByAppItemId(...args);
        // The first look only: the lease ends while it is answered.
        if (looks++ === 0) held = false;
        return found;
      },
      createItem: async (...args: Parameters<MailboxWriter['createItem']>) => {
        creates.push(args[0].appItemId);
        return alices.createItem(...args);
      },
    });
    await addTask(alice, 'l-1');
    const { workers, records } = await workersOf({
      db: counted().db,
      writers: { [alice]: losing },
      sharedOutbox: true,
      lease: { instanceId: 'exh-here', owns: () => held },
    });
    workers.start();
    await workers.idle();
    expect(creates).toEqual([]);
    expect(world.admin.listFolder(alice, 'tasks')).toEqual([]);
    expect(await states(alice)).toEqual(['pending']);
    expect(records.map((r) => r.msg)).toContainEqual(
      expect.stringMatching(/exh-here no longer holds the lease .*a create for Outbox row/),
    );
    // The lease back (or the row with the instance that holds it now): applied once.
    held = true;
    await workers.look();
    await workers.idle();
    expect(creates).toEqual(['l-1']);
    expect(await states(alice)).toEqual(['done']);
    workers.stop();
  });

  it('in a cluster, send nothing for a write whose lease ends after it was handed to the writer, before its request leaves', async () => {
    // The writer's request waits for its place in the pool or for Exchange's back-off; the lease ends meanwhile:
    // the request is checked again as it leaves (CallOptions.mayStart).
    let held = true;
    const alices = await world.connect(alice);
    const late = writerWith(alices, {
      createItem: async (...args: Parameters<MailboxWriter['createItem']>) => {
        held = false;
        return alices.createItem(...args);
      },
    });
    await addTask(alice, 'w-1');
    const { workers } = await workersOf({
      db: counted().db,
      writers: { [alice]: late },
      lease: { instanceId: 'exh-here', owns: () => held },
    });
    workers.start();
    await workers.idle();
    expect(world.admin.listFolder(alice, 'tasks')).toEqual([]);
    expect(await states(alice)).toEqual(['pending']);
    workers.stop();
  });

  it('in a cluster, say when a user’s row in flight is settled, so its lease is released only then', async () => {
    let held = true;
    const gate = deferred();
    const alices = await world.connect(alice);
    const gated = writerWith(alices, {
      createItem: async (...args: Parameters<MailboxWriter['createItem']>) => {
        // Exchange took the create; the lease goes while its answer is on its way back.
        const made = await alices.createItem(...args);
        held = false;
        await gate.promise;
        return made;
      },
    });
    await addTask(alice, 's-1');
    await addTask(alice, 's-2');
    await addTask(bob, 's-3');
    const { workers } = await workersOf({
      db: counted().db,
      writers: { [alice]: gated, [bob]: await world.connect(bob) },
      lease: { instanceId: 'exh-here', owns: (user) => user !== alice || held },
    });
    workers.start();
    await vi.waitFor(() => expect(held).toBe(false), { timeout: 5_000 });
    let settled = false;
    const settling = workers.settled([alice.toUpperCase()]).then(() => {
      settled = true;
    });
    // Bob's rows and a look meanwhile do not settle Alice's row: it is still being written.
    await workers.settled([bob]);
    await workers.look();
    expect(settled).toBe(false);
    gate.resolve();
    await settling;
    expect(world.admin.listFolder(alice, 'tasks').map((item) => item.properties.appItemId)).toEqual(['s-1']);
    expect(await states(alice)).toEqual(['done', 'pending']);
    workers.stop();
  });

  it('merge the looks asked for while one reads into one more look', async () => {
    const gate = deferred();
    const { db, reads } = counted({
      readOutbox: async (limit: number) => {
        reads.push(limit);
        if (reads.length === 1) await gate.promise;
        return world.db.readOutbox(limit);
      },
    });
    const { workers } = await workersOf({ db });
    workers.start();
    await addTask(alice, 'a-1');
    for (let i = 0; i < 3; i += 1) void workers.look();
    gate.resolve();
    await workers.idle();
    expect(reads).toHaveLength(2);
    expect(await states(alice)).toEqual(['done']);
    workers.stop();
  });

  it('look again at once when a user’s read was full, with no tick and no notification', async () => {
    for (let i = 0; i < outboxRowsPerUser + 5; i += 1) await addTask(alice, `a-${i}`);
    const { db, reads } = counted();
    const { workers } = await workersOf({ db });
    workers.start();
    await workers.idle();
    expect(reads.length).toBeGreaterThanOrEqual(2);
    expect(await states(alice)).toEqual(Array(outboxRowsPerUser + 5).fill('done'));
    workers.stop();
  });

  it('poll on their clock where the database cannot notify', async () => {
    const { db, reads } = counted();
    const { workers, timers } = await workersOf({ db });
    workers.start();
    await workers.idle();
    await addTask(alice, 'a-1');
    expect(await states(alice)).toEqual(['pending']);
    timers.tick();
    await workers.idle();
    expect(await states(alice)).toEqual(['done']);
    expect(reads).toHaveLength(2);
    workers.stop();
  });

  it('look when the database notifies, without a tick', async () => {
    const watching = deferred();
    const notified = deferred();
    const db = dbWith({
      watchOutbox: async (onUser: (user: string) => void, onError?: (error: ExhError) => void) => {
        const stop = await world.db.watchOutbox?.((user) => {
          onUser(user);
          notified.resolve();
        }, onError);
        watching.resolve();
        return stop;
      },
    });
    const { workers } = await workersOf({ db });
    workers.start();
    await watching.promise;
    await workers.idle();
    await addTask(alice, 'a-1');
    await notified.promise;
    await workers.idle();
    expect(await states(alice)).toEqual(['done']);
    workers.stop();
  });

  it('hand a lost database to its machine, from a read or from a worker, and log any other failure', async () => {
    const lost = errors.databaseConnectionLost('pglite', new Error('gone'));
    const reading = await workersOf({
      db: dbWith({ watchOutbox: undefined, readOutbox: async () => Promise.reject(lost) }),
    });
    reading.workers.start();
    await reading.workers.idle();
    expect(reading.gone).toEqual([lost]);
    reading.workers.stop();

    await addTask(alice, 'a-1');
    const completing = await workersOf({
      db: dbWith({ watchOutbox: undefined, completeOutbox: async () => Promise.reject(lost) }),
    });
    completing.workers.start();
    await completing.workers.idle();
    expect(completing.gone).toEqual([lost]);
    completing.workers.stop();

    const raising = errors.procedureFailed('exh_read_outbox', new Error('raised'));
    const other = await workersOf({
      db: dbWith({ watchOutbox: undefined, readOutbox: async () => Promise.reject(raising) }),
    });
    other.workers.start();
    await other.workers.idle();
    expect(other.gone).toEqual([]);
    expect(other.records.some((record) => record.msg.startsWith('Draining the outbox failed: '))).toBe(true);
    other.workers.stop();
  });

  it('once stopped, read nothing more, stop their clock and stop listening', async () => {
    let unwatched = 0;
    const watching = deferred();
    const { reads } = counted();
    const db = dbWith({
      readOutbox: (limit: number) => {
        reads.push(limit);
        return world.db.readOutbox(limit);
      },
      watchOutbox: async (onUser: (user: string) => void) => {
        const stop = await world.db.watchOutbox?.(onUser);
        watching.resolve();
        return async () => {
          unwatched += 1;
          await stop?.();
        };
      },
    });
    const { workers, timers, gone } = await workersOf({ db });
    workers.start();
    await watching.promise;
    await workers.idle();
    workers.stop();
    expect(timers.cleared).toEqual([1]);
    await vi.waitFor(() => expect(unwatched).toBe(1));
    await addTask(alice, 'a-1');
    timers.tick();
    await workers.look();
    await workers.idle();
    expect(reads).toHaveLength(1);
    expect(await states(alice)).toEqual(['pending']);
    expect(gone).toEqual([]);
  });
});
