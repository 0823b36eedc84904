import { describe, expect, it } from 'vitest';
import { errors } from '../../src/errors.js';
import { expandSeries, isMaster } from '../../src/exchange/expand-series.js';
import type { ExchangeItem, SyncChange } from '../../src/ports/exchange.port.js';

/**
 * A page's recurring series expanded by the adapter (src/exchange/expand-series.ts): each master's occurrences after
 * it, the ones reported before and gone now deleted, the ones that cannot be read kept. The bookkeeping the sync
 * core's plan did before it moved behind the port (SyncFolderOptions.occurrences).
 */
const appointment = (id: string, properties: ExchangeItem['properties'] = {}): ExchangeItem => ({
  id,
  changeKey: `ck-${id}`,
  itemClass: 'IPM.Appointment',
  properties: { subject: `subject of ${id}`, ...properties },
});
const master = appointment('R=', { isRecurring: true });
const occurrence = (id: string) => appointment(id, { isRecurring: true, originalStart: '2026-01-12T09:00:00Z' });
const summary = (changes: SyncChange[]) => changes.map((c) => [c.type, 'item' in c ? c.item.id : c.itemId]);

/** A backend whose series are `series`; any other id is not found. */
const reader = (series: Record<string, ExchangeItem[]>) => async (masterId: string) => {
  const found = series[masterId];
  if (!found) throw errors.itemNotFound('alice@contoso.test', masterId);
  return found;
};

describe('expandSeries', () => {
  it('adds the occurrences of a recurring master right after it, each new one as a create', async () => {
    const page = await expandSeries(
      [
        { type: 'update', item: master },
        { type: 'create', item: appointment('S=') },
      ],
      {},
      { max: 10, read: reader({ 'R=': [occurrence('R1='), occurrence('R2=')] }) },
    );
    expect(summary(page.changes)).toEqual([
      ['update', 'R='],
      ['create', 'R1='],
      ['create', 'R2='],
      ['create', 'S='],
    ]);
    expect(page.reported).toEqual({ 'R=': ['R1=', 'R2='] });
    expect(page.incomplete).toEqual([]);
  });

  it('deletes the occurrences that are gone from a changed series, updates the ones reported before, remembers the ones there now', async () => {
    const page = await expandSeries(
      [{ type: 'update', item: master }],
      { 'R=': ['R1=', 'R2=', 'R3='] },
      { max: 10, read: reader({ 'R=': [occurrence('R1='), occurrence('R3='), occurrence('R4=')] }) },
    );
    expect(summary(page.changes)).toEqual([
      ['update', 'R='],
      ['delete', 'R2='],
      ['update', 'R1='],
      ['update', 'R3='],
      ['create', 'R4='],
    ]);
    expect(page.reported).toEqual({ 'R=': ['R1=', 'R3=', 'R4='] });
  });

  it('deletes the occurrences of a series that no longer recurs, or whose occurrences are no longer read', async () => {
    const noLonger = await expandSeries(
      [{ type: 'update', item: appointment('R=', { isRecurring: false }) }],
      { 'R=': ['R1=', 'R2='] },
      { max: 10, read: reader({}) },
    );
    expect(summary(noLonger.changes)).toEqual([
      ['update', 'R='],
      ['delete', 'R1='],
      ['delete', 'R2='],
    ]);
    expect(noLonger.reported).toEqual({});
    const notRead = await expandSeries(
      [{ type: 'update', item: master }],
      { 'R=': ['R1='] },
      { max: 0, read: reader({}) },
    );
    expect(summary(notRead.changes)).toEqual([
      ['update', 'R='],
      ['delete', 'R1='],
    ]);
    expect(notRead.reported).toEqual({});
  });

  it('keeps the occurrences of a series that could not be read this time, and says so', async () => {
    const page = await expandSeries(
      [{ type: 'update', item: master }],
      { 'R=': ['R1='], 'S=': ['S1='] },
      { max: 10, read: reader({}) },
    );
    expect(page.changes).toEqual([
      { type: 'update', item: master },
      {
        type: 'unreadable',
        itemId: 'R=',
        error: {
          code: 'EXH_EXCHANGE_ITEM_NOT_FOUND',
          message: expect.stringMatching(/^its occurrences could not be read: /),
        },
      },
    ]);
    expect(page.reported).toEqual({ 'R=': ['R1='], 'S=': ['S1='] });
    expect(page.incomplete).toEqual(['R=']);
  });

  it('fails the page when reading a series fails in a way worth retrying, or with something that is no ExhError', async () => {
    const busy = async () => {
      throw errors.exchangeUnavailable('https://exchange.test/EWS/Exchange.asmx', 'down');
    };
    await expect(expandSeries([{ type: 'update', item: master }], {}, { max: 10, read: busy })).rejects.toMatchObject({
      code: 'EXH_EXCHANGE_UNAVAILABLE',
    });
    const bug = async () => {
      throw new TypeError('a bug');
    };
    await expect(expandSeries([{ type: 'update', item: master }], {}, { max: 10, read: bug })).rejects.toThrow('a bug');
  });

  it('deletes every occurrence with its series, and leaves other series and unreadable items alone', async () => {
    const unreadable: SyncChange = {
      type: 'unreadable',
      itemId: 'X=',
      error: { code: 'EXH_EXCHANGE_REQUEST_FAILED', message: 'corrupt' },
    };
    const page = await expandSeries(
      [{ type: 'delete', itemId: 'R=' }, unreadable],
      { 'R=': ['R1=', 'R2='], 'S=': ['S1='] },
      { max: 10, read: reader({}) },
    );
    expect(summary(page.changes)).toEqual([
      ['delete', 'R='],
      ['delete', 'R1='],
      ['delete', 'R2='],
      ['unreadable', 'X='],
    ]);
    expect(page.reported).toEqual({ 'S=': ['S1='] });
  });

  it('does not change what it was given', async () => {
    const reported = { 'R=': ['R1=', 'R2='] };
    await expandSeries([{ type: 'update', item: master }], reported, { max: 10, read: reader({ 'R=': [] }) });
    expect(reported).toEqual({ 'R=': ['R1=', 'R2='] });
  });
});

describe('isMaster', () => {
  it('is a recurring item without a place in the pattern', () => {
    expect(isMaster(master)).toBe(true);
    expect(isMaster(occurrence('R1='))).toBe(false);
    expect(isMaster(appointment('S='))).toBe(false);
  });
});
