import type { FieldKind, ItemTypeDefinition } from '../items/definition.js';
import { columnName, findField, procedureFields } from '../items/definition.js';
import type { FieldValue, ItemAction, ItemTypeName, UserRegistration } from '../ports/database.port.js';

/**
 * Field values between the port (names without the exh_ prefix, JavaScript values) and the database (JSON written
 * by the procedures, keyed by column name; parameters named exh_ + field).
 */

/** A value read back from JSON or a driver, as the port's FieldValue for a field of this kind. */
export function fromDatabaseValue(kind: FieldKind, value: unknown): FieldValue {
  if (value === null || value === undefined) return null;
  switch (kind) {
    case 'boolean':
      // SQL Server's FOR JSON writes true/false; DB2 (SMALLINT) writes 0/1.
      return value === true || value === 1 || value === '1' || value === 'true';
    case 'integer':
      return typeof value === 'number' ? value : Number(value);
    case 'timestamp':
      return value instanceof Date ? value : parseTimestamp(String(value));
    case 'date':
      return value instanceof Date ? value.toISOString().slice(0, 10) : String(value).slice(0, 10);
    default:
      return typeof value === 'string' ? value : String(value);
  }
}

/**
 * ISO timestamps with an offset (PostgreSQL, SQL Server) are taken as they are; timestamps without one (DB2's
 * `2024-01-01 10:00:00.000000` or `2024-01-01-10.00.00.000000`) are UTC by the base project's convention.
 */
export function parseTimestamp(text: string): Date {
  const db2 = /^(\d{4}-\d{2}-\d{2})[- T](\d{2})[.:](\d{2})[.:](\d{2})(\.\d+)?$/.exec(text.trim());
  if (db2) {
    const fraction = (db2[5] ?? '').slice(0, 4);
    return new Date(`${db2[1]}T${db2[2]}:${db2[3]}:${db2[4]}${fraction}Z`);
  }
  const date = new Date(text);
  if (Number.isNaN(date.getTime())) throw new Error(`Not a timestamp: ${JSON.stringify(text)}`);
  return date;
}

/** A JSON object keyed by column name (exh_subject) → the port's fields keyed by field name (subject). */
export function decodeFields(definition: ItemTypeDefinition, payload: string): Record<string, FieldValue> {
  const json = JSON.parse(payload) as Record<string, unknown>;
  const fields: Record<string, FieldValue> = {};
  for (const f of definition.fields) {
    const key = columnName(f);
    if (key in json) fields[f.name] = fromDatabaseValue(f.kind, json[key]);
  }
  return fields;
}

export interface ProcedureArgument {
  /** The parameter name, exh_ + field name. */
  parameter: string;
  kind: FieldKind;
  value: FieldValue;
}

/**
 * The arguments for exh_from_exh_{action}_{type}: the change's fields that the procedure takes, in the procedure's
 * order, with exh_user defaulting to the batch's user. Fields the type does not have are a bug in the caller.
 */
export function procedureArguments(
  definition: ItemTypeDefinition,
  action: ItemAction,
  fields: Record<string, FieldValue>,
  user: string,
): ProcedureArgument[] {
  for (const name of Object.keys(fields)) {
    if (!findField(definition, name)) throw new Error(`Item type ${definition.name} has no field "${name}"`);
  }
  if (fields.user !== undefined && fields.user !== null && fields.user !== user) {
    throw new Error(`A change for ${user} carries user "${String(fields.user)}"`);
  }
  const values: Record<string, FieldValue | undefined> = { ...fields, user };
  return procedureFields(definition, action).flatMap((f) => {
    const value = values[f.name];
    return value === undefined ? [] : [{ parameter: columnName(f), kind: f.kind, value }];
  });
}

/**
 * One row of exh_get_users (any dialect: booleans may come as true/false, BIT or SMALLINT 0/1) as a registration.
 * Column names are matched case-insensitively because DB2 returns them in upper case.
 */
export function userRegistration(row: Record<string, unknown>, types: readonly ItemTypeDefinition[]): UserRegistration {
  const lower = new Map(Object.entries(row).map(([key, value]) => [key.toLowerCase(), value]));
  const byType = <T>(value: (name: ItemTypeName) => T) =>
    Object.fromEntries(types.map((t) => [t.name, value(t.name)])) as Record<ItemTypeName, T>;
  return {
    user: String(lower.get('exh_user')),
    watermarks: byType((name) => {
      const value = lower.get(`exh_watermark_${name}`);
      return value === null || value === undefined ? null : String(value);
    }),
    sync: byType((name) => fromDatabaseValue('boolean', lower.get(`sync_${name}`)) === true),
    // Optional: exh_get_users returns it as NULL when the application's exh_user_source has no such column.
    ...backendOf(lower.get('exh_backend')),
  };
}

function backendOf(value: unknown): { backend?: string } {
  const text = value === null || value === undefined ? '' : String(value).trim();
  return text === '' ? {} : { backend: text };
}
