import { describe, expect, it } from 'vitest';
import { createMemoryExchange } from '../../../src/exchange/memory/index.js';
import {
  comparedWatermark,
  decodeCompare,
  decodeLegacySeries,
  decodeWatermark,
  encodeWatermark,
} from '../../../src/sync/decisions/watermark.js';

/**
 * The watermark (exh_watermark, one text per user and item type): each folder's opaque continuation and whether a
 * comparison for deletions is still owed. Whatever cannot be read means "from the beginning": a full
 * synchronisation, which the from_exh templates absorb. A watermark of the earlier format also has the occurrence ids
 * the core kept per recurring series: read once for the adapter, never written.
 */
describe('encodeWatermark / decode*', () => {
  it('round-trips folder continuations and the compare flag', () => {
    const continuations = { inbox: 'state-of-inbox', sentitems: 'state-of-sent' };
    const text = encodeWatermark(continuations, true);
    expect(decodeWatermark(text)).toEqual(continuations);
    expect(decodeCompare(text)).toBe(true);
    expect(decodeLegacySeries(text)).toEqual({});
  });

  it('leaves out what is not there: folders without a continuation, a false flag', () => {
    const text = encodeWatermark({ inbox: 'a', sentitems: undefined });
    expect(JSON.parse(text)).toEqual({ inbox: 'a' });
    expect(decodeCompare(text)).toBe(false);
  });

  it('gives the same text for the same states whatever their order, so an unchanged watermark is not rewritten', () => {
    expect(encodeWatermark({ sentitems: 'b', inbox: 'a' })).toBe(encodeWatermark({ inbox: 'a', sentitems: 'b' }));
  });

  it('does not take its own keys, or those of the earlier format, for folders', () => {
    expect(Object.keys(decodeWatermark(encodeWatermark({ calendar: 'c' }, true)))).toEqual(['calendar']);
    const earlier = JSON.stringify({ calendar: 'c', series: { m: ['o'] }, compare: true });
    expect(Object.keys(decodeWatermark(earlier))).toEqual(['calendar']);
  });

  it('reads the series of a watermark of the earlier format, and never writes them', () => {
    const earlier = JSON.stringify({ calendar: 'c', series: { master1: ['occ1', 'occ2'], master2: [] } });
    expect(decodeLegacySeries(earlier)).toEqual({ master1: ['occ1', 'occ2'], master2: [] });
    expect(encodeWatermark(decodeWatermark(earlier), decodeCompare(earlier))).toBe('{"calendar":"c"}');
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
    expect(decodeLegacySeries(text)).toEqual({});
    expect(decodeCompare(text)).toBe(false);
  });

  it('keeps the readable parts of a damaged watermark and drops the rest', () => {
    const text = JSON.stringify({ inbox: 'a', sentitems: 5, series: { m1: ['o1'], m2: 'o2', m3: [3] } });
    expect(decodeWatermark(text)).toEqual({ inbox: 'a' });
    expect(decodeLegacySeries(text)).toEqual({ m1: ['o1'] });
    // Only `true` owes a comparison.
    expect(decodeCompare(JSON.stringify({ inbox: 'a', compare: 'yes' }))).toBe(false);
  });
});

describe('comparedWatermark', () => {
  it('clears only the compare flag', () => {
    const text = encodeWatermark({ contacts: 's', calendar: 'c' }, true);
    const compared = comparedWatermark(text);
    expect(decodeCompare(compared)).toBe(false);
    expect(decodeWatermark(compared)).toEqual({ contacts: 's', calendar: 'c' });
  });
});

describe('an adapter’s continuations inside the watermark', () => {
  it('come back byte for byte, and the adapter carries on from them', async () => {
    const exchange = createMemoryExchange({ mailboxes: ['a@x.test'] });
    const call = { signal: new AbortController().signal, priority: 'live' as const };
    const connection = await exchange.connect('a@x.test', call);
    exchange.admin.makeItem('a@x.test', { itemClass: 'IPM.Task', folder: 'tasks', properties: { subject: 'one' } });
    const page = await connection.syncFolder('tasks', null, { ...call, maxChanges: 10 });
    const stored = decodeWatermark(encodeWatermark({ tasks: page.continuation }));
    expect(stored.tasks).toBe(page.continuation);

    exchange.admin.makeItem('a@x.test', { itemClass: 'IPM.Task', folder: 'tasks', properties: { subject: 'two' } });
    const next = await connection.syncFolder('tasks', stored.tasks as string, { ...call, maxChanges: 10 });
    expect(next.changes.map((c) => (c.type === 'create' ? c.item.properties.subject : c.type))).toEqual(['two']);
  });
});
