import type { ItemTypeDefinition } from '../../items/definition.js';
import { itemActions } from '../../items/definition.js';
import type { ItemAction } from '../../ports/database.port.js';
import {
  fieldParameters,
  generatedHeader,
  getAttachmentParameters,
  getAttachmentProcedure,
  getItemParameters,
  newIdMissing,
  newIdParameters,
  newIdProcedure,
  outboxActions,
  type RoutineParameter,
  syncItemParameters,
} from './routines.js';
import { columnType, namedTypes, parameterType } from './types.js';

/**
 * The base project for SQL Server 2016 SP1 or later (CREATE OR ALTER), T-SQL batches separated by GO. Idempotent:
 * types, tables and the application's templates are created only when missing (IF ... IS NULL), the connector's
 * procedures are replaced. Procedures return the exit code with RETURN and the rest through @output_value and
 * @error_message OUTPUT parameters, as the original's samples did (docs/database.md, "Exit codes").
 */

export const batchSeparator = 'GO';

const go = (statements: string[]) => statements.join(`\n${batchSeparator}\n\n`);

/** T-SQL string literal. */
export const nstring = (text: string) => `N'${text.replaceAll("'", "''")}'`;

export function tsqlParameterList(parameters: readonly RoutineParameter[], status: boolean): string {
  const lines = parameters.map((p) => `@${p.name} ${parameterType(p.kind, 'sqlserver')} = NULL`);
  if (status) lines.push('@output_value NVARCHAR(MAX) = NULL OUTPUT', '@error_message NVARCHAR(MAX) = NULL OUTPUT');
  return lines.map((l) => `  ${l}`).join(',\n');
}

/** A JSON object of the parameters keyed by name, NULLs kept (they mean "unchanged"). */
export function tsqlJson(parameters: readonly RoutineParameter[]): string {
  if (parameters.length === 0) return "N'{}'";
  return `(
    SELECT
${parameters.map((p) => `      @${p.name} AS ${p.name}`).join(',\n')}
    FOR JSON PATH, WITHOUT_ARRAY_WRAPPER, INCLUDE_NULL_VALUES
  )`;
}

/** CREATE ... only when the object does not exist: the application's templates are never overwritten. */
const createIfMissing = (name: string, objectType: 'P' | 'V', statement: string) =>
  `IF OBJECT_ID(${nstring(name)}, N'${objectType}') IS NULL\n  EXEC (${nstring(statement)});`;

function types(): string {
  return namedTypes
    .map((t) => `IF TYPE_ID(${nstring(t.name)}) IS NULL CREATE TYPE ${t.name} FROM ${t.sqlserver};`)
    .join('\n');
}

function tables(definitions: readonly ItemTypeDefinition[]): string[] {
  const watermarks = definitions.map((t) => `exh_watermark_${t.name}`);
  const user = columnType('user', 'sqlserver');
  return [
    `-- The connector writes its address, port and listener token here at start-up (docs/database.md, "Start-up").
IF OBJECT_ID(N'exh_set_up', N'U') IS NULL
CREATE TABLE exh_set_up (
  exh_parameter NVARCHAR(100) NOT NULL CONSTRAINT exh_set_up_pk PRIMARY KEY,
  exh_value NVARCHAR(MAX) NULL
);`,
    `-- Per user and item type, where catch-up resumes (the sync state of each folder; opaque, large).
IF OBJECT_ID(N'exh_watermark', N'U') IS NULL
CREATE TABLE exh_watermark (
  exh_user ${user} NOT NULL CONSTRAINT exh_watermark_pk PRIMARY KEY,
${watermarks.map((c) => `  ${c} NVARCHAR(MAX) NULL`).join(',\n')}
);`,
    watermarks
      .map(
        (c) =>
          `IF COL_LENGTH(N'exh_watermark', ${nstring(c)}) IS NULL ALTER TABLE exh_watermark ADD ${c} NVARCHAR(MAX) NULL;`,
      )
      .join('\n'),
    `-- Meetings the application created: the iCalendar UID every copy shares (organizer's and attendees'), and the
-- application's id, so that attendees' copies carry the same exh_app_item_id (docs/database.md, "Matching items").
IF OBJECT_ID(N'exh_meeting', N'U') IS NULL
CREATE TABLE exh_meeting (
  exh_uid NVARCHAR(512) COLLATE Latin1_General_CS_AS NOT NULL CONSTRAINT exh_meeting_pk PRIMARY KEY,
  exh_app_item_id ${columnType('appItemId', 'sqlserver')} NOT NULL,
  exh_created DATETIMEOFFSET(3) NOT NULL CONSTRAINT exh_meeting_created DEFAULT SYSUTCDATETIME()
);`,
    `-- Per Exchange item, the change key of the version the application's row reflects (applied from Exchange, or
-- written by the connector), and the outbox rows that lost a conflict to Exchange: how the connector tells a
-- person's change in Exchange from its own (docs/reliability.md, "Conflicts"). The connector's own; never edit.
IF OBJECT_ID(N'exh_item_version', N'U') IS NULL
CREATE TABLE exh_item_version (
  exh_item_id ${columnType('itemId', 'sqlserver')} NOT NULL CONSTRAINT exh_item_version_pk PRIMARY KEY,
  exh_user ${user} NOT NULL,
  exh_item_type NVARCHAR(50) NOT NULL,
  exh_change_key NVARCHAR(512) NOT NULL,
  exh_superseded_until BIGINT NULL,
  exh_updated_at DATETIMEOFFSET(3) NOT NULL CONSTRAINT exh_item_version_updated_at DEFAULT SYSUTCDATETIME()
);`,
    `-- Requests for the connector, written by exh_to_exh_*, exh_sync_users, exh_sync_item and ${getAttachmentProcedure}.
IF OBJECT_ID(N'exh_outbox', N'U') IS NULL
CREATE TABLE exh_outbox (
  exh_outbox_id BIGINT IDENTITY(1, 1) NOT NULL CONSTRAINT exh_outbox_pk PRIMARY KEY,
  exh_user ${user} NULL,
  exh_item_type NVARCHAR(50) NULL,
  exh_action NVARCHAR(20) NOT NULL
    CONSTRAINT exh_outbox_action CHECK (exh_action IN (${outboxActions.map((a) => nstring(a)).join(', ')})),
  exh_payload NVARCHAR(MAX) NOT NULL,
  exh_created DATETIMEOFFSET(3) NOT NULL CONSTRAINT exh_outbox_created DEFAULT SYSDATETIMEOFFSET(),
  exh_attempts INT NOT NULL CONSTRAINT exh_outbox_attempts DEFAULT 0,
  exh_state NVARCHAR(10) NOT NULL CONSTRAINT exh_outbox_state_default DEFAULT N'pending'
    CONSTRAINT exh_outbox_state CHECK (exh_state IN (N'pending', N'done', N'failed')),
  exh_exit_code INT NULL,
  exh_output_value NVARCHAR(MAX) NULL,
  exh_error_message NVARCHAR(MAX) NULL,
  exh_completed_at DATETIMEOFFSET(3) NULL
);`,
    `IF NOT EXISTS (SELECT 1 FROM sys.indexes WHERE name = N'exh_outbox_pending' AND object_id = OBJECT_ID(N'exh_outbox'))
CREATE INDEX exh_outbox_pending ON exh_outbox (exh_state, exh_outbox_id);`,
    `-- Several instances sharing this database (docs/database.md, "Several instances"): each running instance and its
-- last heartbeat. Times are the database's clock. The connector's own; never edit. Unused by a single instance.
IF OBJECT_ID(N'exh_member', N'U') IS NULL
CREATE TABLE exh_member (
  exh_instance_id NVARCHAR(200) NOT NULL CONSTRAINT exh_member_pk PRIMARY KEY,
  exh_address NVARCHAR(400) NOT NULL,
  exh_port INT NOT NULL,
  exh_started_at DATETIMEOFFSET(3) NOT NULL,
  exh_heartbeat_at DATETIMEOFFSET(3) NOT NULL
);`,
    `-- Per user (lower-cased), the instance whose lease runs the mailbox and a fencing token that only grows.
IF OBJECT_ID(N'exh_lease', N'U') IS NULL
CREATE TABLE exh_lease (
  exh_user_key ${user} NOT NULL CONSTRAINT exh_lease_pk PRIMARY KEY,
  exh_user ${user} NOT NULL,
  exh_instance_id NVARCHAR(200) NOT NULL,
  exh_fence BIGINT NOT NULL,
  exh_expires_at DATETIMEOFFSET(3) NOT NULL
);`,
    `-- Errors the connector reports back to the application.
IF OBJECT_ID(N'exh_log', N'U') IS NULL
CREATE TABLE exh_log (
  exh_log_id BIGINT IDENTITY(1, 1) NOT NULL CONSTRAINT exh_log_pk PRIMARY KEY,
  exh_logged_at DATETIMEOFFSET(3) NOT NULL CONSTRAINT exh_log_logged_at DEFAULT SYSDATETIMEOFFSET(),
  exh_user ${user} NULL,
  exh_item_type NVARCHAR(50) NULL,
  exh_code NVARCHAR(100) NOT NULL,
  exh_message NVARCHAR(MAX) NOT NULL
);`,
  ];
}

function userSource(definitions: readonly ItemTypeDefinition[]): string {
  const columns = [
    `CAST(NULL AS ${columnType('user', 'sqlserver')}) AS exh_user`,
    ...definitions.map((t) => `CAST(0 AS BIT) AS sync_${t.name}`),
  ];
  return `-- The application's users: a view the application defines over its own user table (exh_user and the BIT columns
-- ${definitions.map((t) => `sync_${t.name}`).join(', ')}, and optionally exh_backend: 'ews' or 'graph' for a user served
-- otherwise than exchange.backend says). Until it does, this empty one makes exh_get_users return no users.
${createIfMissing('exh_user_source', 'V', `CREATE VIEW exh_user_source AS SELECT ${columns.join(', ')} WHERE 1 = 0`)}`;
}

function getUsers(definitions: readonly ItemTypeDefinition[]): string {
  const select = [
    'u.exh_user',
    ...definitions.map((t) => `w.exh_watermark_${t.name}`),
    ...definitions.map((t) => `CAST(ISNULL(u.sync_${t.name}, 0) AS BIT) AS sync_${t.name}`),
  ];
  const query = (backend: string) => `SELECT
${[...select, `${backend} AS exh_backend`].map((s) => `    ${s}`).join(',\n')}
  FROM exh_user_source AS u
  LEFT JOIN exh_watermark AS w ON w.exh_user = u.exh_user;`;
  return `-- The users to synchronise with their watermarks (docs/database.md, "Start-up"). exh_backend is optional in
-- exh_user_source: read only when the view has it.
CREATE OR ALTER PROCEDURE exh_get_users
AS
BEGIN
  SET NOCOUNT ON;
  IF COL_LENGTH('exh_user_source', 'exh_backend') IS NOT NULL
    EXEC sp_executesql N'${query('CAST(u.exh_backend AS NVARCHAR(50))').replaceAll("'", "''")}';
  ELSE
    ${query('CAST(NULL AS NVARCHAR(50))')}
END;`;
}

/** src/db/attachment-info.ts: trim spaces, then %3A, %3B, %20 and %25 last. */
const decodePart = (variable: string) =>
  `REPLACE(REPLACE(REPLACE(REPLACE(LTRIM(RTRIM(${variable})), N'%3A', N':'), N'%3B', N';'), N'%20', N' '), N'%25', N'%')`;

function splitAttachmentInfo(): string {
  return `-- Splits "name: id; name: id;" into rows; escaping of ":", ";", "%" and edge spaces: docs/database.md.
CREATE OR ALTER FUNCTION exh_split_attachment_info (@exh_attachments NVARCHAR(MAX))
RETURNS @attachments TABLE (
  exh_attachment_position INT NOT NULL,
  exh_attachment_name NVARCHAR(MAX) NULL,
  exh_attachment_id ${columnType('itemId', 'sqlserver')} NULL
)
AS
BEGIN
  DECLARE @rest NVARCHAR(MAX) = @exh_attachments;
  DECLARE @piece NVARCHAR(MAX);
  DECLARE @separator INT;
  DECLARE @colon INT;
  DECLARE @position INT = 0;
  WHILE @rest IS NOT NULL
  BEGIN
    SET @separator = CHARINDEX(N';', @rest);
    IF @separator = 0
    BEGIN
      SET @piece = @rest;
      SET @rest = NULL;
    END
    ELSE
    BEGIN
      SET @piece = LEFT(@rest, @separator - 1);
      SET @rest = STUFF(@rest, 1, @separator, N'');
    END;
    -- Comparing with N'' ignores trailing spaces: a piece of only spaces is empty.
    IF @piece <> N''
    BEGIN
      SET @position = @position + 1;
      SET @colon = CHARINDEX(N':', @piece);
      INSERT INTO @attachments (exh_attachment_position, exh_attachment_name, exh_attachment_id)
      VALUES (
        @position,
        ${decodePart('CASE WHEN @colon = 0 THEN @piece ELSE LEFT(@piece, @colon - 1) END')},
        ${decodePart("CASE WHEN @colon = 0 THEN N'' ELSE STUFF(@piece, 1, @colon, N'') END")}
      );
    END;
  END;
  RETURN;
END;`;
}

/** A procedure body that validates, writes one outbox row and returns 0, or returns 1 with @error_message. */
function statusProcedure(
  name: string,
  parameters: readonly RoutineParameter[],
  checks: [condition: string, message: string][],
  itemType: string,
  action: string,
  user = '@exh_user',
): string {
  const parameterList = tsqlParameterList(parameters, true);
  return `CREATE OR ALTER PROCEDURE ${name}
${parameterList}
AS
BEGIN
  SET NOCOUNT ON;
  SET @output_value = NULL;
  SET @error_message = NULL;
${checks
  .map(
    ([condition, message]) => `  IF ${condition}
  BEGIN
    SET @error_message = ${nstring(message)};
    RETURN 1;
  END;`,
  )
  .join('\n')}
  BEGIN TRY
    DECLARE @payload NVARCHAR(MAX) = ${tsqlJson(parameters)};
    INSERT INTO exh_outbox (exh_user, exh_item_type, exh_action, exh_payload)
    VALUES (${user}, ${itemType}, ${nstring(action)}, @payload);
    RETURN 0;
  END TRY
  BEGIN CATCH
    SET @error_message = ERROR_MESSAGE();
    RETURN 1;
  END CATCH;
END;`;
}

const userRequired: [string, string] = [`@exh_user IS NULL OR @exh_user = N''`, 'exh_user is required'];
/** exh_sync_item: NULL is every registered user (docs/database.md, "Resynchronising"); only an empty one is refused. */
const userNullOrGiven: [string, string] = [
  `@exh_user = N''`,
  'exh_user must be a user or NULL (every registered user), not empty',
];

function toExh(definition: ItemTypeDefinition, action: ItemAction): string {
  const keyCheck: [string, string] =
    action === 'add'
      ? [
          `@exh_app_item_id IS NULL OR @exh_app_item_id = N''`,
          'exh_app_item_id is required: the Exchange item carries it so that its echo finds the row',
        ]
      : ['@exh_item_id IS NULL AND @exh_app_item_id IS NULL', 'exh_item_id or exh_app_item_id is required'];
  return statusProcedure(
    definition.procedures.toExh[action],
    fieldParameters(definition, action),
    [userRequired, keyCheck],
    nstring(definition.name),
    action,
  );
}

function fromExhTemplate(definition: ItemTypeDefinition, action: ItemAction): string {
  const name = definition.procedures.fromExh[action];
  const what = action === 'del' ? 'delete the item' : 'insert or update the item';
  const procedure = `CREATE PROCEDURE ${name}
${tsqlParameterList(fieldParameters(definition, action), false)}
AS
BEGIN
  SET NOCOUNT ON;
  -- Template: ${what} in the application's table (sql/mssql/example-app.sql shows how). NULL leaves a value
  -- unchanged, '' clears it; compare exh_item_id with COLLATE Latin1_General_CS_AS, else exh_app_item_id where
  -- exh_item_id is null, always filtered on exh_user.
  RETURN 0;
END;`;
  return createIfMissing(name, 'P', procedure);
}

function newIdTemplate(definition: ItemTypeDefinition): string {
  const name = newIdProcedure(definition);
  const procedure = `CREATE PROCEDURE ${name}
${tsqlParameterList(newIdParameters, false)}
AS
BEGIN
  SET NOCOUNT ON;
  -- Template: set exh_item_id to @exh_new_item_id on the application's row of @exh_user whose exh_item_id is
  -- @exh_item_id (COLLATE Latin1_General_CS_AS; sql/mssql/example-app.sql shows how). Until it is filled in, a user
  -- switched between EWS and Graph is refused instead of getting its rows again.
  THROW 50000, N'${newIdMissing(definition)}', 1;
END;`;
  return createIfMissing(name, 'P', procedure);
}

function getItemTemplate(definition: ItemTypeDefinition): string {
  const name = definition.procedures.getItem;
  const columns = definition.fields.map(
    (f) => `CAST(NULL AS ${columnType(f.kind, 'sqlserver').replace(/ COLLATE .*/, '')}) AS exh_${f.name}`,
  );
  const procedure = `CREATE PROCEDURE ${name}
${tsqlParameterList(getItemParameters, false)}
AS
BEGIN
  SET NOCOUNT ON;
  -- Template: the items of @exh_user to send to Exchange again (exh_sync_item, direction 1), one row each with these
  -- columns. Returns nothing until the application fills it in.
  SELECT
${columns.map((c) => `    ${c}`).join(',\n')}
  WHERE 1 = 0;
END;`;
  return createIfMissing(name, 'P', procedure);
}

function commands(definitions: readonly ItemTypeDefinition[]): string[] {
  const itemType = `CASE @exh_item ${definitions.map((t) => `WHEN ${t.code} THEN ${nstring(t.name)}`).join(' ')} END`;
  const codes = definitions.map((t) => t.code).join(', ');
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
      '@exh_sync_direction IS NULL OR @exh_sync_direction NOT IN (0, 1)',
      'exh_sync_direction must be 0 (Exchange to database) or 1 (database to Exchange)',
    ],
    [
      `@exh_item IS NOT NULL AND @exh_item NOT IN (${codes})`,
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
      '@exh_user IS NULL OR @exh_item_id IS NULL OR @exh_attachment_id IS NULL',
      'exh_user, exh_item_id and exh_attachment_id are required',
    ],
  ],
  'NULL',
  'get_attachment',
)}`,
  ];
}

export function sqlServerBaseProject(definitions: readonly ItemTypeDefinition[]): string {
  return `${go([
    `${generatedHeader('sqlserver', 'exh base project for SQL Server 2016 SP1+ (T-SQL, batches separated by GO).', '--')}
SET ANSI_NULLS ON;
SET QUOTED_IDENTIFIER ON;`,
    `-- Alias types for the text kinds, for application tables and code (docs/database.md, "Types"). Item id columns add
-- COLLATE Latin1_General_CS_AS themselves: alias types carry no collation.
${types()}`,
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
  ])}\n${batchSeparator}\n`;
}
