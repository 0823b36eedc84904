import type { FolderName } from '../../../ports/exchange.port.js';
import { at, entries, idAttr, textOf, type XmlValue } from '../xml.js';

/**
 * What a notification says, reduced to what the connector uses: which of the subscribed folders to look at again.
 * The events themselves are not trusted for content (SyncFolderItems reads what changed), so an event whose folder
 * cannot be told marks every subscribed folder.
 */

export interface NotificationSummary {
  subscriptionId: string;
  /** Folder ids named by the events (ParentFolderId, OldParentFolderId, FolderId), and whether any named none. */
  folderIds: string[];
  /** Events other than StatusEvent. */
  changes: number;
  /** A StatusEvent: Exchange says the subscription is alive. */
  status: boolean;
}

/** One EWS `Notification` element. */
export function summarize(notification: XmlValue): NotificationSummary {
  const summary: NotificationSummary = {
    subscriptionId: textOf(notification, 'SubscriptionId')?.trim() ?? '',
    folderIds: [],
    changes: 0,
    status: false,
  };
  for (const [name, event] of entries(notification)) {
    if (!name.endsWith('Event')) continue;
    if (name === 'StatusEvent') {
      summary.status = true;
      continue;
    }
    summary.changes++;
    for (const element of ['ParentFolderId', 'OldParentFolderId', 'FolderId', 'OldFolderId']) {
      const id = idAttr(at(event, element));
      if (id) summary.folderIds.push(id);
    }
  }
  return summary;
}

/** The subscribed folders a set of events concerns; all of them when no event names a folder the connection knows. */
export function changedFolders(
  folderIds: readonly string[],
  subscribed: readonly FolderName[],
  folderNames: ReadonlyMap<string, FolderName>,
): FolderName[] {
  const found = new Set<FolderName>();
  for (const id of folderIds) {
    const name = folderNames.get(id);
    if (name && subscribed.includes(name)) found.add(name);
  }
  return found.size > 0 ? subscribed.filter((f) => found.has(f)) : [...subscribed];
}
