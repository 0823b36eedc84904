import type { FieldValue, ItemAction, ItemTypeName } from '../ports/database.port.js';
import type { DerivedProperty, FolderName, ItemProperty } from '../ports/item-properties.js';

/**
 * An item type (calendar, contact, email, task) is one definition from which everything type-specific is derived:
 * its name and number on the wire, the folders it lives in and the item classes it synchronises, its fields with
 * their neutral Exchange properties (src/ports/item-properties.ts) and which of them are read-only, the base
 * project's columns and procedures (src/db/sql), the listener's and the CLI's validation, and the behaviour it adds
 * to the generic flow. Adding a type is adding a file next to this one and one line in ./index.ts, or registering
 * it with `registerItemType` before the connector starts (docs/extending.md).
 */

/**
 * What a field holds. The SQL type of every dialect follows from the kind (src/db/sql/types.ts), so that the rules of
 * docs/database.md, "Types" hold everywhere: item ids compared case-sensitively, bodies in NVARCHAR(MAX) / DBCLOB.
 */
export const fieldKinds = [
  /** An Exchange item id: case-sensitive, up to 512 characters. */
  'itemId',
  /** The application's own id of the item, exh_app_item_id (docs/database.md, "Columns and parameters"). */
  'appItemId',
  /** A mailbox (SMTP address), exh_user. */
  'user',
  /** A single line of text up to 1000 characters (subject, name, phone number, address line). */
  'text',
  /** A short code out of a fixed set (importance, sensitivity, status, body type, direction). */
  'code',
  /** Text without a practical limit that is not a body (recipient lists, categories, recurrence). */
  'longText',
  /** A body or notes, possibly HTML (NVARCHAR(MAX) on SQL Server, DBCLOB on DB2: docs/database.md, "Types"). */
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

/** Kinds whose values are text: for these NULL leaves a value unchanged and '' clears it (docs/database.md, "NULL and empty text"). */
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
   * The neutral Exchange property the synchronisation reads and writes for this field (src/ports/item-properties.ts),
   * or one the core derives itself (the item id, the mailbox, the folder's label and direction).
   */
  readonly property: ItemProperty | DerivedProperty;
  /** Read back from Exchange, never written: the application's value for it is ignored on the way to Exchange. */
  readonly readOnly: boolean;
  readonly description: string;
}

/** A folder an item type lives in, with what the core derives from it. */
export interface FolderDefinition {
  readonly name: FolderName;
  /** What `folderLabel` fields hold for items read from it ('Inbox', 'Sent Items'). */
  readonly label: string;
  /** What `folderDirection` fields hold for items read from it (e-mail: incoming, outgoing). */
  readonly direction?: string;
}

/** Settings the behaviour of a type may depend on (sync.*). */
export interface ItemTypeSettings {
  meetingRequestsResponses: boolean;
}

/**
 * What a type adds to the generic flow, next to its definition rather than as branches in the shared core. Every
 * hook is optional; without them a type is read, mapped, applied and written like any other.
 */
export interface ItemTypeBehaviour {
  /** Item classes synchronised beyond `itemClasses`, depending on the settings (e-mail: meeting messages). */
  alsoSynchronises?(itemClass: string, settings: ItemTypeSettings): boolean;
  /**
   * Items of this type are created with an id of the connector's making that every copy shares (a meeting's UID),
   * so that the copies can be linked to the application's id before Exchange sends them out.
   */
  readonly sharedUid?: boolean;
  /**
   * Whether `user` may change the item a row holds in Exchange (a meeting only its organizer may change); a
   * resynchronisation towards Exchange leaves the others alone.
   */
  userMayChange?(row: Readonly<Record<string, FieldValue>>, user: string): boolean;
  /**
   * The type's items can be recurring series whose occurrences are synchronised as items of their own
   * (sync.maxSyncedRecurrences): the core asks the adapter for them (SyncFolderOptions.occurrences), which reports
   * each with `originalStart` after its master (`isRecurring`) and tracks them.
   */
  readonly series?: boolean;
}

export interface ItemTypeDefinition {
  readonly name: ItemTypeName;
  /** The type's number in exh_sync_item's `exh_item` parameter and the listener's requests (docs/protocol.md). */
  readonly code: number;
  readonly description: string;
  /** The folders read for this type, in order; the first is where the items the application creates go. */
  readonly folders: readonly FolderDefinition[];
  /** Folders that hold items of this type which are not synchronised but still exist (e-mail drafts). */
  readonly alsoIn: readonly FolderName[];
  /**
   * Where the items the application creates end up, looked through for one already made for an application id (a
   * create repeated after a crash): the first folder, unless Exchange files them elsewhere (e-mail: Sent Items when
   * sent, Drafts when saved without recipients).
   */
  readonly createdIn: readonly FolderName[];
  /**
   * The item classes synchronised, each matching itself and its subclasses (`IPM.Note` takes `IPM.Note.SMIME`);
   * anything else in the folders is skipped. The first is the class of the items the application creates.
   */
  readonly itemClasses: readonly string[];
  readonly behaviour: ItemTypeBehaviour;
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

/** Column and parameter prefix of every field (exh_item_id, exh_subject, ...: docs/database.md, "Columns and parameters"). */
export const fieldPrefix = 'exh_';

export function columnName(field: Pick<FieldDefinition, 'name'>): string {
  return `${fieldPrefix}${field.name}`;
}

export function field(
  name: string,
  kind: FieldKind,
  property: ItemProperty | DerivedProperty,
  description: string,
  options: { readOnly?: boolean } = {},
): FieldDefinition {
  // Derived values are the core's own: never written to Exchange.
  const derived = ['itemId', 'mailbox', 'folderLabel', 'folderDirection'].includes(property);
  return { name, kind, property, readOnly: derived || options.readOnly === true, description };
}

/** A field read back from Exchange and never written (created, last modified, the organizer, ...). */
export function readOnlyField(
  name: string,
  kind: FieldKind,
  property: ItemProperty | DerivedProperty,
  description: string,
): FieldDefinition {
  return field(name, kind, property, description, { readOnly: true });
}

/**
 * The fields every item type starts with; they identify the item in both systems. Their order is the original
 * service's (its triggers pass exh_app_item_id, exh_item_id, exh_user by position to exh_to_exh_*), so existing
 * triggers that call by position keep working (docs/database.md, "Columns and parameters").
 */
export const keyFields: readonly FieldDefinition[] = [
  // Written by the connector itself when it creates an item (its stamp), not as a field of a change.
  readOnlyField(
    'app_item_id',
    'appItemId',
    'appItemId',
    "The application's id of the item, stored on the Exchange item as an extended property so that its echo finds the row.",
  ),
  field(
    'item_id',
    'itemId',
    'itemId',
    'The Exchange item id (case-sensitive); null until the item exists in Exchange.',
  ),
  field('user', 'user', 'mailbox', 'The mailbox (SMTP address) this copy of the item belongs to.'),
];

const attachmentsField = readOnlyField(
  'attachments',
  'attachments',
  'attachments',
  'The attachments as "name: id; name: id;" (escaping: docs/database.md); the bytes are downloaded on request.',
);

export interface ItemTypeSpec {
  name: ItemTypeName;
  code: number;
  description: string;
  folders: readonly FolderDefinition[];
  alsoIn?: readonly FolderName[];
  createdIn?: readonly FolderName[];
  itemClasses: readonly string[];
  /** The type's own fields, without the key fields and without attachments. */
  fields: readonly FieldDefinition[];
  hasAttachments: boolean;
  behaviour?: ItemTypeBehaviour;
}

/** Builds a definition: adds the key fields and attachments and derives the procedure names. */
export function defineItemType(spec: ItemTypeSpec): ItemTypeDefinition {
  const fields = [...keyFields, ...spec.fields, ...(spec.hasAttachments ? [attachmentsField] : [])];
  if (!/^[a-z][a-z0-9_]*$/.test(spec.name)) throw new Error(`item type "${spec.name}": the name is not snake_case`);
  if (!Number.isInteger(spec.code) || spec.code < 0)
    throw new Error(`${spec.name}: code ${spec.code} is no number ≥ 0`);
  if (spec.folders.length === 0) throw new Error(`${spec.name}: no folder`);
  if (spec.itemClasses.length === 0) throw new Error(`${spec.name}: no item class`);
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
    folders: spec.folders,
    alsoIn: spec.alsoIn ?? [],
    createdIn: spec.createdIn ?? [(spec.folders[0] as FolderDefinition).name],
    itemClasses: spec.itemClasses,
    behaviour: spec.behaviour ?? {},
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
 * (the delete template matches on exh_item_id, exh_app_item_id and exh_user only: docs/database.md, "Columns and parameters").
 */
export function procedureFields(definition: ItemTypeDefinition, action: ItemAction): readonly FieldDefinition[] {
  return action === 'del' ? definition.fields.slice(0, keyFields.length) : definition.fields;
}

export function findField(definition: ItemTypeDefinition, name: string): FieldDefinition | undefined {
  return definition.fields.find((f) => f.name === name);
}

/** Whether the type synchronises an item of `itemClass` (its classes and their subclasses, and what its behaviour adds). */
export function synchronisesItemClass(
  definition: ItemTypeDefinition,
  itemClass: string,
  settings: ItemTypeSettings,
): boolean {
  const lower = itemClass.toLowerCase();
  const own = definition.itemClasses.some((c) => lower === c.toLowerCase() || lower.startsWith(`${c.toLowerCase()}.`));
  return own || definition.behaviour.alsoSynchronises?.(itemClass, settings) === true;
}

/** The fields the application may write to Exchange. */
export function writableFields(definition: ItemTypeDefinition): readonly FieldDefinition[] {
  return definition.fields.filter((f) => !f.readOnly);
}
