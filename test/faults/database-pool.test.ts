import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPostgresDatabase } from '../../src/db/adapters/postgres.js';
import { type FaultWorld, faultWorld } from './support/fault-world.js';
import { describeTally, isComplete, makeItems, type Tally } from './support/tally.js';
import { secs, until } from './support/wait.js';

const pgUrl = process.env.PG_URL;
if (!pgUrl) console.warn('test/faults/database-pool.test.ts skipped: PG_URL is not set');

const users = Array.from({ length: 6 }, (_, i) => `pool${i}@contoso.test`);

/**
 * Pool exhaustion under load (docs/reliability.md, "Database faults"): test/e2e/database-load.test.ts shows that
 * six mailboxes catching up on a pool of one declare no loss; here they catch up hundreds of items each, and every
 * one must arrive once. The application holds exh_watermark at first, so that the pool's one connection is taken
 * and the other mailboxes' calls wait for it in vain (EXH_DB_POOL_EXHAUSTED, a back-off); once it lets go, 24 item
 * types share one connection that a call may wait for 2 s only.
 */
describe.skipIf(!pgUrl)('database pool exhaustion under load (PG_URL)', () => {
  let world: FaultWorld;

  beforeAll(async () => {
    world = await faultWorld(pgUrl as string, 'dbpool', users);
  });
  afterAll(() => world?.close());

  it('many mailboxes catching up on a pool of one: back-pressure, no loss declared, every item once', async () => {
    const made = makeItems(world.emulator, users, 200, 'pooled');
    const holder = new pg.Client({ connectionString: pgUrl });
    await holder.connect();
    await holder.query('BEGIN');
    await holder.query(`LOCK TABLE ${world.schema}.exh_watermark IN EXCLUSIVE MODE`);
    const exhausted = () =>
      world.records.filter(
        (r) => r.event === 'mailbox.backingOff' && (r.error as { code?: string })?.code === 'EXH_DB_POOL_EXHAUSTED',
      );
    let last: Tally | undefined;
    try {
      const startedAt = Date.now();
      await world.startConnector(
        // A probe every 100 ms, each of which must find the database while the pool is busy all along.
        { database: { poolSize: 1, probeIntervalMs: 100, probeTimeoutMs: 5_000 } },
        // The configured pool of one, with a shorter wait for its connection (10 s otherwise). The same setting
        // bounds opening a connection, the probe's too: at 200 ms, a machine busy with other test files made the
        // probe's first connection time out ('timeout expired'), a loss this case would wrongly blame on the pool.
        createPostgresDatabase(world.connectionString, { poolSize: 1, connectionTimeoutMs: 2_000 }),
      );
      await until(
        'three mailboxes backed off for want of a connection, or a loss',
        () => exhausted().length >= 3 || world.events('database.lost').length > 0,
      );
      expect(world.events('database.lost')).toEqual([]);
      await holder.query('COMMIT');
      await until('every mailbox live', () => world.liveSince(0).size === users.length, { timeoutMs: 90_000 });
      const done = await until(
        'every item in the database once',
        async () => {
          last = await world.tally();
          return isComplete(last);
        },
        { timeoutMs: 60_000, intervalMs: 200, describe: () => describeTally(last as Tally) },
      );
      const lost = world.events('database.lost');
      console.log(
        `fault: db pool of 1 under ${users.length} mailboxes catching up ${made} items: ` +
          `${exhausted().length} calls backed off (EXH_DB_POOL_EXHAUSTED), ${lost.length} losses declared, ` +
          `all items in ${secs(done - startedAt)}, ${describeTally(last as Tally)}`,
      );
      expect(lost.map((r) => r.msg)).toEqual([]);
    } finally {
      await holder.end().catch(() => undefined);
      await world.stopConnector();
    }
  });
});
