import { PGlite } from '@electric-sql/pglite';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createActor, toPromise } from 'xstate';
import { createMembershipActors } from '../../actors/membership.actors.js';
import { Membership } from '../../src/cluster/membership.js';
import { createPgliteDatabase } from '../../src/db/adapters/pglite.js';
import { installInto } from '../../src/db/commands.js';
import { isExhError } from '../../src/errors.js';
import type { DatabasePort } from '../../src/ports/database.port.js';

const self = { instanceId: 'exh-0', address: '127.0.0.1', port: 9988, leaseSeconds: 20, heartbeatSeconds: 5 };
const user = 'restart@example.com';

/**
 * The membership service over PGlite's ClusterPort (src/cluster/membership.ts; docs/scale-out.md, "The fence"): what
 * a beat claims, and the fence a process gets when it takes a user under an id an earlier process had.
 */
describe('Membership', () => {
  let instance: PGlite;
  let db: ReturnType<typeof createPgliteDatabase>;
  beforeEach(async () => {
    instance = await PGlite.create();
    db = createPgliteDatabase({ instance });
    await db.connect();
    await installInto(db, { exampleApp: true });
  });
  afterEach(async () => {
    await db.close();
    await instance.close();
  });

  const page = (token: string) =>
    db.applyChanges({
      user,
      itemType: 'task',
      changes: [],
      watermark: `written with fence ${token}`,
      fence: { instanceId: self.instanceId, token },
    });

  /** Whether the user's lease row has not ended, as the database sees it. */
  const live = async (who: string) =>
    (
      await instance.query<{ live: boolean }>(
        'SELECT exh_expires_at > now() AS live FROM exh_lease WHERE exh_user_key = lower($1)',
        [who],
      )
    ).rows[0]?.live;

  /** The membership's actors with an outbox whose `busy` users have a row in flight until `settle()`. */
  function withRowInFlight(membership: Membership, busy: (users: readonly string[]) => string[]) {
    let settle: () => void = () => {};
    const settling = new Promise<void>((resolve) => {
      settle = resolve;
    });
    const actors = createMembershipActors(membership, {
      readUsers: async () => [],
      forgetCommitted: () => {},
      outbox: () => ({ busy, settled: () => settling }),
    });
    const release = (users: string[]) => toPromise(createActor(actors.release, { input: { users } }).start());
    return { release, settle };
  }

  it('renews the leases it holds with the same fence, and holds the users rendezvous gives it', async () => {
    const cluster = db.cluster as NonNullable<DatabasePort['cluster']>;
    const membership = new Membership(cluster, { ...self });
    const first = await membership.beat([user], []);
    expect(first).toMatchObject({ members: ['exh-0'], owned: [user], coordinator: true });
    const fence = membership.fenceOf(user);
    expect(fence).toBeDefined();
    await membership.beat([user], [user]);
    expect(membership.fenceOf(user)).toBe(fence);
    await page(fence as string);
  });

  it('a process restarted under the same id within the lease takes its users with a new fence: the old one is refused', async () => {
    const cluster = db.cluster as NonNullable<DatabasePort['cluster']>;
    const before = new Membership(cluster, { ...self });
    await before.beat([user], []);
    const old = before.fenceOf(user) as string;
    // The earlier process is gone without leaving (SIGKILL, a force-deleted pod), or still alive somewhere: its lease
    // has not ended when the new one, under the same id, beats.
    const after = new Membership(cluster, { ...self });
    expect((await after.beat([user], [])).owned).toEqual([user]);
    const fresh = after.fenceOf(user) as string;
    expect(BigInt(fresh)).toBe(BigInt(old) + 1n);
    const refused = await page(old).catch((error: unknown) => error);
    expect(isExhError(refused, 'EXH_CLUSTER_LEASE_LOST')).toBe(true);
    await page(fresh);
  });

  it('the coordinator keeps exh_ip_addresses to the live listeners, even after a stale write by another instance', async () => {
    const cluster = db.cluster as NonNullable<DatabasePort['cluster']>;
    const setUp = { ipAddress: '127.0.0.1', port: 9988, token: 'shared' };
    const listeners = {
      read: async () => (await db.readSetUp()).addresses,
      write: (addresses: string[]) => db.writeSetUp({ ...setUp, addresses }),
    };
    const a = new Membership(cluster, { ...self }, undefined, listeners);
    const b = new Membership(cluster, { ...self, instanceId: 'exh-1', port: 9989 }, undefined, listeners);
    expect(await a.beat([], [])).toMatchObject({ coordinator: true });
    expect((await db.readSetUp()).addresses).toEqual(['127.0.0.1:9988']);
    expect(await b.beat([], [])).toMatchObject({ members: ['exh-0', 'exh-1'], coordinator: false });
    await a.beat([], []);
    expect((await db.readSetUp()).addresses).toEqual(['127.0.0.1:9988', '127.0.0.1:9989']);
    // An instance that registered before it saw the others took itself for the coordinator, and its write of that
    // view landed after the coordinator's (CI found this race in test/cluster/forwarding.test.ts).
    await db.writeSetUp({ ...setUp, addresses: ['127.0.0.1:9989'] });
    await a.beat([], []);
    expect((await db.readSetUp()).addresses).toEqual(['127.0.0.1:9988', '127.0.0.1:9989']);
  });

  it('a user given up keeps its fence until released; a busy one is released once its outbox row settles, beside the beats', async () => {
    const cluster = db.cluster as NonNullable<DatabasePort['cluster']>;
    const membership = new Membership(cluster, { ...self });
    const other = 'other@example.com';
    await membership.beat([user, other], []);
    const fence = membership.fenceOf(user) as string;
    // Both users unregistered: the beat gives them up; their leases are still this instance's until released.
    expect(await membership.beat([], [user, other])).toMatchObject({ owned: [], release: [user, other] });
    expect(membership.owns(user)).toBe(false);
    expect(membership.fenceOf(user)).toBe(fence);
    const { release, settle } = withRowInFlight(membership, (users) => users.filter((u) => u === user));
    // The release actor is done at once (the heartbeats go on): the idle user released, the busy one not yet.
    await release([user, other]);
    expect(await live(other)).toBe(false);
    expect(await live(user)).toBe(true);
    // The row in flight's outcome is recorded under the lease it was written under.
    await page(fence);
    settle();
    await vi.waitFor(async () => expect(await live(user)).toBe(false));
    expect(membership.fenceOf(user)).toBeUndefined();
  });

  it('a release deferred for a row in flight leaves alone a user a later beat took back', async () => {
    const cluster = db.cluster as NonNullable<DatabasePort['cluster']>;
    const membership = new Membership(cluster, { ...self });
    await membership.beat([user], []);
    await membership.beat([], [user]);
    const { release, settle } = withRowInFlight(membership, (users) => [...users]);
    const released = vi.spyOn(membership, 'release');
    await release([user]);
    // Registered again before the row settled: the next beat takes the user back, with a fence of its own.
    await membership.beat([user], []);
    const fence = membership.fenceOf(user) as string;
    settle();
    // The deferred release runs (its call is awaited here), and leaves the lease alone.
    await vi.waitFor(() => expect(released).toHaveBeenCalledTimes(2));
    await released.mock.results[1]?.value;
    expect(await live(user)).toBe(true);
    expect(membership.owns(user)).toBe(true);
    expect(membership.fenceOf(user)).toBe(fence);
    await page(fence);
  });

  it('after its leases may have ended (no good beat in time), takes every user afresh: the fence before is refused', async () => {
    const cluster = db.cluster as NonNullable<DatabasePort['cluster']>;
    let now = 0;
    const membership = new Membership(cluster, { ...self }, () => now);
    await membership.beat([user], []);
    const before = membership.fenceOf(user) as string;
    // A beat just before that time renews the lease under the same fence.
    const window = (self.leaseSeconds - self.heartbeatSeconds) * 1000;
    now = window - 1;
    await membership.beat([user], [user]);
    expect(membership.fenceOf(user)).toBe(before);
    // The heartbeats failed for leaseSeconds − heartbeatSeconds: the membership machine stopped the mailboxes
    // (cluster.leasesLost). In the database the lease has not ended yet, and nobody else took it.
    now += window;
    expect(membership.fenceOf(user)).toBeUndefined();
    expect((await membership.beat([user], [])).owned).toEqual([user]);
    const after = membership.fenceOf(user) as string;
    expect(BigInt(after)).toBe(BigInt(before) + 1n);
    const refused = await page(before).catch((error: unknown) => error);
    expect(isExhError(refused, 'EXH_CLUSTER_LEASE_LOST')).toBe(true);
    await page(after);
  });
});
