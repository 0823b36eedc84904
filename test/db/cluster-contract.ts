import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PostgresFamilyDatabase } from '../../src/db/adapters/postgres-family.js';
import { installInto } from '../../src/db/commands.js';
import { isExhError } from '../../src/errors.js';
import { type ClusterPort, type Fence, goneAfterHours, isOutboxItem } from '../../src/ports/database.port.js';
import type { FreshDatabase } from './contract.js';

/**
 * The cluster part of the DatabasePort contract (ClusterPort, fenced writes, scoped outbox reads) for databases that
 * speak PostgreSQL's SQL, run on PGlite and the PostgreSQL server (test/db/adapters/*.test.ts). Each test uses its own
 * users; times are made old with SQL on exh_member and exh_lease rather than by waiting.
 */

export interface ClusterTarget {
  /** A new, empty database, connected. */
  fresh(): Promise<FreshDatabase>;
  /**
   * A second adapter on the same database as `fresh`'s last one, with its own connections: concurrent claims really
   * race on the server. Absent where one process holds the database alone (PGlite).
   */
  second?(): Promise<PostgresFamilyDatabase>;
}

async function rejection(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    () => {
      throw new Error('expected a rejection');
    },
    (error: unknown) => error,
  );
}

function cluster(db: PostgresFamilyDatabase): ClusterPort {
  if (!db.cluster) throw new Error('the adapter has no cluster port');
  return db.cluster;
}

export function clusterContract(name: string, target: ClusterTarget): void {
  describe(`ClusterPort contract: ${name}`, () => {
    let database: FreshDatabase;
    let db: PostgresFamilyDatabase;
    let c: ClusterPort;

    beforeAll(async () => {
      database = await target.fresh();
      db = database.db;
      c = cluster(db);
      await installInto(db, { exampleApp: true });
    });

    afterAll(async () => {
      await database?.dispose();
    });

    /** Makes `user`'s lease expired, as if its holder had not renewed it for a while. */
    const expire = (user: string) =>
      database.sql(`UPDATE exh_lease SET exh_expires_at = now() - interval '1 minute' WHERE exh_user_key = lower($1)`, [
        user,
      ]);

    it('registers members by heartbeat and lists the live ones, ordered; an old heartbeat is not live', async () => {
      const a = await c.heartbeat({ instanceId: 'hb-b', address: '10.0.0.2', port: 7001 }, 20);
      expect(a.map((m) => m.instanceId)).toEqual(['hb-b']);
      const both = await c.heartbeat({ instanceId: 'hb-a', address: '10.0.0.1', port: 7000 }, 20);
      expect(both.map((m) => [m.instanceId, m.address, m.port])).toEqual([
        ['hb-a', '10.0.0.1', 7000],
        ['hb-b', '10.0.0.2', 7001],
      ]);
      expect(both[0]?.heartbeatAt).toBeInstanceOf(Date);
      const [before] = await database.sql<{ exh_started_at: Date }>(
        "SELECT exh_started_at FROM exh_member WHERE exh_instance_id = 'hb-b'",
      );
      await database.sql(
        "UPDATE exh_member SET exh_heartbeat_at = now() - interval '21 seconds' WHERE exh_instance_id = 'hb-b'",
      );
      expect(
        (await c.heartbeat({ instanceId: 'hb-a', address: '10.0.0.1', port: 7000 }, 20)).map((m) => m.instanceId),
      ).toEqual(['hb-a']);
      // Its next heartbeat brings it back, with its start time kept and its address as it says now.
      const back = await c.heartbeat({ instanceId: 'hb-b', address: '10.0.0.9', port: 7009 }, 20);
      expect(back.map((m) => [m.instanceId, m.address, m.port])).toEqual([
        ['hb-a', '10.0.0.1', 7000],
        ['hb-b', '10.0.0.9', 7009],
      ]);
      expect(back[1]?.startedAt).toEqual(before?.exh_started_at);
      await c.leaveCluster('hb-a');
      await c.leaveCluster('hb-b');
    });

    it('deletes members gone for goneAfterHours at any heartbeat, keeping their leases and fences', async () => {
      await c.heartbeat({ instanceId: 'gone-old', address: '10.0.0.9', port: 7009 }, 20);
      const [lease] = await c.claimLeases('gone-old', ['gone@example.com'], 20);
      await c.heartbeat({ instanceId: 'gone-recent', address: '10.0.0.8', port: 7008 }, 20);
      await database.sql(
        `UPDATE exh_member SET exh_heartbeat_at = now() - interval '${goneAfterHours} hours' - interval '1 minute' WHERE exh_instance_id = 'gone-old'`,
      );
      await database.sql(
        `UPDATE exh_member SET exh_heartbeat_at = now() - interval '${goneAfterHours - 1} hours' WHERE exh_instance_id = 'gone-recent'`,
      );
      await c.heartbeat({ instanceId: 'gone-beater', address: '10.0.0.7', port: 7007 }, 20);
      const members = (await c.clusterView()).members.map((m) => m.instanceId);
      expect(members).not.toContain('gone-old');
      expect(members).toContain('gone-recent');
      await expire('gone@example.com');
      expect(await c.claimLeases('gone-beater', ['gone@example.com'], 20)).toEqual([
        expect.objectContaining({ fence: String(BigInt(lease?.fence ?? 0) + 1n) }),
      ]);
      for (const id of ['gone-recent', 'gone-beater']) await c.leaveCluster(id);
    });

    it('gives a user to one instance: refused to another while unexpired, taken with fence + 1 once expired', async () => {
      const [first] = await c.claimLeases('A', ['Claim@Example.com'], 20);
      expect(first).toMatchObject({ user: 'Claim@Example.com', instanceId: 'A', fence: '1' });
      expect(first?.expiresAt.getTime()).toBeGreaterThan(Date.now() - 60_000);
      expect(await c.claimLeases('B', ['claim@example.com'], 20)).toEqual([]);
      // A renews: same fence, held still.
      const [renewed] = await c.claimLeases('A', ['claim@example.com'], 20);
      expect(renewed).toMatchObject({ instanceId: 'A', fence: '1' });
      await expire('claim@example.com');
      const [taken] = await c.claimLeases('B', ['claim@example.com', 'CLAIM@example.com'], 20);
      expect(taken).toMatchObject({ instanceId: 'B', fence: '2' });
      expect(await c.claimLeases('A', ['claim@example.com'], 20)).toEqual([]);
      const view = await c.clusterView();
      expect(view.leases.filter((l) => l.user.toLowerCase() === 'claim@example.com')).toEqual([
        expect.objectContaining({ instanceId: 'B', fence: '2' }),
      ]);
    });

    it('release keeps the row and its fence: another instance takes it at once with fence + 1', async () => {
      await c.claimLeases('A', ['rel1@example.com', 'rel2@example.com'], 20);
      await c.releaseLeases('A', ['REL1@example.com']);
      // B cannot release what A holds.
      await c.releaseLeases('B', ['rel2@example.com']);
      const taken = await c.claimLeases('B', ['rel1@example.com', 'rel2@example.com'], 20);
      expect(taken.map((l) => [l.user, l.instanceId, l.fence])).toEqual([['rel1@example.com', 'B', '2']]);
      const rows = await database.sql('SELECT exh_user_key, exh_instance_id, exh_fence::text AS f FROM exh_lease');
      expect(rows.filter((r) => String(r.exh_user_key).startsWith('rel'))).toEqual(
        expect.arrayContaining([
          { exh_user_key: 'rel1@example.com', exh_instance_id: 'B', f: '2' },
          { exh_user_key: 'rel2@example.com', exh_instance_id: 'A', f: '1' },
        ]),
      );
    });

    it('refuses a page with a stale fence: EXH_CLUSTER_LEASE_LOST, neither the row nor the watermark written', async () => {
      const user = 'fenced@example.com';
      const [lease] = await c.claimLeases('A', [user], 20);
      const fence: Fence = { instanceId: 'A', token: lease?.fence ?? '' };
      await db.applyChanges({
        user,
        itemType: 'calendar',
        changes: [{ action: 'add', fields: { item_id: 'F1', subject: 'held' } }],
        watermark: 'w1',
        fence,
      });
      await expire(user);
      const [theirs] = await c.claimLeases('B', [user], 20);
      expect(theirs?.fence).toBe('2');
      for (const stale of [fence, { instanceId: 'B', token: '1' }, { instanceId: 'A', token: '2' }]) {
        const error = await rejection(
          db.applyChanges({
            user,
            itemType: 'calendar',
            changes: [{ action: 'add', fields: { item_id: 'F2', subject: 'stale' } }],
            watermark: 'w2',
            fence: stale,
          }),
        );
        expect(isExhError(error) && error.code).toBe('EXH_CLUSTER_LEASE_LOST');
        expect(isExhError(error) && error.details).toMatchObject({ user, instanceId: stale.instanceId });
      }
      // A token that is no number matches no lease: refused the same way, not a database failure.
      const malformed = await rejection(
        db.applyChanges({
          user,
          itemType: 'calendar',
          changes: [],
          watermark: 'w3',
          fence: { instanceId: 'B', token: 'x' },
        }),
      );
      expect(isExhError(malformed) && malformed.code).toBe('EXH_CLUSTER_LEASE_LOST');
      const items = await database.sql('SELECT exh_item_id FROM calendar_item WHERE exh_user = $1 ORDER BY 1', [user]);
      expect(items).toEqual([{ exh_item_id: 'F1' }]);
      const [watermark] = await database.sql('SELECT exh_watermark_calendar FROM exh_watermark WHERE exh_user = $1', [
        user,
      ]);
      expect(watermark).toEqual({ exh_watermark_calendar: 'w1' });
      // The holder writes; a page without a fence (a single instance) is not checked.
      await db.applyChanges({
        user,
        itemType: 'calendar',
        changes: [],
        watermark: 'w4',
        fence: { instanceId: 'B', token: '2' },
      });
      await db.applyChanges({ user: 'unfenced@example.com', itemType: 'calendar', changes: [], watermark: 'w5' });
      const marks = await database.sql(
        'SELECT exh_user, exh_watermark_calendar AS w FROM exh_watermark WHERE exh_user IN ($1, $2) ORDER BY 1',
        [user, 'unfenced@example.com'],
      );
      expect(marks).toEqual([
        { exh_user: user, w: 'w4' },
        { exh_user: 'unfenced@example.com', w: 'w5' },
      ]);
    });

    it('refuses to complete an outbox row with a stale fence: EXH_CLUSTER_LEASE_LOST, the row still pending', async () => {
      const user = 'Drain@Example.com';
      await database.sql(
        `INSERT INTO task_item (exh_app_item_id, exh_user, exh_subject) VALUES ('d-1', $1, 'One'), ('d-2', $1, 'Two')`,
        [user],
      );
      const [first, second] = await db.pendingItemChanges(user, 'task');
      const [lease] = await c.claimLeases('A', [user], 20);
      const fence: Fence = { instanceId: 'A', token: lease?.fence ?? '' };
      const done = { exitCode: 0, outputValue: 'D-1', errorMessage: null };
      const version = { user, itemType: 'task' as const, itemId: 'D-1', changeKey: 'K1' };
      await db.completeOutbox(first?.id ?? '', done, version, fence);
      expect((await db.itemVersions(['D-1'])).get('D-1')?.changeKey).toBe('K1');
      await expire(user);
      const error = await rejection(
        db.completeOutbox(second?.id ?? '', { ...done, outputValue: 'D-2' }, { ...version, itemId: 'D-2' }, fence),
      );
      expect(isExhError(error) && error.code).toBe('EXH_CLUSTER_LEASE_LOST');
      expect(isExhError(error) && error.details).toMatchObject({ user, instanceId: 'A' });
      expect((await db.pendingItemChanges(user, 'task')).map((e) => e.id)).toEqual([second?.id]);
      expect((await db.itemVersions(['D-2'])).size).toBe(0);
      // Re-taken (fence 2), the new token completes it.
      const [again] = await c.claimLeases('A', [user], 20);
      expect(again?.fence).toBe('2');
      await db.completeOutbox(second?.id ?? '', done, undefined, { instanceId: 'A', token: '2' });
      expect(await db.pendingItemChanges(user, 'task')).toEqual([]);
    });

    it('reads the outbox of the users whose lease an instance holds, and the commands without a user when asked', async () => {
      const mine = 'mine@example.com';
      const theirs = 'theirs@example.com';
      const lapsed = 'lapsed@example.com';
      for (const [id, user] of [
        ['s-1', mine],
        ['s-2', theirs],
        ['s-3', lapsed],
        ['s-4', 'nobody@example.com'],
      ]) {
        await database.sql('INSERT INTO task_item (exh_app_item_id, exh_user, exh_subject) VALUES ($1, $2, $3)', [
          id,
          user,
          id,
        ]);
      }
      await database.sql('SELECT * FROM exh_sync_item(exh_sync_direction => 0)');
      await c.claimLeases('S', [mine.toUpperCase(), lapsed], 20);
      await c.claimLeases('T', [theirs], 20);
      await expire(lapsed);
      const scoped = await db.readOutbox(100, { instanceId: 'S', commandsWithoutUser: false });
      expect(scoped.map((e) => [e.user, e.action])).toEqual([[mine, 'add']]);
      const withCommands = await db.readOutbox(100, { instanceId: 'S', commandsWithoutUser: true });
      expect(withCommands.map((e) => [e.user ?? null, e.action])).toEqual(
        expect.arrayContaining([
          [mine, 'add'],
          [null, 'sync_item'],
        ]),
      );
      expect(withCommands.filter((e) => e.user && e.user !== mine)).toEqual([]);
      const other = await db.readOutbox(100, { instanceId: 'T', commandsWithoutUser: false });
      expect(other.map((e) => e.user)).toEqual([theirs]);
      // Without a scope: every pending row, as a single instance reads them.
      const all = (await db.readOutbox(100)).filter(isOutboxItem).map((e) => e.user);
      expect(all).toEqual(expect.arrayContaining([mine, theirs, lapsed, 'nobody@example.com']));
    });

    it('leaveCluster removes the member and ends every lease it holds, keeping their fences', async () => {
      await c.heartbeat({ instanceId: 'L', address: '10.0.0.3', port: 7003 }, 20);
      const held = await c.claimLeases('L', ['leave1@example.com', 'leave2@example.com'], 20);
      await c.heartbeat({ instanceId: 'M', address: '10.0.0.4', port: 7004 }, 20);
      await c.claimLeases('M', ['leave3@example.com'], 20);
      await c.leaveCluster('L');
      const view = await c.clusterView();
      expect(view.members.map((m) => m.instanceId)).toEqual(['M']);
      expect(view.leases.filter((l) => l.instanceId === 'L')).toEqual([]);
      expect(view.leases.filter((l) => l.instanceId === 'M').map((l) => l.user)).toEqual(['leave3@example.com']);
      const fenceBefore = (user: string) => BigInt(held.find((l) => l.user === user)?.fence ?? 'x');
      expect(await c.claimLeases('N', ['leave1@example.com'], 20)).toEqual([
        expect.objectContaining({ instanceId: 'N', fence: String(fenceBefore('leave1@example.com') + 1n) }),
      ]);
      // Back under the same id: a new fence, so a write still in flight from before the leave is refused.
      expect(await c.claimLeases('L', ['leave2@example.com'], 20)).toEqual([
        expect.objectContaining({ instanceId: 'L', fence: String(fenceBefore('leave2@example.com') + 1n) }),
      ]);
    });

    it.skipIf(!target.second)('gives each user exactly one holder when two instances claim concurrently', async () => {
      const other = await target.second?.();
      if (!other) return;
      try {
        const users = Array.from({ length: 40 }, (_, i) => `race${i}@example.com`);
        // Each instance claims every user several times at once, in its own order, on its own connections.
        const claims = [];
        for (let round = 0; round < 4; round++) {
          claims.push(c.claimLeases('RA', users, 20));
          claims.push(cluster(other).claimLeases('RB', [...users].reverse(), 20));
        }
        const results = await Promise.all(claims);
        const holders = new Map<string, Set<string>>();
        for (const leases of results) {
          for (const lease of leases) {
            const set = holders.get(lease.user) ?? new Set();
            set.add(lease.instanceId);
            holders.set(lease.user, set);
          }
        }
        expect([...holders.keys()].sort()).toEqual([...users].sort());
        expect([...holders.values()].filter((set) => set.size !== 1)).toEqual([]);
        const rows = await database.sql<{ n: number }>(
          "SELECT count(*)::int AS n FROM exh_lease WHERE exh_user_key LIKE 'race%' AND exh_fence = 1",
        );
        expect(rows[0]?.n).toBe(40);
      } finally {
        await other.close();
      }
    });
  });
}
