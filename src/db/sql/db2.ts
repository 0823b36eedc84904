import type { ItemTypeDefinition } from '../../items/definition.js';
import { itemActions } from '../../items/definition.js';
import type { ItemAction } from '../../ports/database.port.js';
import {
  fieldParameters,
  generatedHeader,
  getAttachmentParameters,
  getAttachmentProcedure,
  getItemParameters,
  newIdParameters,
  newIdProcedure,
  outboxActions,
  type RoutineParameter,
  syncItemParameters,
} from './routines.js';
import { columnType } from './types.js';

/**
 * The base project for DB2 (LUW 11.1 fix pack 4 or later, IBM i 7.3 or later: JSON_OBJECT, CREATE OR REPLACE) in SQL
 * PL. Statements end with a line holding only `@` (db2 -td@ -f base-project.sql; ACS "Run SQL scripts" with @ as
 * terminator), because routine bodies contain `;`. Idempotent: tables, the default view and the application's
 * templates are created through EXECUTE IMMEDIATE with a handler for "already exists" (portable across DB2 for LUW
 * and for i, whose catalogues differ); the connector's routines use CREATE OR REPLACE.
 */

export const statementTerminator = '@';

const end = (statement: string) => `${statement}\n${statementTerminator}`;

/** SQL string literal. */
const literal = (text: string) => `'${text.replaceAll("'", "''")}'`;

/** Runs `statement` unless the object exists already (SQLSTATE 42710 object, 42711 column, 42723 routine). */
function createIfMissing(statement: string, state: '42710' | '42711' | '42723' = '42710'): string {
  return end(`BEGIN
  DECLARE already_there SMALLINT DEFAULT 0;
  DECLARE CONTINUE HANDLER FOR SQLSTATE '${state}' SET already_there = 1;
  EXECUTE IMMEDIATE ${literal(statement)};
END`);
}

export function db2ParameterList(parameters: readonly RoutineParameter[], status: boolean): string {
  const lines = parameters.map((p) => `IN ${p.name} ${columnType(p.kind, 'db2')} DEFAULT NULL`);
  if (status) lines.push('OUT output_value VARGRAPHIC(4000)', 'OUT error_message VARGRAPHIC(4000)');
  return lines.length === 0 ? '()' : `(\n${lines.map((l) => `  ${l}`).join(',\n')}\n)`;
}

function json(parameters: readonly RoutineParameter[]): string {
  if (parameters.length === 0) return `'{}'`;
  return `JSON_OBJECT(\n${parameters.map((p) => `      KEY '${p.name}' VALUE ${p.name}`).join(',\n')}\n      NULL ON NULL\n    )`;
}

/** UTC, the base project's convention for DB2 timestamps (DB2 has no time zone type). */
const utcNow = 'CURRENT TIMESTAMP - CURRENT TIMEZONE';

function tables(definitions: readonly ItemTypeDefinition[]): string[] {
  const user = columnType('user', 'db2');
  const watermarks = definitions.map((t) => `exh_watermark_${t.name}`);
  return [
    `-- The connector writes its address, port and listener token here at start-up (docs/database.md, "Start-up").
${createIfMissing(`CREATE TABLE exh_set_up (
  exh_parameter VARGRAPHIC(100) NOT NULL PRIMARY KEY,
  exh_value VARGRAPHIC(4000)
)`)}`,
    `-- Per user and item type, where catch-up resumes (the sync state of each folder; opaque, large).
${createIfMissing(`CREATE TABLE exh_watermark (
  exh_user ${user} NOT NULL PRIMARY KEY,
${watermarks.map((c) => `  ${c} CLOB(16M)`).join(',\n')}
)`)}`,
    ...watermarks.map((c) => createIfMissing(`ALTER TABLE exh_watermark ADD COLUMN ${c} CLOB(16M)`, '42711')),
    `-- Meetings the application created: the iCalendar UID every copy shares (organizer's and attendees'), and the
-- application's id, so that attendees' copies carry the same exh_app_item_id (docs/database.md, "Matching items").
${createIfMissing(`CREATE TABLE exh_meeting (
  exh_uid VARGRAPHIC(512) NOT NULL PRIMARY KEY,
  exh_app_item_id ${columnType('appItemId', 'db2')} NOT NULL,
  exh_created TIMESTAMP NOT NULL DEFAULT CURRENT TIMESTAMP
)`)}`,
    `-- Per Exchange item, the change key of the version the application's row reflects (applied from Exchange, or
-- written by the connector), and the outbox rows that lost a conflict to Exchange: how the connector tells a
-- person's change in Exchange from its own (docs/reliability.md, "Conflicts"). The connector's own; never edit.
${createIfMissing(`CREATE TABLE exh_item_version (
  exh_item_id ${columnType('itemId', 'db2')} NOT NULL PRIMARY KEY,
  exh_user ${user} NOT NULL,
  exh_item_type VARGRAPHIC(50) NOT NULL,
  exh_change_key VARGRAPHIC(512) NOT NULL,
  exh_superseded_until BIGINT,
  exh_updated_at TIMESTAMP NOT NULL DEFAULT CURRENT TIMESTAMP
)`)}`,
    `-- Requests for the connector, written by exh_to_exh_*, exh_sync_users, exh_sync_item and ${getAttachmentProcedure}.
${createIfMissing(`CREATE TABLE exh_outbox (
  exh_outbox_id BIGINT NOT NULL GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  exh_user ${user},
  exh_item_type VARGRAPHIC(50),
  exh_action VARGRAPHIC(20) NOT NULL CHECK (exh_action IN (${outboxActions.map((a) => `'${a}'`).join(', ')})),
  exh_payload CLOB(16M) NOT NULL,
  exh_created TIMESTAMP NOT NULL DEFAULT CURRENT TIMESTAMP,
  exh_attempts INTEGER NOT NULL DEFAULT 0,
  exh_state VARGRAPHIC(10) NOT NULL DEFAULT 'pending' CHECK (exh_state IN ('pending', 'done', 'failed')),
  exh_exit_code INTEGER,
  exh_output_value DBCLOB(16M),
  exh_error_message VARGRAPHIC(4000),
  exh_completed_at TIMESTAMP
)`)}`,
    createIfMissing('CREATE INDEX exh_outbox_pending ON exh_outbox (exh_state, exh_outbox_id)'),
    `-- Several instances sharing this database (docs/database.md, "Several instances"): each running instance and its
-- last heartbeat. Times are the database's clock. The connector's own; never edit. Unused by a single instance.
${createIfMissing(`CREATE TABLE exh_member (
  exh_instance_id VARGRAPHIC(200) NOT NULL PRIMARY KEY,
  exh_address VARGRAPHIC(400) NOT NULL,
  exh_port INTEGER NOT NULL,
  exh_started_at TIMESTAMP NOT NULL,
  exh_heartbeat_at TIMESTAMP NOT NULL
)`)}`,
    `-- Per user (lower-cased), the instance whose lease runs the mailbox and a fencing token that only grows.
${createIfMissing(`CREATE TABLE exh_lease (
  exh_user_key ${user} NOT NULL PRIMARY KEY,
  exh_user ${user} NOT NULL,
  exh_instance_id VARGRAPHIC(200) NOT NULL,
  exh_fence BIGINT NOT NULL,
  exh_expires_at TIMESTAMP NOT NULL
)`)}`,
    `-- Errors the connector reports back to the application.
${createIfMissing(`CREATE TABLE exh_log (
  exh_log_id BIGINT NOT NULL GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  exh_logged_at TIMESTAMP NOT NULL DEFAULT CURRENT TIMESTAMP,
  exh_user ${user},
  exh_item_type VARGRAPHIC(50),
  exh_code VARGRAPHIC(100) NOT NULL,
  exh_message VARGRAPHIC(4000) NOT NULL
)`)}`,
    `-- Set to 1 by the connector while it applies changes from Exchange: application triggers skip those rows.
${end('CREATE OR REPLACE VARIABLE exh_applying SMALLINT DEFAULT 0')}`,
  ];
}

function userSource(definitions: readonly ItemTypeDefinition[]): string {
  const columns = [
    `CAST(NULL AS ${columnType('user', 'db2')}) AS exh_user`,
    ...definitions.map((t) => `SMALLINT(0) AS sync_${t.name}`),
  ];
  return `-- The application's users: a view the application defines over its own user table (exh_user and the SMALLINT 0/1
-- columns ${definitions.map((t) => `sync_${t.name}`).join(', ')}, and optionally exh_backend: 'ews' or 'graph' for a user
-- served otherwise than exchange.backend says). Until it does, this empty one returns no users.
${createIfMissing(`CREATE VIEW exh_user_source AS SELECT ${columns.join(', ')} FROM SYSIBM.SYSDUMMY1 WHERE 1 = 0`)}`;
}

function getUsers(definitions: readonly ItemTypeDefinition[]): string {
  const select = [
    'u.exh_user',
    ...definitions.map((t) => `w.exh_watermark_${t.name}`),
    ...definitions.map((t) => `COALESCE(u.sync_${t.name}, 0) AS sync_${t.name}`),
  ];
  const query = (backend: string) =>
    `SELECT ${[...select, `${backend} AS exh_backend`].join(', ')} FROM exh_user_source AS u LEFT JOIN exh_watermark AS w ON w.exh_user = u.exh_user`;
  return `-- The users to synchronise with their watermarks (docs/database.md, "Start-up"). exh_backend is optional in
-- exh_user_source: without the column (SQLSTATE 42703 when prepared) it is NULL.
${end(`CREATE OR REPLACE PROCEDURE exh_get_users ()
LANGUAGE SQL
DYNAMIC RESULT SETS 1
READS SQL DATA
BEGIN
  DECLARE no_backend SMALLINT DEFAULT 0;
  DECLARE with_backend VARCHAR(8000) DEFAULT ${literal(query('CAST(u.exh_backend AS VARGRAPHIC(50))'))};
  DECLARE without_backend VARCHAR(8000) DEFAULT ${literal(query('CAST(NULL AS VARGRAPHIC(50))'))};
  DECLARE users_query STATEMENT;
  DECLARE users CURSOR WITH RETURN TO CLIENT FOR users_query;
  DECLARE CONTINUE HANDLER FOR SQLSTATE '42703' SET no_backend = 1;
  PREPARE users_query FROM with_backend;
  IF no_backend = 1 THEN
    PREPARE users_query FROM without_backend;
  END IF;
  OPEN users;
END`)}`;
}

/** src/db/attachment-info.ts: trim spaces, then %3A, %3B, %20 and %25 last. */
const decodePart = (expression: string) =>
  `REPLACE(REPLACE(REPLACE(REPLACE(TRIM(${expression}), '%3A', ':'), '%3B', ';'), '%20', ' '), '%25', '%')`;

/** First piece of `text` up to `;` and the rest after it (NULL when there is no `;`). */
const head = (text: string) =>
  `CASE WHEN LOCATE(';', ${text}) = 0 THEN ${text} ELSE SUBSTR(${text}, 1, LOCATE(';', ${text}) - 1) END`;
const tail = (text: string) =>
  `CASE WHEN LOCATE(';', ${text}) = 0 THEN NULL ELSE SUBSTR(${text}, LOCATE(';', ${text}) + 1) END`;

function splitAttachmentInfo(): string {
  return `-- Splits "name: id; name: id;" into rows; escaping of ":", ";", "%" and edge spaces: docs/database.md.
${end(`CREATE OR REPLACE FUNCTION exh_split_attachment_info (exh_attachments ${columnType('attachments', 'db2')})
RETURNS TABLE (
  exh_attachment_position INTEGER,
  exh_attachment_name VARGRAPHIC(1000),
  exh_attachment_id VARGRAPHIC(512)
)
LANGUAGE SQL
DETERMINISTIC
NO EXTERNAL ACTION
READS SQL DATA
RETURN
  WITH pieces (n, piece, rest) AS (
    SELECT 1, ${head('exh_attachments')}, ${tail('exh_attachments')}
    FROM SYSIBM.SYSDUMMY1
    WHERE exh_attachments IS NOT NULL
    UNION ALL
    SELECT n + 1, ${head('rest')}, ${tail('rest')}
    FROM pieces
    WHERE rest IS NOT NULL
  )
  SELECT
    INTEGER(ROW_NUMBER() OVER (ORDER BY n)),
    ${decodePart("CASE WHEN LOCATE(':', piece) = 0 THEN piece ELSE SUBSTR(piece, 1, LOCATE(':', piece) - 1) END")},
    ${decodePart("CASE WHEN LOCATE(':', piece) = 0 THEN '' ELSE SUBSTR(piece, LOCATE(':', piece) + 1) END")}
  FROM pieces
  WHERE TRIM(piece) <> ''`)}`;
}

function statusProcedure(
  name: string,
  parameters: readonly RoutineParameter[],
  checks: [condition: string, message: string][],
  itemType: string,
  action: string,
  user = 'exh_user',
): string {
  return end(`CREATE OR REPLACE PROCEDURE ${name} ${db2ParameterList(parameters, true)}
LANGUAGE SQL
MODIFIES SQL DATA
BEGIN
  DECLARE EXIT HANDLER FOR SQLEXCEPTION
  BEGIN
    GET DIAGNOSTICS EXCEPTION 1 error_message = MESSAGE_TEXT;
    RETURN 1;
  END;
  SET output_value = NULL;
  SET error_message = NULL;
${checks
  .map(
    ([condition, message]) => `  IF ${condition} THEN
    SET error_message = ${literal(message)};
    RETURN 1;
  END IF;`,
  )
  .join('\n')}
  INSERT INTO exh_outbox (exh_user, exh_item_type, exh_action, exh_payload, exh_created)
  VALUES (
    ${user},
    ${itemType},
    '${action}',
    ${json(parameters)},
    ${utcNow}
  );
  RETURN 0;
END`);
}

const userRequired: [string, string] = [`exh_user IS NULL OR exh_user = ''`, 'exh_user is required'];
/** exh_sync_item: NULL is every registered user (docs/database.md, "Resynchronising"); only an empty one is refused. */
const userNullOrGiven: [string, string] = [
  `exh_user = ''`,
  'exh_user must be a user or NULL (every registered user), not empty',
];

function toExh(definition: ItemTypeDefinition, action: ItemAction): string {
  const keyCheck: [string, string] =
    action === 'add'
      ? [
          `exh_app_item_id IS NULL OR exh_app_item_id = ''`,
          'exh_app_item_id is required: the Exchange item carries it so that its echo finds the row',
        ]
      : ['exh_item_id IS NULL AND exh_app_item_id IS NULL', 'exh_item_id or exh_app_item_id is required'];
  return statusProcedure(
    definition.procedures.toExh[action],
    fieldParameters(definition, action),
    [userRequired, keyCheck],
    literal(definition.name),
    action,
  );
}

function fromExhTemplate(definition: ItemTypeDefinition, action: ItemAction): string {
  const name = definition.procedures.fromExh[action];
  const what = action === 'del' ? 'delete the item' : 'insert or update the item';
  return createIfMissing(
    `CREATE PROCEDURE ${name} ${db2ParameterList(fieldParameters(definition, action), false)}
LANGUAGE SQL
MODIFIES SQL DATA
BEGIN
  -- Template: ${what} in the application's table. NULL leaves a value unchanged, '' clears it; match
  -- exh_item_id (case-sensitive), else exh_app_item_id where exh_item_id is null, always filtered on exh_user.
  -- Skip rows written while the global variable exh_applying = 1 in the application's triggers.
  RETURN 0;
END`,
    '42723',
  );
}

function newIdTemplate(definition: ItemTypeDefinition): string {
  return createIfMissing(
    `CREATE PROCEDURE ${newIdProcedure(definition)} ${db2ParameterList(newIdParameters, false)}
LANGUAGE SQL
MODIFIES SQL DATA
BEGIN
  -- Template: set exh_item_id to exh_new_item_id on the application's row of exh_user whose exh_item_id is
  -- exh_item_id (case-sensitive). Until it is filled in, a user switched between EWS and Graph is refused instead of
  -- getting its rows again.
  SIGNAL SQLSTATE '75001' SET MESSAGE_TEXT = ${literal(`${newIdProcedure(definition)} not filled in: see docs/database.md`)};
END`,
    '42723',
  );
}

function getItemTemplate(definition: ItemTypeDefinition): string {
  const columns = definition.fields.map((f) => `CAST(NULL AS ${columnType(f.kind, 'db2')}) AS exh_${f.name}`);
  return createIfMissing(
    `CREATE PROCEDURE ${definition.procedures.getItem} ${db2ParameterList(getItemParameters, false)}
LANGUAGE SQL
DYNAMIC RESULT SETS 1
READS SQL DATA
BEGIN
  -- Template: the items of exh_user to send to Exchange again (exh_sync_item, direction 1), one row each with these
  -- columns. Returns nothing until the application fills it in.
  DECLARE items CURSOR WITH RETURN TO CLIENT FOR
    SELECT
${columns.map((c) => `      ${c}`).join(',\n')}
    FROM SYSIBM.SYSDUMMY1
    WHERE 1 = 0;
  OPEN items;
END`,
    '42723',
  );
}

function commands(definitions: readonly ItemTypeDefinition[]): string[] {
  const itemType = `CASE exh_item ${definitions.map((t) => `WHEN ${t.code} THEN '${t.name}'`).join(' ')} END`;
  return [
    `-- Re-register every user at Exchange (docs/database.md, "The base project"): a 'sync_users' outbox row.
${statusProcedure('exh_sync_users', [], [], 'NULL', 'sync_users', 'NULL')}`,
    `-- Resynchronise (part of) a user's items (docs/database.md, "Resynchronising"): a 'sync_item' outbox row.
${statusProcedure(
  'exh_sync_item',
  syncItemParameters,
  [
    userNullOrGiven,
    [
      'exh_sync_direction IS NULL OR exh_sync_direction NOT IN (0, 1)',
      'exh_sync_direction must be 0 (Exchange to database) or 1 (database to Exchange)',
    ],
    [
      `exh_item IS NOT NULL AND exh_item NOT IN (${definitions.map((t) => t.code).join(', ')})`,
      `exh_item must be ${definitions.map((t) => `${t.code} (${t.name})`).join(', ')} or null (every type)`,
    ],
  ],
  itemType,
  'sync_item',
)}`,
    `-- Ask the connector for one attachment's bytes: a 'get_attachment' outbox row (docs/database.md, "Attachment info").
${statusProcedure(
  getAttachmentProcedure,
  getAttachmentParameters,
  [
    [
      'exh_user IS NULL OR exh_item_id IS NULL OR exh_attachment_id IS NULL',
      'exh_user, exh_item_id and exh_attachment_id are required',
    ],
  ],
  'NULL',
  'get_attachment',
)}`,
  ];
}

export function db2BaseProject(definitions: readonly ItemTypeDefinition[]): string {
  return `${[
    generatedHeader('db2', 'exh base project for DB2 (SQL PL; statements end with a line holding only @).', '--'),
    ...tables(definitions),
    userSource(definitions),
    getUsers(definitions),
    splitAttachmentInfo(),
    ...definitions.flatMap((definition) => [
      ...itemActions.map((a) => fromExhTemplate(definition, a)),
      newIdTemplate(definition),
      ...itemActions.map((a) => toExh(definition, a)),
      getItemTemplate(definition),
    ]),
    ...commands(definitions),
  ].join('\n\n')}\n`;
}
