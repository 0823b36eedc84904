import type { ItemTypeName } from '../ports/database.port.js';
import type { FolderName } from '../ports/item-properties.js';
import { calendar } from './calendar.js';
import { contact } from './contact.js';
import type { ItemTypeDefinition } from './definition.js';
import { email } from './email.js';
import { task } from './task.js';

export * from './definition.js';

/**
 * The item-type registry: every type the connector synchronises, built in or registered. Everything type-specific
 * is read from here when it is used (the SQL, the listener's and the CLI's validation, the folders to read and to
 * subscribe to), so a type registered before the connector starts is a type like the others (docs/extending.md).
 */
const registered: ItemTypeDefinition[] = [];

/** Every item type, in the order of their numbers (0 calendar, 1 contact, 2 email, 3 task, then registered ones). */
export const itemTypes: readonly ItemTypeDefinition[] = registered;

/**
 * Adds a type. Its name, its number and the folders it reads must be its own: a folder read by two types would
 * make a change in it belong to both.
 */
export function registerItemType(definition: ItemTypeDefinition): ItemTypeDefinition {
  const clash = registered.find(
    (other) =>
      other.name === definition.name ||
      other.code === definition.code ||
      other.folders.some((folder) => definition.folders.some((mine) => mine.name === folder.name)),
  );
  if (clash === definition) return definition;
  if (clash) {
    throw new Error(
      `item type "${definition.name}" (number ${definition.code}) clashes with "${clash.name}" (number ` +
        `${clash.code}): names, numbers and folders must be unique`,
    );
  }
  registered.push(definition);
  registered.sort((a, b) => a.code - b.code);
  return definition;
}

/** Removes a registered type again (tests that register their own). Built-in types stay. */
export function unregisterItemType(name: ItemTypeName): void {
  if (builtIn.some((definition) => definition.name === name)) throw new Error(`"${name}" is built in`);
  const index = registered.findIndex((definition) => definition.name === name);
  if (index >= 0) registered.splice(index, 1);
}

const builtIn = [calendar, contact, email, task];
for (const definition of builtIn) registerItemType(definition);

export function itemTypeNames(): ItemTypeName[] {
  return registered.map((definition) => definition.name);
}

export function isItemTypeName(name: unknown): name is ItemTypeName {
  return typeof name === 'string' && registered.some((definition) => definition.name === name);
}

export function itemType(name: ItemTypeName): ItemTypeDefinition {
  const definition = registered.find((candidate) => candidate.name === name);
  if (!definition) throw new Error(`No item-type definition for "${name}"`);
  return definition;
}

export function itemTypeByCode(code: number): ItemTypeDefinition | undefined {
  return registered.find((definition) => definition.code === code);
}

/** The folders a type reads, by name. */
export function foldersOf(name: ItemTypeName): FolderName[] {
  return itemType(name).folders.map((folder) => folder.name);
}

/** The type that reads `folder`; undefined for a folder no type reads (drafts). */
export function itemTypeOfFolder(folder: FolderName): ItemTypeDefinition | undefined {
  return registered.find((definition) => definition.folders.some((entry) => entry.name === folder));
}

export { calendar, contact, email, task };
