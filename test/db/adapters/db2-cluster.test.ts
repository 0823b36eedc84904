import type { Database } from 'ibm_db';
import { describe, expect, it } from 'vitest';
import { createDb2Database } from '../../../src/db/adapters/db2.js';
import { claimMerges, pageFenceCheck, releaseUpdate } from '../../../src/db/adapters/db2-cluster.js';
import { pageStatements } from '../../../src/db/adapters/db2-page.js';
import { isExhError } from '../../../src/errors.js';
import { itemType } from '../../../src/items/index.js';
import { goneAfterHours } from '../../../src/ports/database.port.js';

/**
 * DB2's cluster statements and fenced writes without a server (there is none here): the statements as built, and the
 * adapter on a recording connection (as test/db/adapters/db2.test.ts does for pages). Against a server they run with
 * the rest when DB2_URL is set.
 */

const target = 'DATABASE=app;HOSTNAME=db2.contoso.local;PORT=50000;UID=exh;PWD=secret';
const ibmError = (message: string, sqlcode: number, sqlstate: string) =>
  Object.assign(new Error(`[IBM][CLI Driver] ${message}`), { error: '[node-ibm_db] SQL_ERROR', sqlcode, sqlstate });
const leaseLost = () => ibmError('SQL0438N  Application raised error', -438, '75001');

async function recording(fail?: (text: string, n: number) => Error | undefined, answer: unknown[] = []) {
  const log: string[] = [];
  const queries: Array<{ text: string; params: unknown[] }> = [];
  const connection = {
    async query(text: string, params: unknown[] = []) {
      queries.push({ text, params });
      log.push(text.startsWith('BEGIN ATOMIC') ? 'compound' : (text.split(/\s/)[0] ?? ''));
      const error = fail?.(text, queries.length);
      if (error) throw error;
      return text.startsWith('SELECT') ? answer : [];
    },
    beginTransaction: async () => void log.push('begin'),
    commitTransaction: async () => void log.push('commit'),
    rollbackTransaction: async () => void log.push('rollback'),
    close: async () => undefined,
  } as unknown as Database;
  const db = createDb2Database(target, async () => ({ open: async () => connection }));
  await db.connect();
  log.length = 0;
  queries.length = 0;
  return { db, log, queries };
}

const markers = (text: string) => text.match(/\?/g)?.length ?? 0;

describe('DB2 cluster statements (no server needed)', () => {
  it('claims with MERGE: held-by-me-or-expired, fence + 1 on a change of hands, 1 for a new row; markers match', () => {
    const [merge, ...more] = claimMerges('A', ['b@x', 'A@x', 'a@X'], 20);
    expect(more).toEqual([]);
    expect(merge?.text).toContain('MERGE INTO exh_lease AS l');
    expect(merge?.text).toContain('OR l.exh_expires_at <= (CURRENT TIMESTAMP - CURRENT TIMEZONE)) THEN UPDATE');
    expect(merge?.text).toContain('THEN l.exh_fence ELSE l.exh_fence + 1 END');
    expect(merge?.params).toEqual(['A@x', 'b@x', 'A', 'A', 20, 'A', 20]);
    expect(markers(merge?.text ?? '')).toBe(merge?.params.length);
    expect(
      claimMerges(
        'A',
        Array.from({ length: 2_500 }, (_, i) => `u${i}`),
        20,
      ),
    ).toHaveLength(3);
    const release = releaseUpdate('A', ['U@x']);
    expect(release.text).toMatch(/^UPDATE exh_lease SET exh_expires_at = /);
    expect(markers(release.text)).toBe(release.params.length);
  });

  it('a fenced page starts with the lease check, which signals 75001; an unfenced page has none', () => {
    const page = { user: 'U@x', itemType: 'calendar' as const, changes: [], watermark: 'w' };
    const [check] = pageStatements(itemType('calendar'), { ...page, fence: { instanceId: 'A', token: '4' } });
    expect(check).toEqual(pageFenceCheck('U@x', { instanceId: 'A', token: '4' }));
    expect(check?.text).toContain("WHEN NOT MATCHED THEN SIGNAL SQLSTATE '75001'");
    expect(check?.text).toContain("WHEN MATCHED THEN SIGNAL SQLSTATE '75001'");
    expect(markers(check?.text ?? '')).toBe(check?.params.length);
    expect(pageStatements(itemType('calendar'), page).some((s) => s.text.includes('exh_lease'))).toBe(false);
  });
});

describe('DB2 adapter: fenced writes, claims and the scoped outbox (a recording connection, no server needed)', () => {
  it('a page refused by the fence is EXH_CLUSTER_LEASE_LOST, whether as a compound or one statement at a time', async () => {
    const { db, log } = await recording((text) => (text.includes("SIGNAL SQLSTATE '75001'") ? leaseLost() : undefined));
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
    expect(isExhError(error) && error.details).toMatchObject({ user: 'U@x', instanceId: 'A' });
    expect(log).not.toContain('commit');
  });

  it('completes an outbox row with the lease check first in its compound; refused → EXH_CLUSTER_LEASE_LOST', async () => {
    const ok = await recording();
    const outcome = { exitCode: 0, outputValue: 'X', errorMessage: null };
    await ok.db.completeOutbox('5', outcome, undefined, { instanceId: 'A', token: '3' });
    expect(ok.queries[0]?.text).toMatch(/^BEGIN ATOMIC\s+MERGE INTO exh_lease/);
    expect(ok.queries[0]?.params.slice(0, 3)).toEqual([5, 'A', '3']);
    const refused = await recording((text) => (text.includes('75001') ? leaseLost() : undefined));
    const error = await refused.db
      .completeOutbox('5', outcome, undefined, { instanceId: 'A', token: '3' })
      .catch((e) => e);
    expect(isExhError(error, 'EXH_CLUSTER_LEASE_LOST')).toBe(true);
    expect(refused.log).not.toContain('commit');
  });

  it('claims in one transaction and retries once when another instance inserted the same new user', async () => {
    const held = [{ EXH_USER: 'U@x', EXH_INSTANCE_ID: 'A', EXH_FENCE: '2', EXH_EXPIRES_AT: '2026-01-01 00:00:20.000' }];
    const { db, log } = await recording(
      (text, n) => (text.startsWith('MERGE') && n === 1 ? ibmError('SQL0803N duplicate', -803, '23505') : undefined),
      held,
    );
    expect(await db.cluster?.claimLeases('A', ['U@x'], 20)).toEqual([
      { user: 'U@x', instanceId: 'A', fence: '2', expiresAt: new Date('2026-01-01T00:00:20.000Z') },
    ]);
    expect(log).toEqual(['begin', 'MERGE', 'rollback', 'SET', 'begin', 'MERGE', 'SELECT', 'commit']);
  });

  it('a heartbeat merges its member, deletes members gone for goneAfterHours and reads the live ones, in one transaction', async () => {
    const { db, log, queries } = await recording();
    await db.cluster?.heartbeat({ instanceId: 'A', address: 'h', port: 1 }, 20);
    expect(log).toEqual(['begin', 'MERGE', 'DELETE', 'SELECT', 'commit']);
    const gone = queries.find((q) => q.text.startsWith('DELETE'));
    expect(gone?.text).toContain(`exh_heartbeat_at < (CURRENT TIMESTAMP - CURRENT TIMEZONE) - ${goneAfterHours} HOURS`);
    expect(gone?.params).toEqual(['A']);
  });

  it('reads the outbox of leased users (and userless commands when asked) with a scope, everything without', async () => {
    const { db, queries } = await recording();
    await db.readOutbox(10, { instanceId: 'A', commandsWithoutUser: true });
    await db.readOutbox(10, { instanceId: 'A', commandsWithoutUser: false });
    await db.readOutbox(10);
    expect(queries[0]?.text).toContain('AND (exh_user IS NULL OR EXISTS (SELECT 1 FROM exh_lease AS l');
    expect(queries[0]?.params).toEqual(['A']);
    expect(queries[1]?.text).not.toContain('exh_user IS NULL OR');
    expect(queries[1]?.text).toContain('EXISTS (SELECT 1 FROM exh_lease');
    expect(queries[2]?.text).not.toContain('exh_lease');
  });
});
