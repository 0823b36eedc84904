import { describe, expect, it } from 'vitest';
import { afterSync, withComparison } from '../../src/mailbox/after-sync.js';
import { decodeCompare, encodeWatermark } from '../../src/sync/decisions/watermark.js';

describe('afterSync', () => {
  it('is done after an ordinary sync: the machine gets its watermark and counts', () => {
    const watermark = encodeWatermark({ calendar: 's2' });
    expect(afterSync({ watermark, applied: 3, failed: 1, restarted: false })).toEqual({
      type: 'done',
      output: { watermark, applied: 3, failed: 1 },
    });
  });

  it('compares deletions only, over every item, after Exchange forgot a folder, and then clears the mark', () => {
    const restarted = encodeWatermark({ calendar: 's1', tasks: 't1' }, true);
    const next = afterSync({ watermark: restarted, applied: 0, failed: 0, restarted: true });
    expect(next).toEqual({
      type: 'compareDeletions',
      compare: { direction: 0, add: false, chg: false, del: true, ranges: {} },
      watermark: encodeWatermark({ calendar: 's1', tasks: 't1' }, false),
    });
    if (next.type !== 'compareDeletions') throw new Error('expected a comparison');
    expect(decodeCompare(restarted)).toBe(true);
    expect(decodeCompare(next.watermark)).toBe(false);
  });
});

describe('withComparison', () => {
  it("adds the comparison's deletions to the applied changes and its failures to the failed ones", () => {
    const result = { watermark: '{"calendar":"s1","compare":true}', applied: 4, failed: 1, restarted: true };
    expect(withComparison(result, '{"calendar":"s1"}', { added: 9, changed: 9, deleted: 2, failed: 3 })).toEqual({
      watermark: '{"calendar":"s1"}',
      applied: 6,
      failed: 4,
    });
  });
});
