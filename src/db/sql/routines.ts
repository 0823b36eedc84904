import type { FieldKind, ItemTypeDefinition } from '../../items/definition.js';
import { columnName, itemActions, procedureFields } from '../../items/definition.js';
import type { ItemAction } from '../../ports/database.port.js';

/**
 * The base project's routines, dialect-neutral: every dialect's generator writes exactly these, and the tests parse the
 * generated scripts against this list. Parameter names carry the `exh_` prefix, as in SQL.
 */

export interface RoutineParameter {
  name: string;
  kind: FieldKind;
}

export type RoutineResult =
  /** exit code, output value and error message (docs/database.md, "Exit codes"). */
  | 'status'
  /** Nothing: success, or an error raised by the application's code. */
  | 'nothing'
  /** A result set. */
  | 'rows';

export interface Routine {
  name: string;
  parameters: readonly RoutineParameter[];
  result: RoutineResult;
  /**
   * base: the connector's, replaced on every install. application: a template the application fills in, created
   * only when missing so that installing again never overwrites the application's code.
   */
  owner: 'base' | 'application';
}

const parameter = (name: string, kind: FieldKind): RoutineParameter => ({ name: `exh_${name}`, kind });

/** exh_sync_item's parameters, in the original's order (docs/database.md, "Resynchronising"). */
export const syncItemParameters: readonly RoutineParameter[] = [
  parameter('sync_direction', 'integer'),
  parameter('user', 'user'),
  parameter('item', 'integer'),
  parameter('add', 'boolean'),
  parameter('chg', 'boolean'),
  parameter('del', 'boolean'),
  parameter('created_from', 'timestamp'),
  parameter('created_until', 'timestamp'),
  parameter('modified_from', 'timestamp'),
  parameter('modified_until', 'timestamp'),
  parameter('received_from', 'timestamp'),
  parameter('received_until', 'timestamp'),
  parameter('start_from', 'timestamp'),
  parameter('start_until', 'timestamp'),
];

/** exh_get_item_{type}: the user and the date ranges of exh_sync_item. */
export const getItemParameters: readonly RoutineParameter[] = syncItemParameters.filter(
  (p) => p.name === 'exh_user' || p.kind === 'timestamp',
);

export const getAttachmentParameters: readonly RoutineParameter[] = [
  parameter('user', 'user'),
  parameter('item_id', 'itemId'),
  parameter('attachment_id', 'itemId'),
];

export const getAttachmentProcedure = 'exh_get_attachment';

/**
 * exh_from_exh_new_id_{type}: the application's row of exh_user whose exh_item_id is exh_item_id takes
 * exh_new_item_id (a user switched between EWS and Graph: docs/database.md, "Switching backends"). A template.
 */
export const newIdParameters: readonly RoutineParameter[] = [
  parameter('user', 'user'),
  parameter('item_id', 'itemId'),
  parameter('new_item_id', 'itemId'),
];

export const newIdProcedure = (definition: Pick<ItemTypeDefinition, 'name'>) =>
  `exh_from_exh_new_id_${definition.name}`;

/** What the base project's template of exh_from_exh_new_id_{type} raises until the application fills it in. */
export const newIdMissing = (definition: Pick<ItemTypeDefinition, 'name'>) =>
  `${newIdProcedure(definition)} is not filled in: a user switched between EWS and Graph keeps its rows only through it (docs/database.md, "Switching backends")`;

/** Outbox kinds (exh_outbox.exh_action): the three item actions and the three commands (docs/database.md, "The
 * outbox"). */
export const outboxActions = ['add', 'chg', 'del', 'sync_users', 'sync_item', 'get_attachment'] as const;

export const notifyChannel = 'exh_outbox';

export function fieldParameters(definition: ItemTypeDefinition, action: ItemAction): RoutineParameter[] {
  return procedureFields(definition, action).map((f) => ({ name: columnName(f), kind: f.kind }));
}

/** Every routine of the base project for these item types (exh_split_attachment_info is a function, listed apart). */
export function routines(types: readonly ItemTypeDefinition[]): Routine[] {
  const list: Routine[] = [{ name: 'exh_get_users', parameters: [], result: 'rows', owner: 'base' }];
  for (const definition of types) {
    for (const action of itemActions) {
      list.push({
        name: definition.procedures.fromExh[action],
        parameters: fieldParameters(definition, action),
        result: 'nothing',
        owner: 'application',
      });
    }
    list.push({
      name: newIdProcedure(definition),
      parameters: newIdParameters,
      result: 'nothing',
      owner: 'application',
    });
    for (const action of itemActions) {
      list.push({
        name: definition.procedures.toExh[action],
        parameters: fieldParameters(definition, action),
        result: 'status',
        owner: 'base',
      });
    }
    list.push({
      name: definition.procedures.getItem,
      parameters: getItemParameters,
      result: 'rows',
      owner: 'application',
    });
  }
  list.push(
    { name: 'exh_sync_users', parameters: [], result: 'status', owner: 'base' },
    { name: 'exh_sync_item', parameters: syncItemParameters, result: 'status', owner: 'base' },
    { name: getAttachmentProcedure, parameters: getAttachmentParameters, result: 'status', owner: 'base' },
  );
  return list;
}

/** Splits a list into chunks (JSON object builders take at most 100 arguments in PostgreSQL). */
export function chunks<T>(items: readonly T[], size: number): T[][] {
  const result: T[][] = [];
  for (let i = 0; i < items.length; i += size) result.push(items.slice(i, i + size));
  return result;
}

export function indent(text: string, by: string): string {
  return text
    .split('\n')
    .map((line) => (line === '' ? line : by + line))
    .join('\n');
}

export const generatedHeader = (dialect: string, what: string, comment: string) =>
  [
    `${comment} ${what}`,
    `${comment} Generated by exh from the item-type definitions (src/items); do not edit.`,
    `${comment} Regenerate: exh db script --dialect ${dialect}   (install: exh db install --config FILE)`,
    `${comment} See docs/database.md.`,
  ].join('\n');
