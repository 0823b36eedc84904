import type { FolderName } from '../ports/exchange.port.js';

/**
 * exh_watermark keeps one text per user and item type; an item type may read several folders (e-mail: Inbox and
 * Sent Items), so the text is a JSON object of each folder's opaque sync state. A missing or unreadable watermark
 * means "from the beginning" for every folder: a full synchronisation, which the from_exh templates absorb (they
 * update a row that is already there).
 */
export type FolderStates = Partial<Record<FolderName, string>>;

export function decodeWatermark(text: string | null | undefined): FolderStates {
  if (!text) return {};
  try {
    const parsed: unknown = JSON.parse(text);
    if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) return {};
    return Object.fromEntries(
      Object.entries(parsed).filter((entry): entry is [string, string] => typeof entry[1] === 'string'),
    ) as FolderStates;
  } catch {
    return {};
  }
}

export function encodeWatermark(states: FolderStates): string {
  // Sorted keys: the same states always give the same text.
  return JSON.stringify(Object.fromEntries(Object.entries(states).sort(([a], [b]) => a.localeCompare(b))));
}
