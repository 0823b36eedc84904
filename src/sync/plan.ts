import type { ItemTypeDefinition } from '../items/definition.js';
import type { ItemChange } from '../ports/database.port.js';
import type { ExchangeItem, FolderName, SyncPage } from '../ports/exchange.port.js';
import { type ExchangeVersion, versionOf } from './conflicts.js';
import { synchronisesKind } from './folders.js';
import { mapDeletion, mapItem } from './map-item.js';
import type { SeriesState } from './watermark.js';

export interface PlanOptions {
  user: string;
  folder: FolderName;
  maxBodyLength: number;
  meetingRequestsResponses: boolean;
  /** Occurrences read for the recurring masters on this page (sync.maxSyncedRecurrences), by master id. */
  occurrences?: ReadonlyMap<string, readonly ExchangeItem[]>;
  /** The occurrence ids synchronised last time, per master. */
  series?: SeriesState;
  /** Masters whose occurrences could not be read this time: what is held for them stays as it is. */
  occurrencesUnknown?: ReadonlySet<string>;
}

export interface PagePlan {
  changes: ItemChange[];
  /** Items of classes this type does not synchronise (a meeting request in the Inbox), for a debug record. */
  skipped: number;
  /** Item ids whose body was cut to sync.maxBodyLength. */
  truncated: string[];
  /** The occurrence ids held after this page, per master. */
  series: SeriesState;
  /** Items Exchange reported but would not give; the caller records them in exh_log. */
  unreadable: Array<{ itemId: string; code: string; message: string }>;
  /** The change key and `lastModified` of every item created or updated on the page (the conflict rule's facts). */
  versions: Map<string, ExchangeVersion>;
}

/**
 * What one page of Exchange changes means for the database: pure, so that every decision is tested without I/O
 * (plan, then execute). Creates become `add`, updates `chg`, deletions `del` with the key fields only.
 */
export function planPage(definition: ItemTypeDefinition, page: SyncPage, options: PlanOptions): PagePlan {
  const series: SeriesState = { ...options.series };
  const plan: PagePlan = { changes: [], skipped: 0, truncated: [], series, unreadable: [], versions: new Map() };
  // Every change says which Exchange version the row reflects once applied (exh_item_version): a deleted item's is
  // forgotten, a read flag's is unknown ('': Exchange does not say it), an item's is its change key.
  const deleteAll = (ids: readonly string[]) => {
    for (const id of ids) plan.changes.push({ action: 'del', fields: mapDeletion(id, options.user), changeKey: null });
  };
  for (const change of page.changes) {
    if (change.type === 'delete') {
      plan.changes.push({ action: 'del', fields: mapDeletion(change.itemId, options.user), changeKey: null });
      // A deleted series takes its occurrences with it.
      deleteAll(series[change.itemId] ?? []);
      delete series[change.itemId];
      continue;
    }
    if (change.type === 'unreadable') {
      plan.unreadable.push({ itemId: change.itemId, ...change.error });
      continue;
    }
    if (!synchronisesKind(definition, change.item.itemClass, options.meetingRequestsResponses)) {
      plan.skipped += 1;
      continue;
    }
    const occurrences = options.occurrences?.get(change.item.id);
    if (!occurrences && series[change.item.id] && !options.occurrencesUnknown?.has(change.item.id)) {
      // No longer recurring (or recurrences no longer synchronised): the occurrence rows held go.
      deleteAll(series[change.item.id] ?? []);
      delete series[change.item.id];
    }
    if (occurrences) {
      const now = occurrences.map((occurrence) => occurrence.id);
      // An occurrence deleted in Exchange is simply absent now: delete the row of every id held before and gone.
      deleteAll((series[change.item.id] ?? []).filter((id) => !now.includes(id)));
      series[change.item.id] = now;
    }
    const items = [change.item, ...(occurrences ?? [])];
    for (const item of items) {
      const mapped = mapItem(definition, item, options);
      if (mapped.truncated.length > 0) plan.truncated.push(item.id);
      // An occurrence is new to the database even when its series was only changed.
      plan.changes.push({
        action: change.type === 'create' || item !== change.item ? 'add' : 'chg',
        fields: mapped.fields,
        changeKey: item.changeKey,
      });
      plan.versions.set(item.id, versionOf(item));
    }
  }
  return plan;
}
