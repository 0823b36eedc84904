import type { FieldDefinition, ItemTypeDefinition } from '../../items/definition.js';
import { columnName, procedureFields, textKinds } from '../../items/definition.js';
import type { ItemAction } from '../../ports/database.port.js';
import { appKey, appTable, appUserTable, isKeyField, rangeFilters, valueFields } from './example-shared.js';
import { generatedHeader, getItemParameters, newIdParameters, newIdProcedure } from './routines.js';
import { batchSeparator, nstring, tsqlParameterList } from './sqlserver.js';
import { columnType, parameterType } from './types.js';

/**
 * The example application for SQL Server, the twin of postgres-example.ts: install it after the base project
 * (exh db install --example-app). CREATE OR ALTER throughout, tables and indexes only when missing.
 */

/** SESSION_CONTEXT key the connector sets to the current transaction id while it applies changes from Exchange. */
export const applyingKey = 'exh.applying';

const isText = (f: FieldDefinition) => textKinds.has(f.kind);
const caseSensitive = 'COLLATE Latin1_General_CS_AS';

function appUser(types: readonly ItemTypeDefinition[]): string[] {
  const flags = types.map((t) => `sync_${t.name}`);
  return [
    `-- The application's users and what each synchronises.
IF OBJECT_ID(N'${appUserTable}', N'U') IS NULL
CREATE TABLE ${appUserTable} (
  exh_user ${columnType('user', 'sqlserver')} NOT NULL CONSTRAINT ${appUserTable}_pk PRIMARY KEY,
${flags.map((f) => `  ${f} BIT NOT NULL CONSTRAINT ${appUserTable}_${f} DEFAULT 1`).join(',\n')}
);`,
    `-- 'ews' or 'graph' for a user served otherwise than exchange.backend says; NULL: as configured.
IF COL_LENGTH(N'${appUserTable}', N'exh_backend') IS NULL
ALTER TABLE ${appUserTable} ADD exh_backend NVARCHAR(50) NULL;`,
    `-- exh_get_users reads this view (the base project's default is empty).
CREATE OR ALTER VIEW exh_user_source AS
SELECT exh_user, ${flags.join(', ')}, exh_backend
FROM ${appUserTable};`,
  ];
}

function table(definition: ItemTypeDefinition): string[] {
  const name = appTable(definition);
  const columns = definition.fields.map((f) => {
    const type = columnType(f.kind, 'sqlserver');
    if (f.name === 'app_item_id') {
      return `${columnName(f)} ${type} NOT NULL CONSTRAINT ${name}_app_item_id DEFAULT CONVERT(NVARCHAR(36), NEWID())`;
    }
    return `${columnName(f)} ${type} ${f.name === 'user' ? 'NOT NULL' : 'NULL'}`;
  });
  return [
    `IF OBJECT_ID(N'${name}', N'U') IS NULL
CREATE TABLE ${name} (
  ${appKey} BIGINT IDENTITY(1, 1) NOT NULL CONSTRAINT ${name}_pk PRIMARY KEY,
${columns.map((c) => `  ${c}`).join(',\n')}
);`,
    `-- exh_item_id is Latin1_General_CS_AS: ids that differ only in case are two items.
IF NOT EXISTS (SELECT 1 FROM sys.indexes WHERE name = N'${name}_exh_item_id' AND object_id = OBJECT_ID(N'${name}'))
CREATE UNIQUE INDEX ${name}_exh_item_id ON ${name} (exh_user, exh_item_id) WHERE exh_item_id IS NOT NULL;
IF NOT EXISTS (SELECT 1 FROM sys.indexes WHERE name = N'${name}_exh_app_item_id' AND object_id = OBJECT_ID(N'${name}'))
CREATE INDEX ${name}_exh_app_item_id ON ${name} (exh_user, exh_app_item_id);`,
  ];
}

/** Match on the item id case-sensitively, else on the application's id while the item id is null, within the user
 * (docs/database.md, "Matching items"). */
const match = `t.exh_user = @exh_user
    AND (t.exh_item_id ${caseSensitive} = @exh_item_id
         OR (t.exh_item_id IS NULL AND t.exh_app_item_id = @exh_app_item_id))`;

function parameters(definition: ItemTypeDefinition, action: ItemAction) {
  return procedureFields(definition, action).map((f) => ({ name: columnName(f), kind: f.kind }));
}

function upsert(definition: ItemTypeDefinition, action: ItemAction): string {
  // NULL leaves a value unchanged, '' clears it (stored as NULL).
  const set = [
    'exh_item_id = COALESCE(@exh_item_id, t.exh_item_id)',
    ...valueFields(definition).map((f) => {
      const c = columnName(f);
      return isText(f) ? `${c} = NULLIF(COALESCE(@${c}, t.${c}), N'')` : `${c} = COALESCE(@${c}, t.${c})`;
    }),
  ];
  const values = definition.fields.map((f) => {
    const c = columnName(f);
    if (f.name === 'app_item_id') return `COALESCE(NULLIF(@${c}, N''), CONVERT(NVARCHAR(36), NEWID()))`;
    return isText(f) && !isKeyField(f) ? `NULLIF(@${c}, N'')` : `@${c}`;
  });
  return `CREATE OR ALTER PROCEDURE ${definition.procedures.fromExh[action]}
${tsqlParameterList(parameters(definition, action), false)}
AS
BEGIN
  SET NOCOUNT ON;
  UPDATE t
  SET
${set.map((s) => `    ${s}`).join(',\n')}
  FROM ${appTable(definition)} AS t
  WHERE ${match};
  IF @@ROWCOUNT = 0
    INSERT INTO ${appTable(definition)} (
${definition.fields.map((f) => `      ${columnName(f)}`).join(',\n')}
    ) VALUES (
${values.map((v) => `      ${v}`).join(',\n')}
    );
  RETURN 0;
END;`;
}

function remove(definition: ItemTypeDefinition): string {
  return `CREATE OR ALTER PROCEDURE ${definition.procedures.fromExh.del}
${tsqlParameterList(parameters(definition, 'del'), false)}
AS
BEGIN
  SET NOCOUNT ON;
  DELETE t
  FROM ${appTable(definition)} AS t
  WHERE ${match};
  RETURN 0;
END;`;
}

/** A user switched between EWS and Graph: the row takes its item's new id (docs/database.md, "Switching backends"). */
function newId(definition: ItemTypeDefinition): string {
  return `CREATE OR ALTER PROCEDURE ${newIdProcedure(definition)}
${tsqlParameterList(newIdParameters, false)}
AS
BEGIN
  SET NOCOUNT ON;
  UPDATE t
  SET exh_item_id = @exh_new_item_id
  FROM ${appTable(definition)} AS t
  WHERE t.exh_user = @exh_user AND t.exh_item_id ${caseSensitive} = @exh_item_id;
  RETURN 0;
END;`;
}

function getItem(definition: ItemTypeDefinition): string {
  const filters = rangeFilters(definition).flatMap((r) => [
    `(@${r.from} IS NULL OR t.${r.column} >= @${r.from})`,
    `(@${r.until} IS NULL OR t.${r.column} < @${r.until})`,
  ]);
  return `CREATE OR ALTER PROCEDURE ${definition.procedures.getItem}
${tsqlParameterList(getItemParameters, false)}
AS
BEGIN
  SET NOCOUNT ON;
  SELECT
${definition.fields.map((f) => `    t.${columnName(f)}`).join(',\n')}
  FROM ${appTable(definition)} AS t
  WHERE ${['t.exh_user = @exh_user', ...filters].join('\n    AND ')}
  ORDER BY t.${appKey};
END;`;
}

/** What the cursor selects per field; on update only what changed (NULL: unchanged; a value cleared: ''). */
function cursorColumn(f: FieldDefinition, action: ItemAction): string {
  const c = columnName(f);
  if (action === 'del') return `d.${c}`;
  if (action === 'add' || isKeyField(f)) return `i.${c}`;
  if (isText(f)) {
    // A binary collation so that a change of case counts as a change; EXCEPT treats NULLs as equal.
    const changed = `EXISTS (SELECT i.${c} COLLATE Latin1_General_BIN2 EXCEPT SELECT d.${c} COLLATE Latin1_General_BIN2)`;
    return `CASE WHEN ${changed} THEN ISNULL(i.${c}, N'') END`;
  }
  return `CASE WHEN EXISTS (SELECT i.${c} EXCEPT SELECT d.${c}) THEN i.${c} END`;
}

function trigger(definition: ItemTypeDefinition, action: ItemAction): string {
  const table = appTable(definition);
  const fields = procedureFields(definition, action);
  const variables = fields.map((f) => `@${columnName(f)}`).join(', ');
  const source = {
    add: 'inserted AS i',
    chg: `inserted AS i\n      JOIN deleted AS d ON d.${appKey} = i.${appKey}`,
    del: 'deleted AS d',
  }[action];
  const event = { add: 'INSERT', chg: 'UPDATE', del: 'DELETE' }[action];
  return `-- Sends the application's own changes to Exchange; rows the connector writes are skipped (no echo).
CREATE OR ALTER TRIGGER ${table}_to_exh_${action} ON ${table} AFTER ${event}
AS
BEGIN
  SET NOCOUNT ON;
  IF CAST(SESSION_CONTEXT(${nstring(applyingKey)}) AS BIGINT) = CURRENT_TRANSACTION_ID() RETURN;
  DECLARE @exit_code INT;
  DECLARE @error_message NVARCHAR(MAX);
  DECLARE @message NVARCHAR(2048);
${fields.map((f) => `  DECLARE @${columnName(f)} ${parameterType(f.kind, 'sqlserver')};`).join('\n')}
  DECLARE trigger_cursor CURSOR LOCAL FAST_FORWARD FOR
    SELECT
${fields.map((f) => `      ${cursorColumn(f, action)}`).join(',\n')}
    FROM ${source};
  OPEN trigger_cursor;
  FETCH NEXT FROM trigger_cursor INTO ${variables};
  WHILE @@FETCH_STATUS = 0
  BEGIN
    EXEC @exit_code = ${definition.procedures.toExh[action]}
${fields.map((f) => `      @${columnName(f)} = @${columnName(f)},`).join('\n')}
      @error_message = @error_message OUTPUT;
    IF @exit_code <> 0
    BEGIN
      CLOSE trigger_cursor;
      DEALLOCATE trigger_cursor;
      SET @message = CONCAT(N'${table}: sending the change to Exchange failed (exit code ', @exit_code, N'): ', @error_message);
      THROW 50000, @message, 1;
    END;
    FETCH NEXT FROM trigger_cursor INTO ${variables};
  END;
  CLOSE trigger_cursor;
  DEALLOCATE trigger_cursor;
END;`;
}

function itemType(definition: ItemTypeDefinition): string[] {
  return [
    ...table(definition),
    upsert(definition, 'add'),
    upsert(definition, 'chg'),
    remove(definition),
    newId(definition),
    getItem(definition),
    trigger(definition, 'add'),
    trigger(definition, 'chg'),
    trigger(definition, 'del'),
  ];
}

export function sqlServerExampleApp(types: readonly ItemTypeDefinition[]): string {
  const batches = [
    `${generatedHeader('sqlserver', 'exh example application for SQL Server (install after base-project.sql).', '--')}
SET ANSI_NULLS ON;
SET QUOTED_IDENTIFIER ON;`,
    ...appUser(types),
    ...types.flatMap(itemType),
  ];
  return `${batches.join(`\n${batchSeparator}\n\n`)}\n${batchSeparator}\n`;
}
