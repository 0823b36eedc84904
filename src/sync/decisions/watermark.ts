import type { FolderName, ReportedOccurrences } from '../../ports/exchange.port.js';

/**
 * exh_watermark keeps one text per user and item type; an item type may read several folders (e-mail: Inbox and
 * Sent Items), so the text is a JSON object of each folder's continuation, opaque, as the adapter gave it
 * (SyncPage.continuation: whatever the adapter remembers between pages travels in it, recurring series included). A
 * missing or unreadable watermark means "from the beginning" for every folder: a full synchronisation, which the
 * from_exh templates absorb (they update a row that is already there).
 */
export type FolderContinuations = Partial<Record<FolderName, string>>;

/**
 * Set while a folder was read again from the beginning (Exchange rejected its continuation) and the rows have not yet
 * been compared with Exchange for deletions made in the gap: moves with the rows, so a comparison cut short by a
 * restart or a crash is done by the next sync.
 */
const compareKey = 'compare';
/**
 * Watermarks written before the adapters kept recurring series in their continuations have the occurrence ids the
 * core reported per master under this key. Read once (decodeLegacySeries), never written.
 */
const legacySeriesKey = 'series';

function parse(text: string | null | undefined): Record<string, unknown> {
  if (!text) return {};
  try {
    const parsed: unknown = JSON.parse(text);
    return parsed !== null && typeof parsed === 'object' && !Array.isArray(parsed)
      ? (parsed as Record<string, unknown>)
      : {};
  } catch {
    return {};
  }
}

export function decodeCompare(text: string | null | undefined): boolean {
  return parse(text)[compareKey] === true;
}

export function decodeWatermark(text: string | null | undefined): FolderContinuations {
  return Object.fromEntries(
    Object.entries(parse(text)).filter(
      (entry): entry is [string, string] =>
        entry[0] !== legacySeriesKey && entry[0] !== compareKey && typeof entry[1] === 'string',
    ),
  ) as FolderContinuations;
}

/**
 * The occurrence ids a watermark of the earlier format holds per recurring master (empty for any other), for the
 * adapter to take over once (SyncFolderOptions.knownOccurrences): without them, occurrence rows of a series deleted
 * in Exchange before the first sync after the upgrade would stay.
 */
export function decodeLegacySeries(text: string | null | undefined): ReportedOccurrences {
  const series = parse(text)[legacySeriesKey];
  if (series === null || typeof series !== 'object' || Array.isArray(series)) return {};
  return Object.fromEntries(
    Object.entries(series).filter(
      (entry): entry is [string, string[]] =>
        Array.isArray(entry[1]) && entry[1].every((id: unknown) => typeof id === 'string'),
    ),
  );
}

export function encodeWatermark(continuations: FolderContinuations, compare = false): string {
  // Sorted keys: the same continuations always give the same text.
  const entries: Array<[string, unknown]> = Object.entries(continuations)
    .filter(([, continuation]) => continuation !== undefined)
    .sort(([a], [b]) => a.localeCompare(b));
  if (compare) entries.push([compareKey, true]);
  return JSON.stringify(Object.fromEntries(entries));
}

/** The same watermark with the comparison done (see compareKey). */
export function comparedWatermark(text: string): string {
  return encodeWatermark(decodeWatermark(text), false);
}
