import { describe, expect, it, vi } from 'vitest';
import { type AnyActorRef, createActor, fromPromise, waitFor } from 'xstate';
import type { UserRegistration } from '../../src/ports/database.port.js';
import { minutes, registration, scriptedSupervisor } from './helpers.js';

const input = {
  database: {
    target: 'postgres://exh@127.0.0.1:5432/app',
    retryIntervalMs: minutes(5),
    // These tests hold the steady five-minute loop; the short first waits are tested with firstRetryMs below.
    firstRetryMs: minutes(5),
    probeIntervalMs: 30_000,
    probeTimeoutMs: 10_000,
  },
  maxRestarts: 3,
  restartWindowMs: 60_000,
  maxPermanentFailures: 3,
  usersRefreshMs: 0,
};

describe('supervisor machine', () => {
  it('retries an unreachable database every five minutes, says when, and starts the mailboxes once it is reachable', async () => {
    const { machine, clock, reports, db, sessions } = scriptedSupervisor({
      users: [registration('alice@contoso.test'), registration('bob@contoso.test')],
    });
    const actor = createActor(machine, { input, clock }).start();
    const database = () => actor.getSnapshot().children.database?.getSnapshot();
    await waitForDatabase(actor, 'waiting');
    expect(db.connects).toBe(1);
    const unreachable = reports.find((r) => r.event === 'database.unreachable');
    expect(unreachable).toMatchObject({ category: 'E', retryInMs: minutes(5) });
    expect(unreachable?.message).toContain('127.0.0.1:5432');
    expect(unreachable?.message).toContain('next attempt in 5 min');

    clock.increment(minutes(5) - 1);
    expect(database()?.value).toBe('waiting');
    expect(db.connects).toBe(1);

    db.reachable = true;
    clock.increment(1);
    await waitFor(actor, (s) => s.matches('running'));
    expect(db.connects).toBe(2);
    expect(sessions.started.sort()).toEqual(['alice@contoso.test', 'bob@contoso.test']);
    expect(reports.filter((r) => r.category === 'A').map((r) => r.event)).toEqual(
      expect.arrayContaining(['database.connecting', 'database.ready', 'mailboxes.started', 'mailbox.started']),
    );
    actor.stop();
  });

  it('stops every mailbox when an actor reports the database lost, and starts them again after the wait', async () => {
    const { machine, clock, reports, db, sessions } = scriptedSupervisor({
      users: [registration('alice@contoso.test')],
    });
    db.reachable = true;
    const actor = createActor(machine, { input, clock }).start();
    await waitFor(actor, (s) => s.matches('running'));
    expect(sessions.started).toEqual(['alice@contoso.test']);

    db.reachable = false;
    actor.getSnapshot().children.database?.send({
      type: 'database.failed',
      error: { code: 'EXH_DB_CONNECTION_LOST', message: 'Connection terminated unexpectedly', retryable: true },
    });
    await waitFor(actor, (s) => s.matches('waitingForDatabase'));
    expect(sessions.stopped).toEqual(['alice@contoso.test']);
    expect(actor.getSnapshot().children.mailboxes).toBeUndefined();
    expect(reports.find((r) => r.event === 'database.lost')).toMatchObject({ category: 'E', retryInMs: minutes(5) });
    await waitForDatabase(actor, 'waiting');
    expect(db.closes).toBe(1);

    // Still down at the first retry: nothing starts.
    clock.increment(minutes(5));
    await waitForDatabase(actor, 'waiting');
    expect(db.connects).toBe(2);
    expect(sessions.started).toEqual(['alice@contoso.test']);

    db.reachable = true;
    clock.increment(minutes(5));
    await waitFor(actor, (s) => s.matches('running'));
    expect(sessions.started).toEqual(['alice@contoso.test', 'alice@contoso.test']);
    actor.stop();
  });

  it('notices a loss through the periodic probe even when no call fails', async () => {
    const { machine, clock, db, sessions } = scriptedSupervisor({ users: [registration('alice@contoso.test')] });
    db.reachable = true;
    const actor = createActor(machine, { input, clock }).start();
    await waitFor(actor, (s) => s.matches('running'));
    db.probeFails = true;
    clock.increment(29_999);
    expect(actor.getSnapshot().matches('running')).toBe(true);
    clock.increment(1);
    await waitFor(actor, (s) => s.matches('waitingForDatabase'));
    expect(sessions.stopped).toEqual(['alice@contoso.test']);
    actor.stop();
  });

  it('counts a probe that never answers as a loss', async () => {
    const { machine, clock, db, sessions, reports } = scriptedSupervisor({
      users: [registration('alice@contoso.test')],
    });
    db.reachable = true;
    const actor = createActor(machine, { input, clock }).start();
    await waitFor(actor, (s) => s.matches('running'));
    db.probeHangs = true;
    clock.increment(30_000);
    await waitForDatabase(actor, 'ready.probing');
    clock.increment(9_999);
    expect(actor.getSnapshot().matches('running')).toBe(true);
    clock.increment(1);
    await waitFor(actor, (s) => s.matches('waitingForDatabase'), { timeout: 2_000 });
    expect(sessions.stopped).toEqual(['alice@contoso.test']);
    expect(reports.find((r) => r.event === 'database.lost')?.message).toContain('did not answer a probe within 10 s');
    actor.stop();
  });

  it('retries start-up on the database schedule when the base project is missing', async () => {
    const { machine, clock, reports, db } = scriptedSupervisor({ users: [] });
    db.reachable = true;
    const failing = machine.provide({
      actors: {
        startUp: failingStartUp(),
      },
    });
    const actor = createActor(failing, { input, clock }).start();
    await waitFor(actor, (s) => s.matches('startUpFailed'));
    expect(reports.find((r) => r.event === 'startup.failed')?.message).toContain('exh db install');
    clock.increment(minutes(5));
    await waitFor(actor, () => attempts === 2);
    actor.stop();
  });

  it('reads exh_get_users again on its schedule and hands the list to the mailboxes as a diff', async () => {
    const users = [registration('alice@contoso.test')];
    const { machine, clock, db, sessions } = scriptedSupervisor({ users });
    db.reachable = true;
    const actor = createActor(machine, { input: { ...input, usersRefreshMs: minutes(5) }, clock }).start();
    await waitFor(actor, (s) => s.matches('running'));
    users.push(registration('dave@contoso.test'));
    clock.increment(minutes(5));
    await vi.waitFor(() => expect(sessions.started).toEqual(['alice@contoso.test', 'dave@contoso.test']));
    expect(sessions.stopped).toEqual([]);
    actor.stop();
  });

  it('stops cleanly on service.stop: mailboxes stopped, shutdown run, final state', async () => {
    const { machine, clock, db, sessions } = scriptedSupervisor({ users: [registration('alice@contoso.test')] });
    db.reachable = true;
    const actor = createActor(machine, { input, clock }).start();
    await waitFor(actor, (s) => s.matches('running'));
    actor.send({ type: 'service.stop' });
    await waitFor(actor, (s) => s.status === 'done');
    expect(sessions.stopped).toEqual(['alice@contoso.test']);
    expect(db.shutdowns).toBe(1);
    expect(actor.getSnapshot().value).toBe('stopped');
  });
});

/** The database machine is a child of the root, so it is watched directly: the root emits nothing when it changes. */
function waitForDatabase(actor: AnyActorRef, value: string) {
  const database = actor.getSnapshot().children.database as AnyActorRef;
  return waitFor(database, (s) => s.matches(value), { timeout: 2_000 });
}

let attempts = 0;
function failingStartUp() {
  return fromPromise<UserRegistration[]>(async () => {
    attempts += 1;
    throw Object.assign(
      new Error('The exh base project is not installed (exh_get_users is missing): run "exh db install"'),
      {
        code: 'EXH_DB_BASE_PROJECT_MISSING',
        retryable: true,
      },
    );
  });
}

describe('supervisor machine: recovery as long as the fault, not five minutes', () => {
  const quick = { ...input, database: { ...input.database, firstRetryMs: 1_000 } };

  it('after a loss tries again after 1 s, and a database back by then resumes the mailboxes', async () => {
    const { machine, clock, reports, db, sessions } = scriptedSupervisor({
      users: [registration('alice@contoso.test')],
    });
    db.reachable = true;
    const actor = createActor(machine, { input: quick, clock }).start();
    await waitFor(actor, (s) => s.matches('running'));
    db.reachable = false;
    actor.getSnapshot().children.database?.send({
      type: 'database.failed',
      error: { code: 'EXH_DB_CONNECTION_LOST', message: 'Connection terminated unexpectedly', retryable: true },
    });
    await waitForDatabase(actor, 'waiting');
    const lost = reports.find((r) => r.event === 'database.lost');
    expect(lost).toMatchObject({ retryInMs: 1_000 });
    expect(lost?.message).toContain('next attempt in 1 s');
    db.reachable = true;
    clock.increment(1_000);
    await waitFor(actor, (s) => s.matches('running'));
    expect(sessions.started).toEqual(['alice@contoso.test', 'alice@contoso.test']);
    actor.stop();
  });

  it('a database that stays away is tried after 1, 2, 4 … s and then every five minutes', async () => {
    const { machine, clock, reports, db } = scriptedSupervisor({ users: [registration('alice@contoso.test')] });
    const actor = createActor(machine, { input: quick, clock }).start();
    await waitForDatabase(actor, 'waiting');
    const waits: number[] = [];
    for (let attempt = 1; attempt <= 11; attempt++) {
      const wait = reports.filter((r) => r.event === 'database.unreachable').at(-1)?.retryInMs as number;
      waits.push(wait);
      clock.increment(wait - 1);
      expect(db.connects).toBe(attempt);
      clock.increment(1);
      const database = actor.getSnapshot().children.database as AnyActorRef;
      await waitFor(database, (d) => d.matches('waiting') && d.context.failedAttempts === attempt + 1, {
        timeout: 2_000,
      });
    }
    expect(waits).toEqual([2_000, 4_000, 8_000, 16_000, 32_000, 64_000, 128_000, 256_000, 300_000, 300_000, 300_000]);
    actor.stop();
  });
});
