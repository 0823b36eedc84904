import type { SQLParam } from 'ibm_db';
import { type ItemTypeDefinition, procedureFields } from '../../items/index.js';
import type { ChangeBatch, FieldValue } from '../../ports/database.port.js';
import { procedureArguments } from '../field-values.js';
import { newIdProcedure } from '../sql/routines.js';
import { pageFenceCheck } from './db2-cluster.js';
import { guardCondition, pageGuard } from './page-guard.js';

/**
 * A page of changes (ChangeBatch) for DB2: its statements, each with parameter markers, and the same statements as
 * compound SQL (inlined) statements, BEGIN ATOMIC … END, which DB2 prepares and runs as one statement: one round trip
 * for the page's calls, change keys, meetings and watermark (Db2 SQL reference, "Compound SQL (inlined) statement",
 * whose statements may be CALL, MERGE, searched DELETE and SET variable). A server that does not take a page this way
 * is given the statements one at a time (db2.ts).
 */

export interface Db2Statement {
  text: string;
  params: SQLParam[];
  /** The procedure or table it runs, named when it fails. */
  object: string;
}

export interface Db2Compound {
  text: string;
  params: SQLParam[];
}

/**
 * Bounds of one compound statement: Db2 for LUW takes statements up to 2,097,152 bytes and 32,767 parameter markers
 * ("SQL and XML limits"); half of each leaves room. A 512-change calendar page (about 17,000 markers) takes two.
 */
export const compoundLimits = { markers: 16_000, bytes: 1024 * 1024 };

/** A port value as an ibm_db parameter: booleans as SMALLINT 0/1, timestamps as UTC text (the base project's rule). */
export function toDb2(value: FieldValue | undefined): SQLParam {
  if (value === undefined || value === null) return null;
  if (typeof value === 'boolean') return value ? 1 : 0;
  if (value instanceof Date) return value.toISOString().replace('T', '-').replace('Z', '').replaceAll(':', '.');
  return value;
}

/**
 * Keeps what the connector knows of an item (exh_item_version): its change key, and the highest outbox row that lost
 * a conflict to Exchange (never lowered). Times in UTC, the base project's rule. Parameters: item id, user (lower
 * case), item type, change key, superseded-until.
 */
export const itemVersionMerge = `MERGE INTO exh_item_version AS t
     USING (VALUES (CAST(? AS VARGRAPHIC(512)), CAST(? AS VARGRAPHIC(255)), CAST(? AS VARGRAPHIC(50)),
       CAST(? AS VARGRAPHIC(512)), CAST(? AS BIGINT))) AS s (exh_item_id, exh_user, exh_item_type, exh_change_key,
       exh_superseded_until)
     ON t.exh_item_id = s.exh_item_id
     WHEN MATCHED THEN UPDATE SET exh_user = s.exh_user, exh_item_type = s.exh_item_type,
       exh_change_key = s.exh_change_key, exh_updated_at = CURRENT TIMESTAMP - CURRENT TIMEZONE,
       exh_superseded_until = CASE WHEN s.exh_superseded_until IS NULL OR t.exh_superseded_until >= s.exh_superseded_until
         THEN t.exh_superseded_until ELSE s.exh_superseded_until END
     WHEN NOT MATCHED THEN INSERT (exh_item_id, exh_user, exh_item_type, exh_change_key, exh_superseded_until,
       exh_updated_at)
       VALUES (s.exh_item_id, s.exh_user, s.exh_item_type, s.exh_change_key, s.exh_superseded_until,
         CURRENT TIMESTAMP - CURRENT TIMEZONE)`;

export const meetingMerge = `MERGE INTO exh_meeting AS t
     USING (VALUES (CAST(? AS VARGRAPHIC(512)), CAST(? AS VARGRAPHIC(255)))) AS s (exh_uid, exh_app_item_id)
     ON t.exh_uid = s.exh_uid
     WHEN MATCHED THEN UPDATE SET exh_app_item_id = s.exh_app_item_id
     WHEN NOT MATCHED THEN INSERT (exh_uid, exh_app_item_id) VALUES (s.exh_uid, s.exh_app_item_id)`;

const itemVersionTable = 'exh_item_version';
/** The global variable the example application's triggers read: rows written while it is 1 are not sent back. */
export const applyingOn = 'SET exh_applying = 1';
export const applyingOff = 'SET exh_applying = 0';

/** The statements of one page, in the order the one-call-at-a-time adapter ran them, the flag set around them. */
export function pageStatements(definition: ItemTypeDefinition, batch: ChangeBatch): Db2Statement[] {
  const statements: Db2Statement[] = [
    // Several instances: the lease check first (db2-cluster.ts), which fails the page's transaction when lost.
    ...(batch.fence ? [pageFenceCheck(batch.user, batch.fence)] : []),
    { text: applyingOn, params: [], object: 'exh_watermark' },
  ];
  // A user switched between backends: rows move to their items' new ids first (docs/database.md, "Switching backends").
  const rename = newIdProcedure(definition);
  for (const { from, to } of batch.renames ?? []) {
    statements.push({ text: `CALL ${rename}(?, ?, ?)`, params: [batch.user, from, to], object: rename });
    statements.push(forgetVersion(from));
  }
  for (const change of batch.changes) {
    const procedure = definition.procedures.fromExh[change.action];
    // Positional: every parameter of the procedure, NULL (its default) for the fields the change leaves out.
    const given = new Map(
      procedureArguments(definition, change.action, change.fields, batch.user).map((a) => [a.parameter, a.value]),
    );
    const params = procedureFields(definition, change.action).map((f) => toDb2(given.get(`exh_${f.name}`)));
    statements.push({ text: `CALL ${procedure}(${params.map(() => '?').join(', ')})`, params, object: procedure });
    const itemId = change.fields.item_id;
    if (change.changeKey === undefined || typeof itemId !== 'string' || itemId === '') continue;
    statements.push(
      change.changeKey === null
        ? forgetVersion(itemId)
        : {
            text: itemVersionMerge,
            params: [itemId, batch.user.toLowerCase(), batch.itemType, change.changeKey, change.supersedes ?? null],
            object: itemVersionTable,
          },
    );
  }
  for (const meeting of batch.meetings ?? []) {
    statements.push({ text: meetingMerge, params: [meeting.uid, meeting.appItemId], object: 'exh_meeting' });
  }
  if (batch.watermark !== undefined) {
    const column = `exh_watermark_${definition.name}`;
    statements.push({
      text: `MERGE INTO exh_watermark AS t
             USING (VALUES (CAST(? AS VARGRAPHIC(255)), CAST(? AS CLOB(16M)))) AS s (exh_user, watermark)
             ON t.exh_user = s.exh_user
             WHEN MATCHED THEN UPDATE SET ${column} = s.watermark
             WHEN NOT MATCHED THEN INSERT (exh_user, ${column}) VALUES (s.exh_user, s.watermark)`,
      params: [batch.user, batch.watermark],
      object: 'exh_watermark',
    });
  }
  // Last: the application's changes written while the page was on its way (ChangeBatch.reconciledWith). An
  // application transaction that changed a row of the page before the page's writes committed its outbox row with it,
  // and this sees it; one that changes it after them waits for the row until the page commits, and its change stays.
  // A read-only scalar subquery (with currently committed, Db2 LUW's default since 9.7, a row not yet committed is not
  // waited for) in a statement that runs in a compound and alone alike. CASE may not hold EXISTS there, so it counts;
  // it sets the flag to the value it holds until applyingOff, or raises.
  const guard = pageGuard(batch);
  if (guard) {
    const condition = guardCondition(
      guard,
      'LOWER(exh_user) = LOWER(CAST(? AS VARGRAPHIC(255)))',
      'exh_item_type = CAST(? AS VARGRAPHIC(50))',
    );
    statements.push({
      text: `SET exh_applying = (SELECT CASE WHEN COUNT(*) = 0 THEN 1
  ELSE RAISE_ERROR('${overtakenSqlState}', '${overtakenMessage}') END FROM exh_outbox WHERE ${condition})`,
      params: [batch.user, batch.itemType],
      object: 'exh_outbox',
    });
  }
  statements.push({ text: applyingOff, params: [], object: 'exh_watermark' });
  return statements;
}

/** The SQLSTATE of the page's last check; the adapter turns it into EXH_SYNC_PAGE_OVERTAKEN. */
export const overtakenSqlState = '75002';
export const overtakenMessage = 'exh: the application changed an item of this page meanwhile';

function forgetVersion(itemId: string): Db2Statement {
  return { text: 'DELETE FROM exh_item_version WHERE exh_item_id = ?', params: [itemId], object: itemVersionTable };
}

/** The statements as compound statements within compoundLimits, in order; one for a page that fits. */
export function pageCompounds(statements: readonly Db2Statement[], limits = compoundLimits): Db2Compound[] {
  const compounds: Db2Compound[] = [];
  let texts: string[] = [];
  let params: SQLParam[] = [];
  let bytes = 0;
  const flush = () => {
    if (texts.length === 0) return;
    compounds.push({ text: `BEGIN ATOMIC\n${texts.map((t) => `${t};\n`).join('')}END`, params });
    texts = [];
    params = [];
    bytes = 0;
  };
  for (const statement of statements) {
    const size = Buffer.byteLength(statement.text) + 2;
    const over = params.length + statement.params.length > limits.markers || bytes + size > limits.bytes;
    if (texts.length > 0 && over) flush();
    texts.push(statement.text);
    params.push(...statement.params);
    bytes += size;
  }
  flush();
  return compounds;
}

/**
 * The server does not take the page as compound statements (a syntax or context it refuses: SQL0104N, SQL0084N, a
 * parameter marker where it allows none): the adapter stops trying them on this connection.
 */
export function compoundRefused(error: unknown): boolean {
  const { sqlcode, sqlstate } = (error ?? {}) as { sqlcode?: unknown; sqlstate?: unknown };
  return [-104, -84, -418, -20019].includes(Number(sqlcode)) || ['42601', '42612', '42610'].includes(String(sqlstate));
}
