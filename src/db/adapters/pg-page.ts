import { errors } from '../../errors.js';
import type { ItemTypeDefinition } from '../../items/index.js';
import type { ChangeBatch, Fence, FieldValue } from '../../ports/database.port.js';
import { procedureArguments } from '../field-values.js';
import { newIdProcedure } from '../sql/routines.js';
import { applyingFlag } from './installable.js';
import { guardCondition, type PageGuard, pageGuard } from './page-guard.js';

/**
 * A page of changes (ChangeBatch) as SQL text for PostgreSQL's simple query protocol, so that the whole page (renames,
 * every exh_from_exh_* call, item versions, meetings, watermark) goes to the server in one message and costs one round
 * trip: a multi-statement Query runs its statements in order as one implicit transaction, which the first error
 * rolls back (PostgreSQL documentation, "Multiple Statements in a Simple Query").
 *
 * There are no parameters in that protocol, so every value is a quoted literal, escaped as libpq's PQescapeLiteral
 * and pg's escapeLiteral do. A quoted literal has type unknown, as an untyped parameter has, so a procedure's named
 * parameters resolve and convert the values exactly as `name => $n` did.
 */

/** One statement of a page, and what it runs (the procedure or the table), named when it fails. */
export interface PageStatement {
  text: string;
  object: string;
}

/** Statements sent in one round trip, joined. */
export interface PageScript {
  text: string;
  statements: readonly PageStatement[];
}

/**
 * Bounds of one round trip. The server parses a Query message's statements all at once before running the first, so a
 * page's SQL is kept to a size whose parse trees stay small; a page of 512 changes with change keys (about 1,030
 * statements, a few MB with bodies) fits in one.
 */
export const pageLimits = { statements: 4_096, bytes: 8 * 1024 * 1024 };

const itemVersionTable = 'exh_item_version';

/** A value as a literal of type unknown, or NULL. A NUL character cannot be sent in SQL text (nor as a parameter). */
export function literal(value: FieldValue, object: string): string {
  if (value === null) return 'NULL';
  if (typeof value === 'string') return quote(value, object);
  if (value instanceof Date) {
    // An invalid date is refused by the server as pg's own conversion of it was ("NaN-NaN-…"), not here.
    return quote(Number.isNaN(value.getTime()) ? 'invalid date' : value.toISOString(), object);
  }
  return quote(String(value), object);
}

function quote(text: string, object: string): string {
  if (text.includes('\0')) {
    throw errors.procedureFailed(
      object,
      new Error('a value contains a NUL character, which PostgreSQL text cannot hold'),
    );
  }
  const doubled = text.replaceAll("'", "''");
  // E'' reads a backslash the same whatever standard_conforming_strings says.
  return text.includes('\\') ? ` E'${doubled.replaceAll('\\', '\\\\')}'` : `'${doubled}'`;
}

/** The SQLSTATE fenceCheck raises; the adapter turns it into EXH_CLUSTER_LEASE_LOST (pg-errors.ts). */
export const leaseLostSqlState = 'EXH01';

/**
 * Several instances (docs/database.md, "Several instances"): a statement that raises SQLSTATE EXH01 unless `fence`'s
 * instance holds `user`'s lease with that token, unexpired by the database's clock. First in a transaction, it keeps
 * the lease row share-locked until the end, so no claim takes the lease between the check and the commit; raising
 * rolls back everything the transaction wrote. The token is compared as text: a malformed one matches no lease.
 */
export function fenceCheck(user: string, fence: Fence): PageStatement {
  const object = 'exh_lease';
  return fenceBlock(
    `FROM exh_lease AS l WHERE l.exh_user_key = lower(${literal(user, object)})`,
    fence,
    literal(user, object),
  );
}

/** fenceCheck for an outbox row, whose user the row holds (a row without a user has no lease: refused). */
export function outboxFenceCheck(id: string, fence: Fence): PageStatement {
  const row = `o.exh_outbox_id = ${literal(id, 'exh_outbox')}::bigint`;
  return fenceBlock(
    `FROM exh_outbox AS o JOIN exh_lease AS l ON l.exh_user_key = lower(o.exh_user) WHERE ${row}`,
    fence,
    `coalesce((SELECT o.exh_user FROM exh_outbox AS o WHERE ${row}), '')`,
  );
}

function fenceBlock(fromWhere: string, fence: Fence, user: string): PageStatement {
  const object = 'exh_lease';
  const body = `BEGIN
  PERFORM 1 ${fromWhere}
    AND l.exh_instance_id = ${literal(fence.instanceId, object)} AND l.exh_fence::text = ${literal(fence.token, object)}
    AND l.exh_expires_at > now()
    FOR SHARE OF l;
  IF NOT FOUND THEN
    RAISE EXCEPTION 'exh: this instance does not hold the lease' USING ERRCODE = '${leaseLostSqlState}', DETAIL = ${user};
  END IF;
END`;
  if (body.includes('$exh_fence$')) {
    throw errors.procedureFailed(object, new Error('a user or instance id contains "$exh_fence$"'));
  }
  return { text: `DO $exh_fence$\n${body}\n$exh_fence$`, object };
}

/** The SQLSTATE overtakenCheck raises; the adapter turns it into EXH_SYNC_PAGE_OVERTAKEN (pg-errors.ts). */
export const overtakenSqlState = 'EXH02';

/**
 * Raises SQLSTATE EXH02 when a pending change of the application names one of the page's items and is not among those
 * the page was weighed against (page-guard.ts). Last in the transaction, after the page's own writes: an application
 * transaction that changed such a row before them committed its outbox row with it, and this statement sees it; one
 * that changes it after them waits for the row until the page commits, and its change stays.
 */
function overtakenCheck(batch: ChangeBatch, guard: PageGuard): PageStatement {
  const object = 'exh_outbox';
  const condition = guardCondition(
    guard,
    `lower(exh_user) = lower(${literal(batch.user, object)})`,
    `exh_item_type = ${literal(batch.itemType, object)}`,
  );
  const body = `BEGIN
  IF EXISTS (SELECT 1 FROM exh_outbox WHERE ${condition}) THEN
    RAISE EXCEPTION 'exh: the application changed an item of this page meanwhile' USING ERRCODE = '${overtakenSqlState}';
  END IF;
END`;
  if (body.includes('$exh_guard$')) {
    throw errors.procedureFailed(object, new Error('a user or item type contains "$exh_guard$"'));
  }
  return { text: `DO $exh_guard$\n${body}\n$exh_guard$`, object };
}

/** The statements of one page, in the order the one-call-at-a-time adapter ran them. */
export function pageStatements(definition: ItemTypeDefinition, batch: ChangeBatch): PageStatement[] {
  const watermarkColumn = `exh_watermark_${definition.name}`;
  // The example application's triggers skip rows written while this is on (no echo back to Exchange).
  const statements: PageStatement[] = [
    ...(batch.fence ? [fenceCheck(batch.user, batch.fence)] : []),
    { text: `SELECT set_config('${applyingFlag}', 'on', true)`, object: 'exh_watermark' },
    // The procedures' statements planned for their values in this transaction. A pooled session otherwise keeps the
    // generic plan PL/pgSQL settles on after five calls, made while the application's table was still small (a
    // first catch-up): a sequential scan per call that grows with the table until the next ANALYZE (measured on the
    // example application: its UPDATE took 0.03 ms with a custom plan and 3.7 ms with the generic one at 3,000 rows).
    { text: "SELECT set_config('plan_cache_mode', 'force_custom_plan', true)", object: 'exh_watermark' },
  ];
  // A user switched between backends: rows move to their items' new ids first (docs/database.md, "Switching backends").
  const rename = newIdProcedure(definition);
  for (const { from, to } of batch.renames ?? []) {
    const args = [`exh_user => ${literal(batch.user, rename)}`, `exh_item_id => ${literal(from, rename)}`];
    args.push(`exh_new_item_id => ${literal(to, rename)}`);
    statements.push({ text: `SELECT ${rename}(${args.join(', ')})`, object: rename });
    statements.push(forgetVersion(from));
  }
  for (const change of batch.changes) {
    const procedure = definition.procedures.fromExh[change.action];
    const args = procedureArguments(definition, change.action, change.fields, batch.user)
      .map((a) => `${a.parameter} => ${literal(a.value, procedure)}`)
      .join(', ');
    statements.push({ text: `SELECT ${procedure}(${args})`, object: procedure });
    const itemId = change.fields.item_id;
    if (change.changeKey === undefined || typeof itemId !== 'string' || itemId === '') continue;
    statements.push(
      change.changeKey === null
        ? forgetVersion(itemId)
        : {
            text: itemVersionUpsert([
              literal(itemId, itemVersionTable),
              literal(batch.user.toLowerCase(), itemVersionTable),
              literal(batch.itemType, itemVersionTable),
              literal(change.changeKey, itemVersionTable),
              `${literal(change.supersedes ?? null, itemVersionTable)}::bigint`,
            ]),
            object: itemVersionTable,
          },
    );
  }
  for (const meeting of batch.meetings ?? []) {
    statements.push({
      text: `INSERT INTO exh_meeting (exh_uid, exh_app_item_id)
        VALUES (${literal(meeting.uid, 'exh_meeting')}, ${literal(meeting.appItemId, 'exh_meeting')})
        ON CONFLICT (exh_uid) DO UPDATE SET exh_app_item_id = EXCLUDED.exh_app_item_id`,
      object: 'exh_meeting',
    });
  }
  if (batch.watermark !== undefined) {
    statements.push({
      text: `INSERT INTO exh_watermark (exh_user, ${watermarkColumn})
        VALUES (${literal(batch.user, 'exh_watermark')}, ${literal(batch.watermark, 'exh_watermark')})
        ON CONFLICT (exh_user) DO UPDATE SET ${watermarkColumn} = EXCLUDED.${watermarkColumn}`,
      object: 'exh_watermark',
    });
  }
  // Last: the application's changes written while the page was on its way (ChangeBatch.reconciledWith).
  const guard = pageGuard(batch);
  if (guard) statements.push(overtakenCheck(batch, guard));
  return statements;
}

/**
 * Keeps what the connector knows of an item (exh_item_version): its change key, and the highest outbox row that lost
 * a conflict to Exchange (never lowered). `values`: item id, user, item type, change key, superseded-until.
 */
export function itemVersionUpsert(values: readonly string[]): string {
  return `INSERT INTO exh_item_version (exh_item_id, exh_user, exh_item_type, exh_change_key, exh_superseded_until)
     VALUES (${values.join(', ')})
     ON CONFLICT (exh_item_id) DO UPDATE SET exh_user = EXCLUDED.exh_user, exh_item_type = EXCLUDED.exh_item_type,
       exh_change_key = EXCLUDED.exh_change_key, exh_updated_at = now(),
       exh_superseded_until = GREATEST(exh_item_version.exh_superseded_until, EXCLUDED.exh_superseded_until)`;
}

function forgetVersion(itemId: string): PageStatement {
  return {
    text: `DELETE FROM exh_item_version WHERE exh_item_id = ${literal(itemId, itemVersionTable)}`,
    object: itemVersionTable,
  };
}

/** Statements grouped into scripts within pageLimits, in order; one script for any ordinary page. */
export function pageScripts(statements: readonly PageStatement[], limits = pageLimits): PageScript[] {
  const scripts: PageScript[] = [];
  let current: PageStatement[] = [];
  let bytes = 0;
  const flush = () => {
    if (current.length === 0) return;
    scripts.push({ text: current.map((s) => s.text).join(';\n'), statements: current });
    current = [];
    bytes = 0;
  };
  for (const statement of statements) {
    const size = Buffer.byteLength(statement.text) + 2;
    if (current.length >= limits.statements || (current.length > 0 && bytes + size > limits.bytes)) flush();
    current.push(statement);
    bytes += size;
  }
  flush();
  return scripts;
}

/**
 * The procedure or table of a script whose run failed, from what the server said: the outermost routine in the call
 * stack (`where`, innermost first) when the error was raised inside one; else the statement at the error's position
 * (counted in characters from 1, as the server counts them: a value that cannot convert, a missing function or
 * table); else the table of a violated constraint. When none of these tell, every object the script ran is named.
 */
export function failedObject(error: unknown, script: PageScript): string {
  const objects = new Set(script.statements.map((s) => s.object));
  const facts = (error ?? {}) as { where?: unknown; position?: unknown; table?: unknown };
  if (typeof facts.where === 'string') {
    const routines = [...facts.where.matchAll(/(?:PL\/pgSQL function |SQL function ")(?:[\w$]+\.)?([\w$]+)/g)];
    const outermost = routines.at(-1)?.[1];
    if (outermost !== undefined && objects.has(outermost)) return outermost;
  }
  const position = Number(facts.position);
  if (Number.isInteger(position) && position > 0) {
    let end = 0;
    for (const statement of script.statements) {
      end += characters(statement.text) + 2;
      if (position <= end) return statement.object;
    }
  }
  if (typeof facts.table === 'string' && objects.has(facts.table)) return facts.table;
  return objects.size === 1 ? ([...objects][0] ?? 'exh_watermark') : [...objects].join(' or ');
}

/** Length in Unicode code points (the server's characters), not UTF-16 units. */
function characters(text: string): number {
  let count = text.length;
  for (let i = 0; i < text.length; i++) {
    const unit = text.charCodeAt(i);
    if (unit >= 0xd800 && unit <= 0xdbff) count -= 1;
  }
  return count;
}
