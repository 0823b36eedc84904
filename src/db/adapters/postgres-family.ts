import { type ExhError, errors, isExhError } from '../../errors.js';
import { type ItemTypeDefinition, itemType, itemTypes } from '../../items/index.js';
import type {
  ChangeBatch,
  ClusterPort,
  ConnectorLogEntry,
  DatabasePort,
  Fence,
  FieldValue,
  ItemRanges,
  ItemTypeName,
  ItemVersion,
  ItemVersionWrite,
  MeetingLink,
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
import { connectError } from '../connect-errors.js';
import { decodeFields, userRegistration } from '../field-values.js';
import { outboxActionList, outboxEntryFromRow, outboxRowsPerUser, outboxState, rangeParameters } from '../outbox.js';
import {
  listOutboxStatement,
  outboxRecordFromRow,
  readSetUpStatement,
  retryOutboxStatement,
  setUpFromRows,
} from '../outbox-admin.js';
import { notifyChannel } from '../sql/routines.js';
import { type InstallableDatabase, setUpRows } from './installable.js';
import { PgCluster } from './pg-cluster.js';
import { classifyPgConnectError, isPgLeaseLost, isPgOvertaken, pgConnectFixes, translatePgError } from './pg-errors.js';
import {
  failedObject,
  itemVersionUpsert,
  literal,
  outboxFenceCheck,
  type PageScript,
  pageScripts,
  pageStatements,
} from './pg-page.js';

/**
 * The DatabasePort for everything that speaks PostgreSQL's SQL: the pg server adapter and PGlite share all statements
 * and error handling here; each supplies only a PgDriver (how to open, run a transaction, recognise a lost connection).
 */

export interface PgQueryable {
  query<T = Record<string, unknown>>(text: string, params?: unknown[]): Promise<{ rows: T[] }>;
  /** Statements separated by semicolons, sent as one simple-protocol Query: one round trip. */
  exec(script: string): Promise<void>;
}

export interface PgConnection extends PgQueryable {
  /** BEGIN, work, COMMIT; ROLLBACK and rethrow when work throws. */
  transaction<T>(work: (tx: PgQueryable) => Promise<T>): Promise<T>;
  /** A multi-statement script in one transaction. */
  exec(script: string): Promise<void>;
  /**
   * Statements separated by semicolons in one round trip and one transaction: the simple query protocol's implicit
   * transaction, which the first error rolls back (the connection stays usable).
   */
  batch(script: string): Promise<void>;
  /**
   * A round trip that says whether the database answers, whatever the load: it must not wait behind other calls
   * for a pooled connection, or a busy pool would look like a lost database (docs/database.md, "Connections").
   */
  probe(): Promise<void>;
  /**
   * The cluster's heartbeat and claims on a connection of their own (absent: the pool's), so that a pool kept busy
   * by catch-ups does not delay the renewal of every lease until they end (docs/scale-out.md).
   */
  readonly membership?: PgQueryable;
  /** LISTEN; the returned function stops listening. `onError`: the listening connection failed afterwards. */
  listen(
    channel: string,
    onPayload: (payload: string) => void,
    onError?: (error: unknown) => void,
  ): Promise<() => Promise<void>>;
  close(): Promise<void>;
}

export interface PgDriver {
  readonly type: 'postgres' | 'pglite';
  readonly target: string;
  /** Throws the driver's own error when the database cannot be reached (ExhError when the driver cannot load). */
  open(): Promise<PgConnection>;
  isConnectionError(error: unknown): boolean;
}

const itemVersionTable = 'exh_item_version';

/** Keeps what the connector knows of an item (exh_item_version, see itemVersionUpsert); a null change key forgets it. */
async function writeItemVersion(
  q: PgQueryable,
  entry: { user: string; itemType: string; itemId: string; changeKey: string | null; supersedes: string | null },
): Promise<void> {
  if (entry.changeKey === null) {
    await q.query('DELETE FROM exh_item_version WHERE exh_item_id = $1', [entry.itemId]);
    return;
  }
  await q.query(itemVersionUpsert(['$1', '$2', '$3', '$4', '$5::bigint']), [
    entry.itemId,
    entry.user.toLowerCase(),
    entry.itemType,
    entry.changeKey,
    entry.supersedes,
  ]);
}

interface OutboxRow {
  id: string;
  exh_user: string;
  exh_item_type: string;
  exh_action: string;
  exh_payload: string;
  exh_created: Date | string;
  exh_attempts: number;
}

export class PostgresFamilyDatabase implements InstallableDatabase {
  readonly dialect = 'postgres' as const;
  private connection: PgConnection | undefined;
  /** The connect() in flight, shared by concurrent callers; close() while it runs discards what it opens. */
  private opening: Promise<PgConnection> | undefined;
  private generation = 0;
  /** Membership and leases for several instances (pg-cluster.ts); unused by a single instance. */
  readonly cluster: ClusterPort = new PgCluster((object, work) => {
    const connection = this.connected();
    return this.attempt(object, () => work(connection.membership ?? connection));
  });

  constructor(
    private readonly driver: PgDriver,
    private readonly types: readonly ItemTypeDefinition[] = itemTypes,
  ) {}

  get type(): DatabasePort['type'] {
    return this.driver.type;
  }

  get target(): string {
    return this.driver.target;
  }

  async connect(): Promise<void> {
    if (this.connection) return;
    const generation = this.generation;
    this.opening ??= this.driver.open().finally(() => {
      this.opening = undefined;
    });
    let connection: PgConnection;
    try {
      connection = await this.opening;
    } catch (error) {
      if (isExhError(error)) throw error;
      throw connectError(classifyPgConnectError(error), this.target, error, pgConnectFixes);
    }
    if (generation !== this.generation) {
      // close() was called while connecting: the caller is gone, and so must this connection be.
      await connection.close().catch(() => undefined);
      throw errors.databaseConnectionLost(this.target, new Error('the adapter was closed while connecting'));
    }
    this.connection ??= connection;
    if (this.connection !== connection) await connection.close().catch(() => undefined);
  }

  async probe(): Promise<void> {
    const connection = this.connected();
    try {
      await connection.probe();
    } catch (error) {
      throw errors.databaseConnectionLost(this.target, error);
    }
  }

  async close(): Promise<void> {
    this.generation += 1;
    const connection = this.connection;
    this.connection = undefined;
    await connection?.close().catch(() => undefined);
  }

  async writeSetUp(setUp: SetUp): Promise<void> {
    const rows = setUpRows(setUp);
    await this.run('exh_set_up', (q) =>
      q.query(
        `INSERT INTO exh_set_up (exh_parameter, exh_value)
         SELECT * FROM unnest($1::text[], $2::text[])
         ON CONFLICT (exh_parameter) DO UPDATE SET exh_value = EXCLUDED.exh_value`,
        [rows.map((r) => r[0]), rows.map((r) => r[1])],
      ),
    );
  }

  async getUsers(): Promise<UserRegistration[]> {
    const { rows } = await this.run('exh_get_users', (q) => q.query('SELECT * FROM exh_get_users()'));
    return rows.map((row) => userRegistration(row, this.types));
  }

  /**
   * The page in one round trip: its statements as one simple-protocol script, which the server runs as one implicit
   * transaction (pg-page.ts). A page beyond pageLimits goes in several scripts inside one explicit transaction.
   */
  async applyChanges(batch: ChangeBatch): Promise<void> {
    const definition = itemType(batch.itemType);
    const scripts = await this.attempt('exh_watermark', async () => pageScripts(pageStatements(definition, batch)));
    const connection = this.connected();
    let running: PageScript | undefined;
    try {
      const [only] = scripts;
      if (scripts.length === 1 && only) {
        running = only;
        await connection.batch(only.text);
        return;
      }
      await connection.transaction(async (tx) => {
        for (const script of scripts) {
          running = script;
          await tx.exec(script.text);
        }
      });
    } catch (error) {
      if (batch.fence && isPgLeaseLost(error)) {
        throw errors.leaseLost(batch.user, batch.fence.instanceId, `the page of ${batch.itemType} changes`);
      }
      if (batch.reconciledWith && isPgOvertaken(error)) throw errors.pageOvertaken(batch.user, batch.itemType);
      throw this.translate(error, running ? failedObject(error, running) : 'exh_watermark');
    }
  }

  /** One statement however many links (the outbox links a run's meetings at once); the last link of a UID wins. */
  async rememberMeetings(links: readonly MeetingLink[]): Promise<void> {
    if (links.length === 0) return;
    const byUid = new Map(links.map((link) => [link.uid, link.appItemId]));
    await this.run('exh_meeting', (q) =>
      q.query(
        `INSERT INTO exh_meeting (exh_uid, exh_app_item_id) SELECT * FROM unnest($1::text[], $2::text[])
           ON CONFLICT (exh_uid) DO UPDATE SET exh_app_item_id = EXCLUDED.exh_app_item_id`,
        [[...byUid.keys()], [...byUid.values()]],
      ),
    );
  }

  async meetingAppItemIds(uids: readonly string[]): Promise<Map<string, string>> {
    if (uids.length === 0) return new Map();
    const { rows } = await this.run('exh_meeting', (q) =>
      q.query<{ exh_uid: string; exh_app_item_id: string }>(
        'SELECT exh_uid, exh_app_item_id FROM exh_meeting WHERE exh_uid = ANY($1::text[])',
        [[...uids]],
      ),
    );
    return new Map(rows.map((row) => [row.exh_uid, row.exh_app_item_id]));
  }

  /**
   * With `scope`: only rows of users whose unexpired lease the instance holds, and the commands without a user when
   * it takes those (docs/database.md, "Several instances").
   */
  async readOutbox(limit: number, scope?: OutboxScope): Promise<Array<OutboxEntry | OutboxCommandEntry>> {
    const params: unknown[] = [limit, outboxRowsPerUser];
    let scoped = '';
    if (scope) {
      params.push(scope.instanceId, scope.commandsWithoutUser);
      scoped = `AND (CASE WHEN exh_user IS NULL THEN $4
                  ELSE EXISTS (SELECT 1 FROM exh_lease AS l WHERE l.exh_user_key = lower(exh_outbox.exh_user)
                                 AND l.exh_instance_id = $3 AND l.exh_expires_at > now()) END)`;
    }
    const { rows } = await this.run('exh_outbox', (q) =>
      q.query<OutboxRow>(
        `SELECT id, exh_user, exh_item_type, exh_action, exh_payload, exh_created, exh_attempts
         FROM (
           SELECT exh_outbox_id, exh_outbox_id::text AS id, exh_user, exh_item_type, exh_action, exh_payload,
             exh_created, exh_attempts,
             ROW_NUMBER() OVER (PARTITION BY lower(coalesce(exh_user, '')) ORDER BY exh_outbox_id) AS exh_rank
           FROM exh_outbox
           WHERE exh_state = 'pending' AND exh_action IN (${outboxActionList}) ${scoped}
         ) AS pending
         WHERE exh_rank <= $2
         ORDER BY exh_rank, exh_outbox_id
         LIMIT $1`,
        params,
      ),
    );
    return rows.map((row) => outboxEntryFromRow({ ...row }, this.types));
  }

  async getItems(name: ItemTypeName, user: string, ranges: ItemRanges): Promise<Array<Record<string, FieldValue>>> {
    const definition = itemType(name);
    const procedure = definition.procedures.getItem;
    const parameters = [{ name: 'exh_user', value: user as string | Date | null }, ...rangeParameters(ranges)];
    const list = parameters.map((p, i) => `${p.name} => $${i + 1}`).join(', ');
    const { rows } = await this.run(procedure, (q) =>
      q.query<{ item: unknown }>(
        `SELECT item FROM ${procedure}(${list}) AS item`,
        parameters.map((p) => p.value),
      ),
    );
    return rows.map((row) =>
      decodeFields(definition, typeof row.item === 'string' ? row.item : JSON.stringify(row.item)),
    );
  }

  /**
   * One statement: the row's UPDATE, with the version its write left (upserted or forgotten) as a data-modifying WITH
   * query of it, so that both commit together in one round trip.
   */
  async completeOutbox(id: string, outcome: OutboxOutcome, version?: ItemVersionWrite, fence?: Fence): Promise<void> {
    if (fence) return this.completeFencedOutbox(id, outcome, version, fence);
    const state = outboxState(outcome);
    const params: unknown[] = [id, state, outcome.exitCode, outcome.outputValue, outcome.errorMessage];
    let withVersion = '';
    if (version) {
      withVersion =
        version.changeKey === null
          ? 'WITH version AS (DELETE FROM exh_item_version WHERE exh_item_id = $6) '
          : `WITH version AS (${itemVersionUpsert(['$6', '$7', '$8', '$9', 'NULL::bigint'])}) `;
      params.push(version.itemId);
      if (version.changeKey !== null) params.push(version.user.toLowerCase(), version.itemType, version.changeKey);
    }
    await this.run('exh_outbox', (q) =>
      q.query(
        `${withVersion}UPDATE exh_outbox
         SET exh_state = $2, exh_attempts = exh_attempts + 1, exh_exit_code = $3, exh_output_value = $4,
             exh_error_message = $5, exh_completed_at = CASE WHEN $2 = 'pending' THEN NULL ELSE now() END
         WHERE exh_outbox_id = $1`,
        params,
      ),
    );
  }

  /**
   * completeOutbox with a fence: the check (pg-page.ts, outboxFenceCheck) and the same UPDATE, as literals in one
   * simple-protocol script, so one round trip and one implicit transaction: refused, the row stays pending.
   */
  private async completeFencedOutbox(
    id: string,
    outcome: OutboxOutcome,
    version: ItemVersionWrite | undefined,
    fence: Fence,
  ): Promise<void> {
    const o = 'exh_outbox';
    const state = literal(outboxState(outcome), o);
    const statements = [outboxFenceCheck(id, fence).text];
    if (version?.changeKey === null) {
      statements.push(`DELETE FROM exh_item_version WHERE exh_item_id = ${literal(version.itemId, o)}`);
    } else if (version) {
      const values = [version.itemId, version.user.toLowerCase(), version.itemType, version.changeKey];
      statements.push(itemVersionUpsert([...values.map((v) => literal(v, o)), 'NULL::bigint']));
    }
    statements.push(`UPDATE exh_outbox
      SET exh_state = ${state}, exh_attempts = exh_attempts + 1, exh_exit_code = ${literal(outcome.exitCode, o)},
          exh_output_value = ${literal(outcome.outputValue, o)}, exh_error_message = ${literal(outcome.errorMessage, o)},
          exh_completed_at = CASE WHEN ${state} = 'pending' THEN NULL ELSE now() END
      WHERE exh_outbox_id = ${literal(id, o)}::bigint`);
    const connection = this.connected();
    try {
      await connection.batch(statements.join(';\n'));
    } catch (error) {
      if (isPgLeaseLost(error)) {
        const user = (error as { detail?: unknown }).detail;
        throw errors.leaseLost(typeof user === 'string' ? user : '', fence.instanceId, `completing outbox row ${id}`);
      }
      throw this.translate(error, o);
    }
  }

  async readSetUp(): Promise<Partial<SetUp>> {
    const { text } = readSetUpStatement('postgres');
    const { rows } = await this.run('exh_set_up', (q) => q.query(text));
    return setUpFromRows(rows);
  }

  async listOutbox(filter: OutboxListFilter): Promise<OutboxRecord[]> {
    const { text, params } = listOutboxStatement('postgres', filter);
    const { rows } = await this.run('exh_outbox', (q) => q.query(text, params));
    return rows.map(outboxRecordFromRow);
  }

  async retryOutbox(filter: OutboxRetryFilter): Promise<{ retried: number }> {
    const { text, params } = retryOutboxStatement('postgres', filter);
    const { rows } = await this.run('exh_outbox', (q) => q.query(`${text} RETURNING exh_outbox_id`, params));
    // Wakes a listening connector at once, as a new row does (otherwise the next poll picks the rows up).
    if (rows.length > 0) await this.run(notifyChannel, (q) => q.query('SELECT pg_notify($1, $2)', [notifyChannel, '']));
    return { retried: rows.length };
  }

  async logError(entry: ConnectorLogEntry): Promise<void> {
    await this.run('exh_log', (q) =>
      q.query('INSERT INTO exh_log (exh_user, exh_item_type, exh_code, exh_message) VALUES ($1, $2, $3, $4)', [
        entry.user ?? null,
        entry.itemType ?? null,
        entry.code,
        entry.message,
      ]),
    );
  }

  async itemVersions(itemIds: readonly string[]): Promise<Map<string, ItemVersion>> {
    if (itemIds.length === 0) return new Map();
    const { rows } = await this.run(itemVersionTable, (q) =>
      q.query<{ exh_item_id: string; exh_change_key: string; exh_superseded_until: string | null }>(
        `SELECT exh_item_id, exh_change_key, exh_superseded_until::text AS exh_superseded_until
         FROM exh_item_version WHERE exh_item_id = ANY($1::text[])`,
        [[...itemIds]],
      ),
    );
    return new Map(
      rows.map((row) => [
        row.exh_item_id,
        { changeKey: row.exh_change_key, supersededUntil: row.exh_superseded_until },
      ]),
    );
  }

  async rememberItemVersion(entry: ItemVersionWrite): Promise<void> {
    await this.run(itemVersionTable, (q) => writeItemVersion(q, { ...entry, supersedes: null }));
  }

  async pendingItemChanges(user: string, itemType: ItemTypeName): Promise<OutboxEntry[]> {
    const { rows } = await this.run('exh_outbox', (q) =>
      q.query<OutboxRow>(
        `SELECT exh_outbox_id::text AS id, exh_user, exh_item_type, exh_action, exh_payload, exh_created, exh_attempts
         FROM exh_outbox
         WHERE exh_state = 'pending' AND exh_action IN ('add', 'chg', 'del') AND lower(exh_user) = lower($1)
           AND exh_item_type = $2
         ORDER BY exh_outbox_id`,
        [user, itemType],
      ),
    );
    return rows.map((row) => outboxEntryFromRow({ ...row }, this.types)).filter(isOutboxItem);
  }

  async runScript(script: string): Promise<void> {
    const connection = this.connected();
    await this.attempt('the base project script', () => connection.exec(script));
  }

  /**
   * Calls onUser with the user of every new outbox row (the base project's pg_notify; '' for commands without a
   * user), so that the outbox is drained without polling. Not part of DatabasePort (PostgreSQL only); listening ends
   * with the connection. `onError` gets the coded error (with its cause) when the listening connection fails later:
   * notifications have stopped then, and only polling drains the outbox.
   */
  async watchOutbox(onUser: (user: string) => void, onError?: (error: ExhError) => void): Promise<() => Promise<void>> {
    const connection = this.connected();
    try {
      return await connection.listen(
        notifyChannel,
        onUser,
        onError && ((error) => onError(this.translate(error, notifyChannel))),
      );
    } catch (error) {
      throw this.translate(error, notifyChannel);
    }
  }

  private connected(): PgConnection {
    if (!this.connection) throw errors.databaseConnectionLost(this.target, new Error('not connected'));
    return this.connection;
  }

  private translate(error: unknown, object: string) {
    return translatePgError(error, {
      target: this.target,
      object,
      isConnectionError: (e) => this.driver.isConnectionError(e),
    });
  }

  private async attempt<T>(object: string, work: () => Promise<T>): Promise<T> {
    try {
      return await work();
    } catch (error) {
      throw this.translate(error, object);
    }
  }

  private run<T>(object: string, work: (q: PgQueryable) => Promise<T>): Promise<T> {
    const connection = this.connected();
    return this.attempt(object, () => work(connection));
  }
}
