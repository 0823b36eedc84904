import { describe, expect, it } from 'vitest';
import { decodeContinuation, encodeContinuation } from '../../../src/exchange/graph/continuation.js';

describe('the Graph continuation', () => {
  it('is JSON tagged with its backend, read back as written', () => {
    const text = encodeContinuation({
      folder: 'calendar',
      link: 'https://graph.microsoft.com/v1.0/users/a/calendarView/delta?$deltatoken=x',
      at: 'delta',
      fresh: false,
      started: '2026-01-02T08:00:00.000Z',
      window: { from: '2025-01-02T00:00:00.000Z', until: '2028-01-02T00:00:00.000Z' },
      series: { M: ['O1', 'O2'] },
    });
    expect(JSON.parse(text)).toMatchObject({ backend: 'graph', v: 1, folder: 'calendar' });
    expect(decodeContinuation('a@x.test', 'calendar', text)).toEqual(JSON.parse(text));
    expect(decodeContinuation('a@x.test', 'calendar', null)).toBeUndefined();
  });

  it("refuses what is not Graph's or not this folder's as an invalid sync state", () => {
    const inbox = encodeContinuation({ folder: 'inbox', link: 'L', at: 'next', fresh: true });
    for (const text of [
      'H4sIAAAAAAAEAO29B2AcSZYlJi9tynt',
      '{"state":"H4sI","series":{}}',
      JSON.stringify({ ...JSON.parse(inbox), v: 2 }),
      JSON.stringify({ ...JSON.parse(inbox), at: 'somewhere' }),
      JSON.stringify({ ...JSON.parse(inbox), link: '' }),
      '{',
    ]) {
      expect(() => decodeContinuation('a@x.test', 'inbox', text), text).toThrow(
        expect.objectContaining({ code: 'EXH_EXCHANGE_INVALID_SYNC_STATE' }),
      );
    }
    expect(() => decodeContinuation('a@x.test', 'sentitems', inbox)).toThrow(
      expect.objectContaining({ code: 'EXH_EXCHANGE_INVALID_SYNC_STATE' }),
    );
  });
});
