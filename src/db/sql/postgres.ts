import type { ItemTypeDefinition } from '../../items/definition.js';
import { columnName, itemActions, procedureFields } from '../../items/definition.js';
import type { ItemAction } from '../../ports/database.port.js';
import {
  chunks,
  generatedHeader,
  getAttachmentParameters,
  getAttachmentProcedure,
  getItemParameters,
  newIdMissing,
  newIdParameters,
  newIdProcedure,
  notifyChannel,
  outboxActions,
  type RoutineParameter,
  syncItemParameters,
} from './routines.js';
import { sendItemFunction, sendModeParameter } from './sync-sender.js';
import { columnType, namedTypes } from './types.js';

/**
 * The base project for PostgreSQL 14 or later (and PGlite). Idempotent: domains, tables and the application's
 * templates are created only when missing, the connector's own functions are replaced (CREATE OR REPLACE).
 *
 * All routines are functions, so that triggers and application code call them in a SELECT. Functions that talk to the
 * connector return OUT exit_code, output_value, error_message (docs/database.md, "Exit codes").
 */

const inCurrentSchema =
  (catalog: 'pg_proc' | 'pg_type' | 'pg_class', nameColumn: string, nsColumn: string) => (name: string) =>
    `SELECT 1 FROM ${catalog} WHERE ${nameColumn} = '${name}' AND ${nsColumn} = (SELECT oid FROM pg_namespace WHERE nspname = current_schema())`;
const procExists = inCurrentSchema('pg_proc', 'proname', 'pronamespace');
const typeExists = inCurrentSchema('pg_type', 'typname', 'typnamespace');
const relationExists = inCurrentSchema('pg_class', 'relname', 'relnamespace');

/** A DO block that runs `statement` only when `existsQuery` finds nothing (PostgreSQL has no CREATE DOMAIN IF NOT EXISTS). */
function createIfMissing(existsQuery: string, statement: string): string {
  return `DO $do$\nBEGIN\n  IF NOT EXISTS (${existsQuery}) THEN\n${statement
    .split('\n')
    .map((l) => (l ? `    ${l}` : l))
    .join('\n')}\n  END IF;\nEND\n$do$;`;
}

export function pgParameterList(parameters: readonly RoutineParameter[], extra: readonly string[] = []): string {
  const lines = [...parameters.map((p) => `${p.name} ${columnType(p.kind, 'postgres')} DEFAULT NULL`), ...extra];
  return lines.length === 0 ? '()' : `(\n${lines.map((l) => `  ${l}`).join(',\n')}\n)`;
}

const statusOut = ['OUT exit_code integer', 'OUT output_value text', 'OUT error_message text'];

/** jsonb of named values, chunked because a function takes at most 100 arguments. Keys are the column names. */
export function pgJsonObject(entries: readonly [key: string, expression: string][]): string {
  if (entries.length === 0) return `'{}'::jsonb`;
  return chunks(entries, 40)
    .map((chunk) => `jsonb_build_object(\n${chunk.map(([k, e]) => `      '${k}', ${e}`).join(',\n')}\n    )`)
    .join('\n    || ');
}

function domains(): string {
  const body = namedTypes
    .map(
      (t) => `  IF NOT EXISTS (${typeExists(t.name)}) THEN
    CREATE DOMAIN ${t.name} AS ${t.postgres};
  END IF;`,
    )
    .join('\n');
  return `DO $do$\nBEGIN\n${body}\nEND\n$do$;`;
}

function tables(types: readonly ItemTypeDefinition[]): string {
  const watermarkColumns = types.map((t) => `exh_watermark_${t.name}`);
  return `-- The connector writes its address, port and listener token here at start-up (docs/database.md, "Start-up").
CREATE TABLE IF NOT EXISTS exh_set_up (
  exh_parameter text PRIMARY KEY,
  exh_value text
);

-- Per user and item type, where catch-up resumes (the sync state of each folder; opaque, large).
CREATE TABLE IF NOT EXISTS exh_watermark (
  exh_user exh_user PRIMARY KEY,
${watermarkColumns.map((c) => `  ${c} text`).join(',\n')}
);
${watermarkColumns.map((c) => `ALTER TABLE exh_watermark ADD COLUMN IF NOT EXISTS ${c} text;`).join('\n')}

-- Meetings the application created: the iCalendar UID every copy shares (organizer's and attendees'), and the
-- application's id, so that attendees' copies carry the same exh_app_item_id (docs/database.md, "Matching items").
CREATE TABLE IF NOT EXISTS exh_meeting (
  exh_uid text PRIMARY KEY,
  exh_app_item_id exh_app_item_id NOT NULL,
  exh_created timestamptz NOT NULL DEFAULT now()
);

-- Per Exchange item, the change key of the version the application's row reflects (applied from Exchange, or
-- written by the connector), and the outbox rows that lost a conflict to Exchange: how the connector tells a
-- person's change in Exchange from its own (docs/reliability.md, "Conflicts"). The connector's own; never edit.
CREATE TABLE IF NOT EXISTS exh_item_version (
  exh_item_id exh_item_id PRIMARY KEY,
  exh_user exh_user NOT NULL,
  exh_item_type text NOT NULL,
  exh_change_key text NOT NULL,
  exh_superseded_until bigint,
  exh_updated_at timestamptz NOT NULL DEFAULT now()
);

-- Requests for the connector, written by exh_to_exh_*, exh_sync_users, exh_sync_item and ${getAttachmentProcedure}.
-- The connector drains pending rows in order and records the outcome (docs/database.md, "The outbox").
CREATE TABLE IF NOT EXISTS exh_outbox (
  exh_outbox_id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  exh_user exh_user,
  exh_item_type text,
  exh_action text NOT NULL CHECK (exh_action IN (${outboxActions.map((a) => `'${a}'`).join(', ')})),
  exh_payload text NOT NULL,
  exh_created timestamptz NOT NULL DEFAULT now(),
  exh_attempts integer NOT NULL DEFAULT 0,
  exh_state text NOT NULL DEFAULT 'pending' CHECK (exh_state IN ('pending', 'done', 'failed')),
  exh_exit_code integer,
  exh_output_value text,
  exh_error_message text,
  exh_completed_at timestamptz
);
CREATE INDEX IF NOT EXISTS exh_outbox_pending ON exh_outbox (exh_outbox_id) WHERE exh_state = 'pending';

-- Several instances sharing this database (docs/database.md, "Several instances"): each running instance and its last
-- heartbeat, and per user the instance whose lease runs the mailbox, with a fencing token that only grows. Times are
-- the database's clock. The connector's own; never edit. Unused by a single instance.
CREATE TABLE IF NOT EXISTS exh_member (
  exh_instance_id text PRIMARY KEY,
  exh_address text NOT NULL,
  exh_port integer NOT NULL,
  exh_started_at timestamptz NOT NULL,
  exh_heartbeat_at timestamptz NOT NULL
);
CREATE TABLE IF NOT EXISTS exh_lease (
  exh_user_key text PRIMARY KEY,
  exh_user exh_user NOT NULL,
  exh_instance_id text NOT NULL,
  exh_fence bigint NOT NULL,
  exh_expires_at timestamptz NOT NULL
);

-- Errors the connector reports back to the application.
CREATE TABLE IF NOT EXISTS exh_log (
  exh_log_id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  exh_logged_at timestamptz NOT NULL DEFAULT now(),
  exh_user exh_user,
  exh_item_type text,
  exh_code text NOT NULL,
  exh_message text NOT NULL
);`;
}

function userSource(types: readonly ItemTypeDefinition[]): string {
  const columns = ['NULL::text AS exh_user', ...types.map((t) => `false AS sync_${t.name}`)];
  return `-- The application's users: a view the application defines over its own user table (columns exh_user text,
-- ${types.map((t) => `sync_${t.name}`).join(', ')} boolean, and optionally exh_backend text: 'ews' or 'graph' for a user
-- served otherwise than exchange.backend says). Until it does, this empty one makes exh_get_users return no users.
${createIfMissing(relationExists('exh_user_source'), `CREATE VIEW exh_user_source AS\nSELECT ${columns.join(', ')}\nWHERE false;`)}`;
}

function getUsers(types: readonly ItemTypeDefinition[]): string {
  const returns = [
    'exh_user text',
    ...types.map((t) => `exh_watermark_${t.name} text`),
    ...types.map((t) => `sync_${t.name} boolean`),
    'exh_backend text',
  ];
  const select = [
    'u.exh_user::text',
    ...types.map((t) => `w.exh_watermark_${t.name}`),
    ...types.map((t) => `coalesce(u.sync_${t.name}, false)`),
    // Optional in exh_user_source: read by name, so a view without the column gives NULL (docs/database.md, "Start-up").
    "to_jsonb(u) ->> 'exh_backend'",
  ];
  return `-- The users to synchronise with their watermarks (docs/database.md, "Start-up").
CREATE OR REPLACE FUNCTION exh_get_users()
RETURNS TABLE (
${returns.map((r) => `  ${r}`).join(',\n')}
)
LANGUAGE sql STABLE AS $fn$
  SELECT
${select.map((s) => `    ${s}`).join(',\n')}
  FROM exh_user_source AS u
  LEFT JOIN exh_watermark AS w ON w.exh_user = u.exh_user
$fn$;`;
}

/** Decodes one part of the attachment info (src/db/attachment-info.ts: trim spaces, then %3A, %3B, %20, %25 last). */
const decodePart = (expression: string) =>
  `replace(replace(replace(replace(btrim(${expression}), '%3A', ':'), '%3B', ';'), '%20', ' '), '%25', '%')`;

function splitAttachmentInfo(): string {
  return `-- Splits "name: id; name: id;" into rows; escaping of ":", ";", "%" and edge spaces: docs/database.md.
CREATE OR REPLACE FUNCTION exh_split_attachment_info(exh_attachments text)
RETURNS TABLE (exh_attachment_position integer, exh_attachment_name text, exh_attachment_id text)
LANGUAGE sql IMMUTABLE AS $fn$
  SELECT
    (row_number() OVER (ORDER BY p.n))::integer,
    ${decodePart("CASE WHEN strpos(p.piece, ':') = 0 THEN p.piece ELSE left(p.piece, strpos(p.piece, ':') - 1) END")},
    ${decodePart("CASE WHEN strpos(p.piece, ':') = 0 THEN '' ELSE substr(p.piece, strpos(p.piece, ':') + 1) END")}
  FROM unnest(string_to_array(exh_attachments, ';')) WITH ORDINALITY AS p(piece, n)
  WHERE btrim(p.piece) <> ''
  ORDER BY p.n
$fn$;`;
}

function fromExhTemplate(definition: ItemTypeDefinition, action: ItemAction): string {
  const name = definition.procedures.fromExh[action];
  const what = action === 'del' ? 'delete the item' : 'insert or update the item';
  const fn = `CREATE FUNCTION ${name}${pgParameterList(
    procedureFields(definition, action).map((f) => ({ name: columnName(f), kind: f.kind })),
  )}
RETURNS void LANGUAGE plpgsql AS $fn$
BEGIN
  -- Template: ${what} in the application's table (sql/postgres/example-app.sql shows how). NULL leaves a value
  -- unchanged, '' clears it; match exh_item_id case-sensitively, else exh_app_item_id where exh_item_id is null,
  -- always filtered on exh_user.
  NULL;
END
$fn$;`;
  return createIfMissing(procExists(name), fn);
}

function newIdTemplate(definition: ItemTypeDefinition): string {
  const name = newIdProcedure(definition);
  const fn = `CREATE FUNCTION ${name}${pgParameterList(newIdParameters)}
RETURNS void LANGUAGE plpgsql AS $fn$
BEGIN
  -- Template: set exh_item_id to exh_new_item_id on the application's row of exh_user whose exh_item_id is
  -- exh_item_id (case-sensitive; sql/postgres/example-app.sql shows how). Until it is filled in, a user switched
  -- between EWS and Graph is refused instead of getting its rows again.
  RAISE EXCEPTION '${newIdMissing(definition)}';
END
$fn$;`;
  return createIfMissing(procExists(name), fn);
}

/** The outbox row and the NOTIFY (payload: the user, '' for every user) that wakes the connector. */
function outboxInsert(user: string, itemType: string, action: string, payload: string): string {
  return `INSERT INTO exh_outbox (exh_user, exh_item_type, exh_action, exh_payload)
  VALUES (
    ${user},
    ${itemType},
    '${action}',
    (${payload})::text
  );
  PERFORM pg_notify('${notifyChannel}', coalesce(${user}, ''));`;
}

const statusFunctionBody = (checks: string, insert: string) => `#variable_conflict use_variable
BEGIN
  exit_code := 1;
  output_value := NULL;
  error_message := NULL;
${checks}  ${insert}
  exit_code := 0;
EXCEPTION WHEN OTHERS THEN
  exit_code := 1;
  error_message := SQLERRM;
END`;

function toExh(definition: ItemTypeDefinition, action: ItemAction): string {
  const name = definition.procedures.toExh[action];
  const fields = procedureFields(definition, action);
  const payload = pgJsonObject(fields.map((f) => [columnName(f), columnName(f)]));
  const keyCheck =
    action === 'add'
      ? `  IF exh_app_item_id IS NULL OR exh_app_item_id = '' THEN
    error_message := 'exh_app_item_id is required: the Exchange item carries it so that its echo finds the row';
    RETURN;
  END IF;\n`
      : `  IF exh_item_id IS NULL AND exh_app_item_id IS NULL THEN
    error_message := 'exh_item_id or exh_app_item_id is required';
    RETURN;
  END IF;\n`;
  const checks = `  IF exh_user IS NULL OR exh_user = '' THEN
    error_message := 'exh_user is required';
    RETURN;
  END IF;
${keyCheck}`;
  return `CREATE OR REPLACE FUNCTION ${name}${pgParameterList(
    fields.map((f) => ({ name: columnName(f), kind: f.kind })),
    statusOut,
  )}
LANGUAGE plpgsql AS $fn$
${statusFunctionBody(checks, sendOrQueue(definition, action, payload))}
$fn$;`;
}

/**
 * In synchronous mode (exh_set_up exh_send_mode = 'sync', docs/senders.md) the change goes to the connector at once
 * through the PL/Python sender (sql/postgres/sync-sender.sql) and its reply is returned; otherwise it is queued.
 */
function sendOrQueue(definition: ItemTypeDefinition, action: ItemAction, payload: string): string {
  return `IF (SELECT s.exh_value FROM exh_set_up AS s WHERE s.exh_parameter = '${sendModeParameter}') = 'sync' THEN
    SELECT r.exit_code, r.output_value, r.error_message INTO exit_code, output_value, error_message
    FROM ${sendItemFunction}('${action}', '${definition.name}', exh_user, ${payload}) AS r;
    RETURN;
  END IF;
  ${outboxInsert('exh_user', `'${definition.name}'`, action, payload)}`;
}

function getItemTemplate(definition: ItemTypeDefinition): string {
  const name = definition.procedures.getItem;
  const fn = `CREATE FUNCTION ${name}${pgParameterList(getItemParameters)}
RETURNS SETOF jsonb LANGUAGE sql STABLE AS $fn$
  -- Template: one jsonb object per item of exh_user to send to Exchange again (exh_sync_item, direction 1), keyed by
  -- column name (exh_item_id, ...). Returns nothing until the application fills it in.
  SELECT NULL::jsonb WHERE false
$fn$;`;
  return createIfMissing(procExists(name), fn);
}

function itemTypeRoutines(definition: ItemTypeDefinition): string {
  return [
    `-- ${definition.name} (exh_item = ${definition.code}) ${'-'.repeat(80 - definition.name.length - 20)}`,
    ...itemActions.map((a) => fromExhTemplate(definition, a)),
    newIdTemplate(definition),
    ...itemActions.map((a) => toExh(definition, a)),
    getItemTemplate(definition),
  ].join('\n\n');
}

function commands(types: readonly ItemTypeDefinition[]): string {
  const itemTypeOf = `CASE exh_item ${types.map((t) => `WHEN ${t.code} THEN '${t.name}'`).join(' ')} END`;
  const syncItemPayload = pgJsonObject(syncItemParameters.map((p) => [p.name, p.name]));
  // NULL: every registered user (docs/database.md, "Resynchronising"); only an empty address is refused.
  const syncItemChecks = `  IF exh_user = '' THEN
    error_message := 'exh_user must be a user or NULL (every registered user), not empty';
    RETURN;
  END IF;
  IF exh_sync_direction IS NULL OR exh_sync_direction NOT IN (0, 1) THEN
    error_message := 'exh_sync_direction must be 0 (Exchange to database) or 1 (database to Exchange)';
    RETURN;
  END IF;
  IF exh_item IS NOT NULL AND exh_item NOT IN (${types.map((t) => t.code).join(', ')}) THEN
    error_message := 'exh_item must be ${types.map((t) => `${t.code} (${t.name})`).join(', ')} or null (every type)';
    RETURN;
  END IF;\n`;
  const attachmentChecks = `  IF exh_user IS NULL OR exh_item_id IS NULL OR exh_attachment_id IS NULL THEN
    error_message := 'exh_user, exh_item_id and exh_attachment_id are required';
    RETURN;
  END IF;\n`;
  return `-- Re-register every user at Exchange (docs/database.md, "The base project"): a 'sync_users' outbox row.
CREATE OR REPLACE FUNCTION exh_sync_users${pgParameterList([], statusOut)}
LANGUAGE plpgsql AS $fn$
${statusFunctionBody('', outboxInsert('NULL', 'NULL', 'sync_users', `'{}'::jsonb`))}
$fn$;

-- Resynchronise (part of) a user's items (docs/database.md, "Resynchronising"): a 'sync_item' outbox row.
CREATE OR REPLACE FUNCTION exh_sync_item${pgParameterList(syncItemParameters, statusOut)}
LANGUAGE plpgsql AS $fn$
${statusFunctionBody(syncItemChecks, outboxInsert('exh_user', itemTypeOf, 'sync_item', syncItemPayload))}
$fn$;

-- Ask the connector for one attachment's bytes: a 'get_attachment' outbox row (docs/database.md, "Attachment info").
CREATE OR REPLACE FUNCTION ${getAttachmentProcedure}${pgParameterList(getAttachmentParameters, statusOut)}
LANGUAGE plpgsql AS $fn$
${statusFunctionBody(attachmentChecks, outboxInsert('exh_user', 'NULL', 'get_attachment', pgJsonObject(getAttachmentParameters.map((p) => [p.name, p.name]))))}
$fn$;`;
}

export function postgresBaseProject(types: readonly ItemTypeDefinition[]): string {
  return `${[
    generatedHeader('postgres', 'exh base project for PostgreSQL 14+ and PGlite.', '--'),
    '-- Domains for the text kinds, for application tables and code (docs/database.md, "Types").',
    domains(),
    tables(types),
    userSource(types),
    getUsers(types),
    splitAttachmentInfo(),
    ...types.map(itemTypeRoutines),
    commands(types),
  ].join('\n\n')}\n`;
}
