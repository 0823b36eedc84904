import type { ItemTypeDefinition } from '../../items/definition.js';
import type { ItemChange } from '../../ports/database.port.js';

/**
 * The echo of the connector's own writes (database → Exchange → the next sync): pure, so that what is skipped is
 * decided without I/O. The application's row already says what the echo of its own change or deletion would say, and
 * exh_item_version already holds the change key the outbox remembered; applying it again is a procedure call for
 * nothing. A create's echo is always applied: it gives the row its exh_item_id (docs/database.md, "Matching items").
 */

/** Properties Exchange sets itself when an item is written (the calendar's last_modified, is_meeting). */
const setByExchangeOnWrite = new Set<string>(['lastModified', 'isMeeting']);

/**
 * Whether the echo of an update of this type can be skipped: only when the type keeps none of the values Exchange sets
 * itself on a write, which the row learns from the echo alone.
 */
export function updateEchoSkippable(definition: ItemTypeDefinition): boolean {
  return !definition.fields.some((field) => field.readOnly && setByExchangeOnWrite.has(field.property));
}

/** How the outbox wrote an update, as far as whether its echo may be skipped depends on it. */
export interface UpdateWritten {
  /** The row had its item id (its create's echo applied): it reflects a version of the item. */
  named: boolean;
  /**
   * The write was made conditionally on the change key of the version the row reflects, and Exchange took it: not
   * without a known key, not as an overwrite (exh_sync_item direction 1, or no conflict settings), and not as the
   * second, unconditional write after a conflict decided for the application.
   */
  onKnownVersion: boolean;
  /** The change key the write left; null when Exchange did not say. */
  changeKey: string | null;
}

/**
 * Whether the echo of an update the outbox wrote is the connector's own (OwnWrites.wrote), to be skipped. Only a write
 * made on the very version the row reflects leaves a version that differs from the row by this change alone. A write
 * made over a later version (no key known, an overwrite, a conflict decided for the application) leaves one that
 * also holds that later change, a person's, which the row has not seen: its echo must be applied, or the person's
 * change is lost (test/faults/convergence.test.ts found it with CONVERGENCE_SEED=1235028320).
 */
export function updateEchoOwn(definition: ItemTypeDefinition, written: UpdateWritten): boolean {
  return written.named && written.onKnownVersion && !!written.changeKey && updateEchoSkippable(definition);
}

/**
 * A page's changes without the echoes of the connector's own writes: an update (`chg`) whose change key is the one
 * the connector's write left, of a type whose update echoes may be skipped, and a deletion of an item the connector
 * deleted. `isEcho` is asked once of every change of an item (a create too, which is always applied), so that what
 * the connector wrote is forgotten once Exchange has reported the item again.
 */
export function withoutOwnEchoes(
  definition: ItemTypeDefinition,
  changes: readonly ItemChange[],
  isEcho: (itemId: string, changeKey: string | null) => boolean,
): { changes: ItemChange[]; echoes: number } {
  const updates = updateEchoSkippable(definition);
  const kept: ItemChange[] = [];
  let echoes = 0;
  for (const change of changes) {
    const itemId = change.fields.item_id;
    const own = typeof itemId === 'string' && itemId !== '' && isEcho(itemId, change.changeKey ?? null);
    const echo = own && ((change.action === 'chg' && updates && !!change.changeKey) || change.action === 'del');
    if (echo) echoes += 1;
    else kept.push(change);
  }
  return { changes: kept, echoes };
}
