import { describe, expect, it, vi } from 'vitest';
import { createActor, fromCallback, fromPromise, SimulatedClock, waitFor } from 'xstate';
import type { ConnectOutput } from '../../machines/mailbox.machine.js';
import { mailboxMachine } from '../../machines/mailbox.machine.js';
import { mailboxesMachine, mailboxId } from '../../machines/mailboxes.machine.js';
import type { Report } from '../../machines/report.js';
import { folderNames } from '../../src/ports/item-properties.js';
import { registration } from './helpers.js';

/** Mailbox sessions that crash on demand: `crashes[user]` more starts of that user's session throw. */
function crashingMailboxes(crashes: Record<string, number>) {
  const reports: Report[] = [];
  const started: string[] = [];
  const machine = mailboxesMachine.provide({
    actions: { report: (_, params) => void reports.push(params) },
    actors: {
      mailbox: mailboxMachine.provide({
        actors: {
          connect: fromPromise<ConnectOutput, { user: string }>(async () => ({
            endpoint: 'https://mail.contoso.test/EWS/Exchange.asmx',
            folders: folderNames,
          })),
          subscription: fromCallback(({ input }) => {
            const { user } = input as { user: string };
            started.push(user);
            if ((crashes[user] ?? 0) > 0) {
              crashes[user] = (crashes[user] ?? 0) - 1;
              throw new Error(`ErrorInternalServerError for ${user}`);
            }
            return () => {};
          }),
        },
      }),
    },
  });
  return { machine, reports, started };
}

const alice = 'alice@contoso.test';
const bob = 'bob@contoso.test';

describe('mailboxes machine (restart intensity)', () => {
  it('restarts a crashed mailbox and leaves the others running', async () => {
    const { machine, reports, started } = crashingMailboxes({ [bob]: 1 });
    const actor = createActor(machine, {
      input: {
        users: [registration(alice), registration(bob)],
        maxRestarts: 3,
        restartWindowMs: 60_000,
        maxPermanentFailures: 3,
      },
      clock: new SimulatedClock(),
    }).start();
    await waitFor(actor, (s) => s.context.recentRestarts[bob] === 1, { timeout: 2_000 });
    expect(started).toEqual([alice, bob, bob]);
    expect(Object.keys(actor.getSnapshot().children).sort()).toEqual([mailboxId(alice), mailboxId(bob)]);
    expect(reports.find((r) => r.event === 'mailbox.restarted')).toMatchObject({ category: 'W', user: bob });
    expect(actor.getSnapshot().context.givenUp).toEqual([]);
  });

  it('gives up after maxRestarts crashes within the window, reports it and leaves that mailbox stopped', async () => {
    const { machine, reports, started } = crashingMailboxes({ [bob]: 100 });
    const actor = createActor(machine, {
      input: {
        users: [registration(alice), registration(bob)],
        maxRestarts: 3,
        restartWindowMs: 60_000,
        maxPermanentFailures: 3,
      },
      clock: new SimulatedClock(),
    }).start();
    await waitFor(actor, (s) => s.context.givenUp.includes(bob), { timeout: 2_000 });
    // The first start and three restarts.
    expect(started.filter((user) => user === bob)).toHaveLength(4);
    expect(actor.getSnapshot().children[mailboxId(bob)]).toBeUndefined();
    expect(actor.getSnapshot().children[mailboxId(alice)]).toBeDefined();
    const givenUp = reports.find((r) => r.event === 'mailbox.given-up');
    expect(givenUp).toMatchObject({ category: 'E', user: bob });
    expect(givenUp?.message).toContain('ErrorInternalServerError');
  });

  it('forgets restarts once the window has passed, so rare crashes never exhaust the limit', async () => {
    const { machine, started } = crashingMailboxes({ [bob]: 1 });
    const clock = new SimulatedClock();
    const actor = createActor(machine, {
      input: { users: [registration(bob)], maxRestarts: 1, restartWindowMs: 60_000, maxPermanentFailures: 3 },
      clock,
    }).start();
    await waitFor(actor, (s) => s.context.recentRestarts[bob] === 1, { timeout: 2_000 });
    clock.increment(60_000);
    expect(actor.getSnapshot().context.recentRestarts[bob]).toBe(0);

    // A crash now is the first in the new window: restarted again, not given up.
    const crashAgain = actor.getSnapshot().children[mailboxId(bob)];
    crashAgain?.send({ type: 'mailbox.failed', error: { code: 'EXH_INTERNAL', message: 'bug', retryable: false } });
    await waitFor(actor, (s) => s.context.recentRestarts[bob] === 1, { timeout: 2_000 });
    expect(started).toEqual([bob, bob, bob]);
    expect(actor.getSnapshot().context.givenUp).toEqual([]);
  });

  it('applies a changed user list as a diff: new started, removed stopped, changed flags restarted, the rest untouched', async () => {
    const carol = 'carol@contoso.test';
    const { machine, started, reports } = crashingMailboxes({});
    const actor = createActor(machine, {
      input: {
        users: [registration(alice), registration(bob)],
        maxRestarts: 3,
        restartWindowMs: 60_000,
        maxPermanentFailures: 3,
      },
      clock: new SimulatedClock(),
    }).start();
    await vi.waitFor(() => expect(started).toEqual([alice, bob]));
    const aliceBefore = actor.getSnapshot().children[mailboxId(alice)];
    const bobWithTasks = { ...registration(bob), sync: { ...registration(bob).sync, task: true } };
    actor.send({ type: 'users.changed', users: [registration(alice), bobWithTasks, registration(carol)] });
    await vi.waitFor(() => expect(started).toEqual([alice, bob, bob, carol]));
    expect(actor.getSnapshot().children[mailboxId(alice)]).toBe(aliceBefore);
    expect(reports.find((r) => r.event === 'users.changed')).toMatchObject({
      started: [carol],
      restarted: [bob],
      stopped: [],
    });

    actor.send({ type: 'users.changed', users: [bobWithTasks] });
    expect(Object.keys(actor.getSnapshot().children).sort()).toEqual([mailboxId(bob)]);
    expect(reports.filter((r) => r.event === 'users.changed').at(-1)).toMatchObject({ stopped: [alice, carol] });
  });

  it('restarts a mailbox whose exh_backend changed (it connects through the other backend), and only that one', async () => {
    const { machine, started, reports } = crashingMailboxes({});
    const actor = createActor(machine, {
      input: {
        users: [registration(alice), registration(bob)],
        maxRestarts: 3,
        restartWindowMs: 60_000,
        maxPermanentFailures: 3,
      },
      clock: new SimulatedClock(),
    }).start();
    await vi.waitFor(() => expect(started).toEqual([alice, bob]));
    actor.send({ type: 'users.changed', users: [{ ...registration(alice), backend: 'graph' }, registration(bob)] });
    await vi.waitFor(() => expect(started).toEqual([alice, bob, alice]));
    expect(reports.filter((r) => r.event === 'users.changed').at(-1)).toMatchObject({
      restarted: [alice],
      started: [],
    });
    // The same value again changes nothing.
    actor.send({ type: 'users.changed', users: [{ ...registration(alice), backend: 'graph' }, registration(bob)] });
    expect(reports.filter((r) => r.event === 'users.changed').at(-1)).toMatchObject({ restarted: [], started: [] });
    expect(started).toEqual([alice, bob, alice]);
  });

  it('starts a disabled mailbox again only when users are registered again, not on the periodic re-read', async () => {
    const { machine, started } = crashingMailboxes({});
    const actor = createActor(machine, {
      input: { users: [registration(alice)], maxRestarts: 3, restartWindowMs: 60_000, maxPermanentFailures: 3 },
      clock: new SimulatedClock(),
    }).start();
    await vi.waitFor(() => expect(started).toEqual([alice]));
    actor.send({ type: 'mailbox.disabled', user: alice });
    actor.send({ type: 'users.changed', users: [registration(alice)] });
    expect(started).toEqual([alice]);
    expect(actor.getSnapshot().context.disabled).toEqual([alice]);
    actor.send({ type: 'users.changed', users: [registration(alice)], reregister: true });
    await vi.waitFor(() => expect(started).toEqual([alice, alice]));
    expect(actor.getSnapshot().context.disabled).toEqual([]);
  });
});
