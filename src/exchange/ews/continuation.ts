import type { HeldOccurrences } from '../expand-series.js';

/**
 * The EWS adapter's continuation (SyncPage.continuation): the folder's SyncFolderItems sync state and the occurrence
 * ids it reported per recurring master (../expand-series.ts). While no series is held it is the bare sync state, as
 * every continuation was before the adapter kept series (the core kept them in its watermark then), so such a stored
 * state still reads as "no series known"; with series it is JSON, `{"state": …, "series": {master: [ids]}}`. A sync
 * state is base64 and never starts with "{", so the two cannot be confused.
 */
export interface EwsContinuation {
  /** null: from the beginning. */
  state: string | null;
  /** Undefined: a bare sync state, which says nothing of series (SyncFolderOptions.knownOccurrences may). */
  series: HeldOccurrences | undefined;
}

export function encodeContinuation(state: string, series: HeldOccurrences): string {
  if (Object.keys(series).length === 0) return state;
  return JSON.stringify({ state, series });
}

export function decodeContinuation(text: string | null): EwsContinuation {
  if (text === null) return { state: null, series: {} };
  if (!text.startsWith('{')) return { state: text, series: undefined };
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    parsed = undefined;
  }
  const { state, series } = (parsed ?? {}) as { state?: unknown; series?: unknown };
  // Not one of ours: Exchange is asked with it as it is and refuses it (EXH_EXCHANGE_INVALID_SYNC_STATE).
  if (typeof state !== 'string' || series === null || typeof series !== 'object') return { state: text, series: {} };
  const held: HeldOccurrences = {};
  for (const [masterId, ids] of Object.entries(series)) {
    if (Array.isArray(ids)) held[masterId] = ids.filter((id): id is string => typeof id === 'string');
  }
  return { state, series: held };
}
