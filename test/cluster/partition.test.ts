import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { FaultProxy } from '../faults/support/fault-proxy.js';
import { type ClusterWorld, clusterWorld, testLease } from '../support/cluster.js';
import { freePort } from '../support/net.js';

const pgUrl = process.env.PG_URL;

const users = Array.from({ length: 16 }, (_, i) => `part${i}@contoso.test`);

/**
 * A network partition between one instance and the database (issue 17, deliverable 4; docs/scale-out.md): pt-a reaches
 * the PostgreSQL server through a TCP proxy that stalls (no byte moves either way, nothing is closed, as a network that
 * drops packets), pt-b directly. While cut off, pt-a stops its mailboxes before its leases end (it cannot renew them),
 * pt-b takes them once they have ended (fence + 1), and the items made meanwhile reach the database once, through
 * pt-b. When the network heals, whatever pt-a had sent meanwhile reaches the server under fences that are no longer
 * current (the refusal itself: test/db/cluster-contract.ts and test/cluster/instances.test.ts); pt-a joins again and
 * takes its share, and every item is still once in the database.
 */
describe.skipIf(!pgUrl)(
  'a partition between an instance and the database (emulator, PostgreSQL, a stalling proxy)',
  () => {
    let world: ClusterWorld;
    let proxy: FaultProxy;

    beforeAll(async () => {
      world = await clusterWorld(pgUrl as string, 'partition', { users });
      const server = new URL(pgUrl as string);
      proxy = new FaultProxy(await freePort(), { host: server.hostname, port: Number(server.port || 5432) });
      await proxy.open();
    });
    afterAll(async () => {
      proxy?.resume();
      await world?.close();
      await proxy?.down();
    });

    const ownedBy = (id: string) => world.instances.get(id)?.runtime.actor.getSnapshot().context.owned ?? [];

    /** Every user's lease held, live, by one of `ids`, and each of them running exactly the users it holds. */
    async function placed(ids: string[]): Promise<Map<string, string>> {
      return vi.waitFor(
        async () => {
          const held = await world.leases();
          for (const user of users) {
            expect(held.get(user)?.live, `${user} held`).toBe(true);
            expect(ids).toContain(held.get(user)?.instance);
          }
          for (const id of ids) {
            const mine = users.filter((u) => held.get(u)?.instance === id);
            expect(mine.length, `${id} holds some`).toBeGreaterThan(0);
            expect([...ownedBy(id)].sort(), `${id} runs what it holds`).toEqual(mine.sort());
          }
          return new Map(users.map((u) => [u, held.get(u)?.instance as string]));
        },
        { timeout: 30_000, interval: 200 },
      );
    }

    let made = 0;
    /** An appointment in each of `who`'s mailboxes; then every appointment made so far is once in calendar_item. */
    function makeItems(who: string[]): string[] {
      made += who.length;
      return who.map((user) => {
        const subject = `partition ${made} ${user}`;
        world.emulator.admin.createItem(user, {
          kind: 'CalendarItem',
          Subject: subject,
          Start: '2026-12-01T09:00:00Z',
          End: '2026-12-01T10:00:00Z',
        });
        return subject;
      });
    }
    async function eachOnce(subjects: string[]): Promise<void> {
      await vi.waitFor(
        async () => {
          const { rows } = await world.admin.query(`select exh_subject from ${world.schema}.calendar_item`);
          for (const subject of subjects)
            expect(
              rows.filter((r) => r.exh_subject === subject),
              subject,
            ).toHaveLength(1);
          expect(rows).toHaveLength(made);
        },
        { timeout: 30_000, interval: 200 },
      );
    }

    it('the cut-off instance stops writing when its leases end, the other takes its mailboxes, nothing is lost or doubled', async () => {
      await world.start('pt-a', { databasePort: proxy.port });
      await world.start('pt-b');
      const before = await placed(['pt-a', 'pt-b']);
      const fencesBefore = await world.leases();
      const ofA = users.filter((u) => before.get(u) === 'pt-a');

      proxy.stall();
      const cutAt = Date.now();
      // pt-a renews nothing from now on: its leases end at the expiry of their last renewal (the database's clock).
      const lastRenewal = await world.leases();
      // Made at once: pt-a still runs these mailboxes and starts writing them, into the stalled connection.
      const during = makeItems(ofA);
      await vi.waitFor(() => expect(ownedBy('pt-a')).toEqual([]), { timeout: 30_000, interval: 100 });
      const stoppedAfter = (Date.now() - cutAt) / 1000;
      await placed(['pt-b']);
      const movedAfter = (Date.now() - cutAt) / 1000;
      await eachOnce(during);
      console.log(
        `partition: pt-a ran nothing ${stoppedAfter.toFixed(1)} s after the cut, its ${ofA.length} mailboxes ran on pt-b after ` +
          `${movedAfter.toFixed(1)} s (lease ${testLease.leaseSeconds} s, heartbeat ${testLease.heartbeatSeconds} s)`,
      );
      // pt-a stopped before its leases could have ended, by the time of its own record of it (the same machine's
      // clock as the database's): no moment when two instances ran one mailbox.
      const lost = world.instances.get('pt-a')?.records.find((r) => r.event === 'cluster.leasesLost');
      expect(lost).toBeDefined();
      for (const user of ofA) {
        expect(new Date(String(lost?.time)).getTime()).toBeLessThan(lastRenewal.get(user)?.expiresAt.getTime() ?? 0);
      }
      const fencesDuring = await world.leases();
      for (const user of ofA) {
        expect(BigInt(fencesDuring.get(user)?.fence ?? 0)).toBeGreaterThan(BigInt(fencesBefore.get(user)?.fence ?? 0));
      }

      // The network heals: what pt-a sent meanwhile reaches the server with the old fences.
      proxy.resume();
      await placed(['pt-a', 'pt-b']);
      // Every item still once, and new ones arrive once wherever their mailbox runs now.
      await eachOnce(during);
      await eachOnce(makeItems(users));
    });
  },
);
