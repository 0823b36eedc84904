import { describe, expect, it } from 'vitest';
import { createActor, fromPromise, SimulatedClock, setup } from 'xstate';
import { type BeatOutput, membershipMachine } from '../../machines/membership.machine.js';
import type { Report } from '../../machines/report.js';

/**
 * The membership machine under a parent that records what it is told, on xstate's SimulatedClock. Its two actors are
 * scripted here (a test double for the database: the real one is in test/cluster/cluster.integration.test.ts).
 */
function harness(script: { beats: Array<BeatOutput | Error> }) {
  const clock = new SimulatedClock();
  const told: Array<{ type: string; owned?: string[] }> = [];
  const reports: Report[] = [];
  const calls: string[] = [];
  let beat = 0;
  const membership = membershipMachine.provide({
    actions: { report: (_, params) => void reports.push(params) },
    actors: {
      beat: fromPromise(async ({ input }: { input: { users: string[]; owned: string[] } }) => {
        calls.push(`beat ${input.owned.join(',')}`);
        const next = script.beats[Math.min(beat++, script.beats.length - 1)] as BeatOutput | Error;
        if (next instanceof Error) throw next;
        return next;
      }),
      release: fromPromise(async ({ input }: { input: { users: string[] } }) => {
        calls.push(`release ${input.users.join(',')}`);
      }),
    },
  });
  const parent = setup({ actors: { membership } }).createMachine({
    invoke: {
      id: 'membership',
      src: 'membership',
      input: { users: ['a@x', 'b@x', 'c@x'], leaseSeconds: 20, heartbeatSeconds: 5 },
    },
    on: {
      '*': { actions: ({ event }) => void told.push(event as { type: string; owned?: string[] }) },
    },
  });
  const actor = createActor(parent, { clock }).start();
  const child = () => actor.getSnapshot().children.membership as ReturnType<typeof createActor<typeof membership>>;
  const settle = () => new Promise((resolve) => setTimeout(resolve, 0));
  return { clock, told, reports, calls, child, settle };
}

const owns = (owned: string[], release: string[] = []): BeatOutput => ({
  members: ['exh-a', 'exh-b'],
  owned,
  release,
  coordinator: true,
  elapsedMs: 10,
});

describe('membership machine', () => {
  it('owns nothing while joining, then the users whose lease it holds, heartbeating every heartbeatSeconds', async () => {
    const h = harness({ beats: [owns(['a@x', 'b@x']), owns(['a@x', 'b@x'])] });
    expect(h.told.at(-1)).toMatchObject({ type: 'cluster.owned', owned: [] });
    await h.settle();
    expect(h.child().getSnapshot().matches({ member: 'waiting' })).toBe(true);
    expect(h.told.at(-1)).toMatchObject({ type: 'cluster.owned', owned: ['a@x', 'b@x'], coordinator: true });
    h.clock.increment(5_000);
    await h.settle();
    expect(h.calls).toEqual(['beat ', 'beat a@x,b@x']);
  });

  it('tells the parent first (its mailbox stops), then releases a user no longer wanted', async () => {
    const h = harness({ beats: [owns(['a@x', 'b@x']), owns(['a@x'], ['b@x'])] });
    await h.settle();
    h.clock.increment(5_000);
    await h.settle();
    expect(h.told.at(-1)).toMatchObject({ owned: ['a@x'] });
    expect(h.calls).toEqual(['beat ', 'beat a@x,b@x', 'release b@x']);
    expect(h.child().getSnapshot().matches({ member: 'waiting' })).toBe(true);
  });

  it('owns nothing once no heartbeat succeeded for a lease less one heartbeat', async () => {
    const failure = new Error('statement timeout');
    const h = harness({ beats: [owns(['a@x']), failure] });
    await h.settle();
    for (let i = 0; i < 2; i++) {
      h.clock.increment(5_000);
      await h.settle();
    }
    expect(h.told.at(-1)).toMatchObject({ owned: ['a@x'] });
    h.clock.increment(5_000);
    await h.settle();
    expect(h.child().getSnapshot().matches('joining')).toBe(true);
    expect(h.told.at(-1)).toMatchObject({ type: 'cluster.owned', owned: [] });
    expect(h.reports.map((r) => r.event)).toContain('cluster.leasesLost');
  });

  it('gives a lost connection to the parent (the database machine), keeping the lease clock', async () => {
    const lost = Object.assign(new Error('connection lost'), { code: 'EXH_DB_CONNECTION_LOST' });
    const h = harness({ beats: [owns(['a@x']), lost] });
    await h.settle();
    h.clock.increment(5_000);
    await h.settle();
    expect(h.told.at(-1)).toMatchObject({ type: 'cluster.databaseFailed', error: { code: 'EXH_DB_CONNECTION_LOST' } });
    expect(h.reports.map((r) => r.event)).not.toContain('cluster.heartbeatFailed');
  });
});
