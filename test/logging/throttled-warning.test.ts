import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createLogging } from '../../src/logging/logger.js';
import { throttledWarning } from '../../src/logging/throttled-warning.js';

describe('throttledWarning', () => {
  beforeEach(() => {
    vi.useFakeTimers({ now: new Date('2026-03-01T08:00:00Z') });
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  function warn(intervalMs?: number) {
    const records: Array<Record<string, unknown>> = [];
    const { logger } = createLogging({
      format: 'json',
      stdout: { write: (line: string) => void records.push(JSON.parse(line)) },
    });
    return { records, warn: throttledWarning(logger, intervalMs) };
  }

  it('warns at once, then at most once an interval, saying how many were left out since the last', () => {
    const { records, warn: busy } = warn(10_000);
    busy({ remote: '10.0.0.1' }, 'Busy: a connection was refused');
    for (let n = 2; n <= 5; n++) {
      vi.advanceTimersByTime(1_000);
      busy({ remote: `10.0.0.${n}` }, 'Busy: a connection was refused');
    }
    expect(records).toHaveLength(1);
    vi.advanceTimersByTime(6_000);
    busy({ remote: '10.0.0.6' }, 'Busy: a connection was refused');
    expect(records.map((r) => [r.cat, r.msg, r.remote, r.leftOut])).toEqual([
      ['W', 'Busy: a connection was refused', '10.0.0.1', 0],
      ['W', 'Busy: a connection was refused (and 4 more like it since the last such warning)', '10.0.0.6', 4],
    ]);
  });

  it('counts from zero again after each warning, and uses ten seconds unless told', () => {
    const { records, warn: busy } = warn();
    busy({}, 'slow');
    vi.advanceTimersByTime(9_999);
    busy({}, 'slow');
    vi.advanceTimersByTime(1);
    busy({}, 'slow');
    vi.advanceTimersByTime(10_000);
    busy({}, 'slow');
    expect(records.map((r) => r.msg)).toEqual([
      'slow',
      'slow (and 1 more like it since the last such warning)',
      'slow',
    ]);
  });
});
