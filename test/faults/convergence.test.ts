import { writeFileSync } from 'node:fs';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ConflictRule, conflictRules } from '../../src/sync/decisions/conflicts.js';
import { checkRound, type Touch } from './convergence-model.js';
import {
  type ConvergenceWorld,
  convergenceProblems,
  convergenceWorld,
  emptySnapshot,
  propertyValue,
  type Snapshot,
  type Table,
  tableNames,
  tables,
  type User,
  users,
} from './convergence-world.js';

const pgUrl = process.env.PG_URL;

/**
 * Convergence, property-based (issue 12; docs/reliability.md, "Convergence"): random interleavings of a person's
 * changes in Exchange (the emulator's admin API, as Outlook would make them) and the application's changes in its
 * tables (the example application on PostgreSQL, whose triggers write the outbox), some while the connector is down
 * and some while it runs, with restarts, bursts of HTTP 503 from Exchange and cuts of the database's network between
 * them, against the real runtime. After each round, once nothing is left to carry out: every Exchange item is once
 * in its user's table with equal fields, every row has its item in Exchange, nothing failed except changes that lost
 * a conflict, and every item changed by both sides while the connector was down ended as sync.conflicts says, with
 * its conflict recorded once or more with that winner (an item one side alone changed: that side's values, no record).
 *
 * CONVERGENCE_RUNS (default 20), CONVERGENCE_SEED and CONVERGENCE_PATH replay a failure: the seed is printed at the
 * start, and fast-check prints seed and path of a failing run. CONVERGENCE_LOG=FILE writes the failing run's
 * operations, the connectors' debug records, the outbox and the items' versions there.
 */

type DataOp =
  | { kind: 'userCreate' | 'appInsert'; user: User; table: Table }
  | { kind: 'userChange'; user: User; table: Table; pick: number; field: 0 | 1; later: boolean }
  | { kind: 'appUpdate'; user: User; table: Table; pick: number; field: 0 | 1 }
  | { kind: 'userDelete' | 'appDelete'; user: User; table: Table; pick: number };
type FaultOp =
  | { kind: 'restart' }
  | { kind: 'exchange503'; calls: number }
  | { kind: 'databaseCut'; ms: number }
  | { kind: 'pause'; ms: number };
type Op = DataOp | FaultOp;

interface Round {
  /** Done while the connector is down: both sides' changes of the same item are then between two syncs. */
  stopped: DataOp[];
  /** Done while it runs, with faults in between. */
  running: Op[];
}

interface Run {
  rule: ConflictRule;
  /** Items each user starts with per table, made in Exchange and in the application. */
  seed: { exchange: number; application: number };
  rounds: Round[];
}

const user = fc.constantFrom(...users);
const table = fc.constantFrom(...tableNames);
// Small picks, so that both sides often reach for the same item.
const pick = fc.nat(2);
const field = fc.constantFrom(0 as const, 1 as const);
const dataOp: fc.Arbitrary<DataOp> = fc.oneof(
  {
    weight: 1,
    arbitrary: fc.record({ kind: fc.constantFrom('userCreate' as const, 'appInsert' as const), user, table }),
  },
  {
    weight: 4,
    arbitrary: fc.record({ kind: fc.constant('userChange' as const), user, table, pick, field, later: fc.boolean() }),
  },
  { weight: 4, arbitrary: fc.record({ kind: fc.constant('appUpdate' as const), user, table, pick, field }) },
  {
    weight: 1,
    arbitrary: fc.record({ kind: fc.constantFrom('userDelete' as const, 'appDelete' as const), user, table, pick }),
  },
);
const faultOp: fc.Arbitrary<FaultOp> = fc.oneof(
  fc.constant({ kind: 'restart' as const }),
  fc.record({ kind: fc.constant('exchange503' as const), calls: fc.integer({ min: 1, max: 4 }) }),
  fc.record({ kind: fc.constant('databaseCut' as const), ms: fc.integer({ min: 50, max: 400 }) }),
  fc.record({ kind: fc.constant('pause' as const), ms: fc.integer({ min: 0, max: 300 }) }),
);
const round: fc.Arbitrary<Round> = fc.record({
  stopped: fc.array(dataOp, { minLength: 3, maxLength: 8 }),
  running: fc.array(fc.oneof({ weight: 3, arbitrary: dataOp as fc.Arbitrary<Op> }, { weight: 2, arbitrary: faultOp }), {
    maxLength: 6,
  }),
});
const runs: fc.Arbitrary<Run> = fc.record({
  rule: fc.constantFrom(...conflictRules),
  seed: fc.record({ exchange: fc.integer({ min: 1, max: 2 }), application: fc.integer({ min: 0, max: 2 }) }),
  rounds: fc.array(round, { minLength: 2, maxLength: 4 }),
});

const hour = 3_600_000;
const figures = { runs: 0, rounds: 0, operations: 0, faults: 0, conflictsChecked: 0, conflictsRecorded: 0 };

describe.skipIf(!pgUrl)('convergence (needs PG_URL; PostgreSQL, emulator, the real runtime; fast-check)', () => {
  let world: ConvergenceWorld;
  let serial = 0;
  /** A value no one wrote before: whose it is shows in a failure. */
  const value = (side: string) => {
    serial += 1;
    return `${side}-${serial}`;
  };

  beforeAll(async () => {
    world = await convergenceWorld(pgUrl as string);
  }, 60_000);
  afterAll(() => world?.close());

  /** One data operation on the current state; what it did to an item both sides held at the round's start. */
  async function apply(op: DataOp, phase: Touch['phase'], held: Snapshot): Promise<Touch | undefined> {
    world.history.push(`${JSON.stringify({ time: new Date().toISOString(), operation: op, phase, serial })}\n`);
    const { folder, kind, properties, columns } = tables[op.table];
    const heldIds = new Set(held.exchange[op.user][op.table].map((item) => item.id));
    const touch = (itemId: string | null, rest: Omit<Touch, 'user' | 'table' | 'itemId' | 'phase'>) =>
      itemId !== null && heldIds.has(itemId) ? { user: op.user, table: op.table, itemId, phase, ...rest } : undefined;
    const items = () => world.emulator.admin.items(op.user, folder).filter((item) => item.kind === kind);
    const rows = async () =>
      (
        await world.admin.query<{ exh_app_item_id: string; exh_item_id: string | null }>(
          `select exh_app_item_id, exh_item_id from ${op.table} where exh_user = $1 order by exh_app_item_id`,
          [op.user],
        )
      ).rows;
    switch (op.kind) {
      case 'userCreate':
        world.emulator.admin.createItem(op.user, {
          kind,
          [properties[0]]: propertyValue(properties[0], value('person')),
          [properties[1]]: propertyValue(properties[1], value('person')),
        });
        return undefined;
      case 'appInsert':
        await world.admin.query(
          `insert into ${op.table} (exh_user, ${columns[0]}, ${columns[1]}) values ($1, $2, $3)`,
          [op.user, value('app'), value('app')],
        );
        return undefined;
      case 'userChange': {
        const all = items();
        const item = all[op.pick % Math.max(all.length, 1)];
        if (!item) return undefined;
        const written = value('person');
        // Between two syncs, a person's edit an hour before or after the application's: latest-wins is then clear.
        const skewMs = phase === 'stopped' ? (op.later ? hour : -hour) : 0;
        world.skew.ms = skewMs;
        try {
          world.emulator.admin.updateItem(op.user, item.id, {
            [properties[op.field]]: propertyValue(properties[op.field], written),
          });
        } finally {
          world.skew.ms = 0;
        }
        return touch(item.id, { side: 'exchange', kind: 'change', field: op.field, value: written, skewMs });
      }
      case 'userDelete': {
        const all = items();
        const item = all[op.pick % Math.max(all.length, 1)];
        if (!item) return undefined;
        world.emulator.admin.deleteItem(op.user, item.id);
        return touch(item.id, { side: 'exchange', kind: 'delete' });
      }
      case 'appUpdate': {
        const all = await rows();
        const row = all[op.pick % Math.max(all.length, 1)];
        if (!row) return undefined;
        const written = value('app');
        await world.admin.query(`update ${op.table} set ${columns[op.field]} = $1 where exh_app_item_id = $2`, [
          written,
          row.exh_app_item_id,
        ]);
        return touch(row.exh_item_id, { side: 'database', kind: 'change', field: op.field, value: written });
      }
      case 'appDelete': {
        const all = await rows();
        const row = all[op.pick % Math.max(all.length, 1)];
        if (!row) return undefined;
        await world.admin.query(`delete from ${op.table} where exh_app_item_id = $1`, [row.exh_app_item_id]);
        return touch(row.exh_item_id, { side: 'database', kind: 'delete' });
      }
    }
  }

  async function fault(op: FaultOp, rule: ConflictRule): Promise<void> {
    figures.faults += op.kind === 'pause' ? 0 : 1;
    switch (op.kind) {
      case 'restart':
        await world.stopConnector();
        await world.startConnector(rule);
        return;
      case 'exchange503':
        world.emulator.admin.faults.add({ kind: 'httpStatus', status: 503, calls: op.calls });
        return;
      case 'databaseCut':
        await world.cutDatabase(op.ms);
        return;
      case 'pause':
        await new Promise((resolve) => setTimeout(resolve, op.ms));
        return;
    }
  }

  /** Waits for quiescence and asserts convergence; the snapshot it settled on. */
  async function converged(where: string): Promise<Snapshot> {
    const { snapshot, settled } = await world.quiesce();
    const problems = convergenceProblems(snapshot);
    expect(problems, `${where}: not converged`).toEqual([]);
    expect(snapshot.pending, `${where}: outbox rows left`).toBe(0);
    expect(settled, `${where}: never settled`).toBe(true);
    expect(await world.unexpectedFailures(), `${where}: outbox rows failed`).toEqual([]);
    return snapshot;
  }

  async function check(run: Run): Promise<void> {
    figures.runs += 1;
    await world.stopConnector();
    await world.reset();
    for (const u of users) {
      for (const t of tableNames) {
        for (let i = 0; i < run.seed.exchange; i += 1)
          await apply({ kind: 'userCreate', user: u, table: t }, 'stopped', emptySnapshot);
        for (let i = 0; i < run.seed.application; i += 1)
          await apply({ kind: 'appInsert', user: u, table: t }, 'stopped', emptySnapshot);
      }
    }
    await world.startConnector(run.rule);
    let before = await converged('after the seed');
    for (const [index, { stopped, running }] of run.rounds.entries()) {
      figures.rounds += 1;
      const where = `round ${index + 1} (${run.rule})`;
      const since = await world.lastLogId();
      const startedAt = Date.now();
      const touches: Touch[] = [];
      await world.stopConnector();
      for (const op of stopped) {
        figures.operations += 1;
        const touched = await apply(op, 'stopped', before);
        if (touched) touches.push(touched);
      }
      await world.startConnector(run.rule);
      for (const op of running) {
        figures.operations += 1;
        if (op.kind === 'restart' || op.kind === 'exchange503' || op.kind === 'databaseCut' || op.kind === 'pause') {
          await fault(op, run.rule);
          continue;
        }
        const touched = await apply(op, 'running', before);
        if (touched) touches.push(touched);
      }
      world.emulator.admin.faults.clear();
      const after = await converged(where);
      const records = await world.conflicts(since);
      figures.conflictsRecorded += records.length;
      const outcome = checkRound({ rule: run.rule, before, after, touches, records, startedAt });
      figures.conflictsChecked += outcome.conflicts;
      expect(outcome.problems, `${where}: ${JSON.stringify(touches)}`).toEqual([]);
      before = after;
    }
  }

  it('ends every run converged, conflicts decided by the rule', async () => {
    const seed = Number(process.env.CONVERGENCE_SEED ?? Date.now() % 2 ** 31);
    const numRuns = Number(process.env.CONVERGENCE_RUNS ?? 20);
    const path = process.env.CONVERGENCE_PATH;
    const started = Date.now();
    console.log(`convergence: seed ${seed}, ${numRuns} runs (CONVERGENCE_SEED=${seed} replays them)`);
    try {
      await fc.assert(
        fc.asyncProperty(runs, async (run) => {
          try {
            await check(run);
          } catch (error) {
            // The failing run's operations and every connector's records, when asked for (replay with the seed).
            if (process.env.CONVERGENCE_LOG) {
              const state = await world.diagnosis().catch((failed) => [`diagnosis failed: ${failed}\n`]);
              writeFileSync(process.env.CONVERGENCE_LOG, [...world.history, ...state].join(''));
            }
            throw error;
          }
        }),
        // A failing run is replayed as it is: shrinking would restart the world dozens of times.
        { seed, numRuns, endOnFailure: true, ...(path ? { path } : {}) },
      );
    } finally {
      await world.stopConnector();
      console.log(
        `convergence: ${figures.runs} runs, ${figures.rounds} rounds, ${figures.operations} operations ` +
          `(${figures.faults} faults), ${figures.conflictsChecked} conflicts checked against the rule, ` +
          `${figures.conflictsRecorded} recorded, ${((Date.now() - started) / 1000).toFixed(1)} s`,
      );
    }
    expect(figures.conflictsChecked, 'the runs met no conflict to check').toBeGreaterThan(0);
  }, 600_000);
});
