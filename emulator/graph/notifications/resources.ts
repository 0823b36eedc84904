import type { Mailbox } from '../../store/mailbox.js';
import type { MailboxEvent } from '../../store/model.js';
import { graphIdOf, restIdOf, tombstoneId } from '../ids.js';
import { userIdOf } from '../resources/users.js';

export { userIdOf };

/**
 * The Outlook resources a Graph subscription may watch (https://learn.microsoft.com/graph/outlook-change-notifications-overview)
 * and how the mailbox's event log turns into Graph changes on them. A subscription names its mailbox as
 * `users/{upn or id}/…` (app-only tokens have no `me`), with or without a leading slash:
 * `mailFolders('inbox')/messages`, `mailFolders('sentitems')/messages` (also `mailFolders/inbox/messages`), `messages`
 * (every mail folder), `events`, `contacts`.
 */

export type Scope = 'inbox' | 'sentitems' | 'messages' | 'events' | 'contacts';
export type ChangeType = 'created' | 'updated' | 'deleted';

export interface WatchedResource {
  /** The mailbox as the resource names it (an address or a user id). */
  user: string;
  scope: Scope;
}

const folderNames: Record<string, Scope> = { inbox: 'inbox', sentitems: 'sentitems' };

/** The resource a subscription names, or undefined when the emulator does not serve subscriptions on it. */
export function parseResource(resource: string): WatchedResource | undefined {
  const path = resource.trim().replace(/^\/+/, '').replace(/\/+$/, '');
  const match = /^users(?:\/([^/()]+)|\('([^']+)'\))\/(.+)$/i.exec(path);
  const user = decodeURIComponent(match?.[1] ?? match?.[2] ?? '');
  const rest = match?.[3]?.toLowerCase();
  if (!user || !rest) return undefined;
  if (rest === 'events') return { user, scope: 'events' };
  if (rest === 'contacts') return { user, scope: 'contacts' };
  if (rest === 'messages') return { user, scope: 'messages' };
  const folder = /^mailfolders(?:\('([^']+)'\)|\/([^/]+))\/messages$/.exec(rest);
  const name = folder?.[1] ?? folder?.[2];
  const scope = name ? folderNames[name] : undefined;
  return scope ? { user, scope } : undefined;
}

/** The folders a scope covers in a mailbox (undefined: every mail folder). */
function foldersOf(mailbox: Mailbox, scope: Scope): Set<string> | undefined {
  switch (scope) {
    case 'inbox':
      return new Set([mailbox.folder('inbox').id]);
    case 'sentitems':
      return new Set([mailbox.folder('sentitems').id]);
    case 'events':
      return new Set([mailbox.folder('calendar').id]);
    case 'contacts':
      return new Set([mailbox.folder('contacts').id]);
    case 'messages':
      return undefined;
  }
}

const odataTypes: Record<Scope, { type: string; segment: string }> = {
  inbox: { type: '#Microsoft.Graph.Message', segment: 'Messages' },
  sentitems: { type: '#Microsoft.Graph.Message', segment: 'Messages' },
  messages: { type: '#Microsoft.Graph.Message', segment: 'Messages' },
  events: { type: '#Microsoft.Graph.Event', segment: 'Events' },
  contacts: { type: '#Microsoft.Graph.Contact', segment: 'Contacts' },
};

/** Item kinds a scope reports (a meeting request in the Inbox is a message; an appointment is an event). */
function kindFits(scope: Scope, kind: string | undefined): boolean {
  if (kind === undefined) return true;
  if (scope === 'events') return kind === 'CalendarItem';
  if (scope === 'contacts') return kind === 'Contact';
  return kind === 'Message' || kind.startsWith('Meeting');
}

/**
 * The Graph id of an item named in an event, as the resources give it (ids.ts): the REST form of its EWS id, or its
 * immutable id when the subscription asked for immutable ids (a deleted item's from its tombstone).
 */
export function graphItemId(mailbox: Mailbox, ewsId: string, immutable: boolean): string {
  const item = mailbox.items.get(ewsId);
  if (item) return graphIdOf(item, immutable);
  if (immutable) {
    for (const list of mailbox.tombstones.values()) {
      const tombstone = list.find((t) => t.id === ewsId);
      if (tombstone) return tombstoneId(tombstone, true);
    }
  }
  return restIdOf(ewsId);
}

export interface Change {
  changeType: ChangeType;
  /** EWS id of the item the change is about. */
  itemId: string;
  changeKey?: string;
}

/**
 * What one entry of the event log means for a subscription on this scope, as Graph reports it: an item created in (or
 * moved or copied into) a watched folder is `created`, changed there `updated`, deleted there (or moved out) `deleted`.
 * Folder events and NewMailEvent (the CreatedEvent already told) report nothing.
 */
export function changesFor(mailbox: Mailbox, scope: Scope, event: MailboxEvent): Change[] {
  if (!event.itemId || event.type === 'NewMailEvent' || event.type === 'FreeBusyChangedEvent') return [];
  const folders = foldersOf(mailbox, scope);
  const inScope = (folderId: string | undefined) =>
    folderId !== undefined && (folders ? folders.has(folderId) : isMailFolder(mailbox, folderId));
  const kind = mailbox.items.get(event.itemId)?.kind;
  if (!kindFits(scope, kind)) return [];
  const changeKey = event.changeKey;
  switch (event.type) {
    case 'CreatedEvent':
    case 'CopiedEvent':
      return inScope(event.parentFolderId) ? [{ changeType: 'created', itemId: event.itemId, ...key(changeKey) }] : [];
    case 'ModifiedEvent':
      return inScope(event.parentFolderId) ? [{ changeType: 'updated', itemId: event.itemId, ...key(changeKey) }] : [];
    case 'DeletedEvent':
      return inScope(event.parentFolderId) ? [{ changeType: 'deleted', itemId: event.itemId }] : [];
    case 'MovedEvent': {
      const out: Change[] = [];
      if (event.oldItemId && inScope(event.oldParentFolderId) && !inScope(event.parentFolderId))
        out.push({ changeType: 'deleted', itemId: event.oldItemId });
      if (inScope(event.parentFolderId) && !inScope(event.oldParentFolderId))
        out.push({ changeType: 'created', itemId: event.itemId, ...key(changeKey) });
      if (inScope(event.parentFolderId) && inScope(event.oldParentFolderId))
        out.push({ changeType: 'updated', itemId: event.itemId, ...key(changeKey) });
      return out;
    }
    default:
      return [];
  }
}

function key(changeKey: string | undefined): { changeKey?: string } {
  return changeKey ? { changeKey } : {};
}

function isMailFolder(mailbox: Mailbox, folderId: string): boolean {
  const folder = mailbox.folders.get(folderId);
  return folder?.folderClass === 'IPF.Note';
}

/** The `resource` and `resourceData` of a change notification (Graph's capitalised `Users/{id}/Messages/{id}`). */
export function resourceOf(
  mailbox: Mailbox,
  scope: Scope,
  change: Change,
  immutable: boolean,
): { resource: string; resourceData: Record<string, string> } {
  const id = graphItemId(mailbox, change.itemId, immutable);
  const { type, segment } = odataTypes[scope];
  const resource = `Users/${userIdOf(mailbox)}/${segment}/${id}`;
  const resourceData: Record<string, string> = { '@odata.type': type, '@odata.id': resource };
  if (change.changeKey) resourceData['@odata.etag'] = `W/"${change.changeKey}"`;
  resourceData.id = id;
  return { resource, resourceData };
}
