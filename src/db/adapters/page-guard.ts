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
  /** Outbox ids, digits only. */
  seenIds: string[];
}

export function pageGuard(batch: ChangeBatch): PageGuard | undefined {
  if (!batch.reconciledWith) return undefined;
  const patterns = new Set<string>();
  for (const change of batch.changes) {
    for (const id of [change.fields.item_id, change.fields.app_item_id]) {
      if ((typeof id !== 'string' && typeof id !== 'number') || String(id) === '') continue;
      patterns.add(`%${String(id).replace(/[^A-Za-z0-9-]+/g, '%')}%`.replace(/%+/g, '%'));
    }
  }
  // A page of changes without ids (none is an item the application holds): nothing it writes can be overtaken.
  if (patterns.size === 0) return undefined;
  const seenIds = batch.reconciledWith.pendingIds.filter((id) => /^[0-9]+$/.test(id));
  return { patterns: [...patterns], seenIds };
}

/** The guard's condition on exh_outbox's columns (the same in the three dialects but for the user's comparison). */
export function guardCondition(guard: PageGuard, userMatches: string, itemTypeMatches: string): string {
  const payload = guard.patterns.map((pattern) => `exh_payload LIKE '${pattern}'`).join(' OR ');
  return [
    "exh_state = 'pending'",
    "exh_action IN ('chg', 'del')",
    userMatches,
    itemTypeMatches,
    ...(guard.seenIds.length > 0 ? [`exh_outbox_id NOT IN (${guard.seenIds.join(', ')})`] : []),
    `(${payload})`,
  ].join(' AND ');
}
