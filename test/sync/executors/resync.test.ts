import { describe, expect, it } from 'vitest';
import { inRanges } from '../../../src/sync/executors/resync.js';

describe('inRanges (exh_sync_item’s date ranges on an item from Exchange)', () => {
  const item = { start: new Date('2026-05-10T09:00:00Z'), created: new Date('2026-01-01T00:00:00Z') };

  it('keeps an item inside every range: from inclusive, until exclusive', () => {
    expect(inRanges(item, { start: { from: new Date('2026-05-10T09:00:00Z') } })).toBe(true);
    expect(inRanges(item, { start: { until: new Date('2026-05-10T09:00:00Z') } })).toBe(false);
    expect(inRanges(item, { start: { from: new Date('2026-05-01'), until: new Date('2026-06-01') } })).toBe(true);
    expect(inRanges(item, { created: { from: new Date('2026-02-01') } })).toBe(false);
  });

  it('ignores a range on a field the type does not have, and leaves an item without the value out of a bounded range', () => {
    expect(inRanges(item, { received: { from: new Date('2030-01-01') } })).toBe(true);
    expect(inRanges({ start: null }, { start: { from: new Date('2026-01-01') } })).toBe(false);
    expect(inRanges({ start: null }, {})).toBe(true);
  });
});
