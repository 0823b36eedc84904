import type { MailFolder } from '@microsoft/microsoft-graph-types';
import type { Mailbox } from '../../store/mailbox.js';
import type { StoredFolder } from '../../store/model.js';
import { notFound } from '../http.js';
import { ewsIdOf, folderGraphId } from '../ids.js';

/**
 * Folders as Graph names them: a well-known name (inbox, drafts, sentitems, deleteditems, junkemail, outbox,
 * msgfolderroot, contacts, calendar, tasks) or the folder's id (https://learn.microsoft.com/graph/api/resources/mailfolder).
 */

export function folderByGraphName(mailbox: Mailbox, name: string): StoredFolder {
  const folder = mailbox.byDistinguished.get(name.toLowerCase()) ?? mailbox.folders.get(ewsIdOf(name));
  if (!folder) throw notFound(`The specified folder could not be found in the store.`, 'ErrorFolderNotFound');
  return folder;
}

const mailElements = new Set(['Folder']);

export function isMailFolder(folder: StoredFolder): boolean {
  return mailElements.has(folder.element) && (folder.folderClass === undefined || folder.folderClass === 'IPF.Note');
}

export function renderMailFolder(mailbox: Mailbox, folder: StoredFolder): MailFolder & Record<string, unknown> {
  const items = [...mailbox.itemsIn(folder.id).values()];
  return {
    id: folderGraphId(folder.id),
    displayName: folder.displayName,
    parentFolderId: folder.parentId ? folderGraphId(folder.parentId) : null,
    childFolderCount: [...mailbox.folders.values()].filter((f) => f.parentId === folder.id && isMailFolder(f)).length,
    unreadItemCount: mailbox.unreadCount(folder.id),
    totalItemCount: items.length,
    isHidden: false,
    ...(folder.distinguished ? { wellKnownName: folder.distinguished } : {}),
  };
}

export function renderContactFolder(folder: StoredFolder): Record<string, unknown> {
  return {
    id: folderGraphId(folder.id),
    displayName: folder.displayName,
    parentFolderId: folder.parentId ? folderGraphId(folder.parentId) : null,
  };
}

/** To Do's lists: the Tasks folder is the list with wellknownListName defaultList. */
export function renderTodoList(folder: StoredFolder, tasksFolderId: string): Record<string, unknown> {
  return {
    '@odata.etag': `W/"${folder.version}"`,
    id: folderGraphId(folder.id),
    displayName: folder.displayName,
    isOwner: true,
    isShared: false,
    wellknownListName: folder.id === tasksFolderId ? 'defaultList' : 'none',
  };
}

/** The user's default calendar (https://learn.microsoft.com/graph/api/resources/calendar). */
export function renderCalendar(mailbox: Mailbox, folder: StoredFolder): Record<string, unknown> {
  return {
    id: folderGraphId(folder.id),
    name: folder.displayName,
    isDefaultCalendar: true,
    canEdit: true,
    canShare: true,
    canViewPrivateItems: true,
    owner: { name: mailbox.displayName, address: mailbox.address },
  };
}
