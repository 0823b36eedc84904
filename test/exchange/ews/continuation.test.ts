import { describe, expect, it } from 'vitest';
import { decodeContinuation, encodeContinuation } from '../../../src/exchange/ews/continuation.js';

/** The EWS adapter's continuation: the SyncFolderItems sync state and the occurrence ids reported per series. */
const state =
  'H4sIAAAAAAAEAO29B2AcSZYlJi9tynt/SvVK1+B0oQiAYBMk2JBAEOzBiM3mkuwdaUcjKasqgcplVmVdZhZAzO2dvPfee++999577733';

describe('EWS continuations', () => {
  it('are the bare sync state while no series is held, as they were before the adapter kept series', () => {
    expect(encodeContinuation(state, {})).toBe(state);
    // A bare state says nothing of series: SyncFolderOptions.knownOccurrences may.
    expect(decodeContinuation(state)).toEqual({ state, series: undefined });
  });

  it('carry the series beside the state, and give both back', () => {
    const series = { 'AAMkMaster=': ['AAMkOcc1=', 'AAMkOcc2='] };
    const text = encodeContinuation(state, series);
    expect(text.startsWith('{')).toBe(true);
    expect(decodeContinuation(text)).toEqual({ state, series });
  });

  it('start from the beginning with no series for null', () => {
    expect(decodeContinuation(null)).toEqual({ state: null, series: {} });
  });

  it('pass what is not theirs on as a sync state, for Exchange to refuse, and drop unreadable series entries', () => {
    for (const text of ['{not json', '{"series":{}}', '{"state":5,"series":{}}', '{"state":"s","series":null}']) {
      expect(decodeContinuation(text)).toEqual({ state: text, series: {} });
    }
    expect(decodeContinuation('{"state":"s","series":{"m":["o",3],"n":"o"}}')).toEqual({
      state: 's',
      series: { m: ['o'] },
    });
  });
});
