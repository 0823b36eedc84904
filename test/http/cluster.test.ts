import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readCluster } from '../../src/http/cluster.js';
import { exhOutput } from '../support/exh-process.js';
import { clusterOf, type RunningCluster, settled, startCluster } from './cluster-connectors.js';

const pgUrl = process.env.PG_URL;

describe('readCluster', () => {
  const at = (seconds: number) => new Date(Date.UTC(2026, 11, 6, 12, 0, seconds));
  const sources = {
    self: { instanceId: 'exh-b', leaseSeconds: 20, heartbeatSeconds: 5 },
    view: async () => ({
      members: [
        { instanceId: 'exh-a', address: '10.0.0.1', port: 8000, startedAt: at(0), heartbeatAt: at(30) },
        { instanceId: 'exh-b', address: '10.0.0.2', port: 8000, startedAt: at(1), heartbeatAt: at(31) },
        { instanceId: 'exh-c', address: '10.0.0.3', port: 8000, startedAt: at(2), heartbeatAt: at(2) },
      ],
      leases: [
        { user: 'Al@x.test', instanceId: 'exh-b', fence: '3', expiresAt: at(51) },
        { user: 'bo@x.test', instanceId: 'exh-a', fence: '12', expiresAt: at(50) },
        { user: 'cy@x.test', instanceId: 'exh-b', fence: '1', expiresAt: at(51) },
      ],
    }),
    liveMembers: () => ['exh-b', 'exh-a'],
    users: () => ['al@x.test', 'bo@x.test', 'cy@x.test', 'di@x.test'],
  };

  it('marks this instance and the live members, counts the leases each holds, and names the mailboxes run nowhere', async () => {
    expect(await readCluster(sources)).toEqual({
      clustered: true,
      instanceId: 'exh-b',
      coordinator: 'exh-a',
      leaseSeconds: 20,
      heartbeatSeconds: 5,
      members: [
        {
          instanceId: 'exh-a',
          address: '10.0.0.1',
          port: 8000,
          startedAt: '2026-12-06T12:00:00.000Z',
          heartbeatAt: '2026-12-06T12:00:30.000Z',
          live: true,
          self: false,
          mailboxes: 1,
        },
        {
          instanceId: 'exh-b',
          address: '10.0.0.2',
          port: 8000,
          startedAt: '2026-12-06T12:00:01.000Z',
          heartbeatAt: '2026-12-06T12:00:31.000Z',
          live: true,
          self: true,
          mailboxes: 2,
        },
        {
          instanceId: 'exh-c',
          address: '10.0.0.3',
          port: 8000,
          startedAt: '2026-12-06T12:00:02.000Z',
          heartbeatAt: '2026-12-06T12:00:02.000Z',
          live: false,
          self: false,
          mailboxes: 0,
        },
      ],
      leases: [
        { user: 'Al@x.test', instanceId: 'exh-b', fence: '3', expiresAt: '2026-12-06T12:00:51.000Z' },
        { user: 'bo@x.test', instanceId: 'exh-a', fence: '12', expiresAt: '2026-12-06T12:00:50.000Z' },
        { user: 'cy@x.test', instanceId: 'exh-b', fence: '1', expiresAt: '2026-12-06T12:00:51.000Z' },
      ],
      unowned: ['di@x.test'],
    });
  });

  it('has no coordinator before the first heartbeat', async () => {
    expect(await readCluster({ ...sources, liveMembers: () => [] })).toMatchObject({
      coordinator: null,
      members: [{ live: false }, { live: false }, { live: false }],
    });
  });
});

/**
 * Two connectors in this process with a `cluster` configuration on one PostgreSQL schema and the emulator
 * (test/http/cluster-connectors.ts): the dashboard's API of either names both members and who runs every mailbox.
 */
describe.skipIf(!pgUrl)('GET /api/cluster of two instances on one database (emulator, PostgreSQL)', () => {
  let cluster: RunningCluster;
  const users = Array.from({ length: 6 }, (_, i) => `member${i}@contoso.test`);

  beforeAll(async () => {
    cluster = await startCluster(pgUrl as string, ['exh-a', 'exh-b'], users);
    await settled(cluster);
  }, 60_000);

  afterAll(async () => {
    await cluster?.stop();
  });

  it('from either instance: both members live with their address, port and times, itself marked, and every mailbox with its owner', async () => {
    const views = await Promise.all(cluster.members.map(clusterOf));
    const owners = new Map<string, string>();
    for (const [index, view] of views.entries()) {
      const member = cluster.members[index];
      if (!view.clustered || !member) throw new Error('expected a clustered answer');
      expect(view.instanceId).toBe(member.id);
      expect(view.coordinator).toBe('exh-a');
      expect(view).toMatchObject({ leaseSeconds: 4, heartbeatSeconds: 1, unowned: [] });
      expect(view.members.map((m) => [m.instanceId, m.live, m.self])).toEqual([
        ['exh-a', true, member.id === 'exh-a'],
        ['exh-b', true, member.id === 'exh-b'],
      ]);
      for (const m of view.members) {
        expect(m.address).toMatch(/^\d+\.\d+\.\d+\.\d+$/);
        expect(m.port).toBeGreaterThan(0);
        expect(Date.parse(m.heartbeatAt)).toBeGreaterThanOrEqual(Date.parse(m.startedAt));
        expect(m.mailboxes).toBe(view.leases.filter((l) => l.instanceId === m.instanceId).length);
      }
      // Each its own database listener, on a port of its own.
      expect(new Set(view.members.map((m) => m.port)).size).toBe(2);
      expect(view.leases.map((l) => l.user).sort()).toEqual([...users].sort());
      for (const lease of view.leases) {
        expect(['exh-a', 'exh-b']).toContain(lease.instanceId);
        expect(BigInt(lease.fence)).toBeGreaterThan(0n);
        expect(Number.isNaN(Date.parse(lease.expiresAt))).toBe(false);
        // The owner the view names is the instance whose supervisor runs the mailbox.
        const runner = cluster.members.find((c) => c.runtime.actor.getSnapshot().context.owned.includes(lease.user));
        expect(runner?.id, lease.user).toBe(lease.instanceId);
        const seen = owners.get(lease.user);
        if (seen) expect(lease.instanceId, `${lease.user} in both views`).toBe(seen);
        owners.set(lease.user, lease.instanceId);
      }
    }
    // Rendezvous hashing of six users over two members gives each some (test/cluster/rendezvous.test.ts).
    expect(new Set(owners.values())).toEqual(new Set(['exh-a', 'exh-b']));
  });

  it('exh status of either instance prints the members, itself marked, and the instance that runs each mailbox', async () => {
    for (const member of cluster.members) {
      const { code, stdout } = await exhOutput(['status', '--url', member.url]);
      expect(code).toBe(0);
      expect(stdout).toMatch(new RegExp(`^cluster {4}2 of 2 members live; this is ${member.id}, `, 'm'));
      for (const id of ['exh-a', 'exh-b']) {
        const line = new RegExp(`^  ${id}  \\S+:\\d+ +live .*${id === member.id ? '\\(this instance\\)' : 'Z'}$`, 'm');
        expect(stdout).toMatch(line);
      }
      const view = await clusterOf(member);
      if (!view.clustered) throw new Error('expected a clustered answer');
      for (const lease of view.leases) {
        expect(stdout).toMatch(new RegExp(`^  ${lease.user.replaceAll('.', '\\.')} +${lease.instanceId}  fence `, 'm'));
      }
    }
  });
});
