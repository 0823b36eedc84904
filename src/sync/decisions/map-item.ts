import { encodeAttachmentInfo } from '../../db/attachment-info.js';
import { type FieldDefinition, type ItemTypeDefinition, textKinds } from '../../items/definition.js';
import type { FieldValue } from '../../ports/database.port.js';
import type { AttachmentRef, ExchangeItem, ExchangeValue, FolderName, ItemWrite } from '../../ports/exchange.port.js';
import type { ItemProperty } from '../../ports/item-properties.js';

export interface MappingOptions {
  /** The mailbox the item was read from: exh_user. */
  user: string;
  folder: FolderName;
  /** sync.maxBodyLength: 0 keeps bodies whole. */
  maxBodyLength: number;
}

export interface MappedItem {
  /** Procedure parameters by field name (no exh_ prefix). */
  fields: Record<string, FieldValue>;
  /** Fields whose text was cut to maxBodyLength, so the caller can say so in the log. */
  truncated: string[];
}

/**
 * An Exchange item as the parameters of exh_from_exh_{add,chg}_{type}, driven by the item-type definition.
 *
 * An item read from Exchange is complete, so an empty text property becomes '' (clears the column: docs/database.md,
 * "NULL and empty text"); non-text kinds have no empty form and stay null. The application's id is the exception: an item
 * without the connector's extended property was made in Outlook, and null leaves the application's id alone.
 * A property the backend does not carry at all (absent from the item, not null: Microsoft To Do has no percent
 * complete) leaves its field out, so the template keeps the column and no comparison judges it.
 */
export function mapItem(definition: ItemTypeDefinition, item: ExchangeItem, options: MappingOptions): MappedItem {
  const fields: Record<string, FieldValue> = {};
  const truncated: string[] = [];
  for (const field of definition.fields) {
    const raw = readProperty(definition, field, item, options);
    if (raw === undefined && field.property !== undefined && !(field.property in item.properties)) continue;
    let value = convert(field, raw);
    if (field.kind === 'body' && typeof value === 'string' && options.maxBodyLength > 0) {
      if (value.length > options.maxBodyLength) {
        value = value.slice(0, options.maxBodyLength);
        truncated.push(field.name);
      }
    }
    fields[field.name] = value;
  }
  return { fields, truncated };
}

/** The key fields of a deletion: only the id and the mailbox are known once an item is gone. */
export function mapDeletion(itemId: string, user: string): Record<string, FieldValue> {
  return { item_id: itemId, app_item_id: null, user };
}

function readProperty(
  definition: ItemTypeDefinition,
  field: FieldDefinition,
  item: ExchangeItem,
  options: MappingOptions,
): ExchangeValue | undefined {
  switch (field.property) {
    case 'itemId':
      return item.id;
    case 'mailbox':
      return options.user;
    case 'folderDirection':
      return definition.folders.find((folder) => folder.name === options.folder)?.direction ?? null;
    case 'folderLabel':
      return definition.folders.find((folder) => folder.name === options.folder)?.label ?? null;
    default:
      return item.properties[field.property];
  }
}

/**
 * The application's fields as a write to Exchange: the writable fields present in `fields`, by their neutral
 * properties, for an item of the type's first class in its first folder. Read-only and key fields are left out.
 */
export function writeOf(definition: ItemTypeDefinition, fields: Readonly<Record<string, FieldValue>>): ItemWrite {
  const properties: Partial<Record<ItemProperty, FieldValue>> = {};
  const labels: Partial<Record<ItemProperty, string>> = {};
  for (const field of definition.fields) {
    const value = fields[field.name];
    if (field.readOnly || value === undefined) continue;
    const property = field.property as ItemProperty;
    properties[property] = value;
    labels[property] = `exh_${field.name}`;
  }
  return {
    itemClass: definition.itemClasses[0] as string,
    folder: (definition.folders[0] as { name: FolderName }).name,
    properties,
    labels,
  };
}

function convert(field: FieldDefinition, raw: ExchangeValue | undefined): FieldValue {
  if (field.kind === 'appItemId') return typeof raw === 'string' && raw !== '' ? raw : null;
  if (raw === undefined || raw === null) return textKinds.has(field.kind) ? '' : null;
  switch (field.kind) {
    case 'attachments':
      return Array.isArray(raw) ? encodeAttachmentInfo(raw as AttachmentRef[]) : String(raw);
    case 'boolean':
      return typeof raw === 'boolean' ? raw : raw === 'true';
    case 'integer':
      return typeof raw === 'number' ? raw : Number.parseInt(String(raw), 10);
    case 'timestamp':
      return new Date(String(raw));
    case 'date':
      // A birthday is a day, whatever the time zone: keep the date part Exchange stored.
      return String(raw).slice(0, 10);
    default:
      return Array.isArray(raw)
        ? raw.map((entry) => (typeof entry === 'string' ? entry : entry.name)).join('; ')
        : String(raw);
  }
}
