import { coordinatorOf } from '../cluster/rendezvous.js';
import type { ClusterView } from '../ports/database.port.js';

/** One instance of the cluster as /api/cluster tells it (docs/dashboard.md, "Cluster"). */
export interface ClusterMemberStatus {
  instanceId: string;
  /** Where its database listener is reached (exh_member). */
  address: string;
  port: number;
  startedAt: string;
  /** Its last heartbeat, by the database's clock. */
  heartbeatAt: string;
  /**
   * Among the live members at this instance's last heartbeat: those whose heartbeat was within the lease then, by the
   * database's clock (hosts' clocks need not agree). A member that joined since shows live from the next beat on.
   */
  live: boolean;
  /** The instance that answered. */
  self: boolean;
  /** The mailboxes whose unexpired lease it holds. */
  mailboxes: number;
}

/** Who runs a mailbox now: an unexpired lease of exh_lease. */
export interface ClusterLeaseStatus {
  user: string;
  instanceId: string;
  /** The fencing token (bigint as decimal text): larger each time the lease changes hands. */
  fence: string;
  expiresAt: string;
}

export type ClusterStatus =
  | { clustered: false; message: string }
  | {
      clustered: true;
      /** The instance that answered (`cluster.instanceId`). */
      instanceId: string;
      /** The live member that takes the commands without a user, or null before the first heartbeat. */
      coordinator: string | null;
      leaseSeconds: number;
      heartbeatSeconds: number;
      /** Every member in exh_member, live or not, by instanceId. */
      members: ClusterMemberStatus[];
      /** Every unexpired lease, by user. */
      leases: ClusterLeaseStatus[];
      /** Users exh_get_users returns whose mailbox runs nowhere now (no unexpired lease), as this instance read them. */
      unowned: string[];
    };

/** What a single instance answers: no error, since one instance without `cluster` is the usual case. */
export const singleInstance: ClusterStatus = {
  clustered: false,
  message: 'single instance: no `cluster` configuration, so every registered mailbox runs here',
};

export interface ClusterSources {
  self: { instanceId: string; leaseSeconds: number; heartbeatSeconds: number };
  /** The database's view (Membership.view(), one round trip). */
  view: () => Promise<ClusterView>;
  /** The live members' ids at this instance's last heartbeat (the supervisor's context). */
  liveMembers: () => readonly string[];
  /** exh_get_users' users as this instance last read them. */
  users: () => readonly string[];
}

/** The cluster as the database holds it, with liveness and ownership said per member and per mailbox. */
export async function readCluster(sources: ClusterSources): Promise<ClusterStatus> {
  const view = await sources.view();
  const live = new Set(sources.liveMembers());
  const { instanceId, leaseSeconds, heartbeatSeconds } = sources.self;
  const held = new Map<string, number>();
  for (const lease of view.leases) held.set(lease.instanceId, (held.get(lease.instanceId) ?? 0) + 1);
  const leased = new Set(view.leases.map((lease) => lease.user.toLowerCase()));
  return {
    clustered: true,
    instanceId,
    coordinator: coordinatorOf([...live]) ?? null,
    leaseSeconds,
    heartbeatSeconds,
    members: view.members.map((member) => ({
      instanceId: member.instanceId,
      address: member.address,
      port: member.port,
      startedAt: member.startedAt.toISOString(),
      heartbeatAt: member.heartbeatAt.toISOString(),
      live: live.has(member.instanceId),
      self: member.instanceId === instanceId,
      mailboxes: held.get(member.instanceId) ?? 0,
    })),
    leases: view.leases.map((lease) => ({
      user: lease.user,
      instanceId: lease.instanceId,
      fence: lease.fence,
      expiresAt: lease.expiresAt.toISOString(),
    })),
    unowned: sources.users().filter((user) => !leased.has(user.toLowerCase())),
  };
}
