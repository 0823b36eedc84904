import {
  type ItemTypeDefinition,
  itemType,
  synchronisesItemClass,
  itemTypeOfFolder as typeReading,
} from '../../items/index.js';
import type { ItemTypeName } from '../../ports/database.port.js';
import type { FolderName } from '../../ports/item-properties.js';

/** Where each item type lives in a mailbox, as its definition says (e-mail: Inbox and Sent Items). */
export function foldersOf(name: ItemTypeName): FolderName[] {
  return itemType(name).folders.map((folder) => folder.name);
}

export function itemTypeOfFolder(folder: FolderName): ItemTypeName {
  const definition = typeReading(folder);
  if (!definition) throw new Error(`no item type reads folder ${folder}`);
  return definition.name;
}

/** Whether an item of `itemClass` is one the type synchronises; anything else in its folders is skipped. */
export function synchronisesKind(
  definition: ItemTypeDefinition,
  itemClass: string,
  meetingRequestsResponses: boolean,
): boolean {
  return synchronisesItemClass(definition, itemClass, { meetingRequestsResponses });
}
