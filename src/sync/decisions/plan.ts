import type { ItemTypeDefinition } from '../../items/definition.js';
import type { ItemChange } from '../../ports/database.port.js';
import type { FolderName, SyncPage } from '../../ports/exchange.port.js';
import { type ExchangeVersion, versionOf } from './conflicts.js';
import { synchronisesKind } from './folders.js';
import { mapDeletion, mapItem } from './map-item.js';

export interface PlanOptions {
  user: string;
  folder: FolderName;
  maxBodyLength: number;
  meetingRequestsResponses: boolean;
}

export interface PagePlan {
  changes: ItemChange[];
  /** Items of classes this type does not synchronise (a meeting request in the Inbox), for a debug record. */
  skipped: number;
  /** Item ids whose body was cut to sync.maxBodyLength. */
  truncated: string[];
  /** Items Exchange reported but would not give (or whose occurrences it would not give); recorded in exh_log. */
  unreadable: Array<{ itemId: string; code: string; message: string }>;
  /** The change key and `lastModified` of every item created or updated on the page (the conflict rule's facts). */
  versions: Map<string, ExchangeVersion>;
}

/**
 * What one page of Exchange changes means for the database: pure, so that every decision is tested without I/O
 * (plan, then execute). Creates become `add`, updates `chg`, deletions `del` with the key fields only. The
 * occurrences of recurring series are items of the page like any other (the adapter expands and tracks them:
 * SyncFolderOptions.occurrences).
 */
export function planPage(definition: ItemTypeDefinition, page: SyncPage, options: PlanOptions): PagePlan {
  const plan: PagePlan = { changes: [], skipped: 0, truncated: [], unreadable: [], versions: new Map() };
  // Every change says which Exchange version the row reflects once applied (exh_item_version): a deleted item's is
  // forgotten, an item's is its change key.
  for (const change of page.changes) {
    if (change.type === 'delete') {
      plan.changes.push({ action: 'del', fields: mapDeletion(change.itemId, options.user), changeKey: null });
      continue;
    }
    if (change.type === 'unreadable') {
      plan.unreadable.push({ itemId: change.itemId, ...change.error });
      continue;
    }
    const { item } = change;
    if (!synchronisesKind(definition, item.itemClass, options.meetingRequestsResponses)) {
      plan.skipped += 1;
      continue;
    }
    const mapped = mapItem(definition, item, options);
    if (mapped.truncated.length > 0) plan.truncated.push(item.id);
    plan.changes.push({
      action: change.type === 'create' ? 'add' : 'chg',
      fields: mapped.fields,
      changeKey: item.changeKey,
    });
    plan.versions.set(item.id, versionOf(item));
  }
  return plan;
}
