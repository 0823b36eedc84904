import type { FolderName } from '../ports/exchange.port.js';

/**
 * exh_watermark keeps one text per user and item type; an item type may read several folders (e-mail: Inbox and
 * Sent Items), so the text is a JSON object of each folder's opaque sync state. A missing or unreadable watermark
 * means "from the beginning" for every folder: a full synchronisation, which the from_exh templates absorb (they
 * update a row that is already there).
 */
export type FolderStates = Partial<Record<FolderName, string>>;

/**
 * The occurrence ids synchronised for each recurring master (calendar with sync.maxSyncedRecurrences > 0). Exchange
 * reports a deleted occurrence only as a change of its master, so the ids held last time are what tells which
 * occurrence rows to delete. Kept in the watermark, so it moves in the same transaction as the rows.
 */
export type SeriesState = Record<string, string[]>;

const seriesKey = 'series';
/**
 * Set while a folder was read again from the beginning (Exchange rejected its sync state) and the rows have not yet
 * been compared with Exchange for deletions made in the gap: moves with the rows, so a comparison cut short by a
 * restart or a crash is done by the next sync.
 */
const compareKey = 'compare';

export function decodeCompare(text: string | null | undefined): boolean {
  if (!text) return false;
  try {
    return (JSON.parse(text) as Record<string, unknown> | null)?.[compareKey] === true;
  } catch {
    return false;
  }
}

export function decodeWatermark(text: string | null | undefined): FolderStates {
  if (!text) return {};
  try {
    const parsed: unknown = JSON.parse(text);
    if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) return {};
    return Object.fromEntries(
      Object.entries(parsed).filter(
        (entry): entry is [string, string] => entry[0] !== seriesKey && typeof entry[1] === 'string',
      ),
    ) as FolderStates;
  } catch {
    return {};
  }
}

export function decodeSeries(text: string | null | undefined): SeriesState {
  if (!text) return {};
  try {
    const series = (JSON.parse(text) as Record<string, unknown> | null)?.[seriesKey];
    if (series === null || typeof series !== 'object' || Array.isArray(series)) return {};
    return Object.fromEntries(
      Object.entries(series).filter((entry): entry is [string, string[]] => Array.isArray(entry[1])),
    );
  } catch {
    return {};
  }
}

export function encodeWatermark(states: FolderStates, series: SeriesState = {}, compare = false): string {
  // Sorted keys: the same states always give the same text.
  const entries: Array<[string, unknown]> = Object.entries(states)
    .filter(([, state]) => state !== undefined)
    .sort(([a], [b]) => a.localeCompare(b));
  if (Object.keys(series).length > 0) entries.push([seriesKey, series]);
  if (compare) entries.push([compareKey, true]);
  return JSON.stringify(Object.fromEntries(entries));
}

/** The same watermark with the comparison done (see compareKey). */
export function comparedWatermark(text: string): string {
  return encodeWatermark(decodeWatermark(text), decodeSeries(text), false);
}
