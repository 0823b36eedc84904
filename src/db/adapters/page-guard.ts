import type { ChangeBatch } from '../../ports/database.port.js';

/**
 * The last check of a page's transaction (ChangeBatch.reconciledWith; docs/reliability.md, "Conflicts"), in terms each
 * adapter puts into its own SQL: LIKE patterns that find the page's item ids and application ids in an outbox row's
 * payload, and the pending rows the page was weighed against, which do not count.
 *
 * The payload is text (JSON as each database writes it, which may escape a `/` as `\/`), so an id is looked for as a
 * pattern: every character other than a letter, a digit or `-` becomes `%`. The pattern then holds nothing a LIKE or a
 * quoted SQL string treats specially (no quote, no `_`, `[` or `\`), so each adapter can write it as a literal, and it
 * matches at least every payload that holds the id: a check that errs only towards one more try.
 */
export interface PageGuard {
  patterns: string[];
  /** The pending rows weighed, as a condition an outbox row's id meets when it is one of them; empty: none. */
  seen: string;
}

/**
 * Terms of the seen ids, at most this many: a run of consecutive ids (an application's bulk change) is one BETWEEN,
 * so a long list stays short. Beyond it (ids scattered among other users' rows in the thousands) the check counts a
 * row as seen when its id is not above the highest one weighed; that misses only a row whose id was taken before the
 * highest one's and committed after the read, which the list alone would catch.
 */
export const seenTermsLimit = 500;

export function pageGuard(batch: ChangeBatch): PageGuard | undefined {
  if (!batch.reconciledWith) return undefined;
  const patterns = new Set<string>();
  for (const change of batch.changes) {
    for (const id of [change.fields.item_id, change.fields.app_item_id]) {
      if (typeof id !== 'string' && typeof id !== 'number') continue;
      // A whole number as the database writes it (1e21 would otherwise read "1e+21").
      const text = typeof id === 'number' && Number.isInteger(id) ? BigInt(id).toString() : String(id);
      if (text === '') continue;
      patterns.add(`%${text.replace(/[^A-Za-z0-9-]+/g, '%')}%`.replace(/%+/g, '%'));
    }
  }
  // A page of changes without ids (none is an item the application holds): nothing it writes can be overtaken.
  if (patterns.size === 0) return undefined;
  return { patterns: [...patterns], seen: seenCondition(batch.reconciledWith.pendingIds) };
}

/** The seen ids as runs of consecutive ids: `exh_outbox_id IN (…)` and `BETWEEN`s, or `<=` the highest (above). */
export function seenCondition(pendingIds: readonly string[]): string {
  const ids = [...new Set(pendingIds.filter((id) => /^[0-9]+$/.test(id)).map((id) => BigInt(id)))].sort((a, b) =>
    a < b ? -1 : a > b ? 1 : 0,
  );
  if (ids.length === 0) return '';
  const singles: bigint[] = [];
  const runs: Array<[bigint, bigint]> = [];
  let from = ids[0] as bigint;
  let to = from;
  const close = () => {
    if (to - from >= 2n) runs.push([from, to]);
    else for (let id = from; id <= to; id += 1n) singles.push(id);
  };
  for (const id of ids.slice(1)) {
    if (id === to + 1n) {
      to = id;
      continue;
    }
    close();
    from = id;
    to = id;
  }
  close();
  if (runs.length + singles.length > seenTermsLimit) return `exh_outbox_id <= ${ids[ids.length - 1]}`;
  return [
    ...(singles.length > 0 ? [`exh_outbox_id IN (${singles.join(', ')})`] : []),
    ...runs.map(([a, b]) => `exh_outbox_id BETWEEN ${a} AND ${b}`),
  ].join(' OR ');
}

/** The guard's condition on exh_outbox's columns (the same in the three dialects but for the user's comparison). */
export function guardCondition(guard: PageGuard, userMatches: string, itemTypeMatches: string): string {
  const payload = guard.patterns.map((pattern) => `exh_payload LIKE '${pattern}'`).join(' OR ');
  return [
    "exh_state = 'pending'",
    "exh_action IN ('chg', 'del')",
    userMatches,
    itemTypeMatches,
    ...(guard.seen ? [`NOT (${guard.seen})`] : []),
    `(${payload})`,
  ].join(' AND ');
}
