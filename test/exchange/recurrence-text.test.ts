import { describe, expect, it } from 'vitest';
import { formatRecurrence } from '../../src/exchange/recurrence-text.js';

describe('formatRecurrence (the recurrence column, whichever backend read the series)', () => {
  it('words a pattern and its range', () => {
    expect(
      formatRecurrence({
        pattern: { type: 'Weekly', interval: 1, daysOfWeek: ['Monday', 'Wednesday'] },
        range: { start: '2026-01-05', end: '2026-06-30' },
      }),
    ).toBe('Weekly every 1 week on Monday, Wednesday from 2026-01-05 until 2026-06-30');
    expect(
      formatRecurrence({ pattern: { type: 'Daily', interval: 2 }, range: { start: '2026-01-05', count: 10 } }),
    ).toBe('Daily every 2 days from 2026-01-05 for 10 occurrences');
  });
});
