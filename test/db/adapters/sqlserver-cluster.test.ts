import { describe, expect, it } from 'vitest';
import {
  claimStatement,
  heartbeatStatement,
  leaveStatement,
  releaseStatement,
} from '../../../src/db/adapters/sqlserver-cluster.js';
import { pageBatches } from '../../../src/db/adapters/sqlserver-page.js';
import { createDatabase } from '../../../src/db/create-database.js';
import { isExhError } from '../../../src/errors.js';
import { itemType } from '../../../src/items/index.js';
import type { DatabasePort } from '../../../src/ports/database.port.js';
import { goneAfterHours } from '../../../src/ports/database.port.js';

/**
 * SQL Server's cluster statements and fenced writes without a server (there is none here): the statements as built,
 * and the adapter with a recording double of mssql (as test/db/adapters/sqlserver.test.ts does for pages). Against a
 * server they run with the rest when MSSQL_URL is set.
 */

function recordingAdapter(fail?: (text: string) => Error | undefined, recordsets: unknown[][] = []) {
  const log: string[] = [];
  const requests: Array<{ text: string; inputs: Map<string, unknown> }> = [];
  class Transaction {
    async begin() {
      log.push('begin');
    }
    async commit() {
      log.push('commit');
    }
    async rollback() {
      log.push('rollback');
    }
  }
  class Request {
    readonly inputs = new Map<string, unknown>();
    input(name: string, _type: unknown, value: unknown) {
      this.inputs.set(name, value);
      return this;
    }
    async query(text: string) {
      log.push('request');
      requests.push({ text, inputs: this.inputs });
      const error = fail?.(text);
      if (error) throw error;
      return { recordset: recordsets[0] ?? [], recordsets };
    }
  }
  const type = () => ({});
  const fakeMssql = {
    Transaction,
    Request,
    MAX: -1,
    NVarChar: type,
    DateTimeOffset: type,
    Bit: {},
    Int: {},
    BigInt: {},
    Date: {},
  };
  const db = createDatabase({
    type: 'sqlserver',
    connectionString: 'Server=127.0.0.1,1;User Id=sa;Password=x',
  }) as DatabasePort;
  Object.assign(db, { pool: { request: () => new Request() }, mssql: fakeMssql });
  return { db, log, requests };
}

const leaseLost = (message: string) => Object.assign(new Error(message), { number: 50417, lineNumber: 3 });

describe('SQL Server cluster statements (no server needed)', () => {
  it('claims in one MERGE under UPDLOCK, HOLDLOCK: held-by-me-or-expired, fence + 1 on a change of hands', () => {
    const { text, inputs } = claimStatement('A', ['b@x', 'A@x', 'a@X'], 20);
    expect(text).toContain('MERGE exh_lease WITH (UPDLOCK, HOLDLOCK) AS l');
    expect(text).toContain('WHEN MATCHED AND (l.exh_instance_id = @instance OR l.exh_expires_at <= @now)');
    expect(text).toContain('CASE WHEN l.exh_expires_at > @now THEN l.exh_fence ELSE l.exh_fence + 1 END');
    expect(text).toContain('VALUES (s.exh_user_key, s.exh_user, @instance, 1,');
    expect(text).toContain('OUTPUT inserted.exh_user');
    expect(text).toContain('SYSDATETIMEOFFSET()');
    // Distinct case-blind, in key order (rows locked in one order by every instance).
    expect(inputs).toEqual([
      { name: 'instance', kind: 'id', value: 'A' },
      { name: 'users', kind: 'json', value: '["A@x","b@x"]' },
      { name: 'lease_seconds', kind: 'int', value: 20 },
    ]);
  });

  it('heartbeat, release and leave: by the database clock; release keeps the row', () => {
    expect(heartbeatStatement({ instanceId: 'A', address: 'h', port: 1 }, 20).text).toMatch(
      /MERGE exh_member WITH \(UPDLOCK, HOLDLOCK\)[\s\S]*DATEADD\(second, -@lease_seconds, SYSDATETIMEOFFSET\(\)\)/,
    );
    // Members gone for a day go, in the heartbeat's transaction; never this one.
    expect(heartbeatStatement({ instanceId: 'A', address: 'h', port: 1 }, 20).text).toContain(
      `DELETE FROM exh_member\nWHERE exh_heartbeat_at < DATEADD(hour, -${goneAfterHours}, SYSDATETIMEOFFSET()) AND exh_instance_id <> @instance;\nCOMMIT TRANSACTION;`,
    );
    const release = releaseStatement('A', ['U@x']).text;
    expect(release).toMatch(/^UPDATE exh_lease SET exh_expires_at = DATEADD\(second, -1, SYSDATETIMEOFFSET\(\)\)/);
    expect(release).not.toContain('DELETE');
    // The leases end, their rows (and fences) stay.
    expect(leaveStatement('A').text).not.toContain('DELETE FROM exh_lease');
    expect(leaveStatement('A').text).toContain(
      'UPDATE exh_lease SET exh_expires_at = DATEADD(second, -1, SYSDATETIMEOFFSET())',
    );
  });

  it('a fenced page checks the lease first, on its own line, with the fence as parameters; unfenced pages do not', () => {
    const definition = itemType('calendar');
    const page = { user: 'U@x', itemType: 'calendar' as const, changes: [], watermark: 'w' };
    const [fenced] = pageBatches(definition, { ...page, fence: { instanceId: 'A', token: '7' } });
    const lines = fenced?.text.split('\n') ?? [];
    expect(lines[2]).toMatch(/^IF NOT EXISTS \(SELECT 1 FROM exh_lease AS l WITH \(HOLDLOCK\)/);
    expect(lines[2]).toContain('THROW 50417');
    expect(fenced?.objects.get(3)).toBe('exh_lease');
    expect(fenced?.inputs).toEqual(
      expect.arrayContaining([
        { name: 'exh_fence_instance', kind: 'text', value: 'A' },
        { name: 'exh_fence_token', kind: 'text', value: '7' },
      ]),
    );
    const [plain] = pageBatches(definition, page);
    expect(plain?.text).not.toContain('exh_lease');
  });
});

describe('SQL Server adapter: fenced writes and the scoped outbox (a recording driver, no server needed)', () => {
  it('a page refused by the fence is EXH_CLUSTER_LEASE_LOST, rolled back', async () => {
    const { db, log } = recordingAdapter(() => leaseLost('U@x'));
    const error = await db
      .applyChanges({
        user: 'U@x',
        itemType: 'calendar',
        changes: [],
        watermark: 'w',
        fence: { instanceId: 'A', token: '1' },
      })
      .catch((e: unknown) => e);
    expect(isExhError(error, 'EXH_CLUSTER_LEASE_LOST')).toBe(true);
    expect(log).toEqual(['begin', 'request', 'rollback']);
    // Without a fence, the same error number is nobody's lease: the procedure failed.
    const plain = recordingAdapter(() => leaseLost('x'));
    const unfenced = await plain.db
      .applyChanges({ user: 'U@x', itemType: 'calendar', changes: [], watermark: 'w' })
      .catch((e: unknown) => e);
    expect(isExhError(unfenced, 'EXH_DB_PROCEDURE_FAILED')).toBe(true);
  });

  it('completes an outbox row with the lease check first in its transaction; refused → EXH_CLUSTER_LEASE_LOST', async () => {
    const ok = recordingAdapter();
    const outcome = { exitCode: 0, outputValue: 'X', errorMessage: null };
    await ok.db.completeOutbox('5', outcome, undefined, { instanceId: 'A', token: '3' });
    const sent = ok.requests[0];
    expect(sent?.text).toMatch(
      /^SET XACT_ABORT ON;\nBEGIN TRANSACTION;\nIF NOT EXISTS \(SELECT 1 FROM exh_outbox AS o JOIN exh_lease/,
    );
    expect(sent?.text.indexOf('THROW 50417')).toBeLessThan(sent?.text.indexOf('UPDATE exh_outbox') ?? 0);
    expect(sent?.inputs.get('exh_fence_instance')).toBe('A');
    expect(sent?.inputs.get('exh_fence_token')).toBe('3');
    const refused = recordingAdapter(() => leaseLost('Owner@x'));
    const error = await refused.db
      .completeOutbox('5', outcome, undefined, { instanceId: 'A', token: '3' })
      .catch((e) => e);
    expect(isExhError(error, 'EXH_CLUSTER_LEASE_LOST')).toBe(true);
    expect(isExhError(error) && error.details).toMatchObject({ user: 'Owner@x', instanceId: 'A' });
    const plain = recordingAdapter();
    await plain.db.completeOutbox('5', outcome);
    expect(plain.requests[0]?.text).not.toContain('exh_lease');
  });

  it('reads the outbox of leased users (and userless commands when asked) with a scope, everything without', async () => {
    const scoped = recordingAdapter();
    await scoped.db.readOutbox(10, { instanceId: 'A', commandsWithoutUser: true });
    expect(scoped.requests[0]?.text).toContain(
      'l.exh_instance_id = @scope_instance AND l.exh_expires_at > SYSDATETIMEOFFSET()',
    );
    expect(scoped.requests[0]?.inputs.get('scope_commands')).toBe(true);
    const plain = recordingAdapter();
    await plain.db.readOutbox(10);
    expect(plain.requests[0]?.text).not.toContain('exh_lease');
  });

  it('maps the cluster result sets: members, leases with the fence as text', async () => {
    const at = new Date('2026-01-01T00:00:00Z');
    const { db } = recordingAdapter(undefined, [
      [{ exh_instance_id: 'A', exh_address: 'h', exh_port: 7, exh_started_at: at, exh_heartbeat_at: at }],
      [{ exh_user: 'U@x', exh_instance_id: 'A', exh_fence: '12', exh_expires_at: at }],
    ]);
    expect(await db.cluster?.clusterView()).toEqual({
      members: [{ instanceId: 'A', address: 'h', port: 7, startedAt: at, heartbeatAt: at }],
      leases: [{ user: 'U@x', instanceId: 'A', fence: '12', expiresAt: at }],
    });
  });
});
