import type { EventEmitter } from 'node:events';
import type {
  ConnectionPool,
  ISqlType,
  ISqlTypeFactoryWithNoParams,
  config as MssqlConfig,
  Request as MssqlRequest,
} from 'mssql';
import { type ExhError, errors, isExhError } from '../../errors.js';
import type { FieldKind } from '../../items/definition.js';
import { type ItemTypeDefinition, itemType, itemTypes } from '../../items/index.js';
import type {
  ChangeBatch,
  ClusterPort,
  ClusterView,
  ConnectorLogEntry,
  Fence,
  FieldValue,
  ItemRanges,
  ItemTypeName,
  ItemVersion,
  ItemVersionWrite,
  Lease,
  MeetingLink,
  Member,
  OutboxCommandEntry,
  OutboxEntry,
  OutboxListFilter,
  OutboxOutcome,
  OutboxRecord,
  OutboxRetryFilter,
  OutboxScope,
  SetUp,
  UserRegistration,
} from '../../ports/database.port.js';
import { isOutboxItem } from '../../ports/database.port.js';
import {
  type ConnectFailure,
  type ConnectFixes,
  chainCodes,
  chainText,
  connectError,
  socketFailure,
} from '../connect-errors.js';
import { decodeFields, userRegistration } from '../field-values.js';
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
import { type InstallableDatabase, setUpRows } from './installable.js';
import {
  type ClusterStatement,
  claimStatement,
  clusterViewStatement,
  fenceInputs,
  heartbeatStatement,
  leaseLostErrorNumber,
  leaveStatement,
  outboxFenceCheck,
  outboxScopeCondition,
  releaseStatement,
} from './sqlserver-cluster.js';
import { failedObject, firstError, overtakenErrorNumber, pageBatches, type SqlServerBatch } from './sqlserver-page.js';

type Mssql = typeof import('mssql');

/**
 * SQL Server through mssql (tedious), loaded in connect(). Procedures are executed by name with typed parameters; the
 * "connector is writing" flag is SESSION_CONTEXT('exh.applying') = the transaction's id, so that a pooled connection
 * never carries a stale flag into another transaction.
 */
export function createSqlServerDatabase(connectionString: string, options: SqlServerOptions = {}): InstallableDatabase {
  return new SqlServerDatabase(connectionString, options);
}

export interface SqlServerOptions {
  /** Pooled connections (database.poolSize); a `Max Pool Size` in the connection string takes precedence. */
  poolSize?: number;
}

/** mssql's own default, kept when neither the configuration nor the connection string names a size. */
const defaultPoolSize = 10;

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

/**
 * Keeps what the connector knows of an item (exh_item_version): its change key, and the highest outbox row that lost
 * a conflict to Exchange (never lowered); a NULL change key forgets the item. Item ids compare case-sensitively.
 */
const itemVersionStatement = `IF @change_key IS NULL
  DELETE FROM exh_item_version WHERE exh_item_id = @item_id COLLATE Latin1_General_CS_AS;
ELSE
BEGIN
  UPDATE exh_item_version WITH (UPDLOCK, SERIALIZABLE)
  SET exh_user = @user, exh_item_type = @item_type, exh_change_key = @change_key, exh_updated_at = SYSUTCDATETIME(),
    exh_superseded_until = CASE
      WHEN @supersedes IS NULL OR exh_superseded_until >= @supersedes THEN exh_superseded_until ELSE @supersedes END
  WHERE exh_item_id = @item_id COLLATE Latin1_General_CS_AS;
  IF @@ROWCOUNT = 0
    INSERT INTO exh_item_version (exh_item_id, exh_user, exh_item_type, exh_change_key, exh_superseded_until)
    VALUES (@item_id, @user, @item_type, @change_key, @supersedes);
END;`;

/** Statements of one request in a transaction of their own, which any error rolls back whole. */
const atomically = (statements: string) => `SET XACT_ABORT ON;\nBEGIN TRANSACTION;\n${statements}\nCOMMIT TRANSACTION;`;

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
  /** The probe's one connection, outside the pool, so that a busy pool never looks like a lost database. */
  private probePool: ConnectionPool | undefined;
  private poolSize = defaultPoolSize;
  /** Membership and leases for several instances (sqlserver-cluster.ts); unused by a single instance. */
  readonly cluster: ClusterPort = {
    heartbeat: async (member, leaseSeconds) => {
      const result = await this.clusterRequest('exh_member', heartbeatStatement(member, leaseSeconds));
      return result.recordsets[0]?.map(memberFromRow) ?? [];
    },
    claimLeases: async (instanceId, users, leaseSeconds) => {
      if (users.length === 0) return [];
      const result = await this.clusterRequest('exh_lease', claimStatement(instanceId, users, leaseSeconds));
      return result.recordsets[0]?.map(leaseFromRow) ?? [];
    },
    releaseLeases: async (instanceId, users) => {
      if (users.length > 0) await this.clusterRequest('exh_lease', releaseStatement(instanceId, users));
    },
    leaveCluster: async (instanceId) => {
      await this.clusterRequest('exh_member', leaveStatement(instanceId));
    },
    clusterView: async (): Promise<ClusterView> => {
      const result = await this.clusterRequest('exh_member', clusterViewStatement);
      return {
        members: result.recordsets[0]?.map(memberFromRow) ?? [],
        leases: result.recordsets[1]?.map(leaseFromRow) ?? [],
      };
    },
  };

  constructor(
    private readonly connectionString: string,
    private readonly options: SqlServerOptions = {},
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
    const serverMessages: ServerMessage[] = [];
    const config = poolConfig(mssql.ConnectionPool.parseConnectionString(this.connectionString), this.options, {
      onLoginMessage: (message) => serverMessages.push(message),
    });
    const pool = new mssql.ConnectionPool(config);
    // mssql emits here what its connections report and every failed acquire (which the request also gets); without
    // a listener such an 'error' would end the process.
    pool.on('error', () => undefined);
    try {
      await pool.connect();
    } catch (error) {
      await pool.close().catch(() => undefined);
      throw connectError(classifySqlServerConnectError(error, serverMessages), this.target, error, sqlServerFixes);
    }
    this.mssql = mssql;
    this.pool = pool;
    this.poolSize = config.pool?.max ?? defaultPoolSize;
  }

  async probe(): Promise<void> {
    const { mssql } = this.connected();
    try {
      if (!this.probePool) {
        const config = mssql.ConnectionPool.parseConnectionString(this.connectionString);
        const probePool = new mssql.ConnectionPool({ ...config, pool: { min: 0, max: 1 } });
        probePool.on('error', () => undefined);
        this.probePool = probePool;
        await probePool.connect();
      }
      await this.probePool.request().query('SELECT 1 AS one');
    } catch (error) {
      // A probe pool that never connected is made anew next time; one that did reconnects by itself.
      if (!this.probePool?.connected) {
        void this.probePool?.close().catch(() => undefined);
        this.probePool = undefined;
      }
      throw errors.databaseConnectionLost(this.target, error);
    }
  }

  async close(): Promise<void> {
    const pools = [this.pool, this.probePool];
    this.pool = undefined;
    this.probePool = undefined;
    await Promise.all(pools.map((pool) => pool?.close().catch(() => undefined)));
  }

  async writeSetUp(setUp: SetUp): Promise<void> {
    const { pool, mssql } = this.connected();
    const request = pool.request();
    const rows = setUpRows(setUp);
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

  /**
   * The page in one request inside its transaction (sqlserver-page.ts): every EXEC and write with typed parameters,
   * split into several requests only beyond SQL Server's parameter limit.
   */
  async applyChanges(batch: ChangeBatch): Promise<void> {
    const { pool, mssql } = this.connected();
    const definition = itemType(batch.itemType);
    const batches = await this.attempt('exh_watermark', async () => pageBatches(definition, batch));
    const transaction = new mssql.Transaction(pool);
    await this.attempt('exh_watermark', () => transaction.begin());
    let running: SqlServerBatch | undefined;
    try {
      for (const page of batches) {
        running = page;
        const request = new mssql.Request(transaction);
        for (const input of page.inputs) request.input(input.name, this.sqlType(input.kind), input.value);
        await request.query(page.text);
      }
      running = undefined;
      await transaction.commit();
    } catch (error) {
      await transaction.rollback().catch(() => undefined);
      const first = firstError(error);
      if (batch.fence && isLeaseLost(first)) {
        throw errors.leaseLost(batch.user, batch.fence.instanceId, `the page of ${batch.itemType} changes`);
      }
      if (batch.reconciledWith && (first as { number?: unknown } | null)?.number === overtakenErrorNumber) {
        throw errors.pageOvertaken(batch.user, batch.itemType);
      }
      throw this.translate(first, failedObject(first, running));
    }
  }

  /**
   * One request however many links (the outbox links a run's meetings at once), in one transaction that any error
   * rolls back whole (XACT_ABORT); the last link of a UID wins. At most 1,000 links a request (2,100 parameters).
   */
  async rememberMeetings(links: readonly MeetingLink[]): Promise<void> {
    const { pool, mssql } = this.connected();
    const byUid = [...new Map(links.map((link) => [link.uid, link.appItemId]))];
    for (let start = 0; start < byUid.length; start += 1_000) {
      const request = pool.request();
      const statements = byUid.slice(start, start + 1_000).map(([uid, appItemId], i) => {
        request.input(`uid${i}`, mssql.NVarChar(512), uid).input(`app${i}`, mssql.NVarChar(255), appItemId);
        return `UPDATE exh_meeting WITH (UPDLOCK, SERIALIZABLE) SET exh_app_item_id = @app${i} WHERE exh_uid = @uid${i};
          IF @@ROWCOUNT = 0 INSERT INTO exh_meeting (exh_uid, exh_app_item_id) VALUES (@uid${i}, @app${i});`;
      });
      await this.attempt('exh_meeting', () => request.query(atomically(statements.join('\n'))));
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

  /** With `scope`: only rows of users whose unexpired lease the instance holds, and userless commands when asked. */
  async readOutbox(limit: number, scope?: OutboxScope): Promise<Array<OutboxEntry | OutboxCommandEntry>> {
    const { pool, mssql } = this.connected();
    const request = pool.request().input('limit', mssql.Int, limit);
    if (scope) {
      request.input('scope_instance', mssql.NVarChar(200), scope.instanceId);
      request.input('scope_commands', mssql.Bit, scope.commandsWithoutUser);
    }
    const result = await this.attempt('exh_outbox', () =>
      request.query<OutboxRow>(`SELECT TOP (@limit) id, exh_user, exh_item_type, exh_action, exh_payload, exh_created,
          exh_attempts
        FROM (
          SELECT exh_outbox_id, CAST(exh_outbox_id AS NVARCHAR(20)) AS id, exh_user, exh_item_type, exh_action,
            exh_payload, exh_created, exh_attempts,
            ROW_NUMBER() OVER (PARTITION BY LOWER(ISNULL(exh_user, N'')) ORDER BY exh_outbox_id) AS exh_rank
          FROM exh_outbox
          WHERE exh_state = N'pending' AND exh_action IN (${outboxActionList}) ${scope ? outboxScopeCondition : ''}
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

  /**
   * With the version its write left: both statements in one request and one transaction (XACT_ABORT). With `fence`:
   * the lease check (sqlserver-cluster.ts) first in the same transaction; refused, nothing is written and the row
   * stays pending.
   */
  async completeOutbox(id: string, outcome: OutboxOutcome, version?: ItemVersionWrite, fence?: Fence): Promise<void> {
    const { pool, mssql } = this.connected();
    const request = pool
      .request()
      .input('id', mssql.BigInt, id)
      .input('state', mssql.NVarChar(10), outboxState(outcome))
      .input('exitCode', mssql.Int, outcome.exitCode)
      .input('outputValue', mssql.NVarChar(mssql.MAX), outcome.outputValue)
      .input('errorMessage', mssql.NVarChar(mssql.MAX), outcome.errorMessage);
    const complete = `UPDATE exh_outbox
        SET exh_state = @state, exh_attempts = exh_attempts + 1, exh_exit_code = @exitCode,
            exh_output_value = @outputValue, exh_error_message = @errorMessage,
            exh_completed_at = CASE WHEN @state = N'pending' THEN NULL ELSE SYSDATETIMEOFFSET() END
        WHERE exh_outbox_id = @id;`;
    if (version) this.itemVersionRequest(request, { ...version, supersedes: null });
    if (fence) {
      for (const input of fenceInputs(fence)) request.input(input.name, mssql.NVarChar(200), input.value);
      const statements = [outboxFenceCheck, ...(version ? [itemVersionStatement] : []), complete];
      try {
        await request.query(atomically(statements.join('\n')));
      } catch (error) {
        const first = firstError(error);
        if (isLeaseLost(first)) {
          const user = first instanceof Error ? first.message : '';
          throw errors.leaseLost(user, fence.instanceId, `completing outbox row ${id}`);
        }
        throw this.translate(first, 'exh_outbox');
      }
      return;
    }
    await this.attempt('exh_outbox', () =>
      request.query(version ? atomically(`${itemVersionStatement}\n${complete}`) : complete),
    );
  }

  /** A cluster statement with its typed parameters, in one request. */
  private clusterRequest(object: string, statement: ClusterStatement) {
    const { pool, mssql } = this.connected();
    const request = pool.request();
    for (const input of statement.inputs) {
      const type =
        input.kind === 'int'
          ? mssql.Int
          : input.kind === 'bigint'
            ? mssql.BigInt
            : input.kind === 'json'
              ? mssql.NVarChar(mssql.MAX)
              : mssql.NVarChar(400);
      request.input(input.name, type, input.value);
    }
    return this.attempt(object, () => request.query<Record<string, unknown>>(statement.text));
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

  async itemVersions(itemIds: readonly string[]): Promise<Map<string, ItemVersion>> {
    const found = new Map<string, ItemVersion>();
    if (itemIds.length === 0) return found;
    const { pool, mssql } = this.connected();
    // One parameter per id, in slices well under SQL Server's 2,100 parameters.
    for (let start = 0; start < itemIds.length; start += 500) {
      const slice = itemIds.slice(start, start + 500);
      const request = pool.request();
      for (const [i, id] of slice.entries()) request.input(`id${i}`, mssql.NVarChar(512), id);
      const result = await this.attempt('exh_item_version', () =>
        request.query<{ exh_item_id: string; exh_change_key: string; exh_superseded_until: string | number | null }>(
          `SELECT exh_item_id, exh_change_key, exh_superseded_until FROM exh_item_version
           WHERE exh_item_id COLLATE Latin1_General_CS_AS IN (${slice.map((_, i) => `@id${i}`).join(', ')})`,
        ),
      );
      for (const row of result.recordset) {
        found.set(row.exh_item_id, {
          changeKey: row.exh_change_key,
          supersededUntil: row.exh_superseded_until === null ? null : String(row.exh_superseded_until),
        });
      }
    }
    return found;
  }

  async rememberItemVersion(entry: ItemVersionWrite): Promise<void> {
    const { pool } = this.connected();
    const request = this.itemVersionRequest(pool.request(), { ...entry, supersedes: null });
    await this.attempt('exh_item_version', () => request.query(itemVersionStatement));
  }

  async pendingItemChanges(user: string, itemType: ItemTypeName): Promise<OutboxEntry[]> {
    const { pool, mssql } = this.connected();
    const request = pool
      .request()
      .input('user', mssql.NVarChar(255), user)
      .input('itemType', mssql.NVarChar(50), itemType);
    const result = await this.attempt('exh_outbox', () =>
      request.query<OutboxRow>(`SELECT CAST(exh_outbox_id AS NVARCHAR(20)) AS id, exh_user, exh_item_type, exh_action,
          exh_payload, exh_created, exh_attempts
        FROM exh_outbox
        WHERE exh_state = N'pending' AND exh_action IN (N'add', N'chg', N'del') AND LOWER(exh_user) = LOWER(@user)
          AND exh_item_type = @itemType
        ORDER BY exh_outbox_id`),
    );
    return result.recordset.map((row) => outboxEntryFromRow({ ...row }, this.types)).filter(isOutboxItem);
  }

  /** The parameters of itemVersionStatement. */
  private itemVersionRequest(
    request: MssqlRequest,
    entry: { user: string; itemType: string; itemId: string; changeKey: string | null; supersedes: string | null },
  ): MssqlRequest {
    const { mssql } = this.connected();
    return request
      .input('item_id', mssql.NVarChar(512), entry.itemId)
      .input('user', mssql.NVarChar(255), entry.user.toLowerCase())
      .input('item_type', mssql.NVarChar(50), entry.itemType)
      .input('change_key', mssql.NVarChar(512), entry.changeKey)
      .input('supersedes', mssql.BigInt, entry.supersedes);
  }

  /** Runs a T-SQL script batch by batch (split at lines holding only GO, as sqlcmd does). */
  async runScript(script: string): Promise<void> {
    const { pool } = this.connected();
    for (const batch of splitBatches(script)) {
      await this.attempt('the base project script', () => pool.request().batch(batch));
    }
  }

  private sqlType(kind: FieldKind | 'bigint'): ISqlType | ISqlTypeFactoryWithNoParams {
    const mssql = this.connected().mssql;
    switch (kind) {
      case 'bigint':
        return mssql.BigInt;
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
    // Every pooled connection stayed busy (tarn's acquire time-out): back-pressure, not a loss and not the row's fault.
    if (isAcquireTimeout(error)) {
      return errors.databasePoolExhausted(this.target, this.poolSize, acquireTimeoutMs, error);
    }
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

/** An error message the server sent while a connection logged in (tedious's 'errorMessage' event). */
/** The fence check's refusal (sqlserver-cluster.ts: THROW 50417). */
function isLeaseLost(error: unknown): boolean {
  return (error as { number?: unknown } | null)?.number === leaseLostErrorNumber;
}

function memberFromRow(row: Record<string, unknown>): Member {
  return {
    instanceId: String(row.exh_instance_id),
    address: String(row.exh_address),
    port: Number(row.exh_port),
    startedAt: new Date(row.exh_started_at as Date),
    heartbeatAt: new Date(row.exh_heartbeat_at as Date),
  };
}

function leaseFromRow(row: Record<string, unknown>): Lease {
  return {
    user: String(row.exh_user),
    instanceId: String(row.exh_instance_id),
    fence: String(row.exh_fence),
    expiresAt: new Date(row.exh_expires_at as Date),
  };
}

export interface ServerMessage {
  number: number;
  message: string;
}

/** tarn's acquireTimeoutMillis as mssql leaves it: how long a request waits for a pooled connection. */
const acquireTimeoutMs = 30_000;

/**
 * mssql's configuration from the connection string, with the pool size and a hook on each new connection that keeps
 * the server's error messages during login. tedious reports only the last of them ("Login failed for user 'x'."),
 * while the first says why (4060: the database cannot be opened).
 */
export function poolConfig(
  parsed: MssqlConfig,
  options: SqlServerOptions,
  hooks: { onLoginMessage: (message: ServerMessage) => void },
): MssqlConfig {
  return {
    ...parsed,
    pool: { ...parsed.pool, max: parsed.pool?.max ?? options.poolSize ?? defaultPoolSize },
    beforeConnect: (connection) => {
      const emitter = connection as unknown as EventEmitter;
      const onMessage = (token: { number?: unknown; message?: unknown }) => {
        if (typeof token.number === 'number')
          hooks.onLoginMessage({ number: token.number, message: String(token.message) });
      };
      emitter.on('errorMessage', onMessage);
      emitter.once('connect', () => emitter.off('errorMessage', onMessage));
    },
  };
}

/** tarn's TimeoutError, which mssql words "Failed to acquire a connection from the pool: …". */
function isAcquireTimeout(error: unknown): boolean {
  return (
    error instanceof Error &&
    (error.constructor.name === 'TimeoutError' || /^Failed to acquire a connection from the pool/.test(error.message))
  );
}

/**
 * Why connecting failed, from mssql's ConnectionError (code ELOGIN, ESOCKET, EENCRYPT, ETIMEOUT, EINSTLOOKUP; the
 * socket's own error in `originalError`/`cause`) and the server's messages during login. SQL Server answers a database
 * it cannot open with 4060 and then 18456, also when the database exists but the login has no user in it.
 */
export function classifySqlServerConnectError(
  error: unknown,
  serverMessages: readonly ServerMessage[],
): ConnectFailure {
  const codes = chainCodes(error);
  const numbers = new Set(serverMessages.map((m) => m.number));
  const text = `${chainText(error)}\n${serverMessages.map((m) => m.message).join('\n')}`;
  if (numbers.has(4060) || /Cannot open database .* requested by the login/i.test(text)) return 'databaseNotFound';
  if (codes.has('EENCRYPT') || /Server requires encryption/i.test(text)) return 'tlsRequired';
  if (codes.has('ELOGIN') || numbers.has(18456) || /Login failed/i.test(text)) return 'loginFailed';
  return socketFailure(error) ?? 'unreachable';
}

const sqlServerFixes: ConnectFixes = {
  tlsRequired:
    'Set Encrypt=true in database.connectionString (with TrustServerCertificate=false and a trusted certificate).',
  tlsFailed:
    "Install the server's certificate, or its CA in Node's trust store (NODE_EXTRA_CA_CERTS), and check that " +
    'Server names the host on the certificate; TrustServerCertificate=true only for a while, or Encrypt=false on a ' +
    'network you trust.',
  databaseNotFound:
    'SQL Server says the same when the database exists but the login has no user in it: then create one ' +
    '(CREATE USER … FOR LOGIN …).',
};

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
