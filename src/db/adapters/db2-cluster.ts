import type { SQLParam } from 'ibm_db';
import { type Fence, goneAfterHours } from '../../ports/database.port.js';
import type { Db2Statement } from './db2-page.js';

/**
 * Several instances on DB2 (docs/database.md, "Several instances"): exh_member and exh_lease. Times are the database's
 * clock in UTC, as the base project keeps them (CURRENT TIMESTAMP - CURRENT TIMEZONE). Statements only; db2.ts runs
 * them. DB2 cannot return the rows a MERGE wrote (no FINAL TABLE over MERGE), so a heartbeat and a claim are their
 * MERGE and a SELECT in one transaction on the adapter's one connection.
 */

/** The SQLSTATE the fence check signals; the adapter turns it into EXH_CLUSTER_LEASE_LOST. */
export const leaseLostSqlState = '75001';

const now = '(CURRENT TIMESTAMP - CURRENT TIMEZONE)';
const memberColumns = 'exh_instance_id, exh_address, exh_port, exh_started_at, exh_heartbeat_at';
const leaseColumns = 'exh_user, exh_instance_id, VARCHAR(exh_fence) AS exh_fence, exh_expires_at';
/** Users per MERGE: well within DB2's parameter markers; a claim of more is several MERGEs in its transaction. */
export const usersPerStatement = 1_000;

/** Distinct users, case-blind (the first spelling wins), in key order: claims lock rows in one order. */
export function distinctUsers(users: readonly string[]): string[] {
  const byKey = new Map<string, string>();
  for (const user of users) if (!byKey.has(user.toLowerCase())) byKey.set(user.toLowerCase(), user);
  return [...byKey.keys()].sort().map((key) => byKey.get(key) ?? key);
}

export function memberMerge(member: { instanceId: string; address: string; port: number }): Db2Statement {
  return {
    text: `MERGE INTO exh_member AS m
USING (VALUES (CAST(? AS VARGRAPHIC(200)), CAST(? AS VARGRAPHIC(400)), CAST(? AS INTEGER))) AS s (i, a, p)
  ON m.exh_instance_id = s.i
WHEN MATCHED THEN UPDATE SET exh_address = s.a, exh_port = s.p, exh_heartbeat_at = ${now}
WHEN NOT MATCHED THEN INSERT (${memberColumns}) VALUES (s.i, s.a, s.p, ${now}, ${now})`,
    params: [member.instanceId, member.address, member.port],
    object: 'exh_member',
  };
}

/** Members without a heartbeat for goneAfterHours (src/ports/database.port.ts): deleted in the heartbeat's transaction. */
export function goneMembersDelete(instanceId: string): Db2Statement {
  return {
    text: `DELETE FROM exh_member
WHERE exh_heartbeat_at < ${now} - ${goneAfterHours} HOURS AND exh_instance_id <> CAST(? AS VARGRAPHIC(200))`,
    params: [instanceId],
    object: 'exh_member',
  };
}

export function liveMembersQuery(leaseSeconds: number): Db2Statement {
  return {
    text: `SELECT ${memberColumns} FROM exh_member
WHERE exh_heartbeat_at > ${now} - ? SECONDS ORDER BY exh_instance_id`,
    params: [Math.floor(leaseSeconds)],
    object: 'exh_member',
  };
}

/**
 * One MERGE per (up to) 1,000 users: a lease this instance holds is extended (same fence), one nobody holds (expired
 * or released) is taken with fence + 1, a new user's row gets fence 1, another's unexpired lease is left alone. The
 * MERGE locks the rows it updates to the end of the transaction; two instances inserting one new user: the second
 * fails on the primary key (23505) and the adapter runs the claim once more, when the row is there to compare.
 */
export function claimMerges(instanceId: string, users: readonly string[], leaseSeconds: number): Db2Statement[] {
  const all = distinctUsers(users);
  const merges: Db2Statement[] = [];
  for (let start = 0; start < all.length; start += usersPerStatement) {
    const chunk = all.slice(start, start + usersPerStatement);
    const rows = chunk.map(() => '(CAST(? AS VARGRAPHIC(255)))').join(', ');
    merges.push({
      text: `MERGE INTO exh_lease AS l
USING (SELECT LOWER(u) AS k, u FROM (VALUES ${rows}) AS v (u)) AS s ON l.exh_user_key = s.k
WHEN MATCHED AND (l.exh_instance_id = CAST(? AS VARGRAPHIC(200)) OR l.exh_expires_at <= ${now}) THEN UPDATE SET
  exh_user = s.u, exh_instance_id = CAST(? AS VARGRAPHIC(200)), exh_expires_at = ${now} + ? SECONDS,
  exh_fence = CASE WHEN l.exh_expires_at > ${now} THEN l.exh_fence ELSE l.exh_fence + 1 END
WHEN NOT MATCHED THEN INSERT (exh_user_key, exh_user, exh_instance_id, exh_fence, exh_expires_at)
  VALUES (s.k, s.u, CAST(? AS VARGRAPHIC(200)), 1, ${now} + ? SECONDS)`,
      params: [...chunk, instanceId, instanceId, Math.floor(leaseSeconds), instanceId, Math.floor(leaseSeconds)],
      object: 'exh_lease',
    });
  }
  return merges;
}

/** The leases `instanceId` holds among `users`, after the claim, in its transaction. */
export function heldQuery(instanceId: string, users: readonly string[]): Db2Statement {
  const all = distinctUsers(users);
  return {
    text: `SELECT ${leaseColumns} FROM exh_lease
WHERE exh_instance_id = CAST(? AS VARGRAPHIC(200)) AND exh_expires_at > ${now}
  AND exh_user_key IN (SELECT LOWER(u) FROM (VALUES ${all.map(() => '(CAST(? AS VARGRAPHIC(255)))').join(', ')}) AS v (u))
ORDER BY exh_user_key`,
    params: [instanceId, ...all],
    object: 'exh_lease',
  };
}

/** The rows stay, expired, with their fence: the next holder's fence is larger. */
export function releaseUpdate(instanceId: string, users: readonly string[]): Db2Statement {
  const all = distinctUsers(users);
  return {
    text: `UPDATE exh_lease SET exh_expires_at = ${now} - 1 SECOND
WHERE exh_instance_id = CAST(? AS VARGRAPHIC(200)) AND exh_expires_at > ${now} - 1 SECOND
  AND exh_user_key IN (SELECT LOWER(u) FROM (VALUES ${all.map(() => '(CAST(? AS VARGRAPHIC(255)))').join(', ')}) AS v (u))`,
    params: [instanceId, ...all],
    object: 'exh_lease',
  };
}

export function leaveDeletes(instanceId: string): Db2Statement[] {
  return [
    // The leases end but their rows stay: the fence only ever grows (see pg-cluster.ts, leaveCluster).
    {
      text: `UPDATE exh_lease SET exh_expires_at = ${now} - 1 SECOND
WHERE exh_instance_id = CAST(? AS VARGRAPHIC(200)) AND exh_expires_at > ${now} - 1 SECOND`,
      params: [instanceId],
      object: 'exh_lease',
    },
    { text: 'DELETE FROM exh_member WHERE exh_instance_id = ?', params: [instanceId], object: 'exh_member' },
  ];
}

export const membersQuery = `SELECT ${memberColumns} FROM exh_member ORDER BY exh_instance_id`;
export const leasesQuery = `SELECT ${leaseColumns} FROM exh_lease WHERE exh_expires_at > ${now} ORDER BY exh_user`;

/**
 * The fence check: a MERGE on the lease row that signals SQLSTATE 75001 unless the fence's instance holds it with that
 * token, unexpired. When it holds, the MERGE updates the row to itself: the row stays locked to the end of the
 * transaction, so no claim takes the lease before the write commits. `key`: the lower-cased user as an expression
 * with its markers' values in `keyParams`. Valid alone and inside a BEGIN ATOMIC compound statement.
 */
function fenceMerge(key: string, keyParams: SQLParam[], fence: Fence): Db2Statement {
  const signal = `SIGNAL SQLSTATE '${leaseLostSqlState}' SET MESSAGE_TEXT = 'exh: this instance does not hold the lease'`;
  return {
    text: `MERGE INTO exh_lease AS l
USING (SELECT ${key} AS k, CAST(? AS VARGRAPHIC(200)) AS i, CAST(? AS VARCHAR(40)) AS f FROM SYSIBM.SYSDUMMY1) AS s
  ON l.exh_user_key = s.k
WHEN MATCHED AND l.exh_instance_id = s.i AND VARCHAR(l.exh_fence) = s.f AND l.exh_expires_at > ${now}
  THEN UPDATE SET exh_fence = l.exh_fence
WHEN MATCHED THEN ${signal}
WHEN NOT MATCHED THEN ${signal}`,
    params: [...keyParams, fence.instanceId, fence.token],
    object: 'exh_lease',
  };
}

/** A page's check: the page's user. */
export function pageFenceCheck(user: string, fence: Fence): Db2Statement {
  return fenceMerge('LOWER(CAST(? AS VARGRAPHIC(255)))', [user], fence);
}

/** completeOutbox's check: the lease of the row's own user (a row without a user has none: refused). */
export function outboxFenceCheck(id: string, fence: Fence): Db2Statement {
  return fenceMerge('(SELECT LOWER(o.exh_user) FROM exh_outbox AS o WHERE o.exh_outbox_id = ?)', [Number(id)], fence);
}

/** readOutbox's scope as a condition on exh_outbox's rows, and its markers' values. */
export function outboxScopeCondition(scope: { instanceId: string; commandsWithoutUser: boolean }): Db2Statement {
  return {
    text: `AND (${scope.commandsWithoutUser ? 'exh_user IS NULL OR ' : ''}EXISTS (SELECT 1 FROM exh_lease AS l
      WHERE l.exh_user_key = LOWER(exh_outbox.exh_user) AND l.exh_instance_id = CAST(? AS VARGRAPHIC(200))
        AND l.exh_expires_at > ${now}))`,
    params: [scope.instanceId],
    object: 'exh_outbox',
  };
}
