import { describe, expect, it } from 'vitest';
import { createMemoryExchange } from '../../src/exchange/memory/index.js';
import {
  comparedWatermark,
  decodeCompare,
  decodeSeries,
  decodeWatermark,
  encodeWatermark,
} from '../../src/sync/watermark.js';

/**
 * The watermark (exh_watermark, one text per user and item type): each folder's opaque sync state, the occurrence ids
 * held per recurring series, and whether a comparison for deletions is still owed. Whatever cannot be read means
 * "from the beginning": a full synchronisation, which the from_exh templates absorb.
 */
describe('encodeWatermark / decode*', () => {
  it('round-trips folder states, series and the compare flag', () => {
    const states = { inbox: 'state-of-inbox', sentitems: 'state-of-sent' };
    const series = { master1: ['occ1', 'occ2'], master2: [] };
    const text = encodeWatermark(states, series, true);
    expect(decodeWatermark(text)).toEqual(states);
    expect(decodeSeries(text)).toEqual(series);
    expect(decodeCompare(text)).toBe(true);
  });

  it('leaves out what is not there: folders without a state, an empty series, a false flag', () => {
    const text = encodeWatermark({ inbox: 'a', sentitems: undefined });
    expect(JSON.parse(text)).toEqual({ inbox: 'a' });
    expect(decodeSeries(text)).toEqual({});
    expect(decodeCompare(text)).toBe(false);
  });

  it('gives the same text for the same states whatever their order, so an unchanged watermark is not rewritten', () => {
    expect(encodeWatermark({ sentitems: 'b', inbox: 'a' })).toBe(encodeWatermark({ inbox: 'a', sentitems: 'b' }));
  });

  it('does not take its own keys for folders', () => {
    const text = encodeWatermark({ calendar: 'c' }, { m: ['o'] }, true);
    expect(Object.keys(decodeWatermark(text))).toEqual(['calendar']);
  });

  it.each([
    ['nothing', null],
    ['an empty text', ''],
    ['no JSON', 'H4sIAAAAAAAA//garbage'],
    ['a JSON array', '["inbox"]'],
    ['JSON null', 'null'],
    ['a JSON string', '"inbox"'],
  ])('reads %s as "from the beginning"', (_, text) => {
    expect(decodeWatermark(text)).toEqual({});
    expect(decodeSeries(text)).toEqual({});
    expect(decodeCompare(text)).toBe(false);
  });

  it('keeps the readable parts of a damaged watermark and drops the rest', () => {
    const text = JSON.stringify({ inbox: 'a', sentitems: 5, series: { m1: ['o1'], m2: 'o2' } });
    expect(decodeWatermark(text)).toEqual({ inbox: 'a' });
    expect(decodeSeries(text)).toEqual({ m1: ['o1'] });
    // Only `true` owes a comparison.
    expect(decodeCompare(JSON.stringify({ inbox: 'a', compare: 'yes' }))).toBe(false);
  });
});

describe('comparedWatermark', () => {
  it('clears only the compare flag', () => {
    const text = encodeWatermark({ contacts: 's' }, { m: ['o'] }, true);
    const compared = comparedWatermark(text);
    expect(decodeCompare(compared)).toBe(false);
    expect(decodeWatermark(compared)).toEqual({ contacts: 's' });
    expect(decodeSeries(compared)).toEqual({ m: ['o'] });
  });
});

describe('an adapter’s sync states inside the watermark', () => {
  it('come back byte for byte, and the adapter carries on from them', async () => {
    const exchange = createMemoryExchange({ mailboxes: ['a@x.test'] });
    const call = { signal: new AbortController().signal, priority: 'live' as const };
    const connection = await exchange.connect('a@x.test', call);
    exchange.admin.makeItem('a@x.test', { itemClass: 'IPM.Task', folder: 'tasks', properties: { subject: 'one' } });
    const page = await connection.syncFolder('tasks', null, { ...call, maxChanges: 10 });
    const stored = decodeWatermark(encodeWatermark({ tasks: page.syncState }));
    expect(stored.tasks).toBe(page.syncState);

    exchange.admin.makeItem('a@x.test', { itemClass: 'IPM.Task', folder: 'tasks', properties: { subject: 'two' } });
    const next = await connection.syncFolder('tasks', stored.tasks as string, { ...call, maxChanges: 10 });
    expect(next.changes.map((c) => (c.type === 'create' ? c.item.properties.subject : c.type))).toEqual(['two']);
  });
});
