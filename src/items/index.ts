import type { ItemTypeName } from '../ports/database.port.js';
import { calendar } from './calendar.js';
import { contact } from './contact.js';
import type { ItemTypeDefinition } from './definition.js';
import { email } from './email.js';
import { task } from './task.js';

export * from './definition.js';

/** Every item type, in the seed's numbering (exh_sync_item's exh_item: 0 calendar, 1 contact, 2 email, 3 task). */
export const itemTypes: readonly ItemTypeDefinition[] = [calendar, contact, email, task];

const byName = new Map(itemTypes.map((definition) => [definition.name, definition]));

export function itemType(name: ItemTypeName): ItemTypeDefinition {
  const definition = byName.get(name);
  if (!definition) throw new Error(`No item-type definition for "${name}"`);
  return definition;
}

export function itemTypeByCode(code: number): ItemTypeDefinition | undefined {
  return itemTypes.find((definition) => definition.code === code);
}

export { calendar, contact, email, task };
