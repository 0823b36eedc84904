import type { OperationContext } from '../context.js';
import { EwsError } from '../soap/response-codes.js';
import { changeKeyOf } from '../store/ids.js';
import type { StoredFolder } from '../store/model.js';
import { children, type XmlNode } from '../xml/node.js';
import { el, textEl } from '../xml/write.js';

/**
 * A folder in a FolderShape, as Exchange answers GetFolder, FindFolder and SyncFolderHierarchy: the base shape's
 * properties and the AdditionalProperties asked for, in BaseFolderType order.
 *
 * - IdOnly: FolderId.
 * - Default: FolderId, DisplayName, TotalCount, ChildFolderCount, and UnreadCount where the folder type has it.
 * - AllProperties: also ParentFolderId, FolderClass and EffectiveRights (the owner's: everything).
 *
 * AdditionalProperties add any `folder:` FieldURI to any base shape (IdOnly + DisplayName is how exchangelib walks a
 * tree). Extended properties asked for are left out, as Exchange leaves out the ones a folder does not have (the
 * emulator keeps none on folders); properties the emulator does not keep (PermissionSet, ManagedFolderInformation,
 * PolicyTag, …) are left out likewise. A FieldURI that is not a folder property is ErrorInvalidPropertyRequest.
 */

/** The folder properties in schema order (BaseFolderType, then FolderType / CalendarFolderType / SearchFolderType). */
const order = [
  'FolderId',
  'ParentFolderId',
  'FolderClass',
  'DisplayName',
  'TotalCount',
  'ChildFolderCount',
  'EffectiveRights',
  'DistinguishedFolderId',
  'UnreadCount',
] as const;
type FolderProperty = (typeof order)[number];

/** The `folder:` FieldURIs of types.xsd (UnindexedFieldURIType); those the emulator has no value for answer nothing. */
const folderFieldUris = new Set([
  'folder:FolderId',
  'folder:ParentFolderId',
  'folder:DisplayName',
  'folder:UnreadCount',
  'folder:TotalCount',
  'folder:ChildFolderCount',
  'folder:FolderClass',
  'folder:SearchParameters',
  'folder:ManagedFolderInformation',
  'folder:PermissionSet',
  'folder:EffectiveRights',
  'folder:SharingEffectiveRights',
  'folder:DistinguishedFolderId',
  'folder:PolicyTag',
  'folder:ArchiveTag',
  'folder:ReplicaList',
]);

const baseShapes: Record<string, readonly FolderProperty[]> = {
  IdOnly: ['FolderId'],
  Default: ['FolderId', 'DisplayName', 'TotalCount', 'ChildFolderCount', 'UnreadCount'],
  AllProperties: [
    'FolderId',
    'ParentFolderId',
    'FolderClass',
    'DisplayName',
    'TotalCount',
    'ChildFolderCount',
    'EffectiveRights',
    'UnreadCount',
  ],
};

/** The properties a FolderShape asks for; checked once per request, before any folder is read. */
export function folderProperties(baseShape: string, additional: XmlNode | undefined): Set<FolderProperty> {
  const wanted = new Set<FolderProperty>(baseShapes[baseShape] ?? baseShapes.Default);
  for (const path of children(additional)) {
    if (path.n === 'ExtendedFieldURI') continue;
    const uri = path.a?.FieldURI ?? '';
    if (path.n !== 'FieldURI' || !folderFieldUris.has(uri)) {
      throw new EwsError('ErrorInvalidPropertyRequest', `${uri || path.n} is not a folder property.`);
    }
    const name = uri.slice('folder:'.length);
    if ((order as readonly string[]).includes(name)) wanted.add(name as FolderProperty);
  }
  return wanted;
}

function folderIdXml(name: string, folder: StoredFolder): string {
  return el(`t:${name}`, { Id: folder.id, ChangeKey: changeKeyOf(folder.id, folder.version) });
}

/** The mailbox owner's rights on their own folders (impersonation acts as the owner). */
const ownerRights =
  '<t:EffectiveRights><t:CreateAssociated>true</t:CreateAssociated><t:CreateContents>true</t:CreateContents>' +
  '<t:CreateHierarchy>true</t:CreateHierarchy><t:Delete>true</t:Delete><t:Modify>true</t:Modify>' +
  '<t:Read>true</t:Read><t:ViewPrivateItems>true</t:ViewPrivateItems></t:EffectiveRights>';

/** Folder types derived from FolderType carry UnreadCount; CalendarFolder and ContactsFolder do not. */
function hasUnreadCount(folder: StoredFolder): boolean {
  return folder.element === 'Folder' || folder.element === 'TasksFolder' || folder.element === 'SearchFolder';
}

export function renderFolderWith(folder: StoredFolder, wanted: Set<FolderProperty>, ctx: OperationContext): string {
  const mailbox = ctx.mailbox;
  let inner = '';
  for (const property of order) {
    if (!wanted.has(property)) continue;
    switch (property) {
      case 'FolderId':
        inner += folderIdXml('FolderId', folder);
        break;
      case 'ParentFolderId': {
        const parent = folder.parentId ? mailbox.folders.get(folder.parentId) : undefined;
        if (parent) inner += folderIdXml('ParentFolderId', parent);
        break;
      }
      case 'FolderClass':
        if (folder.folderClass) inner += textEl('t:FolderClass', folder.folderClass);
        break;
      case 'DisplayName':
        inner += textEl('t:DisplayName', folder.displayName);
        break;
      case 'TotalCount':
        inner += textEl('t:TotalCount', mailbox.itemsIn(folder.id).size);
        break;
      case 'ChildFolderCount': {
        let count = 0;
        for (const other of mailbox.folders.values()) if (other.parentId === folder.id) count++;
        inner += textEl('t:ChildFolderCount', count);
        break;
      }
      case 'EffectiveRights':
        inner += ownerRights;
        break;
      case 'DistinguishedFolderId':
        if (folder.distinguished) inner += textEl('t:DistinguishedFolderId', folder.distinguished);
        break;
      case 'UnreadCount':
        if (hasUnreadCount(folder)) inner += textEl('t:UnreadCount', mailbox.unreadCount(folder.id));
        break;
    }
  }
  return el(`t:${folder.element}`, undefined, inner);
}

/** A folder in a base shape with optional AdditionalProperties (the FolderShape's child). */
export function renderFolder(
  folder: StoredFolder,
  baseShape: string,
  ctx: OperationContext,
  additional?: XmlNode,
): string {
  return renderFolderWith(folder, folderProperties(baseShape, additional), ctx);
}
