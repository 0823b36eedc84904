import { randomBytes } from 'node:crypto';
import type { Database } from 'ibm_db';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { classifyDb2ConnectError, createDb2Database, type Db2Driver } from '../../../src/db/adapters/db2.js';
import { installInto } from '../../../src/db/commands.js';
import { createDatabase } from '../../../src/db/create-database.js';
import { type ExhError, isExhError } from '../../../src/errors.js';

/**
 * DB2 integration, run when DB2_URL is set (a CLI connection string, e.g.
 * "DATABASE=testdb;HOSTNAME=127.0.0.1;PORT=50000;PROTOCOL=TCPIP;UID=db2inst1;PWD=..."). Each run uses a fresh schema.
 * Needs the ibm_db package with IBM's CLI driver.
 */
const url = process.env.DB2_URL;

describe.skipIf(!url)('DB2 (needs DB2_URL and a working ibm_db)', () => {
  const schema = `EXH_TEST_${randomBytes(4).toString('hex').toUpperCase()}`;
  const db = createDatabase({ type: 'db2', connectionString: `${url};CurrentSchema=${schema}` });

  beforeAll(async () => {
    await db.connect();
    await db.runScript(`CREATE SCHEMA ${schema}\n@\n`);
  }, 120_000);

  afterAll(async () => {
    await db.close();
  });

  it('installs the base project twice and reports users with watermarks', async () => {
    await installInto(db);
    await installInto(db);
    await db.applyChanges({ user: 'ann@example.com', itemType: 'email', changes: [], watermark: 'w1' });
    // The default exh_user_source is empty until the application defines it.
    expect(await db.getUsers()).toEqual([]);
  });

  it('calls the from_exh templates and keeps the watermark in the same transaction', async () => {
    await db.applyChanges({
      user: 'ann@example.com',
      itemType: 'task',
      changes: [{ action: 'add', fields: { item_id: 'A', subject: 'S', reminder_set: true, due: new Date() } }],
      watermark: 'w2',
    });
    await db.writeSetUp({ ipAddress: '127.0.0.1', port: 9988, token: 't' });
    await db.logError({ code: 'EXH_TEST', message: 'logged' });
    expect(await db.readOutbox(10)).toEqual([]);
  });

  it('applies a page of 50 changes with change keys as one compound statement', async () => {
    const connection = (db as unknown as { connection: Database }).connection;
    const sent = vi.spyOn(connection, 'query');
    try {
      await db.applyChanges({
        user: 'trips@example.com',
        itemType: 'task',
        changes: Array.from({ length: 50 }, (_, i) => ({
          action: 'add' as const,
          fields: { item_id: `T${i}`, subject: `it's ${i}`, reminder_set: i % 2 === 0, due: new Date() },
          changeKey: `ck${i}`,
        })),
        watermark: 'w-trips',
      });
      expect(sent.mock.calls.map(([text]) => String(text).slice(0, 12))).toEqual(['BEGIN ATOMIC']);
    } finally {
      sent.mockRestore();
    }
    expect([...(await db.itemVersions(['T0', 'T49']))].map(([id, v]) => [id, v.changeKey])).toEqual([
      ['T0', 'ck0'],
      ['T49', 'ck49'],
    ]);
  });

  it('keeps change keys with their changes and the highest superseded outbox row', async () => {
    const user = 'Keys@Example.com';
    await db.applyChanges({
      user,
      itemType: 'task',
      changes: [{ action: 'add', fields: { item_id: 'KEY=', subject: 'a' }, changeKey: 'K1', supersedes: '7' }],
      watermark: 'w3',
    });
    await db.applyChanges({
      user,
      itemType: 'task',
      changes: [{ action: 'chg', fields: { item_id: 'KEY=', subject: null }, changeKey: 'K2', supersedes: '3' }],
    });
    await db.rememberItemVersion({ user, itemType: 'task', itemId: 'key=', changeKey: 'k1' });
    await db.rememberItemVersion({ user, itemType: 'task', itemId: 'key=', changeKey: null });
    expect([...(await db.itemVersions(['KEY=', 'key=']))]).toEqual([
      ['KEY=', { changeKey: 'K2', supersededUntil: '7' }],
    ]);
    // No example application on DB2: nothing the application wrote is pending.
    expect(await db.pendingItemChanges(user, 'task')).toEqual([]);
  });
  it('rolls a page back when a pending change names one of its items and was not weighed (EXH_SYNC_PAGE_OVERTAKEN)', async () => {
    const user = 'Overtaken@Example.com';
    const page = (watermark: string, pendingIds: string[]) => ({
      user,
      itemType: 'task',
      changes: [{ action: 'chg' as const, fields: { item_id: 'OVT/1+a', subject: 'Exchange' } }],
      watermark,
      reconciledWith: { pendingIds },
    });
    // No example application on DB2: the outbox row is written as its trigger would, JSON_OBJECT and all.
    await db.runScript(
      `INSERT INTO exh_outbox (exh_user, exh_item_type, exh_action, exh_payload) VALUES ('${user}', 'task', 'chg',
        JSON_OBJECT(KEY 'exh_item_id' VALUE 'OVT/1+a', KEY 'exh_subject' VALUE 'App'))\n@\n`,
    );
    const [row] = await db.pendingItemChanges(user, 'task');
    expect(row?.fields.item_id).toBe('OVT/1+a');
    const error = await db.applyChanges(page('w-overtaken', [])).catch((e: unknown) => e);
    expect(isExhError(error, 'EXH_SYNC_PAGE_OVERTAKEN'), String(error)).toBe(true);
    expect((await db.getUsers()).find((u) => u.user === user)?.watermarks.task ?? null).not.toBe('w-overtaken');
    await db.applyChanges(page('w-weighed', [row?.id ?? '']));
  });

  it('several instances: one holder per user, fence + 1 on a change of hands, a stale fence refused', async () => {
    const cluster = db.cluster;
    if (!cluster) throw new Error('no cluster port');
    const connection = (db as unknown as { connection: Database }).connection;
    expect((await cluster.heartbeat({ instanceId: 'A', address: 'h', port: 1 }, 20)).map((m) => m.instanceId)).toEqual([
      'A',
    ]);
    expect(await cluster.claimLeases('A', ['Lease@example.com'], 20)).toMatchObject([{ instanceId: 'A', fence: '1' }]);
    expect(await cluster.claimLeases('B', ['lease@example.com'], 20)).toEqual([]);
    await connection.query('UPDATE exh_lease SET exh_expires_at = CURRENT TIMESTAMP - CURRENT TIMEZONE - 1 MINUTE');
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
    await cluster.releaseLeases('B', ['lease@example.com']);
    expect(await cluster.claimLeases('A', ['lease@example.com'], 20)).toMatchObject([{ instanceId: 'A', fence: '3' }]);
    await cluster.leaveCluster('A');
    expect(await cluster.clusterView()).toEqual({ members: [], leases: [] });
  });
});

/**
 * Without a server: ibm_db's errors as its binding builds them (src/odbc.cpp GetSQLError: an Error whose message is
 * the CLI driver's diagnostic, with `sqlcode`, `sqlstate` and `error`), handed to the adapter by a driver double.
 * Messages as the CLI driver words them (IBM's SQL30061N, SQL30082N and SQL30081N references).
 */
describe('DB2: why connecting failed, and a probe that does not queue (no server needed)', () => {
  const ibmError = (message: string, sqlcode: number, sqlstate: string) =>
    Object.assign(new Error(`[IBM][CLI Driver] ${message}`), { error: '[node-ibm_db] SQL_ERROR', sqlcode, sqlstate });
  const communication = (call: string, errno: string) =>
    ibmError(
      'SQL30081N  A communication error has been detected. Communication protocol being used: "TCP/IP".  ' +
        'Communication API being used: "SOCKETS".  Location where the error was detected: "10.1.2.3".  ' +
        `Communication function detecting the error: "${call}".  Protocol specific error code(s): "${errno}", "*", "*".  SQLSTATE=08001`,
      -30081,
      '08001',
    );
  const notFound = ibmError(
    'SQL30061N  The database alias or database name "APP     " was not found at the remote node.  SQLSTATE=08004',
    -30061,
    '08004',
  );
  const security = ibmError(
    'SQL30082N  Security processing failed with reason "24" ("USERNAME AND/OR PASSWORD INVALID").  SQLSTATE=08001',
    -30082,
    '08001',
  );

  it('maps SQL30061N, SQL30082N and the socket calls of SQL30081N', () => {
    expect(classifyDb2ConnectError(notFound)).toBe('databaseNotFound');
    expect(classifyDb2ConnectError(security)).toBe('loginFailed');
    expect(classifyDb2ConnectError(communication('connect', '111'))).toBe('connectionRefused');
    expect(classifyDb2ConnectError(communication('connect', '10061'))).toBe('connectionRefused');
    expect(classifyDb2ConnectError(communication('getaddrinfo', '-2'))).toBe('hostUnknown');
    expect(classifyDb2ConnectError(communication('selectForConnectTimeout', '0'))).toBe('unreachable');
    expect(classifyDb2ConnectError(communication('connect', '113'))).toBe('unreachable');
  });

  /** ibm_db.open() as a double: connections answer as `answer` says, counted as they are opened. */
  function driver(open: (n: number) => Promise<Database>): { load: Db2Driver; opened: () => number } {
    let count = 0;
    return { load: async () => ({ open: () => open(++count) }), opened: () => count };
  }
  const connection = (query: () => Promise<unknown>) =>
    ({ query, close: async () => undefined }) as unknown as Database;
  const target = 'DATABASE=app;HOSTNAME=db2.contoso.local;PORT=50000;UID=exh;PWD=secret';

  it('connect() reports the cause with its code and fix, never the password', async () => {
    const db = createDb2Database(target, driver(() => Promise.reject(notFound)).load);
    const error = (await db.connect().catch((e: unknown) => e)) as ExhError;
    expect(error.code).toBe('EXH_DB_DATABASE_NOT_FOUND');
    expect(error.message).toContain('db2://exh@db2.contoso.local:50000/app');
    expect(error.message).toContain('exh db install');
    expect(error.message).not.toContain('secret');
  });

  it('probes on a second connection, so that a busy first one does not look like a lost database', async () => {
    // After connect()'s SET CURRENT PATH, the first connection answers no more (a long transaction holds the
    // queue); the probe's connection does.
    let calls = 0;
    const { load, opened } = driver(async (n) =>
      connection(
        n === 1 ? () => (++calls === 1 ? Promise.resolve([]) : new Promise(() => {})) : async () => [{ 1: 1 }],
      ),
    );
    const db = createDb2Database(target, load);
    await db.connect();
    void db.getUsers();
    await db.probe();
    await db.probe();
    expect(opened()).toBe(2);
  });

  it('a probe that fails is EXH_DB_CONNECTION_LOST, and the next probe opens its connection again', async () => {
    let probeAnswers = false;
    const { load, opened } = driver(async (n) =>
      connection(async () => {
        if (n > 1 && !probeAnswers) throw communication('recv', '104');
        return [];
      }),
    );
    const db = createDb2Database(target, load);
    await db.connect();
    const error = await db.probe().catch((e: unknown) => e);
    expect(isExhError(error, 'EXH_DB_CONNECTION_LOST')).toBe(true);
    probeAnswers = true;
    await db.probe();
    expect(opened()).toBe(3);
  });
});

describe('DB2: a page as compound statements (a recording connection, no server needed)', () => {
  const target = 'DATABASE=app;HOSTNAME=db2.contoso.local;PORT=50000;UID=exh;PWD=secret';
  const ibmError = (message: string, sqlcode: number, sqlstate: string) =>
    Object.assign(new Error(`[IBM][CLI Driver] ${message}`), { error: '[node-ibm_db] SQL_ERROR', sqlcode, sqlstate });

  /** A connection that records what it is sent; `fail` may refuse a statement. */
  async function recording(fail?: (text: string) => Error | undefined) {
    const log: string[] = [];
    const queries: Array<{ text: string; params: unknown[] }> = [];
    const connection = {
      async query(text: string, params: unknown[] = []) {
        queries.push({ text, params });
        log.push(text.startsWith('BEGIN ATOMIC') ? 'compound' : (text.split(/\s/)[0] ?? ''));
        const error = fail?.(text);
        if (error) throw error;
        return [];
      },
      beginTransaction: async () => void log.push('begin'),
      commitTransaction: async () => void log.push('commit'),
      rollbackTransaction: async () => void log.push('rollback'),
      close: async () => undefined,
    } as unknown as Database;
    const db = createDb2Database(target, async () => ({ open: async () => connection }));
    await db.connect();
    log.length = 0;
    queries.length = 0;
    return { db, log, queries };
  }
  const changes = (n: number) =>
    Array.from({ length: n }, (_, i) => ({
      action: 'add' as const,
      fields: { item_id: `A${i}`, subject: `it's ${i}`, reminder_set: true, start: new Date(Date.UTC(2026, 0, 1)) },
      changeKey: `ck${i}`,
    }));
  const markers = (text: string) => text.match(/\?/g)?.length ?? 0;

  it('sends a page, its change keys, meetings and watermark as one compound statement in its transaction', async () => {
    const { db, log, queries } = await recording();
    await db.applyChanges({
      user: 'Ann@Example.com',
      itemType: 'calendar',
      changes: changes(100),
      meetings: [{ uid: 'UID-1', appItemId: 'app-1' }],
      watermark: 'w',
    });
    expect(log).toEqual(['begin', 'compound', 'commit']);
    const [compound] = queries;
    expect(compound?.text).toMatch(/^BEGIN ATOMIC\nSET exh_applying = 1;\nCALL exh_from_exh_add_calendar\(/);
    expect(compound?.text).toMatch(/\nSET exh_applying = 0;\nEND$/);
    expect(compound?.text.match(/CALL exh_from_exh_add_calendar/g)).toHaveLength(100);
    expect(compound?.text.match(/MERGE INTO exh_item_version/g)).toHaveLength(100);
    expect(markers(compound?.text ?? '')).toBe(compound?.params.length);
    // Values are parameters, never text; booleans as 0/1 and timestamps as UTC text, as before.
    expect(compound?.text).not.toContain("it's");
    expect(compound?.params).toContain("it's 7");
    expect(compound?.params).toContain('2026-01-01-00.00.00.000');
    expect(compound?.params.slice(-2)).toEqual(['Ann@Example.com', 'w']);
  });

  it('splits a page of 512 changes into compound statements within the marker limit', async () => {
    const { db, log, queries } = await recording();
    await db.applyChanges({ user: 'a@example.com', itemType: 'calendar', changes: changes(512), watermark: 'w' });
    expect(log).toEqual(['begin', 'compound', 'compound', 'commit']);
    for (const { text, params } of queries) {
      expect(markers(text)).toBe(params.length);
      expect(params.length).toBeLessThanOrEqual(16_000);
    }
  });

  it('gives a server that refuses compound statements one statement at a time, from then on', async () => {
    const refused = ibmError('SQL0104N  An unexpected token "CALL" was found.  SQLSTATE=42601', -104, '42601');
    const { db, log } = await recording((text) => (text.startsWith('BEGIN ATOMIC') ? refused : undefined));
    await db.applyChanges({ user: 'a@example.com', itemType: 'calendar', changes: changes(2), watermark: 'w' });
    const oneByOne = ['begin', 'SET', 'CALL', 'MERGE', 'CALL', 'MERGE', 'MERGE', 'SET', 'commit'];
    expect(log).toEqual(['begin', 'compound', 'rollback', 'SET', ...oneByOne]);
    log.length = 0;
    await db.applyChanges({ user: 'a@example.com', itemType: 'calendar', changes: changes(2), watermark: 'w' });
    expect(log).toEqual(oneByOne);
  });

  it('ends a page weighed against the outbox with a check that raises 75002, turned into EXH_SYNC_PAGE_OVERTAKEN at once', async () => {
    const page = { user: 'Ann@Example.com', itemType: 'calendar', changes: changes(2), watermark: 'w' };
    const plain = await recording();
    await plain.db.applyChanges(page);
    expect(plain.queries[0]?.text).not.toContain('exh_outbox');
    const { db, queries } = await recording();
    await db.applyChanges({ ...page, reconciledWith: { pendingIds: ['7', '8', '9', '12'] } });
    const [compound] = queries;
    expect(compound?.text).toContain(
      "SET exh_applying = (SELECT CASE WHEN COUNT(*) = 0 THEN 1\n  ELSE RAISE_ERROR('75002', " +
        "'exh: the application changed an item of this page meanwhile') END FROM exh_outbox WHERE " +
        "exh_state = 'pending' AND exh_action IN ('chg', 'del') AND LOWER(exh_user) = LOWER(CAST(? AS VARGRAPHIC(255))) " +
        'AND exh_item_type = CAST(? AS VARGRAPHIC(50)) AND NOT (exh_outbox_id IN (12) OR exh_outbox_id BETWEEN 7 AND 9) ' +
        "AND (exh_payload LIKE '%A0%' OR exh_payload LIKE '%A1%'));\nSET exh_applying = 0;\nEND",
    );
    expect(markers(compound?.text ?? '')).toBe(compound?.params.length);
    expect(compound?.params.slice(-2)).toEqual(['Ann@Example.com', 'calendar']);
    const signalled = () =>
      ibmError(
        'SQL0438N  Application raised error or warning with diagnostic text: "exh: the application changed an item ' +
          'of this page meanwhile".  SQLSTATE=75002',
        -438,
        '75002',
      );
    const overtaken = await recording((text) => (text.includes('RAISE_ERROR') ? signalled() : undefined));
    const error = await overtaken.db
      .applyChanges({ ...page, reconciledWith: { pendingIds: [] } })
      .catch((e: unknown) => e);
    expect(isExhError(error, 'EXH_SYNC_PAGE_OVERTAKEN'), String(error)).toBe(true);
    // Rolled back and reported at once: not run again one statement at a time, nothing kept.
    expect(overtaken.log.slice(0, 3)).toEqual(['begin', 'compound', 'rollback']);
    expect(overtaken.log.filter((entry) => entry === 'CALL')).toEqual([]);
    // A procedure of the application raising the same SQLSTATE is that procedure's failure, named as ever.
    const own = await recording((text) =>
      text.startsWith('BEGIN ATOMIC') || text.startsWith('CALL exh_from_exh_add_calendar')
        ? ibmError('SQL0438N  Application raised error.  SQLSTATE=75002', -438, '75002')
        : undefined,
    );
    const failed = await own.db.applyChanges({ ...page, reconciledWith: { pendingIds: [] } }).catch((e: unknown) => e);
    expect(isExhError(failed, 'EXH_DB_PROCEDURE_FAILED'), String(failed)).toBe(true);
  });

  it('names the procedure that failed by running the page again one statement at a time', async () => {
    const raised = () => ibmError('SQL0438N  Application raised error.  SQLSTATE=75001', -438, '75001');
    let compoundFails = true;
    const { db, log } = await recording((text) => {
      if (text.startsWith('CALL exh_from_exh_del_calendar')) return raised();
      if (!text.startsWith('BEGIN ATOMIC') || !compoundFails) return undefined;
      compoundFails = false;
      return raised();
    });
    const error = await db
      .applyChanges({
        user: 'a@example.com',
        itemType: 'calendar',
        changes: [changes(1)[0] as never, { action: 'del', fields: { item_id: 'D' } }],
        watermark: 'w',
      })
      .catch((e: unknown) => e);
    expect(isExhError(error, 'EXH_DB_PROCEDURE_FAILED')).toBe(true);
    expect((error as Error).message).toContain('exh_from_exh_del_calendar failed');
    expect(log.slice(0, 4)).toEqual(['begin', 'compound', 'rollback', 'SET']);
    expect(log.slice(-3)).toEqual(['CALL', 'rollback', 'SET']);
    // A failure of the data is no refusal of compound statements: the next page tries one again.
    log.length = 0;
    await db.applyChanges({ user: 'a@example.com', itemType: 'calendar', changes: changes(1), watermark: 'w' });
    expect(log).toEqual(['begin', 'compound', 'commit']);
  });

  it('reports a connection lost during the compound statement at once, without running the page again', async () => {
    const lost = ibmError('SQL30081N  A communication error has been detected.  SQLSTATE=08001', -30081, '08001');
    const { db, log } = await recording((text) => (text.startsWith('BEGIN ATOMIC') ? lost : undefined));
    const error = await db
      .applyChanges({ user: 'a@example.com', itemType: 'calendar', changes: changes(1), watermark: 'w' })
      .catch((e: unknown) => e);
    expect(isExhError(error, 'EXH_DB_CONNECTION_LOST')).toBe(true);
    expect(log).toEqual(['begin', 'compound', 'rollback', 'SET']);
  });
});
