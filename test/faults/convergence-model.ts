import type { ConflictRule, Side } from '../../src/sync/decisions/conflicts.js';
import type { Snapshot, Table, User, Values } from './convergence-world.js';
import { tableNames, users } from './convergence-world.js';

/**
 * What the convergence property expects of one round (test/faults/convergence.test.ts), worked out from what was done
 * to each item: pure, so that the oracle is as plain as the rule it checks (docs/reliability.md, "Conflicts").
 */

/** One thing done to an item that both sides held when the round began, by a person in Exchange or the application. */
export interface Touch {
  user: User;
  table: Table;
  /** The Exchange item id: every item held at the round's start has one on both sides. */
  itemId: string;
  side: Side;
  /** `stopped`: while the connector was down, so between two syncs for certain; `running`: while it ran. */
  phase: 'stopped' | 'running';
  kind: 'change' | 'delete';
  field?: 0 | 1;
  value?: string;
  /** A person's change: the emulator's clock was this far ahead (+) or behind (−) of real time. */
  skewMs?: number;
}

export type Expected =
  | { itemId: string; check: 'unchanged' | 'one side' | 'conflict'; gone: true; winner?: Side }
  | { itemId: string; check: 'unchanged' | 'one side' | 'conflict'; gone: false; values: Values; winner?: Side }
  | { itemId: string; check: 'either' };

const apply = (base: Values, touches: readonly Touch[]): Values => {
  const values: Values = [...base];
  for (const touch of touches)
    if (touch.kind === 'change' && touch.field !== undefined) values[touch.field] = touch.value ?? null;
  return values;
};

/**
 * The outcome one item must have after the round. Untouched: as it was. Touched by one side only (in any phase):
 * that side's last values, or gone; never a conflict. Touched by both, all while the connector was down: the rule
 * decides (a deletion wins; `latest-wins` by the person's skewed clock against the application's real one, an hour
 * apart, where the emulator's LastModifiedTime never goes back: an item an earlier round left an hour ahead stays so). Touched by both while it ran: either outcome may be right (who saw whom first is a race), only convergence
 * is asked for.
 */
export function expectedOutcome(
  rule: ConflictRule,
  itemId: string,
  base: Values,
  touches: readonly Touch[],
  /** The item's LastModifiedTime was already later than the application's changes (an earlier round's skew). */
  modifiedLater = false,
): Expected {
  if (touches.length === 0) return { itemId, check: 'unchanged', gone: false, values: base };
  const exchange = touches.filter((t) => t.side === 'exchange');
  const database = touches.filter((t) => t.side === 'database');
  if (exchange.length === 0 || database.length === 0) {
    const gone = touches.some((t) => t.kind === 'delete');
    return gone
      ? { itemId, check: 'one side', gone }
      : { itemId, check: 'one side', gone, values: apply(base, touches) };
  }
  if (touches.some((t) => t.phase === 'running')) return { itemId, check: 'either' };
  const exchangeDeleted = exchange.some((t) => t.kind === 'delete');
  const databaseDeleted = database.some((t) => t.kind === 'delete');
  if (exchangeDeleted && databaseDeleted) return { itemId, check: 'one side', gone: true };
  if (exchangeDeleted) return { itemId, check: 'conflict', gone: true, winner: 'exchange' };
  if (databaseDeleted) return { itemId, check: 'conflict', gone: true, winner: 'database' };
  const winner: Side =
    rule === 'exchange-wins'
      ? 'exchange'
      : rule === 'database-wins'
        ? 'database'
        : modifiedLater || exchange.some((t) => (t.skewMs ?? 0) > 0)
          ? 'exchange'
          : 'database';
  const theirs = apply(base, exchange);
  return {
    itemId,
    check: 'conflict',
    gone: false,
    winner,
    values: winner === 'exchange' ? theirs : apply(theirs, database),
  };
}

/** Where an item is now, on each side. */
function find(snapshot: Snapshot, user: User, table: Table, itemId: string) {
  return {
    item: snapshot.exchange[user][table].find((i) => i.id === itemId),
    rows: snapshot.rows[user][table].filter((r) => r.itemId === itemId),
  };
}

/**
 * Every item both sides held at the round's start against what it must be now, and the conflict records against
 * the conflicts there were: a conflict is recorded (at least once) with the right winner, and an item one side alone
 * changed has no record. Returns what is wrong, and the number of conflicts checked exactly.
 */
export function checkRound(input: {
  rule: ConflictRule;
  before: Snapshot;
  after: Snapshot;
  touches: readonly Touch[];
  records: ReadonlyArray<{ message: string }>;
  /** When the round began: the application's changes were made after it. */
  startedAt: number;
}): { problems: string[]; conflicts: number } {
  const { rule, before, after, touches, records, startedAt } = input;
  const problems: string[] = [];
  let conflicts = 0;
  for (const user of users) {
    for (const table of tableNames) {
      for (const held of before.exchange[user][table]) {
        const mine = touches.filter((t) => t.user === user && t.table === table && t.itemId === held.id);
        const expected = expectedOutcome(rule, held.id, held.values, mine, Date.parse(held.modified) > startedAt);
        if (expected.check === 'either') continue;
        const where = `${user} ${table} ${held.id} (${expected.check}, ${JSON.stringify(mine)})`;
        const now = find(after, user, table, held.id);
        if (expected.gone) {
          if (now.item || now.rows.length > 0) problems.push(`${where}: expected gone, still there`);
        } else if (!now.item || JSON.stringify(now.item.values) !== JSON.stringify(expected.values)) {
          problems.push(
            `${where}: expected ${JSON.stringify(expected.values)}, Exchange has ${JSON.stringify(now.item?.values ?? 'nothing')}`,
          );
        }
        const named = records.filter((r) => r.message.includes(held.id));
        if (expected.check === 'conflict') {
          conflicts += 1;
          const winner = expected.winner === 'exchange' ? 'Exchange won' : 'the application won';
          if (named.length === 0) problems.push(`${where}: no conflict recorded`);
          for (const record of named) {
            if (!record.message.includes(winner)) problems.push(`${where}: recorded ${record.message}`);
          }
        } else if (named.length > 0) {
          problems.push(`${where}: no conflict, but recorded ${named.map((r) => r.message).join(' | ')}`);
        }
      }
    }
  }
  return { problems, conflicts };
}
