import type { Database, SQLParam } from 'ibm_db';
import PQueue from 'p-queue';
import { type ExhError, errors, isExhError } from '../../errors.js';
import { type ItemTypeDefinition, itemType, itemTypes } from '../../items/index.js';
import type {
  ChangeBatch,
  ClusterPort,
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
import { type ConnectFailure, type ConnectFixes, chainText, connectError } from '../connect-errors.js';
import { decodeFields, fromDatabaseValue, userRegistration } from '../field-values.js';
import { outboxActionList, outboxEntryFromRow, outboxRowsPerUser, outboxState, rangeParameters } from '../outbox.js';
import {
  listOutboxStatement,
  outboxRecordFromRow,
  readSetUpStatement,
  retryOutboxStatement,
  setUpFromRows,
} from '../outbox-admin.js';
import { statementTerminator } from '../sql/db2.js';
import { db2Target } from '../target.js';
import {
  claimMerges,
  goneMembersDelete,
  heldQuery,
  leaseLostSqlState,
  leasesQuery,
  leaveDeletes,
  liveMembersQuery,
  memberMerge,
  membersQuery,
  outboxFenceCheck,
  outboxScopeCondition,
  releaseUpdate,
} from './db2-cluster.js';
import {
  applyingOff,
  compoundRefused,
  type Db2Statement,
  itemVersionMerge,
  meetingMerge,
  overtakenMessage,
  overtakenSqlState,
  pageCompounds,
  pageStatements,
  toDb2,
} from './db2-page.js';
import { type InstallableDatabase, setUpRows } from './installable.js';

/**
 * DB2 (LUW and IBM i) through ibm_db, an optional dependency that needs IBM's CLI driver: it is imported in connect(),
 * and its absence is EXH_DB_DRIVER_MISSING naming the package. One connection; operations run one at a time (a DB2
 * connection is one session, so a transaction must not interleave with other statements). The probe has a second
 * connection, so that it never waits behind them: a long queue is load, not a lost database.
 *
 * ibm_db's Database is no EventEmitter (only queryStream, which is not used, returns one): errors come back through
 * the promises, and nothing here can emit an unhandled 'error'.
 */
export function createDb2Database(connectionString: string, driver: Db2Driver = loadIbmDb): InstallableDatabase {
  return new Db2Database(connectionString, driver);
}

/** What the adapter uses of ibm_db: open(). Tests pass their own. */
export type Db2Driver = () => Promise<{ open(connectionString: string): Promise<Database> }>;

const loadIbmDb: Db2Driver = () => import('ibm_db');

/** SQLCODEs of a lost or refused connection (communication errors, connection does not exist). */
const connectionSqlCodes = new Set([-30081, -30080, -30108, -1224, -1229, -900]);
/** SQLCODEs of objects that do not exist: routine (-440), name (-204), column (-206). */
const missingSqlCodes = new Set([-440, -204, -206]);

class Db2Database implements InstallableDatabase {
  readonly type = 'db2' as const;
  readonly dialect = 'db2' as const;
  readonly target: string;
  private connection: Database | undefined;
  private ibmdb: Awaited<ReturnType<Db2Driver>> | undefined;
  /** The probe's own connection, opened at the first probe and again after one fails. */
  private probeConnection: Promise<Database> | undefined;
  private readonly queue = new PQueue({ concurrency: 1 });
  /** The server refused a page as compound statements: pages go one statement at a time on this connection. */
  private compoundsRefused = false;
  /** Membership and leases for several instances (db2-cluster.ts); unused by a single instance. */
  readonly cluster: ClusterPort = {
    heartbeat: async (member, leaseSeconds) => {
      const rows = await this.run('exh_member', async (db) => {
        let live: unknown[] = [];
        await inTransaction(db, async () => {
          const merge = memberMerge(member);
          await db.query(merge.text, merge.params);
          const gone = goneMembersDelete(member.instanceId);
          await db.query(gone.text, gone.params);
          const query = liveMembersQuery(leaseSeconds);
          live = (await db.query(query.text, query.params)) as unknown[];
        });
        return live;
      });
      return (rows as Record<string, unknown>[]).map(memberFromRow);
    },
    claimLeases: async (instanceId, users, leaseSeconds) => {
      if (users.length === 0) return [];
      const claim = (db: Database) => {
        let held: unknown[] = [];
        return inTransaction(db, async () => {
          for (const merge of claimMerges(instanceId, users, leaseSeconds)) await db.query(merge.text, merge.params);
          const query = heldQuery(instanceId, users);
          held = (await db.query(query.text, query.params)) as unknown[];
        }).then(() => held);
      };
      const rows = await this.run('exh_lease', async (db) => {
        try {
          return await claim(db);
        } catch (error) {
          // Another instance inserted one of these users' first lease meanwhile: the row is there to compare now.
          if (sqlState(error) === '23505') return await claim(db);
          throw error;
        }
      });
      return (rows as Record<string, unknown>[]).map(leaseFromRow);
    },
    releaseLeases: async (instanceId, users) => {
      if (users.length === 0) return;
      const update = releaseUpdate(instanceId, users);
      await this.run('exh_lease', (db) => db.query(update.text, update.params));
    },
    leaveCluster: async (instanceId) => {
      await this.run('exh_member', (db) => this.atomically(db, leaveDeletes(instanceId)));
    },
    clusterView: async () => {
      const [members, leases] = await this.run('exh_member', async (db) => [
        (await db.query(membersQuery)) as Record<string, unknown>[],
        (await db.query(leasesQuery)) as Record<string, unknown>[],
      ]);
      return { members: members.map(memberFromRow), leases: leases.map(leaseFromRow) };
    },
  };

  constructor(
    private readonly connectionString: string,
    private readonly driver: Db2Driver,
    private readonly types: readonly ItemTypeDefinition[] = itemTypes,
  ) {
    this.target = db2Target(connectionString);
  }

  async connect(): Promise<void> {
    if (this.connection) return;
    const ibmdb = await this.driver().catch((cause: unknown) => {
      throw errors.driverMissing('ibm_db', 'db2', cause);
    });
    let connection: Database;
    try {
      connection = await ibmdb.open(this.connectionString);
    } catch (error) {
      throw connectError(classifyDb2ConnectError(error), this.target, error, db2Fixes);
    }
    this.ibmdb = ibmdb;
    // Unqualified CALLs and global variables resolve through CURRENT PATH, not CURRENT SCHEMA: add the schema the
    // base project was installed into (CurrentSchema= in the connection string). Already on the path: nothing to do.
    await connection.query('SET CURRENT PATH = SYSTEM PATH, CURRENT SCHEMA').catch(() => undefined);
    this.connection = connection;
  }

  async probe(): Promise<void> {
    const { ibmdb } = this;
    if (!this.connection || !ibmdb) throw errors.databaseConnectionLost(this.target, new Error('not connected'));
    try {
      this.probeConnection ??= ibmdb.open(this.connectionString);
      const probe = await this.probeConnection;
      await probe.query('SELECT 1 FROM SYSIBM.SYSDUMMY1');
    } catch (error) {
      const failed = this.probeConnection;
      this.probeConnection = undefined;
      void failed?.then((db) => db.close()).catch(() => undefined);
      throw errors.databaseConnectionLost(this.target, error);
    }
  }

  async close(): Promise<void> {
    const { connection, probeConnection } = this;
    this.connection = undefined;
    this.probeConnection = undefined;
    await Promise.all([
      connection?.close().catch(() => undefined),
      probeConnection?.then((db) => db.close()).catch(() => undefined),
    ]);
  }

  async writeSetUp(setUp: SetUp): Promise<void> {
    const rows = setUpRows(setUp);
    await this.run('exh_set_up', async (db) => {
      for (const [parameter, value] of rows) {
        await db.query(
          `MERGE INTO exh_set_up AS t
           USING (VALUES (CAST(? AS VARGRAPHIC(100)), CAST(? AS VARGRAPHIC(4000)))) AS s (exh_parameter, exh_value)
           ON t.exh_parameter = s.exh_parameter
           WHEN MATCHED THEN UPDATE SET exh_value = s.exh_value
           WHEN NOT MATCHED THEN INSERT (exh_parameter, exh_value) VALUES (s.exh_parameter, s.exh_value)`,
          [parameter, value],
        );
      }
    });
  }

  async getUsers(): Promise<UserRegistration[]> {
    const rows = await this.run('exh_get_users', (db) => db.query('CALL exh_get_users()'));
    return (rows as Record<string, unknown>[]).map((row) => userRegistration(row, this.types));
  }

  /**
   * The page as compound statements (db2-page.ts): one round trip for a page that fits. When they fail for any reason
   * but a lost connection, the page is rolled back and run again one statement at a time, which also names the
   * procedure or table that failed (a compound statement's error does not say which of its statements raised it); a
   * server that refuses compound statements is given statements one at a time from then on.
   */
  async applyChanges(batch: ChangeBatch): Promise<void> {
    const definition = itemType(batch.itemType);
    const statements = await this.attempt('exh_watermark', async () => pageStatements(definition, batch));
    const fence = batch.fence;
    const leaseLost = (error: unknown) => fence !== undefined && isLeaseLost(error);
    const overtaken = (error: unknown) => batch.reconciledWith !== undefined && isOvertaken(error);
    try {
      await this.applyStatements(statements, (error) => leaseLost(error) || overtaken(error));
    } catch (error) {
      if (fence && leaseLost(error)) {
        throw errors.leaseLost(batch.user, fence.instanceId, `the page of ${batch.itemType} changes`);
      }
      if (overtaken(error)) throw errors.pageOvertaken(batch.user, batch.itemType);
      throw error;
    }
  }

  /** `refusal`: an error of the page's own checks, thrown as it is rather than looked for statement by statement. */
  private async applyStatements(
    statements: readonly Db2Statement[],
    refusal?: (error: unknown) => boolean,
  ): Promise<void> {
    await this.run('exh_watermark', async (db) => {
      if (!this.compoundsRefused) {
        try {
          await inTransaction(db, async () => {
            for (const compound of pageCompounds(statements)) await db.query(compound.text, compound.params);
          });
          return;
        } catch (error) {
          if (isExhError(this.translate(error, 'exh_watermark'), 'EXH_DB_CONNECTION_LOST')) throw error;
          // The fence's or the last check's refusal is the page's, not one statement's: nothing to name by running
          // it again one statement at a time.
          if (refusal?.(error)) throw error;
          if (compoundRefused(error)) this.compoundsRefused = true;
        }
      }
      await inTransaction(db, async () => {
        for (const statement of statements) {
          await this.attempt(statement.object, () => db.query(statement.text, statement.params));
        }
      });
    });
  }

  /** All the links in one compound statement (the outbox links a run's meetings at once): one round trip. */
  async rememberMeetings(links: readonly MeetingLink[]): Promise<void> {
    const statements = links.map((link) => ({
      text: meetingMerge,
      params: [link.uid, link.appItemId],
      object: 'exh_meeting',
    }));
    await this.run('exh_meeting', (db) => this.atomically(db, statements));
  }

  async meetingAppItemIds(uids: readonly string[]): Promise<Map<string, string>> {
    if (uids.length === 0) return new Map();
    const rows = (await this.run('exh_meeting', (db) =>
      db.query(
        `SELECT exh_uid, exh_app_item_id FROM exh_meeting WHERE exh_uid IN (${uids.map(() => '?').join(', ')})`,
        [...uids],
      ),
    )) as Array<{ EXH_UID?: string; EXH_APP_ITEM_ID?: string; exh_uid?: string; exh_app_item_id?: string }>;
    // ibm_db returns column names as DB2 folds them (upper case).
    return new Map(
      rows.map((row) => [String(row.EXH_UID ?? row.exh_uid), String(row.EXH_APP_ITEM_ID ?? row.exh_app_item_id)]),
    );
  }

  /** With `scope`: only rows of users whose unexpired lease the instance holds, and userless commands when asked. */
  async readOutbox(limit: number, scope?: OutboxScope): Promise<Array<OutboxEntry | OutboxCommandEntry>> {
    const count = Math.max(1, Math.floor(limit));
    const scoped = scope ? outboxScopeCondition(scope) : undefined;
    const rows = (await this.run('exh_outbox', (db) =>
      db.query(
        `SELECT id, exh_user, exh_item_type, exh_action, exh_payload, exh_created, exh_attempts
         FROM (
           SELECT exh_outbox_id, VARCHAR(exh_outbox_id) AS id, exh_user, exh_item_type, exh_action, exh_payload,
             exh_created, exh_attempts,
             ROW_NUMBER() OVER (PARTITION BY LOWER(COALESCE(exh_user, '')) ORDER BY exh_outbox_id) AS exh_rank
           FROM exh_outbox
           WHERE exh_state = 'pending' AND exh_action IN (${outboxActionList}) ${scoped?.text ?? ''}
         ) AS pending
         WHERE exh_rank <= ${outboxRowsPerUser}
         ORDER BY exh_rank, exh_outbox_id
         FETCH FIRST ${count} ROWS ONLY`,
        scoped?.params ?? [],
      ),
    )) as Record<string, unknown>[];
    return rows.map((row) => outboxEntryFromRow(row, this.types));
  }

  async getItems(name: ItemTypeName, user: string, ranges: ItemRanges): Promise<Array<Record<string, FieldValue>>> {
    const definition = itemType(name);
    const procedure = definition.procedures.getItem;
    const params: SQLParam[] = [user, ...rangeParameters(ranges).map((range) => toDb2(range.value))];
    const rows = (await this.run(procedure, (db) =>
      db.query(`CALL ${procedure}(${params.map(() => '?').join(', ')})`, params),
    )) as Record<string, unknown>[];
    // ibm_db returns column names as DB2 folds them (upper case).
    return rows.map((raw) =>
      decodeFields(
        definition,
        JSON.stringify(Object.fromEntries(Object.entries(raw).map(([k, v]) => [k.toLowerCase(), v]))),
      ),
    );
  }

  /**
   * With the version its write left: both statements in one compound statement, one round trip. With `fence`: the
   * lease check (db2-cluster.ts) first in the same compound; refused, the row stays pending.
   */
  async completeOutbox(id: string, outcome: OutboxOutcome, version?: ItemVersionWrite, fence?: Fence): Promise<void> {
    const state = outboxState(outcome);
    const statements: Db2Statement[] = fence ? [outboxFenceCheck(id, fence)] : [];
    if (version) statements.push(itemVersionStatement({ ...version, supersedes: null }));
    statements.push({
      text: `UPDATE exh_outbox
         SET exh_state = ?, exh_attempts = exh_attempts + 1, exh_exit_code = ?, exh_output_value = ?,
             exh_error_message = ?,
             exh_completed_at = CASE WHEN ? = 'pending' THEN NULL ELSE CURRENT TIMESTAMP - CURRENT TIMEZONE END
         WHERE exh_outbox_id = ?`,
      params: [state, outcome.exitCode, outcome.outputValue, outcome.errorMessage, state, Number(id)],
      object: 'exh_outbox',
    });
    try {
      await this.run('exh_outbox', (db) => this.atomically(db, statements));
    } catch (error) {
      if (fence && isLeaseLost(error)) {
        throw errors.leaseLost(`the user of outbox row ${id}`, fence.instanceId, `completing outbox row ${id}`);
      }
      throw error;
    }
  }

  async readSetUp(): Promise<Partial<SetUp>> {
    const { text } = readSetUpStatement('db2');
    const rows = (await this.run('exh_set_up', (db) => db.query(text))) as Record<string, unknown>[];
    return setUpFromRows(rows);
  }

  async listOutbox(filter: OutboxListFilter): Promise<OutboxRecord[]> {
    const { text, params } = listOutboxStatement('db2', filter);
    const rows = (await this.run('exh_outbox', (db) => db.query(text, params))) as Record<string, unknown>[];
    return rows.map(outboxRecordFromRow);
  }

  async retryOutbox(filter: OutboxRetryFilter): Promise<{ retried: number }> {
    const { text, params } = retryOutboxStatement('db2', filter);
    // A prepared statement, because only executeNonQuery reports how many rows an UPDATE changed.
    const retried = await this.run('exh_outbox', async (db) => {
      const statement = await db.prepare(text);
      try {
        return await statement.executeNonQuery(params);
      } finally {
        await statement.close().catch(() => undefined);
      }
    });
    return { retried: Number(retried) };
  }

  async logError(entry: ConnectorLogEntry): Promise<void> {
    await this.run('exh_log', (db) =>
      db.query(
        `INSERT INTO exh_log (exh_user, exh_item_type, exh_code, exh_message, exh_logged_at)
         VALUES (?, ?, ?, ?, CURRENT TIMESTAMP - CURRENT TIMEZONE)`,
        [entry.user ?? null, entry.itemType ?? null, entry.code, entry.message],
      ),
    );
  }

  async itemVersions(itemIds: readonly string[]): Promise<Map<string, ItemVersion>> {
    const found = new Map<string, ItemVersion>();
    for (let start = 0; start < itemIds.length; start += 500) {
      const slice = itemIds.slice(start, start + 500);
      const rows = (await this.run('exh_item_version', (db) =>
        db.query(
          `SELECT exh_item_id, exh_change_key, VARCHAR(exh_superseded_until) AS exh_superseded_until
           FROM exh_item_version WHERE exh_item_id IN (${slice.map(() => '?').join(', ')})`,
          [...slice],
        ),
      )) as Record<string, unknown>[];
      for (const raw of rows) {
        // ibm_db returns column names as DB2 folds them (upper case).
        const row = Object.fromEntries(Object.entries(raw).map(([k, v]) => [k.toLowerCase(), v]));
        const until = row.exh_superseded_until;
        found.set(String(row.exh_item_id), {
          changeKey: String(row.exh_change_key ?? ''),
          supersededUntil: until === null || until === undefined ? null : String(until).trim(),
        });
      }
    }
    return found;
  }

  async rememberItemVersion(entry: ItemVersionWrite): Promise<void> {
    const { text, params } = itemVersionStatement({ ...entry, supersedes: null });
    await this.run('exh_item_version', (db) => db.query(text, params));
  }

  async pendingItemChanges(user: string, itemType: ItemTypeName): Promise<OutboxEntry[]> {
    const rows = (await this.run('exh_outbox', (db) =>
      db.query(
        `SELECT VARCHAR(exh_outbox_id) AS id, exh_user, exh_item_type, exh_action, exh_payload, exh_created,
           exh_attempts
         FROM exh_outbox
         WHERE exh_state = 'pending' AND exh_action IN ('add', 'chg', 'del') AND LOWER(exh_user) = LOWER(?)
           AND exh_item_type = ?
         ORDER BY exh_outbox_id`,
        [user, itemType],
      ),
    )) as Record<string, unknown>[];
    return rows.map((row) => outboxEntryFromRow(row, this.types)).filter(isOutboxItem);
  }

  /** Runs a DB2 script statement by statement (split at lines holding only @, as db2 -td@ does). */
  async runScript(script: string): Promise<void> {
    await this.run('the base project script', async (db) => {
      for (const statement of splitStatements(script)) await db.query(statement);
    });
  }

  /**
   * Statements that commit together, in one round trip where the server takes compound statements (a BEGIN ATOMIC
   * block is atomic by itself); else, or when the block fails for any reason but a lost connection (it is rolled back
   * whole), one at a time in a transaction, which names the table that failed.
   */
  private async atomically(db: Database, statements: readonly Db2Statement[]): Promise<void> {
    const [only] = statements;
    if (!only) return;
    if (statements.length === 1) return void (await this.attempt(only.object, () => db.query(only.text, only.params)));
    const compounds = pageCompounds(statements);
    const [compound] = compounds;
    if (!this.compoundsRefused && compound && compounds.length === 1) {
      try {
        await db.query(compound.text, compound.params);
        return;
      } catch (error) {
        if (isExhError(this.translate(error, 'exh_outbox'), 'EXH_DB_CONNECTION_LOST')) throw error;
        if (compoundRefused(error)) this.compoundsRefused = true;
      }
    }
    await inTransaction(db, async () => {
      for (const statement of statements) {
        await this.attempt(statement.object, () => db.query(statement.text, statement.params));
      }
    });
  }

  private run<T>(object: string, work: (db: Database) => Promise<T>): Promise<T> {
    const db = this.connection;
    if (!db) return Promise.reject(errors.databaseConnectionLost(this.target, new Error('not connected')));
    return this.queue.add(() => this.attempt(object, () => work(db)));
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
    const { sqlcode } = error as { sqlcode?: number };
    const sqlstate = sqlState(error);
    if (
      (sqlcode !== undefined && connectionSqlCodes.has(sqlcode)) ||
      sqlstate?.startsWith('08') ||
      sqlstate === '40003'
    ) {
      return errors.databaseConnectionLost(this.target, error);
    }
    if (sqlcode !== undefined && missingSqlCodes.has(sqlcode) && !/^3[89]/.test(sqlstate ?? '')) {
      const named = /"([^"]+)"/.exec(error instanceof Error ? error.message : '')?.[1];
      return errors.baseProjectMissing(sqlcode === -440 ? object : (named ?? object), error);
    }
    return errors.procedureFailed(object, error);
  }
}

/** exh_item_version for one item (see itemVersionMerge); a null change key forgets it. */
function itemVersionStatement(entry: {
  user: string;
  itemType: string;
  itemId: string;
  changeKey: string | null;
  supersedes: string | null;
}): Db2Statement {
  if (entry.changeKey === null) {
    return {
      text: 'DELETE FROM exh_item_version WHERE exh_item_id = ?',
      params: [entry.itemId],
      object: 'exh_item_version',
    };
  }
  return {
    text: itemVersionMerge,
    params: [entry.itemId, entry.user.toLowerCase(), entry.itemType, entry.changeKey, entry.supersedes],
    object: 'exh_item_version',
  };
}

/** Runs work in a transaction on the connection, the applying flag cleared afterwards also when it fails. */
async function inTransaction(db: Database, work: () => Promise<void>): Promise<void> {
  await db.beginTransaction();
  try {
    await work();
    await db.commitTransaction();
  } catch (error) {
    await db.rollbackTransaction().catch(() => undefined);
    await db.query(applyingOff).catch(() => undefined);
    throw error;
  }
}

/** The fence check's refusal (db2-cluster.ts: SQLSTATE 75001), as thrown or as the cause of the coded error. */
function isLeaseLost(error: unknown): boolean {
  return hasSqlState(error, leaseLostSqlState);
}

/** The page's last check (db2-page.ts): its SQLSTATE with its own message, not a procedure raising the same state. */
function isOvertaken(error: unknown): boolean {
  const messages = [error, (error as { cause?: unknown } | null)?.cause].map((e) =>
    String((e as Error | null)?.message),
  );
  return hasSqlState(error, overtakenSqlState) && messages.some((m) => m.includes(overtakenMessage));
}

/** Whether the error, or the error it wraps (an ExhError from attempt), carries this SQLSTATE. */
function hasSqlState(error: unknown, state: string): boolean {
  return sqlState(error) === state || sqlState((error as { cause?: unknown } | null)?.cause) === state;
}

/** ibm_db folds column names to upper case. */
function column(row: Record<string, unknown>, name: string): unknown {
  return row[name.toUpperCase()] ?? row[name];
}

/** The database's UTC timestamps (CURRENT TIMESTAMP - CURRENT TIMEZONE), read as the outbox reads exh_created. */
function utc(value: unknown): Date {
  return fromDatabaseValue('timestamp', value) as Date;
}

function memberFromRow(row: Record<string, unknown>): Member {
  return {
    instanceId: String(column(row, 'exh_instance_id')),
    address: String(column(row, 'exh_address')),
    port: Number(column(row, 'exh_port')),
    startedAt: utc(column(row, 'exh_started_at')),
    heartbeatAt: utc(column(row, 'exh_heartbeat_at')),
  };
}

function leaseFromRow(row: Record<string, unknown>): Lease {
  return {
    user: String(column(row, 'exh_user')),
    instanceId: String(column(row, 'exh_instance_id')),
    fence: String(column(row, 'exh_fence')).trim(),
    expiresAt: utc(column(row, 'exh_expires_at')),
  };
}

/** ibm_db names it `sqlstate`; releases before 2.x named it `state`. */
function sqlState(error: unknown): string | undefined {
  const { sqlstate, state } = (error ?? {}) as { sqlstate?: unknown; state?: unknown };
  const value = sqlstate ?? state;
  return typeof value === 'string' ? value : undefined;
}

/** ECONNREFUSED as SQL30081N reports it: Linux, Windows, AIX, Solaris, HP-UX (IBM's table of TCP/IP errors). */
const refusedErrnos = new Set(['111', '10061', '79', '146', '239']);

/**
 * Why ibm_db.open() failed. ibm_db reports the CLI driver's first diagnostic: `sqlcode`, `sqlstate` and the message
 * "[IBM][CLI Driver] SQLnnnnnN …". SQL30061N (or SQL1013N for a catalogued alias): no such database; SQL30082N:
 * security processing failed (user, password, expired or revoked); SQL30081N: communication, where the failing socket
 * call and its errno tell a name that does not resolve from a port where nothing listens.
 */
export function classifyDb2ConnectError(error: unknown): ConnectFailure {
  const { sqlcode } = (error ?? {}) as { sqlcode?: unknown };
  const text = chainText(error);
  if (sqlcode === -30061 || sqlcode === -1013 || /SQL30061N|SQL1013N/.test(text)) return 'databaseNotFound';
  if (sqlcode === -30082 || /SQL30082N/.test(text) || /^28/.test(sqlState(error) ?? '')) return 'loginFailed';
  if (sqlcode === -30081 || /SQL30081N/.test(text)) {
    const call = /Communication function detecting the error: "([^"]*)"/.exec(text)?.[1] ?? '';
    const errno = /Protocol specific error code\(s\): "([^"]*)"/.exec(text)?.[1] ?? '';
    if (/getaddrinfo|gethostbyname/i.test(call)) return 'hostUnknown';
    if (call === 'connect' && refusedErrnos.has(errno)) return 'connectionRefused';
  }
  return 'unreachable';
}

const db2Fixes: ConnectFixes = {
  tlsRequired:
    "Add Security=SSL to database.connectionString, with PORT the server's SSL port and SSLServerCertificate=FILE.",
  tlsFailed: "Point SSLServerCertificate=FILE in database.connectionString at the server's certificate or its CA.",
  databaseNotFound:
    'For DB2 the name is DATABASE= (on IBM i the relational database name, WRKRDBDIRE), not a schema (CurrentSchema=).',
};

/** Statements of a DB2 script: the text between lines that hold only the terminator, comment-only ones dropped. */
export function splitStatements(script: string): string[] {
  return script
    .split(new RegExp(`^\\s*${statementTerminator}\\s*$`, 'm'))
    .map((s) => s.trim())
    .filter((s) => s.replace(/^--.*$/gm, '').trim() !== '');
}
