import type { FieldDefinition, ItemTypeDefinition } from '../../items/definition.js';
import { findField, keyFields } from '../../items/definition.js';

/**
 * What the example application's scripts (sql/postgres/example-app.sql, sql/mssql/example-app.sql) share: an
 * `app_user` table, one `<type>_item` table per item type with the definition's columns, the from_exh templates
 * filled in (docs/database.md, "Matching items"), and triggers that send the application's own changes to Exchange.
 */

export const appUserTable = 'app_user';

export const appTable = (definition: ItemTypeDefinition) => `${definition.name}_item`;

/** The example tables' surrogate key; exh_app_item_id is not unique: a row per attendee (docs/database.md, "Matching
 * items"). */
export const appKey = 'id';

export const isKeyField = (f: FieldDefinition) => keyFields.some((k) => k.name === f.name);

/** The fields an upsert writes besides the keys. */
export const valueFields = (definition: ItemTypeDefinition) => definition.fields.filter((f) => !isKeyField(f));

/** exh_get_item_{type}'s date ranges, mapped to the type's fields where it has them. */
export function rangeFilters(definition: ItemTypeDefinition): { from: string; until: string; column: string }[] {
  const ranges: [range: string, fieldName: string][] = [
    ['created', 'created'],
    ['modified', 'last_modified'],
    ['received', 'received'],
    ['start', 'start'],
  ];
  return ranges.flatMap(([range, fieldName]) =>
    findField(definition, fieldName)
      ? [{ from: `exh_${range}_from`, until: `exh_${range}_until`, column: `exh_${fieldName}` }]
      : [],
  );
}
