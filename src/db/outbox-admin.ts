import type {
  OutboxListFilter,
  OutboxRecord,
  OutboxRetryFilter,
  OutboxRowState,
  SetUp,
} from '../ports/database.port.js';
import { listenerAddress, parseListenerAddresses, setUpParameters } from './adapters/installable.js';
import { parseTimestamp } from './field-values.js';
import type { Dialect } from './sql/types.js';

/**
 * The statements behind `exh outbox list|retry` and the CLI clients' look-up of exh_set_up, one shape for every
 * dialect (only placeholders, row limits and the clock differ), so that the SQL Server and DB2 versions can be checked
 * on their text where no server runs. Every value is a parameter; only our own constants are spliced in.
 */

export interface Statement {
  text: string;
  params: Array<string | number>;
}

/** $1 (PostgreSQL), @p1 (SQL Server, bound by name), ? (DB2). */
function placeholder(dialect: Dialect, index: number): string {
  if (dialect === 'postgres') return `$${index}`;
  return dialect === 'sqlserver' ? `@p${index}` : '?';
}

/** Only our own words reach the SQL; on SQL Server as N'…' literals, as the base project writes them. */
function literal(dialect: Dialect, value: string): string {
  return dialect === 'sqlserver' ? `N'${value}'` : `'${value}'`;
}

const columns =
  'exh_outbox_id, exh_user, exh_item_type, exh_action, exh_state, exh_attempts, exh_exit_code, exh_error_message, ' +
  'exh_created, exh_completed_at';

/** Rows newest first: the ones an operator is asking about are the recent ones. */
export function listOutboxStatement(dialect: Dialect, filter: OutboxListFilter): Statement {
  const params: Array<string | number> = [];
  const where: string[] = [];
  const bind = (value: string | number) => {
    params.push(value);
    return placeholder(dialect, params.length);
  };
  if (filter.state) where.push(`exh_state = ${bind(filter.state)}`);
  if (filter.user) where.push(`exh_user = ${bind(filter.user)}`);
  const limit = Math.max(1, Math.floor(filter.limit));
  const condition = where.length > 0 ? `\nWHERE ${where.join(' AND ')}` : '';
  const text =
    dialect === 'sqlserver'
      ? `SELECT TOP (${limit}) ${columns}\nFROM exh_outbox${condition}\nORDER BY exh_outbox_id DESC`
      : dialect === 'db2'
        ? `SELECT ${columns}\nFROM exh_outbox${condition}\nORDER BY exh_outbox_id DESC\nFETCH FIRST ${limit} ROWS ONLY`
        : `SELECT ${columns}\nFROM exh_outbox${condition}\nORDER BY exh_outbox_id DESC\nLIMIT ${limit}`;
  return { text, params };
}

/**
 * Failed rows set pending again (docs/database.md, "The outbox"): the drain picks them up in order. Only failed rows:
 * a pending one is already waiting, and a done one was applied (retrying it would apply it twice). The outcome of
 * the last attempt is cleared; the attempts count stays.
 */
export function retryOutboxStatement(dialect: Dialect, filter: OutboxRetryFilter): Statement {
  const params: Array<string | number> = [];
  const bind = (value: string | number) => {
    params.push(value);
    return placeholder(dialect, params.length);
  };
  const where = [`exh_state = ${literal(dialect, 'failed')}`];
  if (filter.id !== undefined) where.push(`exh_outbox_id = ${bind(Number(filter.id))}`);
  if (filter.user !== undefined) where.push(`exh_user = ${bind(filter.user)}`);
  const text =
    `UPDATE exh_outbox\nSET exh_state = ${literal(dialect, 'pending')}, exh_exit_code = NULL, ` +
    `exh_output_value = NULL, exh_error_message = NULL, exh_completed_at = NULL\nWHERE ${where.join(' AND ')}`;
  return { text, params };
}

/** The rows the connector writes (exh_ip_addresses only in a cluster); the same text everywhere. */
export function readSetUpStatement(dialect: Dialect): Statement {
  const names = Object.values(setUpParameters)
    .map((name) => literal(dialect, name))
    .join(', ');
  return { text: `SELECT exh_parameter, exh_value FROM exh_set_up WHERE exh_parameter IN (${names})`, params: [] };
}

/** exh_set_up rows → what is there of SetUp (a missing or unparsable row is left out). */
export function setUpFromRows(rows: readonly Record<string, unknown>[]): Partial<SetUp> {
  const values = new Map(
    rows.map((raw) => {
      const row = lowerKeys(raw);
      return [String(row.exh_parameter).trim(), row.exh_value === null ? '' : String(row.exh_value).trim()];
    }),
  );
  const result: Partial<SetUp> = {};
  const address = values.get(setUpParameters.ipAddress);
  if (address) result.ipAddress = address;
  const port = Number(values.get(setUpParameters.port));
  if (values.get(setUpParameters.port) && Number.isInteger(port)) result.port = port;
  const token = values.get(setUpParameters.token);
  if (token) result.token = token;
  const addresses = parseListenerAddresses(values.get(setUpParameters.addresses) ?? '');
  if (addresses.length > 0) result.addresses = addresses.map((a) => listenerAddress(a.host, a.port));
  return result;
}

/** A row of listOutboxStatement as any driver returns it (DB2 folds names to upper case) → OutboxRecord. */
export function outboxRecordFromRow(raw: Record<string, unknown>): OutboxRecord {
  const row = lowerKeys(raw);
  const text = (value: unknown) => (value === null || value === undefined ? null : String(value));
  return {
    id: String(row.exh_outbox_id).trim(),
    user: text(row.exh_user),
    itemType: text(row.exh_item_type),
    action: String(row.exh_action),
    state: String(row.exh_state).trim() as OutboxRowState,
    attempts: Number(row.exh_attempts),
    exitCode: row.exh_exit_code === null || row.exh_exit_code === undefined ? null : Number(row.exh_exit_code),
    errorMessage: text(row.exh_error_message),
    createdAt: parseTimestampValue(row.exh_created),
    completedAt:
      row.exh_completed_at === null || row.exh_completed_at === undefined
        ? null
        : parseTimestampValue(row.exh_completed_at),
  };
}

function lowerKeys(raw: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(raw).map(([key, value]) => [key.toLowerCase(), value]));
}

/** Drivers give Date objects; DB2 gives text without an offset, UTC by the base project's rule. */
function parseTimestampValue(value: unknown): Date {
  return value instanceof Date ? value : parseTimestamp(String(value));
}
