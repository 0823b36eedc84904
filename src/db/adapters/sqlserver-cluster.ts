import { type Fence, goneAfterHours } from '../../ports/database.port.js';

/**
 * Several instances on SQL Server (docs/database.md, "Several instances"): exh_member and exh_lease, one request per
 * call, every time by the database's clock (SYSDATETIMEOFFSET()). Statements only; sqlserver.ts sends them with
 * typed parameters. Lists of users travel as one JSON array parameter (OPENJSON, SQL Server 2016 and later), so a
 * claim of any number of users is one request.
 */

/** The error number the fence check throws; the adapter turns it into EXH_CLUSTER_LEASE_LOST. */
export const leaseLostErrorNumber = 50417;

/** A parameter of a cluster statement: its SQL type is chosen by the adapter. */
export interface ClusterInput {
  name: string;
  kind: 'id' | 'int' | 'bigint' | 'json';
  value: string | number;
}

export interface ClusterStatement {
  text: string;
  inputs: ClusterInput[];
}

const memberColumns = 'exh_instance_id, exh_address, exh_port, exh_started_at, exh_heartbeat_at';
const leaseColumns = 'exh_user, exh_instance_id, CAST(exh_fence AS NVARCHAR(20)) AS exh_fence, exh_expires_at';

/** Distinct users, case-blind (the first spelling wins), in key order: claims lock rows in one order. */
export function distinctUsers(users: readonly string[]): string[] {
  const byKey = new Map<string, string>();
  for (const user of users) if (!byKey.has(user.toLowerCase())) byKey.set(user.toLowerCase(), user);
  return [...byKey.keys()].sort().map((key) => byKey.get(key) ?? key);
}

export function heartbeatStatement(
  member: { instanceId: string; address: string; port: number },
  leaseSeconds: number,
): ClusterStatement {
  return {
    text: `SET XACT_ABORT ON;
BEGIN TRANSACTION;
MERGE exh_member WITH (UPDLOCK, HOLDLOCK) AS m
USING (SELECT @instance AS exh_instance_id) AS s ON m.exh_instance_id = s.exh_instance_id
WHEN MATCHED THEN UPDATE SET exh_address = @address, exh_port = @port, exh_heartbeat_at = SYSDATETIMEOFFSET()
WHEN NOT MATCHED THEN INSERT (${memberColumns})
  VALUES (@instance, @address, @port, SYSDATETIMEOFFSET(), SYSDATETIMEOFFSET());
DELETE FROM exh_member
WHERE exh_heartbeat_at < DATEADD(hour, -${goneAfterHours}, SYSDATETIMEOFFSET()) AND exh_instance_id <> @instance;
COMMIT TRANSACTION;
SELECT ${memberColumns} FROM exh_member
WHERE exh_heartbeat_at > DATEADD(second, -@lease_seconds, SYSDATETIMEOFFSET())
ORDER BY exh_instance_id;`,
    inputs: [
      { name: 'instance', kind: 'id', value: member.instanceId },
      { name: 'address', kind: 'id', value: member.address },
      { name: 'port', kind: 'int', value: member.port },
      { name: 'lease_seconds', kind: 'int', value: leaseSeconds },
    ],
  };
}

/**
 * One MERGE under UPDLOCK, HOLDLOCK (key-range locks, so two instances inserting one new user serialise): a lease
 * this instance holds is extended (same fence), a lease nobody holds (expired or released) is taken with fence + 1, a
 * new user's row gets fence 1, another instance's unexpired lease is left alone. OUTPUT: the leases this one holds now.
 */
export function claimStatement(instanceId: string, users: readonly string[], leaseSeconds: number): ClusterStatement {
  return {
    text: `SET XACT_ABORT ON;
BEGIN TRANSACTION;
DECLARE @now DATETIMEOFFSET(3) = SYSDATETIMEOFFSET();
MERGE exh_lease WITH (UPDLOCK, HOLDLOCK) AS l
USING (SELECT LOWER(u.value) AS exh_user_key, u.value AS exh_user FROM OPENJSON(@users) AS u) AS s
  ON l.exh_user_key = s.exh_user_key
WHEN MATCHED AND (l.exh_instance_id = @instance OR l.exh_expires_at <= @now) THEN UPDATE SET
  exh_user = s.exh_user, exh_instance_id = @instance, exh_expires_at = DATEADD(second, @lease_seconds, @now),
  exh_fence = CASE WHEN l.exh_expires_at > @now THEN l.exh_fence ELSE l.exh_fence + 1 END
WHEN NOT MATCHED THEN INSERT (exh_user_key, exh_user, exh_instance_id, exh_fence, exh_expires_at)
  VALUES (s.exh_user_key, s.exh_user, @instance, 1, DATEADD(second, @lease_seconds, @now))
OUTPUT inserted.exh_user, inserted.exh_instance_id, CAST(inserted.exh_fence AS NVARCHAR(20)) AS exh_fence,
  inserted.exh_expires_at;
COMMIT TRANSACTION;`,
    inputs: [
      { name: 'instance', kind: 'id', value: instanceId },
      { name: 'users', kind: 'json', value: JSON.stringify(distinctUsers(users)) },
      { name: 'lease_seconds', kind: 'int', value: leaseSeconds },
    ],
  };
}

/** The rows stay, expired, with their fence: the next holder's fence is larger. */
export function releaseStatement(instanceId: string, users: readonly string[]): ClusterStatement {
  return {
    text: `UPDATE exh_lease SET exh_expires_at = DATEADD(second, -1, SYSDATETIMEOFFSET())
WHERE exh_instance_id = @instance AND exh_expires_at > DATEADD(second, -1, SYSDATETIMEOFFSET())
  AND exh_user_key IN (SELECT LOWER(u.value) FROM OPENJSON(@users) AS u);`,
    inputs: [
      { name: 'instance', kind: 'id', value: instanceId },
      { name: 'users', kind: 'json', value: JSON.stringify([...users]) },
    ],
  };
}

export function leaveStatement(instanceId: string): ClusterStatement {
  return {
    text: `SET XACT_ABORT ON;
BEGIN TRANSACTION;
UPDATE exh_lease SET exh_expires_at = DATEADD(second, -1, SYSDATETIMEOFFSET())
WHERE exh_instance_id = @instance AND exh_expires_at > DATEADD(second, -1, SYSDATETIMEOFFSET());
DELETE FROM exh_member WHERE exh_instance_id = @instance;
COMMIT TRANSACTION;`,
    inputs: [{ name: 'instance', kind: 'id', value: instanceId }],
  };
}

/** Two result sets in one request: the members, then the leases. */
export const clusterViewStatement: ClusterStatement = {
  text: `SELECT ${memberColumns} FROM exh_member ORDER BY exh_instance_id;
SELECT ${leaseColumns} FROM exh_lease WHERE exh_expires_at > SYSDATETIMEOFFSET() ORDER BY exh_user;`,
  inputs: [],
};

/**
 * The fence check, one line: throws 50417 unless the lease it names is held by the fence's instance with that token and
 * unexpired. HOLDLOCK keeps the lease row share-locked to the end of the transaction, so a claim (UPDLOCK) waits until
 * the write committed. `userKey`: the lower-cased user, as an expression; the thrown message is the user.
 */
export function fenceCheckLine(from: string, userExpression: string): string {
  return (
    `IF NOT EXISTS (SELECT 1 ${from} AND l.exh_instance_id = @exh_fence_instance ` +
    'AND CAST(l.exh_fence AS NVARCHAR(20)) = @exh_fence_token AND l.exh_expires_at > SYSDATETIMEOFFSET()) ' +
    `BEGIN DECLARE @exh_fence_user NVARCHAR(2048) = ISNULL(${userExpression}, N''); ` +
    `THROW ${leaseLostErrorNumber}, @exh_fence_user, 1; END;`
  );
}

/** The fence's two parameters, named as fenceCheckLine uses them. */
export function fenceInputs(fence: Fence): ClusterInput[] {
  return [
    { name: 'exh_fence_instance', kind: 'id', value: fence.instanceId },
    { name: 'exh_fence_token', kind: 'id', value: fence.token },
  ];
}

/** completeOutbox's check: the lease of the row's own user. */
export const outboxFenceCheck = fenceCheckLine(
  'FROM exh_outbox AS o JOIN exh_lease AS l WITH (HOLDLOCK) ON l.exh_user_key = LOWER(o.exh_user) WHERE o.exh_outbox_id = @id',
  '(SELECT exh_user FROM exh_outbox WHERE exh_outbox_id = @id)',
);

/** readOutbox's scope as a condition on exh_outbox's rows (@scope_instance, @scope_commands). */
export const outboxScopeCondition = `AND (CASE WHEN exh_user IS NULL THEN @scope_commands
  WHEN EXISTS (SELECT 1 FROM exh_lease AS l WHERE l.exh_user_key = LOWER(exh_outbox.exh_user)
    AND l.exh_instance_id = @scope_instance AND l.exh_expires_at > SYSDATETIMEOFFSET()) THEN 1 ELSE 0 END) = 1`;
