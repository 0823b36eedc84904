import { describe, expect, it } from 'vitest';
import { guardCondition, pageGuard, seenCondition, seenTermsLimit } from '../../../src/db/adapters/page-guard.js';
import type { ChangeBatch } from '../../../src/ports/database.port.js';

/** The page's last check as the three adapters share it (src/db/adapters/page-guard.ts); the SQL runs in test/db/contract.ts. */
describe('page guard', () => {
  const batch = (fields: ChangeBatch['changes'][number]['fields'][], pendingIds?: string[]): ChangeBatch => ({
    user: 'a@example.com',
    itemType: 'task',
    changes: fields.map((f) => ({ action: 'chg' as const, fields: f })),
    ...(pendingIds ? { reconciledWith: { pendingIds } } : {}),
  });

  it('looks for each item id and application id as a pattern holding only letters, digits, - and %', () => {
    const guard = pageGuard(
      batch(
        [
          { item_id: 'AA/b+c==', app_item_id: "it's_[1]\\%" },
          { item_id: 'x-y', app_item_id: 10 ** 21 },
        ],
        [],
      ),
    );
    expect(guard?.patterns).toEqual(['%AA%b%c%', '%it%s%1%', '%x-y%', '%1000000000000000000000%']);
    for (const pattern of guard?.patterns ?? []) expect(pattern).toMatch(/^[A-Za-z0-9%-]+$/);
  });

  it('checks nothing without reconciledWith, or for a page without ids', () => {
    expect(pageGuard(batch([{ item_id: 'A' }]))).toBeUndefined();
    expect(pageGuard(batch([{ subject: 'no id' }, { item_id: '' }], []))).toBeUndefined();
  });

  it('writes the seen ids as singles and runs of consecutive ids, leaving out what is not a number', () => {
    expect(seenCondition([])).toBe('');
    expect(seenCondition(['9', '3', 'x', '4', '5', '12', '13', '5'])).toBe(
      'exh_outbox_id IN (9, 12, 13) OR exh_outbox_id BETWEEN 3 AND 5',
    );
    const bulk = Array.from({ length: 10_000 }, (_, i) => String(1_000 + i));
    expect(seenCondition(bulk)).toBe('exh_outbox_id BETWEEN 1000 AND 10999');
  });

  it('past seenTermsLimit scattered ids, counts as seen every id up to the highest', () => {
    const scattered = Array.from({ length: seenTermsLimit + 1 }, (_, i) => String(10 + i * 2));
    expect(seenCondition(scattered)).toBe(`exh_outbox_id <= ${10 + seenTermsLimit * 2}`);
    expect(seenCondition(scattered.slice(1))).toContain('exh_outbox_id IN (12, 14,');
  });

  it('puts it together: pending changes of the user and type, not seen, whose payload names an id', () => {
    const guard = pageGuard(batch([{ item_id: 'AB' }], ['5']));
    expect(guard && guardCondition(guard, 'U', 'T')).toBe(
      "exh_state = 'pending' AND exh_action IN ('chg', 'del') AND U AND T AND NOT (exh_outbox_id IN (5)) AND " +
        "(exh_payload LIKE '%AB%')",
    );
  });
});
