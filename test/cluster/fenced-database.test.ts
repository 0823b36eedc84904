import { PGlite } from '@electric-sql/pglite';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { fencedDatabase } from '../../src/cluster/fenced-database.js';
import { Membership } from '../../src/cluster/membership.js';
import { createPgliteDatabase } from '../../src/db/adapters/pglite.js';
import { installInto } from '../../src/db/commands.js';
import { isExhError } from '../../src/errors.js';
import type { DatabasePort } from '../../src/ports/database.port.js';

const self = { instanceId: 'exh-0', address: '127.0.0.1', port: 9988, leaseSeconds: 20, heartbeatSeconds: 5 };
const user = 'fenced@example.com';
const done = { exitCode: 0, outputValue: 'T-1', errorMessage: null };

/**
 * The fenced database's outbox completions (src/cluster/fenced-database.ts; docs/scale-out.md, "The fence") over
 * PGlite and a real Membership: a completion is written only under the lease of the row's user, and fails closed for
 * a row this instance did not read.
 */
describe('fencedDatabase: outbox completions', () => {
  let instance: PGlite;
  let db: ReturnType<typeof createPgliteDatabase>;
  let membership: Membership;
  let fenced: DatabasePort;
  beforeEach(async () => {
    instance = await PGlite.create();
    db = createPgliteDatabase({ instance });
    await db.connect();
    await installInto(db, { exampleApp: true });
    membership = new Membership(db.cluster as NonNullable<DatabasePort['cluster']>, { ...self });
    fenced = fencedDatabase(db, {
      instanceId: self.instanceId,
      fenceOf: (u) => membership.fenceOf(u),
      holds: (u) => membership.holds(u),
      isCoordinator: () => true,
    });
    await membership.beat([user], []);
  });
  afterEach(async () => {
    await db.close();
    await instance.close();
  });

  const addTask = (id: string) =>
    instance.query(`INSERT INTO task_item (exh_app_item_id, exh_user, exh_subject) VALUES ($1, $2, 'Task')`, [
      id,
      user,
    ]);
  const states = async () =>
    (await instance.query<{ exh_state: string }>('SELECT exh_state FROM exh_outbox ORDER BY exh_outbox_id')).rows.map(
      (r) => r.exh_state,
    );
  const refusal = (promise: Promise<unknown>) =>
    promise.then(
      () => undefined,
      (error: unknown) => error,
    );

  it('completes a row it read while it holds the row user’s lease', async () => {
    await addTask('t-1');
    const [row] = await fenced.readOutbox(100);
    expect(row).toMatchObject({ user });
    await fenced.completeOutbox(row?.id ?? '', done);
    expect(await states()).toEqual(['done']);
  });

  it('refuses the completion of a row it did not read, and changes nothing', async () => {
    await addTask('t-1');
    const [row] = await db.readOutbox(100);
    const error = await refusal(fenced.completeOutbox(row?.id ?? '', done));
    expect(isExhError(error, 'EXH_CLUSTER_LEASE_LOST')).toBe(true);
    expect(await states()).toEqual(['pending']);
  });

  it('refuses the completion of a row read before its user’s lease went, and changes nothing', async () => {
    await addTask('t-1');
    const [row] = await fenced.readOutbox(100);
    // The user unregistered: a beat gives it up, and its lease is released.
    await membership.beat([], [user]);
    await membership.release([user]);
    expect(await fenced.readOutbox(100)).toEqual([]);
    const error = await refusal(fenced.completeOutbox(row?.id ?? '', done));
    expect(isExhError(error, 'EXH_CLUSTER_LEASE_LOST')).toBe(true);
    expect(await states()).toEqual(['pending']);
  });
});
