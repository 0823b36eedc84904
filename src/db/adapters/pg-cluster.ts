import {
  type ClusterPort,
  type ClusterView,
  goneAfterHours,
  type Lease,
  type Member,
} from '../../ports/database.port.js';
import type { PgQueryable } from './postgres-family.js';

/**
 * ClusterPort for PostgreSQL and PGlite (docs/database.md, "Several instances"): exh_member and exh_lease, one
 * statement per call, every time by the database's clock (now()).
 */

/** `run` sends one statement on the adapter's connection and translates its errors. */
export type PgRun = <T>(object: string, work: (q: PgQueryable) => Promise<T>) => Promise<T>;

interface MemberRow {
  exh_instance_id: string;
  exh_address: string;
  exh_port: number;
  exh_started_at: Date | string;
  exh_heartbeat_at: Date | string;
}

interface LeaseRow {
  exh_user: string;
  exh_instance_id: string;
  exh_fence: string;
  exh_expires_at: Date | string;
}

const memberColumns = 'exh_instance_id, exh_address, exh_port, exh_started_at, exh_heartbeat_at';
const leaseColumns = 'exh_user, exh_instance_id, exh_fence::text AS exh_fence, exh_expires_at';

export function memberFromRow(row: MemberRow): Member {
  return {
    instanceId: row.exh_instance_id,
    address: row.exh_address,
    port: Number(row.exh_port),
    startedAt: new Date(row.exh_started_at),
    heartbeatAt: new Date(row.exh_heartbeat_at),
  };
}

export function leaseFromRow(row: LeaseRow): Lease {
  return {
    user: row.exh_user,
    instanceId: row.exh_instance_id,
    fence: String(row.exh_fence),
    expiresAt: new Date(row.exh_expires_at),
  };
}

/** Distinct users, case-blind (the first spelling wins), in the order of their keys: claims lock rows in one order. */
function distinctUsers(users: readonly string[]): string[] {
  const byKey = new Map<string, string>();
  for (const user of users) if (!byKey.has(user.toLowerCase())) byKey.set(user.toLowerCase(), user);
  return [...byKey.keys()].sort().map((key) => byKey.get(key) ?? key);
}

export class PgCluster implements ClusterPort {
  constructor(private readonly run: PgRun) {}

  async heartbeat(member: Pick<Member, 'instanceId' | 'address' | 'port'>, leaseSeconds: number): Promise<Member[]> {
    // The upsert's own row comes from RETURNING: the main query does not see what its WITH query writes.
    const { rows } = await this.run('exh_member', (q) =>
      q.query<MemberRow>(
        `WITH gone AS (
           DELETE FROM exh_member WHERE exh_heartbeat_at < now() - interval '${goneAfterHours} hours' AND exh_instance_id <> $1
         ),
         me AS (
           INSERT INTO exh_member (${memberColumns}) VALUES ($1, $2, $3, now(), now())
           ON CONFLICT (exh_instance_id) DO UPDATE
             SET exh_address = EXCLUDED.exh_address, exh_port = EXCLUDED.exh_port, exh_heartbeat_at = now()
           RETURNING ${memberColumns}
         )
         SELECT ${memberColumns} FROM me
         UNION ALL
         SELECT ${memberColumns} FROM exh_member
           WHERE exh_instance_id <> $1 AND exh_heartbeat_at > now() - make_interval(secs => $4)
         ORDER BY exh_instance_id`,
        [member.instanceId, member.address, member.port, leaseSeconds],
      ),
    );
    return rows.map(memberFromRow);
  }

  /**
   * One INSERT … ON CONFLICT: a new user's row is inserted (fence 1); an existing row is updated only when this
   * instance holds it (extended, same fence) or nobody does (expired or released: taken, fence + 1). Two instances
   * claiming one user: the second waits for the first's row lock, then its WHERE sees the first's unexpired lease.
   */
  async claimLeases(instanceId: string, users: readonly string[], leaseSeconds: number): Promise<Lease[]> {
    if (users.length === 0) return [];
    const { rows } = await this.run('exh_lease', (q) =>
      q.query<LeaseRow>(
        `INSERT INTO exh_lease AS l (exh_user_key, exh_user, exh_instance_id, exh_fence, exh_expires_at)
         SELECT lower(u.exh_user), u.exh_user, $1, 1, now() + make_interval(secs => $3)
         FROM unnest($2::text[]) WITH ORDINALITY AS u (exh_user, n)
         ORDER BY u.n
         ON CONFLICT (exh_user_key) DO UPDATE
           SET exh_user = EXCLUDED.exh_user, exh_instance_id = EXCLUDED.exh_instance_id,
               exh_expires_at = EXCLUDED.exh_expires_at,
               exh_fence = CASE WHEN l.exh_expires_at > now() THEN l.exh_fence ELSE l.exh_fence + 1 END
           WHERE l.exh_instance_id = EXCLUDED.exh_instance_id OR l.exh_expires_at <= now()
         RETURNING ${leaseColumns}`,
        [instanceId, distinctUsers(users), leaseSeconds],
      ),
    );
    return rows.map(leaseFromRow);
  }

  /** The rows stay, expired, with their fence: the next holder's fence is larger. */
  async releaseLeases(instanceId: string, users: readonly string[]): Promise<void> {
    if (users.length === 0) return;
    await this.run('exh_lease', (q) =>
      q.query(
        `UPDATE exh_lease SET exh_expires_at = now() - interval '1 second'
         WHERE exh_instance_id = $1 AND exh_expires_at > now() - interval '1 second'
           AND exh_user_key = ANY(SELECT lower(u) FROM unnest($2::text[]) AS u)`,
        [instanceId, [...users]],
      ),
    );
  }

  async leaveCluster(instanceId: string): Promise<void> {
    await this.run('exh_member', (q) =>
      q.query(
        // The leases end but their rows stay: the fence only ever grows, also for an instance that comes back
        // under the same id (a write still in flight from before is refused).
        `WITH leases AS (
           UPDATE exh_lease SET exh_expires_at = now() - interval '1 second'
           WHERE exh_instance_id = $1 AND exh_expires_at > now() - interval '1 second')
         DELETE FROM exh_member WHERE exh_instance_id = $1`,
        [instanceId],
      ),
    );
  }

  async clusterView(): Promise<ClusterView> {
    const { rows } = await this.run('exh_member', (q) =>
      q.query<{ members: MemberRow[]; leases: LeaseRow[] }>(
        `SELECT
           (SELECT coalesce(json_agg(m ORDER BY m.exh_instance_id), '[]') FROM (SELECT ${memberColumns} FROM exh_member) AS m)
             AS members,
           (SELECT coalesce(json_agg(l ORDER BY l.exh_user), '[]') FROM (SELECT ${leaseColumns} FROM exh_lease WHERE exh_expires_at > now()) AS l)
             AS leases`,
      ),
    );
    const row = rows[0];
    return { members: (row?.members ?? []).map(memberFromRow), leases: (row?.leases ?? []).map(leaseFromRow) };
  }
}
