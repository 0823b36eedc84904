import { randomBytes } from 'node:crypto';
import { EventEmitter } from 'node:events';
import mssql, { type ConnectionPool } from 'mssql';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { InstallableDatabase } from '../../../src/db/adapters/installable.js';
import { classifySqlServerConnectError, poolConfig, type ServerMessage } from '../../../src/db/adapters/sqlserver.js';
import { encodeAttachmentInfo } from '../../../src/db/attachment-info.js';
import { installInto } from '../../../src/db/commands.js';
import { connectError } from '../../../src/db/connect-errors.js';
import { createDatabase } from '../../../src/db/create-database.js';
import { type ExhError, isExhError } from '../../../src/errors.js';

/**
 * SQL Server integration, run when MSSQL_URL is set (an ADO.NET connection string of a login that may create
 * databases, e.g. "Server=127.0.0.1,1433;User Id=sa;Password=...;Encrypt=false"). Each run uses a fresh database.
 */
const url = process.env.MSSQL_URL;

describe.skipIf(!url)('SQL Server (needs MSSQL_URL)', () => {
  const database = `exh_test_${randomBytes(6).toString('hex')}`;
  const connectionString = `${url};Database=${database}`;
  let admin: ConnectionPool;
  let raw: ConnectionPool;
  let db: InstallableDatabase;
  const sql = async (text: string) => (await raw.request().query(text)).recordset;

  beforeAll(async () => {
    admin = await new mssql.ConnectionPool(url ?? '').connect();
    await admin.request().batch(`CREATE DATABASE ${database}`);
    raw = await new mssql.ConnectionPool(connectionString).connect();
    db = createDatabase({ type: 'sqlserver', connectionString });
    await db.connect();
  }, 120_000);

  afterAll(async () => {
    await db?.close();
    await raw?.close();
    await admin
      ?.request()
      .batch(`ALTER DATABASE ${database} SET SINGLE_USER WITH ROLLBACK IMMEDIATE; DROP DATABASE ${database};`);
    await admin?.close();
  });

  it('names the missing object before the base project is installed', async () => {
    const error = await db.getUsers().catch((e: unknown) => e);
    expect(isExhError(error, 'EXH_DB_BASE_PROJECT_MISSING')).toBe(true);
    expect((error as Error).message).toContain('exh_get_users');
  });

  it('installs the base project and the example application twice', async () => {
    await installInto(db, { exampleApp: true });
    await installInto(db, { exampleApp: true });
    const procedures = await sql(`SELECT COUNT(*) AS n FROM sys.procedures WHERE name LIKE 'exh[_]%'`);
    expect(procedures[0]?.n).toBe(4 * 7 + 4);
  });

  it('applies changes with case-sensitive item ids, NULL leaving and empty clearing values', async () => {
    const user = 'ann@example.com';
    await db.applyChanges({
      user,
      itemType: 'calendar',
      changes: [
        { action: 'add', fields: { item_id: 'AAMk=', subject: 'Upper', location: 'Room' } },
        { action: 'add', fields: { item_id: 'aamk=', subject: 'Lower' } },
        { action: 'chg', fields: { item_id: 'AAMk=', subject: null, location: '' } },
      ],
      watermark: 'w1',
    });
    expect(await sql(`SELECT exh_item_id, exh_subject, exh_location FROM calendar_item ORDER BY id`)).toEqual([
      { exh_item_id: 'AAMk=', exh_subject: 'Upper', exh_location: null },
      { exh_item_id: 'aamk=', exh_subject: 'Lower', exh_location: null },
    ]);
    await sql(`INSERT INTO app_user (exh_user) VALUES (N'${user}')`);
    expect((await db.getUsers())[0]).toMatchObject({ user, watermarks: { calendar: 'w1' }, sync: { calendar: true } });
    // Rows the connector wrote did not go back to Exchange.
    expect(await db.readOutbox(10)).toEqual([]);
  });

  it('keeps neither rows nor the watermark when a change fails half-way', async () => {
    const user = 'half@example.com';
    await sql(`ALTER TABLE calendar_item ADD CONSTRAINT refuse_boom CHECK (exh_subject <> N'boom')`);
    try {
      const error = await db
        .applyChanges({
          user,
          itemType: 'calendar',
          changes: [
            { action: 'add', fields: { item_id: 'H1', subject: 'first' } },
            { action: 'add', fields: { item_id: 'H2', subject: 'boom' } },
          ],
          watermark: 'w2',
        })
        .catch((e: unknown) => e);
      expect(isExhError(error, 'EXH_DB_PROCEDURE_FAILED')).toBe(true);
      expect((error as Error).message).toContain('exh_from_exh_add_calendar');
    } finally {
      await sql('ALTER TABLE calendar_item DROP CONSTRAINT refuse_boom');
    }
    expect(await sql(`SELECT exh_item_id FROM calendar_item WHERE exh_user = N'${user}'`)).toEqual([]);
    expect(await sql(`SELECT exh_user FROM exh_watermark WHERE exh_user = N'${user}'`)).toEqual([]);
  });

  it('sends a page of 200 changes with change keys, a meeting and its watermark as one request', async () => {
    const user = 'trips@example.com';
    const requests = vi.spyOn(mssql.Request.prototype, 'query');
    const procedures = vi.spyOn(mssql.Request.prototype, 'execute');
    try {
      await db.applyChanges({
        user,
        itemType: 'calendar',
        changes: Array.from({ length: 200 }, (_, i) => ({
          action: 'add' as const,
          fields: { item_id: `T${i}`, subject: `it's ${i}`, start: new Date(Date.UTC(2026, 0, 1, 9, i)) },
          changeKey: `ck${i}`,
        })),
        meetings: [{ uid: 'UID-T', appItemId: 'app-T' }],
        watermark: 'w',
      });
      expect([requests.mock.calls.length, procedures.mock.calls.length]).toEqual([1, 0]);
    } finally {
      requests.mockRestore();
      procedures.mockRestore();
    }
    expect(await sql(`SELECT COUNT(*) AS n FROM calendar_item WHERE exh_user = N'${user}'`)).toEqual([{ n: 200 }]);
    expect(await sql(`SELECT COUNT(*) AS n FROM exh_item_version WHERE exh_item_id LIKE N'T%'`)).toEqual([{ n: 200 }]);
    expect(await sql(`SELECT exh_app_item_id FROM exh_meeting WHERE exh_uid = N'UID-T'`)).toEqual([
      { exh_app_item_id: 'app-T' },
    ]);
    // A value the driver cannot convert names the procedure it was for; the page's earlier changes are not kept.
    const error = await db
      .applyChanges({
        user,
        itemType: 'calendar',
        changes: [
          { action: 'add', fields: { item_id: 'T-ok' } },
          { action: 'chg', fields: { item_id: 'T-bad', start: 'not a date' } },
        ],
        watermark: 'w2',
      })
      .catch((e: unknown) => e);
    expect(isExhError(error, 'EXH_DB_PROCEDURE_FAILED')).toBe(true);
    expect((error as Error).message).toContain('exh_from_exh_chg_calendar');
    expect(await sql(`SELECT COUNT(*) AS n FROM calendar_item WHERE exh_item_id = N'T-ok'`)).toEqual([{ n: 0 }]);
  });

  it('keeps change keys with their changes, case-sensitively, and lists pending item changes per user and type', async () => {
    const user = 'Keys@Example.com';
    await db.applyChanges({
      user,
      itemType: 'task',
      changes: [
        { action: 'add', fields: { item_id: 'KEY=', subject: 'a' }, changeKey: 'K1', supersedes: '7' },
        { action: 'add', fields: { item_id: 'key=', subject: 'b' }, changeKey: 'k1' },
      ],
      watermark: 'w',
    });
    await db.applyChanges({
      user,
      itemType: 'task',
      changes: [{ action: 'chg', fields: { item_id: 'KEY=', subject: null }, changeKey: 'K2', supersedes: '3' }],
    });
    await db.rememberItemVersion({ user, itemType: 'task', itemId: 'key=', changeKey: null });
    expect([...(await db.itemVersions(['KEY=', 'key=', 'Key=']))]).toEqual([
      ['KEY=', { changeKey: 'K2', supersededUntil: '7' }],
    ]);
    await sql(`INSERT INTO task_item (exh_app_item_id, exh_user, exh_subject) VALUES (N'k-1', N'${user}', N'Mine')`);
    const pending = await db.pendingItemChanges(user.toLowerCase(), 'task');
    expect(pending.map((e) => [e.action, e.fields.app_item_id])).toEqual([['add', 'k-1']]);
    expect(await db.pendingItemChanges(user, 'contact')).toEqual([]);
  });

  it('rolls a page back when the application changed one of its items meanwhile (EXH_SYNC_PAGE_OVERTAKEN)', async () => {
    const user = 'Overtaken@Example.com';
    const task = (subject: string) => [{ action: 'chg' as const, fields: { item_id: 'OVT/1+a', subject } }];
    const subject = async () =>
      (await sql("SELECT exh_subject FROM task_item WHERE exh_item_id = N'OVT/1+a'"))[0]?.exh_subject;
    await db.applyChanges({
      user,
      itemType: 'task',
      changes: [{ action: 'add', fields: { item_id: 'OVT/1+a', app_item_id: 'ovt-1', subject: 'E1' } }],
      watermark: 'w1',
    });
    await sql("UPDATE task_item SET exh_subject = N'App' WHERE exh_item_id = N'OVT/1+a'");
    const [row] = await db.pendingItemChanges(user, 'task');
    const error = await db
      .applyChanges({
        user,
        itemType: 'task',
        changes: task('Exchange'),
        watermark: 'w2',
        reconciledWith: { pendingIds: [] },
      })
      .catch((e: unknown) => e);
    expect(isExhError(error, 'EXH_SYNC_PAGE_OVERTAKEN'), String(error)).toBe(true);
    expect(await subject()).toBe('App');
    await db.applyChanges({
      user,
      itemType: 'task',
      changes: task('Exchange'),
      watermark: 'w3',
      reconciledWith: { pendingIds: [row?.id ?? ''] },
    });
    expect(await subject()).toBe('Exchange');
  });

  it("sends the application's changes to the outbox and splits attachment info like TypeScript", async () => {
    const user = 'app@example.com';
    await sql(`INSERT INTO task_item (exh_app_item_id, exh_user, exh_subject) VALUES (N'app-1', N'${user}', N'Call')`);
    const [entry] = (await db.readOutbox(10)).filter((e) => e.user === user);
    expect(entry).toMatchObject({ itemType: 'task', action: 'add', fields: { app_item_id: 'app-1', subject: 'Call' } });

    const attachments = [
      { name: 'a: b; c%.txt', id: 'AAMk/+=' },
      { name: ' edge ', id: 'x' },
    ];
    const info = encodeAttachmentInfo(attachments).replaceAll("'", "''");
    expect(
      await sql(
        `SELECT exh_attachment_name AS name, exh_attachment_id AS id FROM exh_split_attachment_info(N'${info}') ORDER BY exh_attachment_position`,
      ),
    ).toEqual(attachments);
  });
  it('several instances: one holder per user, fence + 1 on a change of hands, a stale fence refused', async () => {
    const cluster = db.cluster;
    if (!cluster) throw new Error('no cluster port');
    expect((await cluster.heartbeat({ instanceId: 'A', address: 'h', port: 1 }, 20)).map((m) => m.instanceId)).toEqual([
      'A',
    ]);
    expect(await cluster.claimLeases('A', ['Lease@example.com'], 20)).toMatchObject([{ instanceId: 'A', fence: '1' }]);
    expect(await cluster.claimLeases('B', ['lease@example.com'], 20)).toEqual([]);
    await sql(`UPDATE exh_lease SET exh_expires_at = DATEADD(minute, -1, SYSDATETIMEOFFSET())`);
    expect(await cluster.claimLeases('B', ['lease@example.com'], 20)).toMatchObject([{ instanceId: 'B', fence: '2' }]);
    const stale = await db
      .applyChanges({
        user: 'lease@example.com',
        itemType: 'task',
        changes: [],
        watermark: 'stale',
        fence: { instanceId: 'A', token: '1' },
      })
      .catch((e: unknown) => e);
    expect(isExhError(stale, 'EXH_CLUSTER_LEASE_LOST')).toBe(true);
    await db.applyChanges({
      user: 'lease@example.com',
      itemType: 'task',
      changes: [],
      watermark: 'held',
      fence: { instanceId: 'B', token: '2' },
    });
    expect(
      await sql(`SELECT exh_watermark_task AS w FROM exh_watermark WHERE exh_user = N'lease@example.com'`),
    ).toEqual([{ w: 'held' }]);
    await cluster.releaseLeases('B', ['lease@example.com']);
    expect(await cluster.claimLeases('A', ['lease@example.com'], 20)).toMatchObject([{ instanceId: 'A', fence: '3' }]);
    await cluster.leaveCluster('A');
    expect(await cluster.clusterView()).toEqual({ members: [], leases: [] });
  });
});

/**
 * getItems without a server: the adapter's driver handles (pool, mssql) replaced by a double that answers the
 * procedure call with what SQL Server's driver gives — no result set at all, or columns named as a template wrote them.
 */
describe('SQL Server getItems (no server needed)', () => {
  function adapterAnswering(recordset: Array<Record<string, unknown>> | undefined) {
    const db = createDatabase({ type: 'sqlserver', connectionString: 'Server=127.0.0.1,1;User Id=sa;Password=x' });
    const request = {
      input: () => request,
      execute: async () => ({ recordset, recordsets: recordset ? [recordset] : [] }),
    };
    const type = () => ({});
    Object.assign(db, { pool: { request: () => request }, mssql: { NVarChar: type, DateTimeOffset: type } });
    return db;
  }

  it('gives no items when the procedure returns no result set', async () => {
    expect(await adapterAnswering(undefined).getItems('email', 'ann@example.com', {})).toEqual([]);
  });

  it('reads columns whatever their case, as the DB2 adapter does', async () => {
    const items = await adapterAnswering([
      { EXH_APP_ITEM_ID: 'app-1', Exh_Subject: 'Upper', exh_item_id: 'AAMk=' },
    ]).getItems('email', 'ann@example.com', {});
    expect(items).toEqual([{ app_item_id: 'app-1', subject: 'Upper', item_id: 'AAMk=' }]);
  });
});

/**
 * Why connecting failed, without a server: the errors as mssql and tedious build them. mssql wraps tedious's
 * ConnectionError (its `originalError`), which carries the socket's error as `cause`; tedious keeps only the last of
 * the server's login messages, so the adapter records them as they come (poolConfig's beforeConnect). Shapes from
 * mssql 12 (lib/tedious/connection-pool.js) and tedious 19 (lib/connection.js, lib/token/handler.js).
 */
describe('SQL Server: why connecting failed (driver errors as built, no server needed)', () => {
  /** tedious's ConnectionError: an Error with a string code, and the socket's error as its cause. */
  class TediousConnectionError extends Error {
    constructor(
      message: string,
      readonly code: string,
      options?: ErrorOptions,
    ) {
      super(message, options);
    }
  }
  const fromPool = (message: string, code: string, cause?: Error) =>
    new mssql.ConnectionError(new TediousConnectionError(message, code, cause ? { cause } : undefined));
  const socketError = (message: string, code: string) => Object.assign(new Error(message), { code });
  const loginFailed = fromPool("Login failed for user 'exh'.", 'ELOGIN');

  it('4060 before 18456: the database cannot be opened, although tedious reports only "Login failed"', () => {
    const messages = [
      { number: 4060, message: 'Cannot open database "app" requested by the login. The login failed.' },
      { number: 18456, message: "Login failed for user 'exh'." },
    ];
    expect(classifySqlServerConnectError(loginFailed, messages)).toBe('databaseNotFound');
    const error = connectError('databaseNotFound', 'mssql://exh@db:1433/app', loginFailed, {
      tlsRequired: '',
      tlsFailed: '',
      databaseNotFound: 'SQL Server says the same when the login has no user in it.',
    });
    expect(error.code).toBe('EXH_DB_DATABASE_NOT_FOUND');
    expect(error.message).toContain('the login has no user in it');
  });

  it('18456 alone, or ELOGIN: the login was refused', () => {
    expect(
      classifySqlServerConnectError(loginFailed, [{ number: 18456, message: "Login failed for user 'exh'." }]),
    ).toBe('loginFailed');
    expect(classifySqlServerConnectError(loginFailed, [])).toBe('loginFailed');
  });

  it('ESOCKET with the socket error inside: an unknown host, a refused port, a distrusted certificate', () => {
    const unknown = fromPool(
      'Failed to connect to db.invalid:1433 - getaddrinfo ENOTFOUND db.invalid',
      'ESOCKET',
      socketError('getaddrinfo ENOTFOUND db.invalid', 'ENOTFOUND'),
    );
    expect(classifySqlServerConnectError(unknown, [])).toBe('hostUnknown');
    const refused = fromPool(
      'Failed to connect to 127.0.0.1:1 - Could not connect (sequence)',
      'ESOCKET',
      new AggregateError(
        [socketError('connect ECONNREFUSED 127.0.0.1:1', 'ECONNREFUSED')],
        'Could not connect (sequence)',
      ),
    );
    expect(classifySqlServerConnectError(refused, [])).toBe('connectionRefused');
    const certificate = fromPool(
      'Failed to connect to db:1433 - self-signed certificate',
      'ESOCKET',
      socketError('self-signed certificate', 'DEPTH_ZERO_SELF_SIGNED_CERT'),
    );
    expect(classifySqlServerConnectError(certificate, [])).toBe('tlsFailed');
  });

  it('EENCRYPT: the server requires encryption; ETIMEOUT: nothing answered', () => {
    const encrypt = fromPool("Server requires encryption, set 'encrypt' config option to true.", 'EENCRYPT');
    expect(classifySqlServerConnectError(encrypt, [])).toBe('tlsRequired');
    const timeout = fromPool('Failed to connect to db:1433 in 15000ms', 'ETIMEOUT');
    expect(classifySqlServerConnectError(timeout, [])).toBe('unreachable');
  });

  it('poolConfig: the pool size, a Max Pool Size in the connection string first, and the login messages kept', () => {
    const parse = (text: string) => mssql.ConnectionPool.parseConnectionString(text);
    const seen: ServerMessage[] = [];
    const hooks = { onLoginMessage: (message: ServerMessage) => seen.push(message) };
    expect(poolConfig(parse('Server=db;Database=app;User Id=u;Password=p'), { poolSize: 25 }, hooks).pool?.max).toBe(
      25,
    );
    expect(poolConfig(parse('Server=db;Database=app;Max Pool Size=40'), { poolSize: 25 }, hooks).pool?.max).toBe(40);
    expect(poolConfig(parse('Server=db;Database=app'), {}, hooks).pool?.max).toBe(10);

    // A new connection: its error messages are kept until it has logged in (or failed to).
    const connection = new EventEmitter();
    poolConfig(parse('Server=db'), {}, hooks).beforeConnect?.(connection as never);
    connection.emit('errorMessage', { number: 4060, message: 'Cannot open database "app" requested by the login.' });
    connection.emit('connect', new Error('Login failed.'));
    connection.emit('errorMessage', { number: 547, message: 'a later request failed' });
    expect(seen).toEqual([{ number: 4060, message: 'Cannot open database "app" requested by the login.' }]);
  });
});

/**
 * Calls against a pool whose connections are all busy, without a server: mssql's request fails with tarn's
 * TimeoutError ("Failed to acquire a connection from the pool: …"), and the probe must not wait in that queue.
 */
describe('SQL Server under load (no server needed)', () => {
  /** tarn's TimeoutError, as mssql passes it on (its message prefixed in ConnectionPool._acquire). */
  class TimeoutError extends Error {}
  const acquireTimeout = () =>
    new TimeoutError('Failed to acquire a connection from the pool: operation timed out for an unknown reason');

  function busyAdapter() {
    const db = createDatabase({ type: 'sqlserver', connectionString: 'Server=127.0.0.1,1;User Id=sa;Password=x' });
    const busy = {
      input: () => busy,
      execute: () => Promise.reject(acquireTimeout()),
      query: () => new Promise(() => {}),
    };
    const probed: string[] = [];
    class ProbePool extends EventEmitter {
      connected = false;
      async connect() {
        this.connected = true;
        return this;
      }
      request() {
        return { query: async (text: string) => void probed.push(text) };
      }
      async close() {}
    }
    const fakeMssql = {
      NVarChar: () => ({}),
      ConnectionPool: Object.assign(ProbePool, { parseConnectionString: () => ({ server: '127.0.0.1', pool: {} }) }),
    };
    Object.assign(db, { pool: { request: () => busy }, mssql: fakeMssql });
    return { db, probed };
  }

  it('a pool that stays busy is EXH_DB_POOL_EXHAUSTED (retryable), neither a lost connection nor a failed procedure', async () => {
    const { db } = busyAdapter();
    const error = await db.getUsers().catch((e: unknown) => e);
    expect(isExhError(error, 'EXH_DB_POOL_EXHAUSTED')).toBe(true);
    expect((error as ExhError).retryable).toBe(true);
    expect((error as Error).message).toContain('database.poolSize');
  });

  it('the probe answers on a connection of its own while every pooled one is busy', async () => {
    const { db, probed } = busyAdapter();
    await db.probe();
    expect(probed).toEqual(['SELECT 1 AS one']);
  });
});

describe('SQL Server: a page in one request (a recording driver, no server needed)', () => {
  /** mssql as far as applyChanges uses it: a transaction and the requests made in it, recorded. */
  function recordingAdapter(fail?: (text: string) => Error | undefined) {
    const log: string[] = [];
    const requests: Array<{ text: string; inputs: Map<string, unknown> }> = [];
    class Transaction {
      async begin() {
        log.push('begin');
      }
      async commit() {
        log.push('commit');
      }
      async rollback() {
        log.push('rollback');
      }
    }
    class Request {
      private readonly inputs = new Map<string, unknown>();
      input(name: string, _type: unknown, value: unknown) {
        this.inputs.set(name, value);
        return this;
      }
      async query(text: string) {
        log.push('request');
        requests.push({ text, inputs: this.inputs });
        const error = fail?.(text);
        if (error) throw error;
        return { recordset: [] };
      }
    }
    const type = () => ({});
    const fakeMssql = {
      Transaction,
      Request,
      MAX: -1,
      NVarChar: type,
      DateTimeOffset: type,
      Bit: {},
      Int: {},
      BigInt: {},
      Date: {},
    };
    const db = createDatabase({ type: 'sqlserver', connectionString: 'Server=127.0.0.1,1;User Id=sa;Password=x' });
    Object.assign(db, { pool: {}, mssql: fakeMssql });
    return { db, log, requests };
  }
  const changes = (n: number) =>
    Array.from({ length: n }, (_, i) => ({
      action: 'add' as const,
      fields: { item_id: `A${i}`, subject: `s${i}` },
      changeKey: `ck${i}`,
    }));

  it('begins, sends the page as one request with every value a parameter, and commits', async () => {
    const { db, log, requests } = recordingAdapter();
    await db.applyChanges({ user: 'a@example.com', itemType: 'calendar', changes: changes(100), watermark: 'w' });
    expect(log).toEqual(['begin', 'request', 'commit']);
    expect(requests[0]?.text.match(/EXEC @exh_rc = exh_from_exh_add_calendar/g)).toHaveLength(100);
    expect(requests[0]?.inputs.get('exh_page_user')).toBe('a@example.com');
  });

  it('splits a page of 512 changes at the parameter limit, in one transaction', async () => {
    const { db, log, requests } = recordingAdapter();
    await db.applyChanges({ user: 'a@example.com', itemType: 'calendar', changes: changes(512), watermark: 'w' });
    expect(log).toEqual(['begin', 'request', 'request', 'commit']);
    for (const request of requests) expect(request.inputs.size).toBeLessThanOrEqual(2_000);
  });

  it('ends a page weighed against the outbox with its check, and error 50418 rolls it back as EXH_SYNC_PAGE_OVERTAKEN', async () => {
    const page = { user: 'a@example.com', itemType: 'calendar', changes: changes(2), watermark: 'w' };
    const plain = recordingAdapter();
    await plain.db.applyChanges(page);
    expect(plain.requests[0]?.text).not.toContain('exh_outbox');
    const { db, requests } = recordingAdapter();
    const ids = [
      {
        action: 'add' as const,
        fields: { item_id: 'AA/b+c=', app_item_id: "it's [1]_%", subject: 's' },
        changeKey: 'k',
      },
    ];
    await db.applyChanges({ ...page, changes: ids, reconciledWith: { pendingIds: ['7', '9', 'x'] } });
    const text = requests[0]?.text ?? '';
    const check = text.split('\n').find((line) => line.includes('exh_outbox')) ?? '';
    expect(check).toBe(
      "IF EXISTS (SELECT 1 FROM exh_outbox WITH (READPAST) WHERE exh_state = 'pending' AND exh_action IN ('chg', 'del') AND " +
        'LOWER(exh_user) = LOWER(@exh_page_user) AND exh_item_type = @exh_page_item_type AND NOT (exh_outbox_id IN (7, 9)) ' +
        "AND (exh_payload LIKE '%AA%b%c%' OR exh_payload LIKE '%it%s%1%')) " +
        "THROW 50418, N'exh: the application changed an item of this page meanwhile', 1;",
    );
    // Last but for the flag's reset: after the page's own writes and its watermark.
    expect(text.indexOf(check)).toBeGreaterThan(text.indexOf('exh_watermark'));
    const overtaken = recordingAdapter((sent) =>
      sent.includes('THROW 50418')
        ? Object.assign(new Error('exh: the application changed'), { number: 50418 })
        : undefined,
    );
    const error = await overtaken.db
      .applyChanges({ ...page, reconciledWith: { pendingIds: [] } })
      .catch((e: unknown) => e);
    expect(overtaken.log).toEqual(['begin', 'request', 'rollback']);
    expect(isExhError(error, 'EXH_SYNC_PAGE_OVERTAKEN'), String(error)).toBe(true);
  });

  it("rolls back and names the procedure on the error's line, or the one it was raised in", async () => {
    const onLine = recordingAdapter(() =>
      Object.assign(new Error('it returned exit code 3'), { number: 50000, lineNumber: 5 }),
    );
    const error = await onLine.db
      .applyChanges({ user: 'a@example.com', itemType: 'calendar', changes: changes(2), watermark: 'w' })
      .catch((e: unknown) => e);
    expect(onLine.log).toEqual(['begin', 'request', 'rollback']);
    expect(isExhError(error, 'EXH_DB_PROCEDURE_FAILED')).toBe(true);
    expect((error as Error).message).toBe('exh_from_exh_add_calendar failed: it returned exit code 3');
    const inside = recordingAdapter(() => {
      const first = Object.assign(new Error('refused'), {
        number: 547,
        lineNumber: 12,
        procName: 'exh_from_exh_del_calendar',
      });
      return Object.assign(new Error('later'), { number: 3621, lineNumber: 1, precedingErrors: [first] });
    });
    const raised = await inside.db
      .applyChanges({ user: 'a@example.com', itemType: 'calendar', changes: changes(1), watermark: 'w' })
      .catch((e: unknown) => e);
    expect((raised as Error).message).toBe('exh_from_exh_del_calendar failed: refused');
  });
});
