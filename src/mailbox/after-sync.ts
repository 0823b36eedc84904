import type { SyncItemsOutcome } from '../ports/control.port.js';
import type { ItemRanges } from '../ports/database.port.js';
import { comparedWatermark } from '../sync/decisions/watermark.js';

/** What one sync of an item type found (src/sync/executors/sync-item-type.ts). */
export interface ItemTypeSyncResult {
  watermark: string;
  applied: number;
  failed: number;
  /** Exchange forgot where a folder was (an invalid sync state), and the folder was read again from the beginning. */
  restarted: boolean;
}

/** What the item-type machine is told (machines/item-type.machine.ts, SyncOutput). */
export interface ItemTypeSyncOutput {
  watermark: string;
  applied: number;
  failed: number;
}

/** The comparison after a restart: exh_sync_item direction 0, deletions only, every item of the type. */
export interface DeletionsCompare {
  direction: 0;
  add: false;
  chg: false;
  del: true;
  ranges: ItemRanges;
}

export type AfterSync =
  | { type: 'done'; output: ItemTypeSyncOutput }
  | { type: 'compareDeletions'; compare: DeletionsCompare; watermark: string };

/**
 * What follows a sync of one item type, decided without I/O. After a restart, items deleted in Exchange during the
 * gap never come as deletions, so the type's rows whose item no longer exists are found by comparing; the watermark
 * then says the comparison is done. Until it is written the stored watermark still asks for it, so a sync cut short
 * here compares next time.
 */
export function afterSync(result: ItemTypeSyncResult): AfterSync {
  const { restarted, ...output } = result;
  if (!restarted) return { type: 'done', output };
  return {
    type: 'compareDeletions',
    compare: { direction: 0, add: false, chg: false, del: true, ranges: {} },
    watermark: comparedWatermark(result.watermark),
  };
}

/** The sync's outcome with the comparison's: its deletions count as applied, its failures as failed. */
export function withComparison(
  result: ItemTypeSyncResult,
  watermark: string,
  compared: SyncItemsOutcome,
): ItemTypeSyncOutput {
  return {
    watermark,
    applied: result.applied + compared.deleted,
    failed: result.failed + compared.failed,
  };
}
