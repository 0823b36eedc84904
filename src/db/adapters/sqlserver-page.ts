import type { FieldKind } from '../../items/definition.js';
import type { ItemTypeDefinition } from '../../items/index.js';
import type { ChangeBatch, FieldValue } from '../../ports/database.port.js';
import { procedureArguments } from '../field-values.js';
import { newIdProcedure } from '../sql/routines.js';
import { applyingFlag } from './installable.js';
import { guardCondition, pageGuard } from './page-guard.js';
import { fenceCheckLine } from './sqlserver-cluster.js';

/**
 * A page of changes (ChangeBatch) as T-SQL batches for SQL Server: every EXEC of a page and its other writes in one
 * request (sp_executesql with typed parameters), so that a page costs one round trip inside its transaction. A request
 * takes at most 2,100 parameters (SQL Server's "Maximum Capacity Specifications"), so a page that needs more is split
 * into several requests, in order, in the same transaction.
 *
 * Each statement is one line of its batch: SQL Server reports the line of an error raised in the batch itself, which
 * names the statement that failed; an error raised inside a procedure names the procedure (procName).
 */

/** A parameter: its SQL type follows from the field kind, as for a procedure called by name (sqlserver.ts sqlType). */
export interface SqlServerInput {
  name: string;
  kind: FieldKind | 'bigint';
  value: FieldValue;
}

export interface SqlServerBatch {
  text: string;
  inputs: SqlServerInput[];
  /** What the statement on each line runs, by line number (from 1); lines absent are the batch's own. */
  objects: ReadonlyMap<number, string>;
  /** What the statement a parameter belongs to runs, by parameter name (without @). */
  owners: ReadonlyMap<string, string>;
}

/**
 * Bounds of one request: below SQL Server's 2,100 parameters (sp_executesql's own two count too), and a statement count
 * that keeps a batch's compilation small.
 */
export const batchLimits = { parameters: 2_000, statements: 1_000 };

interface Statement {
  /** One line, `@{n}` standing for the statement's own parameters in order. */
  text: string;
  object: string;
  inputs: Array<Omit<SqlServerInput, 'name'>>;
}

const itemVersionTable = 'exh_item_version';

/**
 * Parameters every statement of a batch shares: the user as the procedures take it, in lower case for
 * exh_item_version, and the item type.
 */
const shared = { user: '@exh_page_user', userLower: '@exh_page_user_lower', itemType: '@exh_page_item_type' };

/** The statements of one page, in the order the one-call-at-a-time adapter ran them. */
function pageStatements(definition: ItemTypeDefinition, batch: ChangeBatch): Statement[] {
  const statements: Statement[] = [];
  // Several instances: first, the lease check (sqlserver-cluster.ts), which fails the page's transaction when lost.
  if (batch.fence) {
    statements.push({
      text: fenceCheckLine(
        `FROM exh_lease AS l WITH (HOLDLOCK) WHERE l.exh_user_key = ${shared.userLower}`,
        shared.user,
      ),
      object: 'exh_lease',
      inputs: [],
    });
  }
  const rename = newIdProcedure(definition);
  for (const { from, to } of batch.renames ?? []) {
    statements.push({
      text: `EXEC ${rename} @exh_user = ${shared.user}, @exh_item_id = @{0}, @exh_new_item_id = @{1};`,
      object: rename,
      inputs: [
        { kind: 'itemId', value: from },
        { kind: 'itemId', value: to },
      ],
    });
    statements.push(forgetVersion(from));
  }
  for (const change of batch.changes) {
    const procedure = definition.procedures.fromExh[change.action];
    const args = procedureArguments(definition, change.action, change.fields, batch.user);
    // The user is the page's: one shared parameter instead of one per call.
    const own = args.filter((a) => a.parameter !== 'exh_user');
    const list = args.map(
      (a) => `@${a.parameter} = ${a.parameter === 'exh_user' ? shared.user : `@{${own.indexOf(a)}}`}`,
    );
    // A procedure's return value other than 0 fails it, as it did when each was executed alone.
    statements.push({
      text:
        `EXEC @exh_rc = ${procedure}${list.length > 0 ? ` ${list.join(', ')}` : ''}; ` +
        `IF @exh_rc <> 0 BEGIN SET @exh_message = CONCAT(N'it returned exit code ', @exh_rc); THROW 50000, @exh_message, 1; END;`,
      object: procedure,
      inputs: own.map((a) => ({ kind: a.kind, value: a.value })),
    });
    const itemId = change.fields.item_id;
    if (change.changeKey === undefined || typeof itemId !== 'string' || itemId === '') continue;
    if (change.changeKey === null) {
      statements.push(forgetVersion(itemId));
      continue;
    }
    statements.push({
      text:
        `UPDATE exh_item_version WITH (UPDLOCK, SERIALIZABLE) SET exh_user = ${shared.userLower}, ` +
        `exh_item_type = ${shared.itemType}, exh_change_key = @{1}, exh_updated_at = SYSUTCDATETIME(), ` +
        'exh_superseded_until = CASE WHEN @{2} IS NULL OR exh_superseded_until >= @{2} THEN exh_superseded_until ' +
        'ELSE @{2} END WHERE exh_item_id = @{0} COLLATE Latin1_General_CS_AS; IF @@ROWCOUNT = 0 INSERT INTO ' +
        'exh_item_version (exh_item_id, exh_user, exh_item_type, exh_change_key, exh_superseded_until) ' +
        `VALUES (@{0}, ${shared.userLower}, ${shared.itemType}, @{1}, @{2});`,
      object: itemVersionTable,
      inputs: [
        { kind: 'itemId', value: itemId },
        { kind: 'itemId', value: change.changeKey },
        { kind: 'bigint', value: change.supersedes ?? null },
      ],
    });
  }
  for (const meeting of batch.meetings ?? []) {
    statements.push({
      text:
        'UPDATE exh_meeting WITH (UPDLOCK, SERIALIZABLE) SET exh_app_item_id = @{1} WHERE exh_uid = @{0}; ' +
        'IF @@ROWCOUNT = 0 INSERT INTO exh_meeting (exh_uid, exh_app_item_id) VALUES (@{0}, @{1});',
      object: 'exh_meeting',
      inputs: [
        { kind: 'itemId', value: meeting.uid },
        { kind: 'appItemId', value: meeting.appItemId },
      ],
    });
  }
  // No watermark (a resynchronisation): the live sync's place stays where it is.
  if (batch.watermark !== undefined) {
    const column = `exh_watermark_${definition.name}`;
    statements.push({
      text:
        `UPDATE exh_watermark WITH (UPDLOCK, SERIALIZABLE) SET ${column} = @{0} WHERE exh_user = ${shared.user}; ` +
        `IF @@ROWCOUNT = 0 INSERT INTO exh_watermark (exh_user, ${column}) VALUES (${shared.user}, @{0});`,
      object: 'exh_watermark',
      inputs: [{ kind: 'longText', value: batch.watermark }],
    });
  }
  // Last: the application's changes written while the page was on its way (ChangeBatch.reconciledWith). An
  // application transaction that changed a row of the page before the page's writes committed its outbox row with it,
  // and this sees it; one that changes it after them waits for the row until the page commits, and its change stays.
  // So a row another transaction has not committed yet is skipped (READPAST), rather than waited for: no new lock wait
  // on the application's transactions, whichever user's rows they write.
  const guard = pageGuard(batch);
  if (guard) {
    const condition = guardCondition(
      guard,
      `LOWER(exh_user) = LOWER(${shared.user})`,
      `exh_item_type = ${shared.itemType}`,
    );
    statements.push({
      text:
        `IF EXISTS (SELECT 1 FROM exh_outbox WITH (READPAST) WHERE ${condition}) ` +
        `THROW ${overtakenErrorNumber}, N'exh: the application changed an item of this page meanwhile', 1;`,
      object: 'exh_outbox',
      inputs: [],
    });
  }
  return statements;
}

/** The error number of the page's last check; the adapter turns it into EXH_SYNC_PAGE_OVERTAKEN. */
export const overtakenErrorNumber = 50418;

function forgetVersion(itemId: string): Statement {
  return {
    text: 'DELETE FROM exh_item_version WHERE exh_item_id = @{0} COLLATE Latin1_General_CS_AS;',
    object: itemVersionTable,
    inputs: [{ kind: 'itemId', value: itemId }],
  };
}

/**
 * The batch's first lines: the example application's triggers skip rows written while SESSION_CONTEXT('exh.applying')
 * equals their transaction's id (set in every batch of the page: the same transaction).
 */
const head = [
  `DECLARE @exh_transaction BIGINT = CURRENT_TRANSACTION_ID(), @exh_rc INT, @exh_message NVARCHAR(2048);`,
  `EXEC sp_set_session_context @key = N'${applyingFlag}', @value = @exh_transaction;`,
];
/** The last batch of a page clears the flag, so that the connection's next transaction starts without it. */
const tail = `EXEC sp_set_session_context @key = N'${applyingFlag}', @value = NULL;`;

/** A page as batches within batchLimits, in order; one batch for a page that fits. */
export function pageBatches(
  definition: ItemTypeDefinition,
  batch: ChangeBatch,
  limits = batchLimits,
): SqlServerBatch[] {
  const base: SqlServerInput[] = [
    { name: shared.user.slice(1), kind: 'user', value: batch.user },
    { name: shared.userLower.slice(1), kind: 'user', value: batch.user.toLowerCase() },
    { name: shared.itemType.slice(1), kind: 'code', value: batch.itemType },
    ...(batch.fence
      ? [
          { name: 'exh_fence_instance', kind: 'text' as const, value: batch.fence.instanceId },
          { name: 'exh_fence_token', kind: 'text' as const, value: batch.fence.token },
        ]
      : []),
  ];
  const batches: SqlServerBatch[] = [];
  let lines: string[] = [];
  let inputs: SqlServerInput[] = [];
  let objects = new Map<number, string>();
  let owners = new Map<string, string>();
  const flush = (last: boolean) => {
    if (lines.length === 0 && !last) return;
    const text = [...head, ...lines, ...(last ? [tail] : [])].join('\n');
    batches.push({ text, inputs: [...base, ...inputs], objects, owners });
    lines = [];
    inputs = [];
    objects = new Map();
    owners = new Map();
  };
  for (const statement of pageStatements(definition, batch)) {
    const full = base.length + inputs.length + statement.inputs.length > limits.parameters;
    if (lines.length > 0 && (full || lines.length >= limits.statements)) flush(false);
    const first = inputs.length;
    lines.push(statement.text.replace(/@\{(\d+)\}/g, (_, i: string) => `@p${first + Number(i)}`));
    statement.inputs.forEach((input, i) => {
      inputs.push({ name: `p${first + i}`, ...input });
      owners.set(`p${first + i}`, statement.object);
    });
    objects.set(head.length + lines.length, statement.object);
  }
  flush(true);
  return batches;
}

/**
 * What failed in a batch: the procedure the error was raised in (procName; also for an error of a trigger it fired,
 * as before), else the statement on the error's line. mssql rejects with the last error of a request and keeps the
 * earlier ones in precedingErrors: the first is the one that failed the page (a statement-level error lets a batch run
 * on, and the transaction is rolled back afterwards).
 */
export function firstError(error: unknown): unknown {
  const preceding = (error as { precedingErrors?: unknown } | null)?.precedingErrors;
  return Array.isArray(preceding) && preceding.length > 0 ? preceding[0] : error;
}

/**
 * The statement an error belongs to: by its line, or by the parameter mssql could not convert before sending (its
 * "Validation failed for parameter 'p5'", a value such as 'not a date' for a timestamp).
 */
export function failedObject(error: unknown, batch: SqlServerBatch | undefined): string {
  if (!batch) return 'exh_watermark';
  const line = (error as { lineNumber?: unknown } | null)?.lineNumber;
  if (typeof line === 'number' && line > 0) return batch.objects.get(line) ?? 'exh_watermark';
  const parameter = /Validation failed for parameter '([^']+)'/.exec(error instanceof Error ? error.message : '')?.[1];
  return (parameter && batch.owners.get(parameter)) || 'exh_watermark';
}
