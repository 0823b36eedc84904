import { deflateRawSync, inflateRawSync } from 'node:zlib';
import type { TokenSeal } from '../store/ids.js';

/**
 * SyncFolderItems state, in the spirit of Exchange's ICS state: the change numbers the client has seen (everything up
 * to `seen`) and which items it holds, so that a change is exactly a Create, an Update, a ReadFlagChange or a Delete
 * from the client's point of view, page after page. The client holds every item that entered the folder up to `seen`
 * except those in `missing` (by their creation number, delta-encoded and deflated): items that entered before a page's
 * end but changed again before they were delivered. `missing` is empty once a sync reaches the end, so a state costs
 * what changed since it, not the folder (issue 15). It is opaque to clients and sealed against tampering.
 */
export interface SyncState {
  epoch: string;
  folderId: string;
  seen: number;
  missing: number[];
}

function encodeSet(values: number[]): string {
  // The usual case (a sync that reached the end): no zlib stream is made for nothing, on every notification.
  if (values.length === 0) return '';
  const sorted = [...values].sort((a, b) => a - b);
  const bytes: number[] = [];
  let previous = 0;
  for (const value of sorted) {
    let delta = value - previous;
    previous = value;
    while (delta >= 0x80) {
      bytes.push((delta & 0x7f) | 0x80);
      delta = Math.floor(delta / 128);
    }
    bytes.push(delta);
  }
  return deflateRawSync(Buffer.from(bytes)).toString('base64');
}

function decodeSet(encoded: string): number[] {
  if (encoded === '') return [];
  const bytes = inflateRawSync(Buffer.from(encoded, 'base64'));
  const out: number[] = [];
  let previous = 0;
  let value = 0;
  let shift = 1;
  for (const byte of bytes) {
    value += (byte & 0x7f) * shift;
    if (byte & 0x80) {
      shift *= 128;
      continue;
    }
    previous += value;
    out.push(previous);
    value = 0;
    shift = 1;
  }
  return out;
}

/** Not 'sync': a state of the earlier form (the set of items held) must not be read as this one. */
const purpose = 'sync-missing';

export function encodeSyncState(state: SyncState, seal: TokenSeal): string {
  return seal.seal(purpose, [state.epoch, state.folderId, state.seen, encodeSet(state.missing)]);
}

/** Undefined when the state is not one this emulator issued (or was tampered with). */
export function decodeSyncState(token: string, seal: TokenSeal): SyncState | undefined {
  const fields = seal.open(purpose, token.trim());
  if (fields?.length !== 4) return undefined;
  const [epoch, folderId, seen, missing] = fields as [string, string, string, string];
  try {
    return { epoch, folderId, seen: Number(seen), missing: decodeSet(missing) };
  } catch {
    return undefined;
  }
}
