import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import type { Store, StoreSnapshot } from './store.js';

/**
 * `--data FILE`: mailboxes are loaded from the file at start (when it exists) and written back on close, as JSON.
 * Writing goes through a temporary file and a rename, so a crash mid-write leaves the previous file intact.
 */

export function loadStore(store: Store, file: string): boolean {
  if (!existsSync(file)) return false;
  let snapshot: StoreSnapshot;
  try {
    snapshot = JSON.parse(readFileSync(file, 'utf8')) as StoreSnapshot;
  } catch (error) {
    throw new Error(`Emulator data file ${file} is not valid JSON: ${(error as Error).message}`);
  }
  try {
    store.restore(snapshot);
  } catch (error) {
    throw new Error(`Emulator data file ${file} cannot be used: ${(error as Error).message}`);
  }
  return true;
}

export function saveStore(store: Store, file: string): void {
  const temporary = `${file}.${process.pid}.tmp`;
  writeFileSync(temporary, JSON.stringify(store.snapshot()));
  renameSync(temporary, file);
}
