import { hostname } from 'node:os';
import type { BeatOutput } from '../../machines/membership.machine.js';
import type { ClusterPort, ClusterView, Member } from '../ports/database.port.js';
import { coordinatorOf, ownedBy } from './rendezvous.js';

/** This instance as it registers in exh_member, and the lease's timing (the `cluster` configuration). */
export interface ClusterSelf {
  instanceId: string;
  address: string;
  port: number;
  leaseSeconds: number;
  heartbeatSeconds: number;
}

/** `cluster.instanceId`'s default: the host name and the process id. */
export function defaultInstanceId(): string {
  return `${hostname()}-${process.pid}`;
}

/** exh_ip_addresses as the coordinator keeps it: what is stored (undefined when there is no row) and a write. */
export interface ListenerList {
  read(): Promise<readonly string[] | undefined>;
  write(addresses: string[]): Promise<void>;
}

/**
 * The membership service over the database's ClusterPort (docs/architecture.md, "Several instances"): the I/O of the
 * membership machine's actors, one round trip per step.
 */
export class Membership {
  /** The users whose lease this instance holds, by lower(user), with their fence (for the fenced database). */
  private readonly fences = new Map<string, string>();
  /** Until when (this.now()) the fences above may be used: a heartbeat before the leases taken at the last beat end. */
  private validUntil = 0;
  /**
   * Users a beat gave up whose leases are still this instance's until released (their mailboxes stop, a row of theirs
   * may still be on its way to Exchange): their fence, usable until their last renewal's lease would end, so that
   * row's outcome is recorded (docs/scale-out.md, "Leases").
   */
  private readonly leaving = new Map<string, { fence: string; until: number }>();
  /**
   * `listeners` reads and writes exh_set_up's exh_ip_addresses: the live members' listeners (`host:port`), where the
   * database's senders turn when exh_ip_address does not answer (docs/senders.md, "Several instances"). At each beat
   * the coordinator reads what is there and writes the live list when it differs.
   */
  constructor(
    private readonly cluster: ClusterPort,
    readonly self: ClusterSelf,
    private readonly now: () => number = () => performance.now(),
    private readonly listeners?: ListenerList,
  ) {}

  /** heartbeat → live members → the users rendezvous gives this instance → claimLeases. */
  async beat(users: readonly string[], owned: readonly string[]): Promise<BeatOutput> {
    const started = this.now();
    // The last good beat's leases may have ended (its mailboxes were stopped: cluster.leasesLost): every user is taken
    // afresh, with fence + 1 (below), so a write the stopped mailboxes still had in flight is refused.
    if (started >= this.validUntil) {
      this.fences.clear();
      this.leaving.clear();
    }
    for (const [key, { until }] of this.leaving) if (started >= until) this.leaving.delete(key);
    const { instanceId, address, port, leaseSeconds } = this.self;
    const live = await this.cluster.heartbeat({ instanceId, address, port }, leaseSeconds);
    const members = live.map((m) => m.instanceId);
    const wanted = ownedBy(instanceId, users, members);
    // A user this process does not hold yet may still have an unexpired lease under this id from an earlier process
    // (a restart within the lease): claimed as it stands, its fence would stay that process's, so a write that one
    // still had in flight would pass. Ended first, the claim takes it with fence + 1 (docs/scale-out.md, "The fence").
    const taking = wanted.filter((user) => !this.fences.has(user.toLowerCase()));
    if (taking.length > 0) await this.cluster.releaseLeases(instanceId, taking);
    const leases = wanted.length > 0 ? await this.cluster.claimLeases(instanceId, wanted, leaseSeconds) : [];
    const held = new Map(leases.filter((l) => l.instanceId === instanceId).map((l) => [l.user.toLowerCase(), l.fence]));
    const wantedKeys = new Set(wanted.map((u) => u.toLowerCase()));
    const release = owned.filter((u) => !wantedKeys.has(u.toLowerCase()));
    for (const [key, fence] of this.fences) {
      if (!held.has(key)) this.leaving.set(key, { fence, until: this.validUntil });
    }
    this.fences.clear();
    for (const [key, fence] of held) {
      this.fences.set(key, fence);
      this.leaving.delete(key);
    }
    this.validUntil = started + (leaseSeconds - this.self.heartbeatSeconds) * 1000;
    if (coordinatorOf(members) === instanceId) await this.publishListeners(live);
    return {
      members,
      owned: wanted.filter((u) => held.has(u.toLowerCase())),
      release,
      coordinator: coordinatorOf(members) === instanceId,
      elapsedMs: Math.max(0, this.now() - started),
    };
  }

  /**
   * exh_ip_addresses when what the database holds is not the live members' listeners. Compared with the stored list
   * rather than with what this instance wrote last: another instance that briefly took itself for the coordinator
   * (it registered before it saw the others) may have written its view after this one's, and that is corrected at
   * the next beat. A failed read or write is not the beat's failure (the leases were claimed): it is tried again at
   * the next beat, and meanwhile senders reach exh_ip_address or the old list.
   */
  private async publishListeners(live: readonly Member[]): Promise<void> {
    if (!this.listeners) return;
    // exh_ip_addresses' format (docs/senders.md): host:port, an IPv6 address in brackets.
    const addresses = live.map((m) => `${m.address.includes(':') ? `[${m.address}]` : m.address}:${m.port}`);
    try {
      const stored = await this.listeners.read();
      if (stored !== undefined && stored.join(',') === addresses.join(',')) return;
      await this.listeners.write(addresses);
    } catch {
      // Tried again at the next beat (above).
    }
  }

  /** Whether this instance runs the user's mailbox: it took the lease at its last beat, and that lease has not ended. */
  owns(user: string): boolean {
    return this.now() < this.validUntil && this.fences.has(user.toLowerCase());
  }

  /**
   * The fence of the user's lease while this instance holds it, else undefined (the fenced database refuses): a user
   * it owns, or one given up and not yet released (its row in flight is recorded under it).
   */
  fenceOf(user: string): string | undefined {
    const key = user.toLowerCase();
    if (this.owns(key)) return this.fences.get(key);
    const leaving = this.leaving.get(key);
    return leaving && this.now() < leaving.until ? leaving.fence : undefined;
  }

  /** Whether the user's lease is among this instance's, owned or given up and not yet released. */
  holds(user: string): boolean {
    const key = user.toLowerCase();
    return this.fences.has(key) || this.leaving.has(key);
  }

  /**
   * After their mailboxes (and their rows in flight) stopped: the leases go, so the new owner takes them at its next
   * heartbeat. A user a later beat took back meanwhile is this instance's again and is not released.
   */
  async release(users: readonly string[]): Promise<void> {
    const gone = users.filter((u) => !this.fences.has(u.toLowerCase()));
    for (const u of gone) this.leaving.delete(u.toLowerCase());
    if (gone.length > 0) await this.cluster.releaseLeases(this.self.instanceId, gone);
  }

  /** On a clean stop: out of exh_member, every lease released. */
  async leave(): Promise<void> {
    this.fences.clear();
    this.leaving.clear();
    await this.cluster.leaveCluster(this.self.instanceId);
  }

  view(): Promise<ClusterView> {
    return this.cluster.clusterView();
  }
}
