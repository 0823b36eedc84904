import type { ItemAction, ItemTypeName } from '../ports/database.port.js';

/**
 * An item type (calendar, contact, email, task) is one definition from which everything type-specific is derived:
 * the base project's columns and procedure parameters (src/db/sql), the outbox payload decoding (src/db) and the
 * mapping to Exchange (the synchronisation code, through `exchangeProperty`). Adding a type is adding a file next to
 * this one and one line in ./index.ts.
 */

/**
 * What a field holds. The SQL type of every dialect follows from the kind (src/db/sql/types.ts), so that the seed's
 * points of attention hold everywhere: item ids compared case-sensitively, bodies in NVARCHAR(MAX) / DBCLOB.
 */
export const fieldKinds = [
  /** An Exchange item id: case-sensitive, up to 512 characters. */
  'itemId',
  /** The application's own id of the item (the seed's exh_app_item_id). */
  'appItemId',
  /** A mailbox (SMTP address), the seed's exh_user. */
  'user',
  /** A single line of text up to 1000 characters (subject, name, phone number, address line). */
  'text',
  /** A short code out of a fixed set (importance, sensitivity, status, body type, direction). */
  'code',
  /** Text without a practical limit that is not a body (recipient lists, categories, recurrence). */
  'longText',
  /** A body or notes, possibly HTML (seed: NVARCHAR(MAX) on SQL Server, DBCLOB on DB2). */
  'body',
  /** `name: id; name: id;` (src/db/attachment-info.ts). */
  'attachments',
  'boolean',
  'integer',
  /** A point in time (UTC where the dialect has no time zone). */
  'timestamp',
  /** A calendar date without time (birthday). */
  'date',
] as const;
export type FieldKind = (typeof fieldKinds)[number];

/** Kinds whose values are text: for these NULL leaves a value unchanged and '' clears it (seed, points of attention). */
export const textKinds: ReadonlySet<FieldKind> = new Set<FieldKind>([
  'itemId',
  'appItemId',
  'user',
  'text',
  'code',
  'longText',
  'body',
  'attachments',
]);

export interface FieldDefinition {
  /** Without the prefix: the column and the procedure parameter are `exh_` + name (`start` → `exh_start`). */
  readonly name: string;
  readonly kind: FieldKind;
  /**
   * The Exchange property the synchronisation reads and writes for this field, as a plain string (no EWS types):
   * `Subject`, `Start`, indexed ones as `PhoneNumbers[BusinessPhone]`, sub-properties as
   * `PhysicalAddresses[Business].Street`. Names starting with `exh:` are derived by the connector, not read as such.
   */
  readonly exchangeProperty: string;
  readonly description: string;
}

export interface ItemTypeDefinition {
  readonly name: ItemTypeName;
  /** The seed's number for this type in exh_sync_item's `exh_item` parameter. */
  readonly code: number;
  readonly description: string;
  /** Every field in parameter order: app_item_id, item_id, user, the type's own fields, then attachments. */
  readonly fields: readonly FieldDefinition[];
  readonly hasAttachments: boolean;
  readonly procedures: {
    /** Called by the connector for each change from Exchange; the application fills them in. */
    readonly fromExh: Readonly<Record<ItemAction, string>>;
    /** Called by the application to send a change to Exchange. */
    readonly toExh: Readonly<Record<ItemAction, string>>;
    /** Returns the application's items for a resynchronisation towards Exchange (exh_sync_item, direction 1). */
    readonly getItem: string;
  };
}

export const itemActions: readonly ItemAction[] = ['add', 'chg', 'del'];

/** Column and parameter prefix of every field (seed: exh_item_id, exh_subject, ...). */
export const fieldPrefix = 'exh_';

export function columnName(field: Pick<FieldDefinition, 'name'>): string {
  return `${fieldPrefix}${field.name}`;
}

export function field(name: string, kind: FieldKind, exchangeProperty: string, description: string): FieldDefinition {
  return { name, kind, exchangeProperty, description };
}

/**
 * The fields every item type starts with; they identify the item in both systems. Their order is the seed's (its
 * trigger sample passes @_exh_app_item_id, @_exh_item_id, @_exh_user positionally to exh_to_exh_*), so existing
 * triggers that call by position keep working.
 */
export const keyFields: readonly FieldDefinition[] = [
  field(
    'app_item_id',
    'appItemId',
    'exh:AppItemId',
    "The application's id of the item, stored on the Exchange item as an extended property so that its echo finds the row.",
  ),
  field('item_id', 'itemId', 'Id', 'The Exchange item id (case-sensitive); null until the item exists in Exchange.'),
  field('user', 'user', 'exh:Mailbox', 'The mailbox (SMTP address) this copy of the item belongs to.'),
];

const attachmentsField = field(
  'attachments',
  'attachments',
  'Attachments',
  'The attachments as "name: id; name: id;" (escaping: docs/database.md); the bytes are downloaded on request.',
);

export interface ItemTypeSpec {
  name: ItemTypeName;
  code: number;
  description: string;
  /** The type's own fields, without the key fields and without attachments. */
  fields: readonly FieldDefinition[];
  hasAttachments: boolean;
}

/** Builds a definition: adds the key fields and attachments and derives the procedure names. */
export function defineItemType(spec: ItemTypeSpec): ItemTypeDefinition {
  const fields = [...keyFields, ...spec.fields, ...(spec.hasAttachments ? [attachmentsField] : [])];
  const names = new Set<string>();
  for (const f of fields) {
    if (!/^[a-z][a-z0-9_]*$/.test(f.name)) throw new Error(`${spec.name}: field name "${f.name}" is not snake_case`);
    if (names.has(f.name)) throw new Error(`${spec.name}: field "${f.name}" is defined twice`);
    names.add(f.name);
  }
  const byAction = (prefix: string) =>
    Object.fromEntries(itemActions.map((action) => [action, `${prefix}_${action}_${spec.name}`])) as Record<
      ItemAction,
      string
    >;
  return {
    name: spec.name,
    code: spec.code,
    description: spec.description,
    fields,
    hasAttachments: spec.hasAttachments,
    procedures: {
      fromExh: byAction('exh_from_exh'),
      toExh: byAction('exh_to_exh'),
      getItem: `exh_get_item_${spec.name}`,
    },
  };
}

/**
 * The fields a procedure for `action` takes, in order: every field for add and chg, only the key fields for del
 * (seed: the delete template matches on exh_item_id, exh_app_item_id and exh_user only).
 */
export function procedureFields(definition: ItemTypeDefinition, action: ItemAction): readonly FieldDefinition[] {
  return action === 'del' ? definition.fields.slice(0, keyFields.length) : definition.fields;
}

export function findField(definition: ItemTypeDefinition, name: string): FieldDefinition | undefined {
  return definition.fields.find((f) => f.name === name);
}
