import { vi } from 'vitest';
import type { ClusterStatus } from '../../src/http/cluster.js';
import type { Runtime } from '../../src/runtime.js';
import { clusterWorld } from '../support/cluster.js';

export interface ClusterMember {
  id: string;
  runtime: Runtime;
  /** http://127.0.0.1:<port> of its dashboard and API. */
  url: string;
}

export interface RunningCluster {
  members: ClusterMember[];
  users: string[];
  stop(): Promise<void>;
}

/**
 * Connectors in this process on one fresh schema of the PostgreSQL server at `pgUrl` and one emulator, each with a
 * `cluster` configuration (test/support/cluster.ts) and its dashboard and API on a free port.
 */
export async function startCluster(pgUrl: string, ids: string[], users: string[]): Promise<RunningCluster> {
  const world = await clusterWorld(pgUrl, 'cluster_http', { users, validateResponses: false });
  const members: ClusterMember[] = [];
  for (const id of ids) {
    const { runtime, records } = await world.start(id, { listeners: { http: { enabled: true, port: 0 } } });
    const listening = await vi.waitFor(
      () => {
        const record = records.find((candidate) => candidate.event === 'http.listening');
        if (!record) throw new Error(`${id}: the HTTP listener has not said where it listens`);
        return record;
      },
      { timeout: 15_000, interval: 20 },
    );
    members.push({ id, runtime, url: `http://127.0.0.1:${listening.port}` });
  }
  return { members, users, stop: () => world.close() };
}

/** /api/cluster of one member. */
export async function clusterOf(member: ClusterMember): Promise<ClusterStatus> {
  const response = await fetch(`${member.url}/api/cluster`);
  if (!response.ok) throw new Error(`${member.id}: /api/cluster answered ${response.status}`);
  return (await response.json()) as ClusterStatus;
}

/**
 * Waits until every member's mailboxes run where the database says: every member live in every member's view, every
 * user leased, and each member running exactly the users its leases name (its supervisor's `owned`).
 */
export async function settled(cluster: RunningCluster): Promise<void> {
  await vi.waitFor(
    async () => {
      for (const member of cluster.members) {
        const view = await clusterOf(member);
        if (!view.clustered) throw new Error(`${member.id} says it is not in a cluster`);
        const live = view.members.filter((m) => m.live).map((m) => m.instanceId);
        if (live.length !== cluster.members.length) throw new Error(`${member.id} sees ${live.join(', ')} live`);
        if (view.unowned.length > 0) throw new Error(`${member.id}: ${view.unowned.join(', ')} run nowhere yet`);
        for (const other of cluster.members) {
          const owned = new Set(other.runtime.actor.getSnapshot().context.owned);
          const leased = view.leases.filter((l) => l.instanceId === other.id).map((l) => l.user.toLowerCase());
          if (leased.length !== owned.size || leased.some((user) => !owned.has(user))) {
            throw new Error(`${other.id} runs ${[...owned].join(', ')} but holds ${leased.join(', ')}`);
          }
        }
      }
    },
    { timeout: 30_000, interval: 200 },
  );
}
