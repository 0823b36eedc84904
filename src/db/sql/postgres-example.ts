import type { FieldDefinition, ItemTypeDefinition } from '../../items/definition.js';
import { columnName, procedureFields, textKinds } from '../../items/definition.js';
import type { ItemAction } from '../../ports/database.port.js';
import { appKey, appTable, appUserTable, isKeyField, rangeFilters, valueFields } from './example-shared.js';
import { pgParameterList } from './postgres.js';
import { generatedHeader, getItemParameters, newIdParameters, newIdProcedure } from './routines.js';
import { columnType } from './types.js';

/**
 * The example application for PostgreSQL: install it after the base project (exh db install --example-app). The demo
 * and the end-to-end tests use it; application developers copy from it. CREATE OR REPLACE throughout, so it replaces
 * the base project's empty templates and can be installed again.
 */

/** The session flag the connector sets (transaction-local) while it applies changes from Exchange. */
export const applyingSetting = 'exh.applying';

const isText = (f: FieldDefinition) => textKinds.has(f.kind);

function appUser(types: readonly ItemTypeDefinition[]): string {
  const flags = types.map((t) => `sync_${t.name}`);
  return `-- The application's users and what each synchronises.
CREATE TABLE IF NOT EXISTS ${appUserTable} (
  exh_user exh_user PRIMARY KEY,
${flags.map((f) => `  ${f} boolean NOT NULL DEFAULT true`).join(',\n')}
);
-- 'ews' or 'graph' for a user served otherwise than exchange.backend says; NULL: as configured.
ALTER TABLE ${appUserTable} ADD COLUMN IF NOT EXISTS exh_backend text;

-- exh_get_users reads this view (the base project's default is empty).
CREATE OR REPLACE VIEW exh_user_source AS
SELECT exh_user::text AS exh_user, ${flags.join(', ')}, exh_backend
FROM ${appUserTable};`;
}

function table(definition: ItemTypeDefinition): string {
  const name = appTable(definition);
  const columns = definition.fields.map((f) => {
    const type = columnType(f.kind, 'postgres');
    if (f.name === 'app_item_id') return `${columnName(f)} ${type} NOT NULL DEFAULT gen_random_uuid()::text`;
    if (f.name === 'user') return `${columnName(f)} ${type} NOT NULL`;
    return `${columnName(f)} ${type}`;
  });
  return `CREATE TABLE IF NOT EXISTS ${name} (
  ${appKey} bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
${columns.map((c) => `  ${c}`).join(',\n')}
);
-- Item ids are compared case-sensitively (PostgreSQL's default): ids differing only in case are two items.
CREATE UNIQUE INDEX IF NOT EXISTS ${name}_exh_item_id ON ${name} (exh_user, exh_item_id);
CREATE INDEX IF NOT EXISTS ${name}_exh_app_item_id ON ${name} (exh_user, exh_app_item_id);`;
}

/** Match on the item id case-sensitively, else on the application's id while the item id is null, within the user
 * (docs/database.md, "Matching items"). */
const match = `t.exh_user = exh_user
    AND (t.exh_item_id = exh_item_id OR (t.exh_item_id IS NULL AND t.exh_app_item_id = exh_app_item_id))`;

function upsert(definition: ItemTypeDefinition, action: ItemAction): string {
  const name = definition.procedures.fromExh[action];
  const values = valueFields(definition);
  // NULL leaves a value unchanged, '' clears it (stored as NULL).
  const set = [
    'exh_item_id = coalesce(exh_item_id, t.exh_item_id)',
    ...values.map((f) => {
      const c = columnName(f);
      return isText(f) ? `${c} = nullif(coalesce(${c}, t.${c}), '')` : `${c} = coalesce(${c}, t.${c})`;
    }),
  ];
  const insertValues = definition.fields.map((f) => {
    const c = columnName(f);
    if (f.name === 'app_item_id') return `coalesce(nullif(${c}, ''), gen_random_uuid()::text)`;
    return isText(f) && !isKeyField(f) ? `nullif(${c}, '')` : c;
  });
  return `CREATE OR REPLACE FUNCTION ${name}${pgParameterList(
    procedureFields(definition, action).map((f) => ({ name: columnName(f), kind: f.kind })),
  )}
RETURNS void LANGUAGE plpgsql AS $fn$
#variable_conflict use_variable
BEGIN
  UPDATE ${appTable(definition)} AS t
  SET
${set.map((s) => `    ${s}`).join(',\n')}
  WHERE ${match};
  IF NOT FOUND THEN
    BEGIN
      INSERT INTO ${appTable(definition)} (
${definition.fields.map((f) => `        ${columnName(f)}`).join(',\n')}
      ) VALUES (
${insertValues.map((v) => `        ${v}`).join(',\n')}
      );
    EXCEPTION WHEN unique_violation THEN
      -- The application's transaction that made this item (a synchronous sender's trigger) committed its row while
      -- this one waited: that row is the one to update, never a second one.
      UPDATE ${appTable(definition)} AS t
      SET
${set.map((s) => `        ${s}`).join(',\n')}
      WHERE ${match};
    END;
  END IF;
END
$fn$;`;
}

function remove(definition: ItemTypeDefinition): string {
  const name = definition.procedures.fromExh.del;
  return `CREATE OR REPLACE FUNCTION ${name}${pgParameterList(
    procedureFields(definition, 'del').map((f) => ({ name: columnName(f), kind: f.kind })),
  )}
RETURNS void LANGUAGE plpgsql AS $fn$
#variable_conflict use_variable
BEGIN
  DELETE FROM ${appTable(definition)} AS t
  WHERE ${match};
END
$fn$;`;
}

/** A user switched between EWS and Graph: the row takes its item's new id (docs/database.md, "Switching backends"). */
function newId(definition: ItemTypeDefinition): string {
  return `CREATE OR REPLACE FUNCTION ${newIdProcedure(definition)}${pgParameterList(newIdParameters)}
RETURNS void LANGUAGE plpgsql AS $fn$
#variable_conflict use_variable
BEGIN
  UPDATE ${appTable(definition)} AS t
  SET exh_item_id = exh_new_item_id
  WHERE t.exh_user = exh_user AND t.exh_item_id = exh_item_id;
END
$fn$;`;
}

function getItem(definition: ItemTypeDefinition): string {
  const name = definition.procedures.getItem;
  const filters = rangeFilters(definition).flatMap((r) => [
    `(${name}.${r.from} IS NULL OR t.${r.column} >= ${name}.${r.from})`,
    `(${name}.${r.until} IS NULL OR t.${r.column} < ${name}.${r.until})`,
  ]);
  return `CREATE OR REPLACE FUNCTION ${name}${pgParameterList(getItemParameters)}
RETURNS SETOF jsonb LANGUAGE sql STABLE AS $fn$
  SELECT to_jsonb(t) - '${appKey}'
  FROM ${appTable(definition)} AS t
  WHERE ${[`t.exh_user = ${name}.exh_user`, ...filters].join('\n    AND ')}
  ORDER BY t.${appKey}
$fn$;`;
}

/** Named arguments for exh_to_exh_*: on update only what changed is sent (NULL: unchanged; a value cleared: ''). */
function toExhArguments(definition: ItemTypeDefinition, action: ItemAction): string {
  const row = action === 'del' ? 'OLD' : 'NEW';
  return procedureFields(definition, action)
    .map((f) => {
      const c = columnName(f);
      if (action !== 'chg' || isKeyField(f)) return `${c} => ${row}.${c}`;
      const changed = `NEW.${c} IS DISTINCT FROM OLD.${c}`;
      return isText(f)
        ? `${c} => CASE WHEN ${changed} THEN coalesce(NEW.${c}, '') END`
        : `${c} => CASE WHEN ${changed} THEN NEW.${c} END`;
    })
    .map((a) => `      ${a}`)
    .join(',\n');
}

function trigger(definition: ItemTypeDefinition): string {
  const table = appTable(definition);
  const fn = `${table}_to_exh`;
  const call = (action: ItemAction) =>
    `SELECT * INTO result FROM ${definition.procedures.toExh[action]}(\n${toExhArguments(definition, action)}\n    );`;
  return `-- Sends the application's own changes to Exchange; rows the connector writes are skipped (no echo).
CREATE OR REPLACE FUNCTION ${fn}() RETURNS trigger LANGUAGE plpgsql AS $fn$
DECLARE
  result record;
BEGIN
  IF coalesce(current_setting('${applyingSetting}', true), '') = 'on' THEN
    RETURN NULL;
  END IF;
  IF TG_OP = 'INSERT' THEN
    ${call('add')}
  ELSIF TG_OP = 'UPDATE' THEN
    IF NEW IS NOT DISTINCT FROM OLD THEN
      RETURN NULL;
    END IF;
    ${call('chg')}
  ELSE
    ${call('del')}
  END IF;
  IF result.exit_code <> 0 THEN
    RAISE EXCEPTION '${table}: sending the change to Exchange failed (exit code %): %', result.exit_code, result.error_message;
  END IF;
  -- Synchronous mode (docs/senders.md) answers an add with the new Exchange item id at once: the row gets it now,
  -- without this trigger sending the update on (the outbox's reply comes later, through the echo).
  IF TG_OP = 'INSERT' AND result.output_value IS NOT NULL AND NEW.exh_item_id IS NULL THEN
    PERFORM set_config('${applyingSetting}', 'on', true);
    BEGIN
      UPDATE ${table} SET exh_item_id = result.output_value WHERE ${appKey} = NEW.${appKey};
    EXCEPTION WHEN unique_violation THEN
      -- The echo from Exchange came first and made a row of its own for the item: this row keeps the item.
      DELETE FROM ${table} AS t
      WHERE t.exh_user = NEW.exh_user AND t.exh_item_id = result.output_value AND t.${appKey} <> NEW.${appKey};
      UPDATE ${table} SET exh_item_id = result.output_value WHERE ${appKey} = NEW.${appKey};
    END;
    PERFORM set_config('${applyingSetting}', '', true);
  END IF;
  RETURN NULL;
END
$fn$;
CREATE OR REPLACE TRIGGER ${fn}
AFTER INSERT OR UPDATE OR DELETE ON ${table}
FOR EACH ROW EXECUTE FUNCTION ${fn}();`;
}

function itemType(definition: ItemTypeDefinition): string {
  return [
    `-- ${appTable(definition)} ${'-'.repeat(100 - appTable(definition).length - 4)}`,
    table(definition),
    upsert(definition, 'add'),
    upsert(definition, 'chg'),
    remove(definition),
    newId(definition),
    getItem(definition),
    trigger(definition),
  ].join('\n\n');
}

export function postgresExampleApp(types: readonly ItemTypeDefinition[]): string {
  return `${[
    generatedHeader('postgres', 'exh example application for PostgreSQL (install after base-project.sql).', '--'),
    appUser(types),
    ...types.map(itemType),
  ].join('\n\n')}\n`;
}
