import { describe, expect, it } from 'vitest';
import { type AnyActorRef, createActor, fromPromise, SimulatedClock, setup, waitFor } from 'xstate';
import { type DatabaseMachineInput, databaseMachine } from '../../machines/database.machine.js';
import type { Report } from '../../machines/report.js';
import { minutes } from './helpers.js';

const input: DatabaseMachineInput = {
  target: 'postgres://exh@db:5432/app',
  retryIntervalMs: minutes(5),
  firstRetryMs: 5_000,
  probeIntervalMs: 30_000,
  probeTimeoutMs: 10_000,
};

const refused = () =>
  Object.assign(new Error('Cannot connect to the database at db:5432: ECONNREFUSED'), {
    code: 'EXH_DB_CONNECTION_REFUSED',
    retryable: true,
  });
const lost = () =>
  Object.assign(new Error('Connection terminated'), { code: 'EXH_DB_CONNECTION_LOST', retryable: true });

/**
 * The database machine under a stand-in for the supervisor, on xstate's SimulatedClock, with a database the test
 * scripts: `up` decides connects (from the first one on: `options.up`), `probe` what the next probes do.
 */
function scriptedDatabase(options: { up?: boolean } = {}) {
  const clock = new SimulatedClock();
  const reports: Report[] = [];
  const told: string[] = [];
  const db = { up: options.up ?? false, probe: 'ok' as 'ok' | 'fail' | 'hang', connects: 0, probes: 0, disconnects: 0 };
  const database = databaseMachine.provide({
    actions: { report: (_, params) => void reports.push(params) },
    actors: {
      connect: fromPromise(async () => {
        db.connects += 1;
        if (!db.up) throw refused();
      }),
      probe: fromPromise(async () => {
        db.probes += 1;
        if (db.probe === 'fail') throw lost();
        if (db.probe === 'hang') await new Promise(() => {});
      }),
      disconnect: fromPromise(async () => {
        db.disconnects += 1;
      }),
    },
  });
  const supervisor = setup({ actors: { database } }).createMachine({
    invoke: { id: 'database', src: 'database', systemId: 'database', input },
    on: {
      'database.ready': { actions: () => void told.push('ready') },
      'database.lost': { actions: () => void told.push('lost') },
    },
  });
  const parent = createActor(supervisor, { clock }).start();
  const actor = parent.getSnapshot().children.database as AnyActorRef;
  const until = (value: string | Record<string, string>) => waitFor(actor, (s) => s.matches(value), { timeout: 2_000 });
  return { actor, clock, reports, told, db, until };
}

describe('database machine', () => {
  it('after a failed attempt waits twice the first wait, doubling up to five minutes, and says when it tries next', async () => {
    const { actor, clock, reports, db, until } = scriptedDatabase();
    const waits: number[] = [];
    for (let attempt = 1; attempt <= 8; attempt++) {
      await until('waiting');
      expect(db.connects).toBe(attempt);
      waits.push(actor.getSnapshot().context.retryInMs);
      clock.increment(actor.getSnapshot().context.retryInMs - 1);
      expect(actor.getSnapshot().matches('waiting')).toBe(true);
      clock.increment(1);
      await until('connecting');
    }
    expect(waits).toEqual([10, 20, 40, 80, 160, 300, 300, 300].map((s) => s * 1_000));
    const unreachable = reports.filter((r) => r.event === 'database.unreachable');
    expect(unreachable[0]).toMatchObject({
      category: 'E',
      retryInMs: 10_000,
      attempt: 1,
      error: { code: 'EXH_DB_CONNECTION_REFUSED', retryable: true },
    });
    expect(unreachable[0]?.message).toMatch(/ECONNREFUSED; next attempt in 10 s$/);
    expect(unreachable.at(-1)?.message).toMatch(/next attempt in 5 min$/);
  });

  it('tells its parent once ready, probes every interval, and starts the schedule again after a loss', async () => {
    const { actor, clock, told, db, until, reports } = scriptedDatabase({ up: true });
    await until({ ready: 'idle' });
    expect(told).toEqual(['ready']);
    expect(actor.getSnapshot().context.failedAttempts).toBe(0);
    clock.increment(30_000);
    await until({ ready: 'idle' });
    expect(db.probes).toBe(1);

    db.probe = 'fail';
    clock.increment(30_000);
    await until('waiting');
    expect(told).toEqual(['ready', 'lost']);
    // The broken pool is released before waiting, and the first wait after a loss is the short one.
    expect(db.disconnects).toBe(1);
    expect(actor.getSnapshot().context.retryInMs).toBe(5_000);
    expect(reports.find((r) => r.event === 'database.lost')).toMatchObject({
      category: 'E',
      retryInMs: 5_000,
      error: { code: 'EXH_DB_CONNECTION_LOST' },
    });
    db.probe = 'ok';
    clock.increment(5_000);
    await until({ ready: 'idle' });
    expect(told).toEqual(['ready', 'lost', 'ready']);
  });

  it('counts a probe without an answer as a loss, after probeTimeoutMs', async () => {
    const { actor, clock, told, db, until } = scriptedDatabase({ up: true });
    await until({ ready: 'idle' });
    db.probe = 'hang';
    clock.increment(30_000);
    await until({ ready: 'probing' });
    clock.increment(9_999);
    expect(actor.getSnapshot().matches({ ready: 'probing' })).toBe(true);
    clock.increment(1);
    await until('waiting');
    expect(told).toEqual(['ready', 'lost']);
    expect(actor.getSnapshot().context.lastError).toEqual({
      code: 'EXH_DB_CONNECTION_LOST',
      message: 'The database at postgres://exh@db:5432/app did not answer a probe within 10 s',
      retryable: true,
    });
  });

  it("takes another actor's word for a loss, and an operator's retry ends the wait at once", async () => {
    const { actor, told, db, until } = scriptedDatabase({ up: true });
    await until({ ready: 'idle' });
    actor.send({
      type: 'database.failed',
      error: { code: 'EXH_DB_CONNECTION_LOST', message: 'reset', retryable: true },
    });
    await until('waiting');
    expect(told).toEqual(['ready', 'lost']);
    expect(actor.getSnapshot().context.lastError?.message).toBe('reset');
    actor.send({ type: 'database.retry' });
    await until({ ready: 'idle' });
    expect(told).toEqual(['ready', 'lost', 'ready']);
    expect(db.connects).toBe(2);
  });
});
