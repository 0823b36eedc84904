import { describe, isExhError } from '../../errors.js';
import type { ChangeBatch, DatabasePort, ItemChange, ItemTypeName, MeetingLink } from '../../ports/database.port.js';

export interface PageOutcome {
  applied: number;
  /** Changes whose exh_from_exh_* procedure raised: recorded in exh_log, skipped so the rest of the page goes on. */
  failed: Array<{ itemId: string; action: ItemChange['action']; message: string }>;
}

/**
 * Applies one page with its new watermark in one transaction. When a procedure raises for one item (a "poison"
 * item), the page is applied again change by change, each in its own transaction with the old watermark; the items
 * that fail are written to exh_log (and can be replayed with exh_sync_item), and only then does the watermark move on.
 * So one bad row never stops a mailbox, and no item is lost silently. A lost connection is not an item failure and
 * propagates to the caller unchanged.
 */
export async function applyPage(
  db: DatabasePort,
  page: {
    user: string;
    itemType: ItemTypeName;
    changes: ItemChange[];
    /** Absent (exh_sync_item): the changes are applied and the live sync's watermark stays where it is. */
    watermark?: string;
    previousWatermark?: string;
    meetings?: MeetingLink[];
    /** The application's pending changes the page was weighed against (ChangeBatch.reconciledWith). */
    reconciledWith?: ChangeBatch['reconciledWith'] | undefined;
  },
): Promise<PageOutcome> {
  const { user, itemType, changes, watermark, previousWatermark } = page;
  const meetings = page.meetings ?? [];
  try {
    await db.applyChanges({
      user,
      itemType,
      changes,
      meetings,
      reconciledWith: page.reconciledWith,
      ...(watermark === undefined ? {} : { watermark }),
    });
    return { applied: changes.length, failed: [] };
  } catch (error) {
    if (!isExhError(error, 'EXH_DB_PROCEDURE_FAILED')) throw error;
  }
  const outcome: PageOutcome = { applied: 0, failed: [] };
  for (const change of changes) {
    try {
      await db.applyChanges({
        user,
        itemType,
        changes: [change],
        reconciledWith: page.reconciledWith,
        ...(previousWatermark === undefined ? {} : { watermark: previousWatermark }),
      });
      outcome.applied += 1;
    } catch (error) {
      if (!isExhError(error, 'EXH_DB_PROCEDURE_FAILED')) throw error;
      const itemId = String(change.fields.item_id ?? '');
      outcome.failed.push({ itemId, action: change.action, message: describe(error) });
      await db.logError({
        user,
        itemType,
        code: error.code,
        message: `${change.action} of Exchange item ${itemId} failed: ${describe(error)}`,
      });
    }
  }
  if (watermark !== undefined || meetings.length > 0) {
    await db.applyChanges({ user, itemType, changes: [], meetings, ...(watermark === undefined ? {} : { watermark }) });
  }
  return outcome;
}
