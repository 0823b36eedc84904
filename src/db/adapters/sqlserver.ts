import type { ConnectionPool, ISqlType, ISqlTypeFactoryWithNoParams } from 'mssql';
import { type ExhError, errors, isExhError } from '../../errors.js';
import type { FieldKind } from '../../items/definition.js';
import { type ItemTypeDefinition, itemType, itemTypes } from '../../items/index.js';
import type {
  ChangeBatch,
  ConnectorLogEntry,
  FieldValue,
  ItemRanges,
  ItemTypeName,
  MeetingLink,
  OutboxCommandEntry,
  OutboxEntry,
  OutboxListFilter,
  OutboxOutcome,
  OutboxRecord,
  OutboxRetryFilter,
  SetUp,
  UserRegistration,
} from '../../ports/database.port.js';
import { decodeFields, procedureArguments, userRegistration } from '../field-values.js';
import { outboxActionList, outboxEntryFromRow, outboxRowsPerUser, outboxState, rangeParameters } from '../outbox.js';
import {
  listOutboxStatement,
  outboxRecordFromRow,
  readSetUpStatement,
  retryOutboxStatement,
  type Statement,
  setUpFromRows,
} from '../outbox-admin.js';
import { batchSeparator } from '../sql/sqlserver.js';
import { sqlServerTarget } from '../target.js';
import { applyingFlag, type InstallableDatabase, setUpParameters } from './installable.js';

type Mssql = typeof import('mssql');

/**
 * SQL Server through mssql (tedious), loaded in connect(). Procedures are executed by name with typed parameters; the
 * "connector is writing" flag is SESSION_CONTEXT('exh.applying') = the transaction's id, so that a pooled connection
 * never carries a stale flag into another transaction.
 */
export function createSqlServerDatabase(connectionString: string): InstallableDatabase {
  return new SqlServerDatabase(connectionString);
}

/** Error numbers of objects that do not exist: procedure, object, column, function. */
const missingObjectNumbers = new Set([2812, 208, 207, 4121]);
const connectionCodes = new Set([
  'ESOCKET',
  'ECONNCLOSED',
  'ETIMEOUT',
  'ENOTOPEN',
  'ECONNRESET',
  'ELOGIN',
  'EINSTLOOKUP',
]);

interface OutboxRow {
  id: string;
  exh_user: string;
  exh_item_type: string;
  exh_action: string;
  exh_payload: string;
  exh_created: Date;
  exh_attempts: number;
}

class SqlServerDatabase implements InstallableDatabase {
  readonly type = 'sqlserver' as const;
  readonly dialect = 'sqlserver' as const;
  readonly target: string;
  private mssql: Mssql | undefined;
  private pool: ConnectionPool | undefined;

  constructor(
    private readonly connectionString: string,
    private readonly types: readonly ItemTypeDefinition[] = itemTypes,
  ) {
    this.target = sqlServerTarget(connectionString);
  }

  async connect(): Promise<void> {
    if (this.pool) return;
    const mssql = await import('mssql').then(
      // mssql is CommonJS: from ESM its API is the default export (the types describe the named form).
      (module) => ((module as { default?: Mssql }).default ?? module) as Mssql,
      (cause: unknown) => {
        throw errors.driverMissing('mssql', 'sqlserver', cause);
      },
    );
    const pool = new mssql.ConnectionPool(this.connectionString);
    // Errors of idle connections; the next request reports the loss to its caller.
    pool.on('error', () => undefined);
    try {
      await pool.connect();
    } catch (error) {
      await pool.close().catch(() => undefined);
      // ELOGIN: the server answered and refused the user or password (SQL Server error 18456).
      throw (error as { code?: unknown }).code === 'ELOGIN'
        ? errors.databaseLoginFailed(this.target, error)
        : errors.databaseUnreachable(this.target, error);
    }
    this.mssql = mssql;
    this.pool = pool;
  }

  async probe(): Promise<void> {
    const { pool } = this.connected();
    try {
      await pool.request().query('SELECT 1 AS one');
    } catch (error) {
      throw errors.databaseConnectionLost(this.target, error);
    }
  }

  async close(): Promise<void> {
    const pool = this.pool;
    this.pool = undefined;
    await pool?.close().catch(() => undefined);
  }

  async writeSetUp(setUp: SetUp): Promise<void> {
    const { pool, mssql } = this.connected();
    const request = pool.request();
    const rows: [string, string][] = [
      [setUpParameters.ipAddress, setUp.ipAddress],
      [setUpParameters.port, String(setUp.port)],
      [setUpParameters.token, setUp.token],
    ];
    rows.forEach(([parameter, value], i) => {
      request.input(`p${i}`, mssql.NVarChar(100), parameter);
      request.input(`v${i}`, mssql.NVarChar(mssql.MAX), value);
    });
    await this.attempt('exh_set_up', () =>
      request.query(`MERGE exh_set_up WITH (HOLDLOCK) AS t
        USING (VALUES ${rows.map((_, i) => `(@p${i}, @v${i})`).join(', ')}) AS s (exh_parameter, exh_value)
        ON t.exh_parameter = s.exh_parameter
        WHEN MATCHED THEN UPDATE SET exh_value = s.exh_value
        WHEN NOT MATCHED THEN INSERT (exh_parameter, exh_value) VALUES (s.exh_parameter, s.exh_value);`),
    );
  }

  async getUsers(): Promise<UserRegistration[]> {
    const { pool } = this.connected();
    const result = await this.attempt('exh_get_users', () => pool.request().execute('exh_get_users'));
    return result.recordset.map((row) => userRegistration(row, this.types));
  }

  async applyChanges(batch: ChangeBatch): Promise<void> {
    const { pool, mssql } = this.connected();
    const definition = itemType(batch.itemType);
    const watermarkColumn = `exh_watermark_${definition.name}`;
    const transaction = new mssql.Transaction(pool);
    await this.attempt('exh_watermark', () => transaction.begin());
    try {
      // The example application's triggers skip rows written while this equals their transaction's id.
      await new mssql.Request(transaction).query(
        `DECLARE @transaction BIGINT = CURRENT_TRANSACTION_ID();
         EXEC sp_set_session_context @key = N'${applyingFlag}', @value = @transaction;`,
      );
      for (const change of batch.changes) {
        const procedure = definition.procedures.fromExh[change.action];
        const request = new mssql.Request(transaction);
        for (const arg of procedureArguments(definition, change.action, change.fields, batch.user)) {
          request.input(arg.parameter, this.sqlType(arg.kind), arg.value);
        }
        const result = await this.attempt(procedure, () => request.execute(procedure));
        if (result.returnValue !== 0) {
          throw errors.procedureFailed(procedure, new Error(`it returned exit code ${result.returnValue}`));
        }
      }
      for (const meeting of batch.meetings ?? []) {
        const remember = new mssql.Request(transaction)
          .input('uid', mssql.NVarChar(512), meeting.uid)
          .input('app_item_id', mssql.NVarChar(255), meeting.appItemId);
        await this.attempt('exh_meeting', () =>
          remember.query(`UPDATE exh_meeting WITH (UPDLOCK, SERIALIZABLE) SET exh_app_item_id = @app_item_id
            WHERE exh_uid = @uid;
            IF @@ROWCOUNT = 0 INSERT INTO exh_meeting (exh_uid, exh_app_item_id) VALUES (@uid, @app_item_id);`),
        );
      }
      const watermark = new mssql.Request(transaction)
        .input('user', mssql.NVarChar(255), batch.user)
        .input('watermark', mssql.NVarChar(mssql.MAX), batch.watermark ?? null);
      // No watermark (a resynchronisation): the live sync's place stays where it is.
      await this.attempt('exh_watermark', () =>
        watermark.query(`IF @watermark IS NOT NULL
          BEGIN
            UPDATE exh_watermark WITH (UPDLOCK, SERIALIZABLE) SET ${watermarkColumn} = @watermark
            WHERE exh_user = @user;
            IF @@ROWCOUNT = 0
              INSERT INTO exh_watermark (exh_user, ${watermarkColumn}) VALUES (@user, @watermark);
          END;
          EXEC sp_set_session_context @key = N'${applyingFlag}', @value = NULL;`),
      );
      await this.attempt('exh_watermark', () => transaction.commit());
    } catch (error) {
      await transaction.rollback().catch(() => undefined);
      throw this.translate(error, 'exh_watermark');
    }
  }

  async rememberMeetings(links: readonly MeetingLink[]): Promise<void> {
    const { pool, mssql } = this.connected();
    for (const link of links) {
      const request = pool
        .request()
        .input('uid', mssql.NVarChar(512), link.uid)
        .input('app_item_id', mssql.NVarChar(255), link.appItemId);
      await this.attempt('exh_meeting', () =>
        request.query(`UPDATE exh_meeting WITH (UPDLOCK, SERIALIZABLE) SET exh_app_item_id = @app_item_id WHERE exh_uid = @uid;
          IF @@ROWCOUNT = 0 INSERT INTO exh_meeting (exh_uid, exh_app_item_id) VALUES (@uid, @app_item_id);`),
      );
    }
  }

  async meetingAppItemIds(uids: readonly string[]): Promise<Map<string, string>> {
    const found = new Map<string, string>();
    if (uids.length === 0) return found;
    const { pool, mssql } = this.connected();
    // One parameter per UID: a page holds at most 512 items, well under SQL Server's 2,100 parameters.
    const request = pool.request();
    for (const [i, uid] of uids.entries()) request.input(`uid${i}`, mssql.NVarChar(512), uid);
    const result = await this.attempt('exh_meeting', () =>
      request.query<{ exh_uid: string; exh_app_item_id: string }>(
        `SELECT exh_uid, exh_app_item_id FROM exh_meeting WHERE exh_uid IN (${uids.map((_, i) => `@uid${i}`).join(', ')})`,
      ),
    );
    for (const row of result.recordset) found.set(row.exh_uid, row.exh_app_item_id);
    return found;
  }

  async readOutbox(limit: number): Promise<Array<OutboxEntry | OutboxCommandEntry>> {
    const { pool, mssql } = this.connected();
    const request = pool.request().input('limit', mssql.Int, limit);
    const result = await this.attempt('exh_outbox', () =>
      request.query<OutboxRow>(`SELECT TOP (@limit) id, exh_user, exh_item_type, exh_action, exh_payload, exh_created,
          exh_attempts
        FROM (
          SELECT exh_outbox_id, CAST(exh_outbox_id AS NVARCHAR(20)) AS id, exh_user, exh_item_type, exh_action,
            exh_payload, exh_created, exh_attempts,
            ROW_NUMBER() OVER (PARTITION BY LOWER(ISNULL(exh_user, N'')) ORDER BY exh_outbox_id) AS exh_rank
          FROM exh_outbox
          WHERE exh_state = N'pending' AND exh_action IN (${outboxActionList})
        ) AS pending
        WHERE exh_rank <= ${outboxRowsPerUser}
        ORDER BY exh_rank, exh_outbox_id`),
    );
    return result.recordset.map((row) => outboxEntryFromRow({ ...row }, this.types));
  }

  async getItems(name: ItemTypeName, user: string, ranges: ItemRanges): Promise<Array<Record<string, FieldValue>>> {
    const { pool, mssql } = this.connected();
    const definition = itemType(name);
    const procedure = definition.procedures.getItem;
    const request = pool.request().input('exh_user', mssql.NVarChar(255), user);
    for (const range of rangeParameters(ranges)) request.input(range.name, mssql.DateTimeOffset(3), range.value);
    const result = await this.attempt(procedure, () => request.execute<Record<string, unknown>>(procedure));
    return itemsOfRecordset(definition, result.recordset);
  }

  async completeOutbox(id: string, outcome: OutboxOutcome): Promise<void> {
    const { pool, mssql } = this.connected();
    const request = pool
      .request()
      .input('id', mssql.BigInt, id)
      .input('state', mssql.NVarChar(10), outboxState(outcome))
      .input('exitCode', mssql.Int, outcome.exitCode)
      .input('outputValue', mssql.NVarChar(mssql.MAX), outcome.outputValue)
      .input('errorMessage', mssql.NVarChar(mssql.MAX), outcome.errorMessage);
    await this.attempt('exh_outbox', () =>
      request.query(`UPDATE exh_outbox
        SET exh_state = @state, exh_attempts = exh_attempts + 1, exh_exit_code = @exitCode,
            exh_output_value = @outputValue, exh_error_message = @errorMessage,
            exh_completed_at = CASE WHEN @state = N'pending' THEN NULL ELSE SYSDATETIMEOFFSET() END
        WHERE exh_outbox_id = @id`),
    );
  }

  async readSetUp(): Promise<Partial<SetUp>> {
    const result = await this.statement('exh_set_up', readSetUpStatement('sqlserver'));
    return setUpFromRows(result.recordset);
  }

  async listOutbox(filter: OutboxListFilter): Promise<OutboxRecord[]> {
    const result = await this.statement('exh_outbox', listOutboxStatement('sqlserver', filter));
    return result.recordset.map(outboxRecordFromRow);
  }

  async retryOutbox(filter: OutboxRetryFilter): Promise<{ retried: number }> {
    const result = await this.statement('exh_outbox', retryOutboxStatement('sqlserver', filter));
    return { retried: result.rowsAffected[0] ?? 0 };
  }

  /** A Statement's @p1, @p2, … bound by name: numbers are row ids (BIGINT), strings users and states. */
  private statement(object: string, { text, params }: Statement) {
    const { pool, mssql } = this.connected();
    const request = pool.request();
    params.forEach((value, i) => {
      if (typeof value === 'number') request.input(`p${i + 1}`, mssql.BigInt, value);
      else request.input(`p${i + 1}`, mssql.NVarChar(255), value);
    });
    return this.attempt(object, () => request.query<Record<string, unknown>>(text));
  }

  async logError(entry: ConnectorLogEntry): Promise<void> {
    const { pool, mssql } = this.connected();
    const request = pool
      .request()
      .input('user', mssql.NVarChar(255), entry.user ?? null)
      .input('itemType', mssql.NVarChar(50), entry.itemType ?? null)
      .input('code', mssql.NVarChar(100), entry.code)
      .input('message', mssql.NVarChar(mssql.MAX), entry.message);
    await this.attempt('exh_log', () =>
      request.query(
        'INSERT INTO exh_log (exh_user, exh_item_type, exh_code, exh_message) VALUES (@user, @itemType, @code, @message)',
      ),
    );
  }

  /** Runs a T-SQL script batch by batch (split at lines holding only GO, as sqlcmd does). */
  async runScript(script: string): Promise<void> {
    const { pool } = this.connected();
    for (const batch of splitBatches(script)) {
      await this.attempt('the base project script', () => pool.request().batch(batch));
    }
  }

  private sqlType(kind: FieldKind): ISqlType | ISqlTypeFactoryWithNoParams {
    const mssql = this.connected().mssql;
    switch (kind) {
      case 'boolean':
        return mssql.Bit;
      case 'integer':
        return mssql.Int;
      case 'timestamp':
        return mssql.DateTimeOffset(3);
      case 'date':
        return mssql.Date;
      case 'itemId':
        return mssql.NVarChar(512);
      case 'appItemId':
      case 'user':
        return mssql.NVarChar(255);
      case 'text':
        return mssql.NVarChar(1000);
      case 'code':
        return mssql.NVarChar(50);
      default:
        return mssql.NVarChar(mssql.MAX);
    }
  }

  private connected(): { pool: ConnectionPool; mssql: Mssql } {
    if (!this.pool || !this.mssql) throw errors.databaseConnectionLost(this.target, new Error('not connected'));
    return { pool: this.pool, mssql: this.mssql };
  }

  private async attempt<T>(object: string, work: () => Promise<T>): Promise<T> {
    try {
      return await work();
    } catch (error) {
      throw this.translate(error, object);
    }
  }

  private translate(error: unknown, object: string): ExhError {
    if (isExhError(error)) return error;
    const { code, number, procName } = error as { code?: string; number?: number; procName?: string };
    if ((code && connectionCodes.has(code)) || (error instanceof Error && error.name === 'ConnectionError')) {
      return errors.databaseConnectionLost(this.target, error);
    }
    // 1205 deadlock victim, 1222 lock time-out: the database refused for now; the page is tried again.
    if (number === 1205 || number === 1222) return errors.databaseBusy(procName || object, error);
    // Raised inside a procedure (procName set): the procedure's own failure, even when it names a missing table.
    if (number !== undefined && missingObjectNumbers.has(number) && !procName) {
      const named = /(?:procedure|object name|column name|function)\s+'([^']+)'/i.exec(
        error instanceof Error ? error.message : '',
      )?.[1];
      return errors.baseProjectMissing(named ?? object, error);
    }
    return errors.procedureFailed(procName || object, error);
  }
}

/**
 * The rows of a getItem procedure as field values. A procedure that returns no result set gives no items, and column
 * names are matched case-blind (as DB2 does): a template that selects `EXH_APP_ITEM_ID` keeps its ids.
 */
export function itemsOfRecordset(
  definition: ItemTypeDefinition,
  recordset: readonly Record<string, unknown>[] | undefined,
): Array<Record<string, FieldValue>> {
  return (recordset ?? []).map((row) =>
    decodeFields(
      definition,
      JSON.stringify(Object.fromEntries(Object.entries(row).map(([name, value]) => [name.toLowerCase(), value]))),
    ),
  );
}

/** Batches of a T-SQL script: the text between lines that hold only GO (case-insensitive), empty ones dropped. */
export function splitBatches(script: string): string[] {
  return script
    .split(new RegExp(`^\\s*${batchSeparator}\\s*$`, 'im'))
    .map((b) => b.trim())
    .filter((b) => b.replace(/^--.*$/gm, '').trim() !== '');
}
