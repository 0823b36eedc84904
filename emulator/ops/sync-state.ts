import { deflateRawSync, inflateRawSync } from 'node:zlib';
import type { TokenSeal } from '../store/ids.js';

/**
 * SyncFolderItems state, in the spirit of Exchange's ICS state: the change numbers the client has seen (everything up
 * to `seen`) and the set of items it holds (by their creation number, delta-encoded and deflated), so that a change is
 * exactly a Create, an Update, a ReadFlagChange or a Delete from the client's point of view, page after page. It grows
 * with the folder, as Exchange's does; it is opaque to clients and sealed against tampering.
 */
export interface SyncState {
  epoch: string;
  folderId: string;
  seen: number;
  given: number[];
}

function encodeSet(values: number[]): string {
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

export function encodeSyncState(state: SyncState, seal: TokenSeal): string {
  return seal.seal('sync', [state.epoch, state.folderId, state.seen, encodeSet(state.given)]);
}

/** Undefined when the state is not one this emulator issued (or was tampered with). */
export function decodeSyncState(token: string, seal: TokenSeal): SyncState | undefined {
  const fields = seal.open('sync', token.trim());
  if (fields?.length !== 4) return undefined;
  const [epoch, folderId, seen, given] = fields as [string, string, string, string];
  try {
    return { epoch, folderId, seen: Number(seen), given: decodeSet(given) };
  } catch {
    return undefined;
  }
}
