import { randomBytes } from 'node:crypto';
import { type AddressInfo, connect, createServer, type Server, type Socket } from 'node:net';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { createPostgresDatabase } from '../../../src/db/adapters/postgres.js';
import { installInto } from '../../../src/db/commands.js';
import { notifyChannel } from '../../../src/db/sql/routines.js';
import { type ExhError, isExhError } from '../../../src/errors.js';
import type { ItemChange } from '../../../src/ports/database.port.js';
import { freePort, TcpProxy } from '../../support/net.js';
import { countingProxy } from '../../support/pg-round-trips.js';
import { clusterContract } from '../cluster-contract.js';
import { databaseContract } from '../contract.js';
import { inSchema } from '../pg-schema.js';

/**
 * The contract against a real PostgreSQL server: PG_URL (CI sets it; locally for example
 * PG_URL=postgres://postgres@127.0.0.1:5432/test). Each fresh database is its own schema, dropped afterwards.
 */
const url = process.env.PG_URL;

describe.skipIf(!url)('PostgreSQL server (needs PG_URL, e.g. postgres://postgres@127.0.0.1:5432/test)', () => {
  const admin = new pg.Pool({ connectionString: url, max: 2 });
  afterAll(() => admin.end());

  databaseContract('PostgreSQL server', {
    async fresh() {
      const schema = `exh_test_${randomBytes(6).toString('hex')}`;
      await admin.query(`CREATE SCHEMA ${schema}`);
      const connectionString = inSchema(url ?? '', schema);
      const db = createPostgresDatabase(connectionString);
      await db.connect();
      const raw = new pg.Pool({ connectionString, max: 2 });
      return {
        db,
        sql: async (text, params) => (await raw.query(text, params)).rows,
        dispose: async () => {
          await db.close();
          await raw.end();
          await admin.query(`DROP SCHEMA ${schema} CASCADE`);
        },
      };
    },
    // Port 1 on the loopback interface: nothing listens there, the connection is refused at once.
    unreachable: () => createPostgresDatabase('postgres://postgres:secret@127.0.0.1:1/test'),
    unreachableCode: 'EXH_DB_CONNECTION_REFUSED',
  });

  let clusterSchema = '';
  clusterContract('PostgreSQL server', {
    async fresh() {
      clusterSchema = `exh_test_${randomBytes(6).toString('hex')}`;
      const schema = clusterSchema;
      await admin.query(`CREATE SCHEMA ${schema}`);
      const connectionString = inSchema(url ?? '', schema);
      const db = createPostgresDatabase(connectionString);
      await db.connect();
      const raw = new pg.Pool({ connectionString, max: 2 });
      return {
        db,
        sql: async (text, params) => (await raw.query(text, params)).rows,
        dispose: async () => {
          await db.close();
          await raw.end();
          await admin.query(`DROP SCHEMA ${schema} CASCADE`);
        },
      };
    },
    // Another instance: its own pool on the same schema.
    async second() {
      const db = createPostgresDatabase(inSchema(url ?? '', clusterSchema));
      await db.connect();
      return db;
    },
  });
});

describe.skipIf(!url)('PostgreSQL server: a connection that goes away (needs PG_URL)', () => {
  it('reports EXH_DB_CONNECTION_LOST once the server is gone, and connects again when it is back', async () => {
    const server = new URL(url ?? '');
    const proxy = await startProxy(server.hostname, Number(server.port || 5432));
    const viaProxy = new URL(url ?? '');
    viaProxy.port = String(proxy.port);
    const db = createPostgresDatabase(viaProxy.toString());
    try {
      await db.connect();
      await db.probe();

      await proxy.stop();
      const error = await db.probe().then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(isExhError(error, 'EXH_DB_CONNECTION_LOST')).toBe(true);
      expect((error as Error).message).toContain(`127.0.0.1:${proxy.port}`);

      await proxy.start();
      await db.probe();
    } finally {
      await db.close();
      await proxy.stop();
    }
  });
});

/** A TCP proxy to the server that can be stopped (every connection cut) and started again on the same port. */
async function startProxy(host: string, port: number) {
  const sockets = new Set<Socket>();
  let server: Server | undefined;
  let listenPort = 0;
  const start = async () => {
    server = createServer((client) => {
      const upstream = connect(port, host);
      for (const s of [client, upstream]) {
        sockets.add(s);
        s.on('close', () => sockets.delete(s));
        s.on('error', () => s.destroy());
      }
      client.pipe(upstream).pipe(client);
    });
    await new Promise<void>((resolve) => server?.listen(listenPort, '127.0.0.1', resolve));
    listenPort = (server.address() as AddressInfo).port;
  };
  const stop = async () => {
    for (const s of sockets) s.destroy();
    await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
    server = undefined;
  };
  await start();
  return {
    get port() {
      return listenPort;
    },
    start,
    stop,
  };
}

describe.skipIf(!url)('PostgreSQL server: the outbox LISTEN connection fails (needs PG_URL)', () => {
  it('tells watchOutbox’s onError, with a coded error and its cause, instead of swallowing it', async () => {
    const admin = new pg.Client({ connectionString: url });
    await admin.connect();
    // Its own application_name, so that only this test's listening connection is terminated.
    const applicationName = `exh_listen_${randomBytes(4).toString('hex')}`;
    const withName = new URL(url ?? '');
    withName.searchParams.set('application_name', applicationName);
    const db = createPostgresDatabase(withName.toString());
    const failures: unknown[] = [];
    try {
      await db.connect();
      const stop = await db.watchOutbox(
        () => {},
        (error) => failures.push(error),
      );
      const { rows } = await admin.query(
        `SELECT pg_terminate_backend(pid) AS terminated FROM pg_stat_activity
         WHERE application_name = $1 AND query LIKE 'LISTEN%'`,
        [applicationName],
      );
      expect(rows).toEqual([{ terminated: true }]);
      await vi.waitFor(() => expect(failures.length).toBeGreaterThan(0), { timeout: 5_000 });
      const [failure] = failures;
      expect(isExhError(failure)).toBe(true);
      expect((failure as Error).cause).toBeInstanceOf(Error);
      expect((failure as Error).message).toMatch(/terminat/i);
      await stop();
    } finally {
      await db.close();
      await admin.end();
    }
  });
});

/**
 * Why connect() failed, against the real server: each cause its own code, and a message that names the fix
 * (docs/operations.md). The server here trusts every local connection (pg_hba.conf: trust for 127.0.0.1), so a wrong
 * password cannot be refused; a role that does not exist is refused the same way (class 28, EXH_DB_LOGIN_FAILED).
 * "TLS required" needs a pg_hba.conf without a rule for unencrypted connections, which this server must keep: it is
 * tested on pg's error object in pg-errors.test.ts.
 */
describe.skipIf(!url)('PostgreSQL server: why connecting failed (needs PG_URL)', () => {
  const server = new URL(url ?? 'postgres://x');
  const connectError = async (change: (target: URL) => void, options = {}) => {
    const target = new URL(url ?? '');
    change(target);
    const db = createPostgresDatabase(target.toString(), options);
    try {
      return await db.connect().then(
        () => {
          throw new Error('expected connect() to fail');
        },
        (error: unknown) => error as ExhError,
      );
    } finally {
      await db.close();
    }
  };

  it('a database that does not exist: EXH_DB_DATABASE_NOT_FOUND, create it or correct the name', async () => {
    const name = `exh_missing_${randomBytes(4).toString('hex')}`;
    const error = await connectError((target) => {
      target.pathname = `/${name}`;
    });
    expect(error.code).toBe('EXH_DB_DATABASE_NOT_FOUND');
    expect(error.retryable).toBe(true);
    expect(error.message).toContain(`database "${name}" does not exist (3D000)`);
    expect(error.message).toContain('exh db install');
    expect(error.message).toContain('correct the database name in database.connectionString');
    expect(error.message).not.toMatch(/firewall/);
  });

  it('a login the server refuses (a role that does not exist): EXH_DB_LOGIN_FAILED', async () => {
    const error = await connectError((target) => {
      target.username = `exh_nobody_${randomBytes(4).toString('hex')}`;
      target.password = 'Wr0ng-S3cret';
    });
    expect(error.code).toBe('EXH_DB_LOGIN_FAILED');
    expect(error.message).toMatch(/role "exh_nobody_\w+" does not exist \(28000\)/);
    expect(error.message).toContain('Check the user and password');
    expect(error.message).not.toContain('Wr0ng-S3cret');
  });

  it('a host name that does not resolve (.invalid): EXH_DB_HOST_UNKNOWN', async () => {
    const error = await connectError((target) => {
      target.hostname = 'exh-db.invalid';
    });
    expect(error.code).toBe('EXH_DB_HOST_UNKNOWN');
    expect(error.message).toContain('postgres://postgres@exh-db.invalid:');
    expect(error.message).toMatch(/ENOTFOUND|EAI_AGAIN/);
    expect(error.message).toContain("this machine's DNS");
  });

  it('a closed port: EXH_DB_CONNECTION_REFUSED, is the server running and listening there', async () => {
    const port = await freePort();
    const error = await connectError((target) => {
      target.hostname = '127.0.0.1';
      target.port = String(port);
    });
    expect(error.code).toBe('EXH_DB_CONNECTION_REFUSED');
    expect(error.message).toContain(`127.0.0.1:${port}`);
    expect(error.message).toContain('ECONNREFUSED');
    expect(error.message).toContain('Check that the database server is running');
  });

  it('TLS asked of a server that has none (sslmode=verify-full, ssl = off here): EXH_DB_TLS_FAILED', async () => {
    const error = await connectError((target) => {
      target.searchParams.set('sslmode', 'verify-full');
    });
    expect(error.code).toBe('EXH_DB_TLS_FAILED');
    expect(error.message).toContain('does not support SSL');
    expect(error.message).toContain('remove sslmode');
  });

  it('a server that accepts and never answers: EXH_DB_UNREACHABLE after the connection time-out', async () => {
    const proxy = new TcpProxy(await freePort(), { host: server.hostname, port: Number(server.port || 5432) });
    await proxy.open();
    proxy.stall();
    try {
      const error = await connectError(
        (target) => {
          target.hostname = '127.0.0.1';
          target.port = String(proxy.port);
        },
        { connectionTimeoutMs: 300 },
      );
      expect(error.code).toBe('EXH_DB_UNREACHABLE');
      expect(error.message).toContain('connection timeout');
      expect(error.message).toContain('firewall');
    } finally {
      await proxy.cut();
    }
  });
});

/** A schema with the base project, for the tests below that need its tables; dropped by the returned function. */
async function installedSchema(admin: pg.Pool): Promise<{ schema: string; drop: () => Promise<void> }> {
  const schema = `exh_test_${randomBytes(6).toString('hex')}`;
  await admin.query(`CREATE SCHEMA ${schema}`);
  const installer = createPostgresDatabase(inSchema(url ?? '', schema));
  await installer.connect();
  await installInto(installer);
  await installer.close();
  return { schema, drop: async () => void (await admin.query(`DROP SCHEMA ${schema} CASCADE`)) };
}

/** `url` in `schema`, through `port` if given, with an application_name that finds its backends in pg_stat_activity. */
function connectionString(schema: string, applicationName: string, port?: number): string {
  const target = new URL(inSchema(url ?? '', schema));
  if (port !== undefined) {
    target.hostname = '127.0.0.1';
    target.port = String(port);
  }
  target.searchParams.set('application_name', applicationName);
  return target.toString();
}

/** A transaction that holds exh_watermark against writers until `release()`: applyChanges then waits inside its own. */
async function lockWatermarks(schema: string) {
  const holder = new pg.Client({ connectionString: url });
  await holder.connect();
  await holder.query('BEGIN');
  await holder.query(`LOCK TABLE ${schema}.exh_watermark IN EXCLUSIVE MODE`);
  return {
    release: async () => {
      await holder.query('COMMIT');
      await holder.end();
    },
  };
}

/** Backends of `applicationName` waiting for a lock. */
async function waitingOnLock(admin: pg.Pool, applicationName: string): Promise<number> {
  const { rows } = await admin.query(
    `SELECT count(*)::int AS n FROM pg_stat_activity WHERE application_name = $1 AND wait_event_type = 'Lock'`,
    [applicationName],
  );
  return rows[0].n;
}

describe.skipIf(!url)('PostgreSQL server: connections under load and cut (needs PG_URL)', () => {
  const admin = new pg.Pool({ connectionString: url, max: 2 });
  const server = new URL(url ?? 'postgres://x');
  let installed: Awaited<ReturnType<typeof installedSchema>>;
  beforeAll(async () => {
    installed = await installedSchema(admin);
  });
  afterAll(async () => {
    await installed?.drop();
    await admin.end();
  });
  const batch = (user: string) => ({ user, itemType: 'task' as const, changes: [], watermark: 'w' });

  it('survives a connection cut in the middle of a transaction, and reports it as EXH_DB_CONNECTION_LOST', async () => {
    // Before the fix, the checked-out client had no 'error' listener: pg's "Connection terminated unexpectedly"
    // was an unhandled 'error' event, which ends the process (issue 12). Here it would reach this listener.
    const uncaught: unknown[] = [];
    const onUncaught = (error: unknown) => uncaught.push(error);
    process.on('uncaughtException', onUncaught);
    const proxy = new TcpProxy(await freePort(), { host: server.hostname, port: Number(server.port || 5432) });
    await proxy.open();
    const applicationName = `exh_cut_${randomBytes(4).toString('hex')}`;
    const db = createPostgresDatabase(connectionString(installed.schema, applicationName, proxy.port));
    const lock = await lockWatermarks(installed.schema);
    try {
      await db.connect();
      const applying = db.applyChanges(batch('cut@example.com')).then(
        () => undefined,
        (error: unknown) => error,
      );
      // The transaction has begun and waits for the lock: the client is checked out, mid-transaction.
      await vi.waitFor(async () => expect(await waitingOnLock(admin, applicationName)).toBe(1), { timeout: 5_000 });
      await proxy.cut();
      const error = await applying;
      expect(isExhError(error, 'EXH_DB_CONNECTION_LOST')).toBe(true);
      expect((error as Error).message).toMatch(/Connection terminated/);
      // pg emits 'error' before it rejects the query in flight: had it gone unhandled, it would be here by now.
      expect(uncaught).toEqual([]);

      // The broken client was discarded, not returned to the pool: with the network back, the adapter works.
      await lock.release();
      await proxy.open();
      await db.applyChanges(batch('cut@example.com'));
      await db.probe();
    } finally {
      process.off('uncaughtException', onUncaught);
      await lock.release().catch(() => undefined);
      await db.close();
      await proxy.cut();
    }
  });

  it("takes waiting for a pooled connection as back-pressure (EXH_DB_POOL_EXHAUSTED), not a loss; the probe and the cluster's heartbeat still answer", async () => {
    const applicationName = `exh_busy_${randomBytes(4).toString('hex')}`;
    const db = createPostgresDatabase(connectionString(installed.schema, applicationName), {
      poolSize: 2,
      connectionTimeoutMs: 300,
    });
    const lock = await lockWatermarks(installed.schema);
    try {
      await db.connect();
      // Eight calls on a pool of two, whose connections both wait for the lock: six find no connection in time
      // (transactions check a client out, plain queries let the pool do it: both ways are covered).
      const settled: unknown[] = [];
      const settle = (call: Promise<unknown>) =>
        call.then(
          () => settled.push('done'),
          (error: unknown) => settled.push(error),
        );
      const calls = Array.from({ length: 2 }, (_, i) => settle(db.applyChanges(batch(`busy${i}@example.com`))));
      await vi.waitFor(async () => expect(await waitingOnLock(admin, applicationName)).toBe(2), { timeout: 5_000 });
      calls.push(
        ...Array.from({ length: 3 }, (_, i) => settle(db.applyChanges(batch(`late${i}@example.com`)))),
        ...Array.from({ length: 3 }, () => settle(db.getUsers())),
      );
      await vi.waitFor(() => expect(settled).toHaveLength(6), { timeout: 5_000 });
      for (const error of settled) {
        expect((error as ExhError).code).toBe('EXH_DB_POOL_EXHAUSTED');
        expect((error as ExhError).retryable).toBe(true);
        expect((error as Error).message).toContain('All 2 connections');
        expect((error as Error).message).toContain('database.poolSize');
      }
      // The probe has a connection of its own: a saturated pool does not make the database look lost.
      await db.probe();
      // So have the cluster's heartbeat and claims: a saturated pool does not end every lease (docs/scale-out.md).
      const cluster = db.cluster as NonNullable<typeof db.cluster>;
      const beat = await cluster.heartbeat({ instanceId: 'busy-a', address: '127.0.0.1', port: 1 }, 20);
      expect(beat.map((m) => m.instanceId)).toContain('busy-a');
      expect(await cluster.claimLeases('busy-a', ['busy-lease@example.com'], 20)).toHaveLength(1);
      await cluster.leaveCluster('busy-a');

      await lock.release();
      await Promise.all(calls);
      expect(settled.slice(6)).toEqual(['done', 'done']);
    } finally {
      await lock.release().catch(() => undefined);
      await db.close();
    }
  });

  it('close() ends the calls waiting for a pooled connection at once, as EXH_DB_CONNECTION_LOST, not after the wait', async () => {
    // The database machine closes the adapter on a loss. pg-pool's end() leaves callers queued for a connection
    // until their connection time-out: they held their mailbox's sync lock that long, and the mailbox started again
    // after the reconnection waited for them (test/faults/database.test.ts found it: 10 s after a 1 s fault).
    const applicationName = `exh_closewait_${randomBytes(4).toString('hex')}`;
    const db = createPostgresDatabase(connectionString(installed.schema, applicationName), {
      poolSize: 1,
      connectionTimeoutMs: 60_000,
    });
    const lock = await lockWatermarks(installed.schema);
    try {
      await db.connect();
      const settle = (call: Promise<unknown>) =>
        call.then(
          () => 'done',
          (error: unknown) => error,
        );
      const holding = settle(db.applyChanges(batch('holding@example.com')));
      await vi.waitFor(async () => expect(await waitingOnLock(admin, applicationName)).toBe(1), { timeout: 5_000 });
      // Both kinds of call queue for the pool's one connection: a transaction and a plain query.
      const queued = [settle(db.applyChanges(batch('queued@example.com'))), settle(db.getUsers())];
      const closing = db.close();
      // Well within the 60 s they would otherwise have waited.
      const stillWaiting = new Promise((resolve) => setTimeout(() => resolve('still waiting after 3 s'), 3_000));
      const errors = await Promise.race([Promise.all(queued), stillWaiting]);
      expect(errors).toHaveLength(2);
      for (const error of errors as unknown[]) {
        expect((error as ExhError).code).toBe('EXH_DB_CONNECTION_LOST');
        expect((error as ExhError).retryable).toBe(true);
      }
      await closing;
      expect(isExhError(await holding, 'EXH_DB_CONNECTION_LOST')).toBe(true);
    } finally {
      await lock.release().catch(() => undefined);
      await db.close();
    }
  });

  it('listens on a connection of its own: a pool of one stays free for calls while LISTEN runs', async () => {
    const applicationName = `exh_listen1_${randomBytes(4).toString('hex')}`;
    const db = createPostgresDatabase(connectionString(installed.schema, applicationName), {
      poolSize: 1,
      connectionTimeoutMs: 300,
    });
    try {
      await db.connect();
      const users: string[] = [];
      const stop = await db.watchOutbox((user) => users.push(user));
      // Before, LISTEN held the pool's only connection for good and this call waited until it gave up.
      expect(await db.getUsers()).toEqual([]);
      await db.probe();
      await admin.query('SELECT pg_notify($1, $2)', [notifyChannel, 'ann@example.com']);
      await vi.waitFor(() => expect(users).toEqual(['ann@example.com']), { timeout: 5_000 });
      const { rows } = await admin.query(
        `SELECT query FROM pg_stat_activity WHERE application_name = $1 AND query LIKE 'LISTEN%'`,
        [applicationName],
      );
      expect(rows).toHaveLength(1);
      await stop();
    } finally {
      await db.close();
    }
  });
});

describe.skipIf(!url)('PostgreSQL server: a page in one round trip (needs PG_URL)', () => {
  const admin = new pg.Pool({ connectionString: url, max: 2 });
  const server = new URL(url ?? 'postgres://x');
  const schema = `exh_test_${randomBytes(6).toString('hex')}`;
  let proxy: Awaited<ReturnType<typeof countingProxy>>;
  let db: ReturnType<typeof createPostgresDatabase>;
  beforeAll(async () => {
    await admin.query(`CREATE SCHEMA ${schema}`);
    proxy = await countingProxy(server.hostname, Number(server.port || 5432));
    db = createPostgresDatabase(connectionString(schema, 'exh_round_trips', proxy.port));
    await db.connect();
    await installInto(db, { exampleApp: true });
  });
  afterAll(async () => {
    await db?.close();
    await proxy?.stop();
    await admin.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
    await admin.end();
  });
  const changes = (prefix: string, n: number): ItemChange[] =>
    Array.from({ length: n }, (_, i) => ({
      action: 'add' as const,
      fields: { item_id: `${prefix}${i}`, subject: `it's item ${i}`, start: new Date(Date.UTC(2026, 0, 1, 9, i)) },
      changeKey: `ck-${i}`,
    }));
  const count = async (sql: string, params: unknown[]) =>
    (await admin.query(`SELECT count(*)::int AS n FROM ${schema}.${sql}`, params)).rows[0].n as number;

  it('sends every call of a page, its change keys, meetings and watermark as one statement: one round trip', async () => {
    proxy.reset();
    await db.applyChanges({
      user: 'trips@example.com',
      itemType: 'calendar',
      changes: changes('T', 200),
      meetings: [{ uid: 'UID-T', appItemId: 'app-T' }],
      watermark: 'w1',
    });
    expect(proxy.counts).toEqual({ statements: 1, roundTrips: 1 });
    expect(await count('calendar_item WHERE exh_user = $1', ['trips@example.com'])).toBe(200);
    expect(await count("exh_item_version WHERE exh_item_id LIKE 'T%'", [])).toBe(200);
    expect(await count('exh_meeting WHERE exh_uid = $1', ['UID-T'])).toBe(1);
  });

  it('splits a page beyond 4,096 statements into round trips inside one transaction, all or nothing', async () => {
    proxy.reset();
    // 2,100 changes with change keys: 4,203 statements with the two settings and the watermark, so two scripts between
    // BEGIN and COMMIT.
    await db.applyChanges({
      user: 'big@example.com',
      itemType: 'calendar',
      changes: changes('B', 2_100),
      watermark: 'w',
    });
    expect(proxy.counts).toEqual({ statements: 4, roundTrips: 4 });
    expect(await count('calendar_item WHERE exh_user = $1', ['big@example.com'])).toBe(2_100);
    // The last change fails: nothing of the first script stays.
    const failing = changes('F', 2_100);
    failing.push({ action: 'add', fields: { item_id: 'F-bad', start: 'not a date' }, changeKey: 'x' });
    const error = await db
      .applyChanges({ user: 'fail@example.com', itemType: 'calendar', changes: failing, watermark: 'w' })
      .catch((e: unknown) => e);
    expect(isExhError(error, 'EXH_DB_PROCEDURE_FAILED')).toBe(true);
    expect((error as Error).message).toContain('exh_from_exh_add_calendar failed');
    expect(await count('calendar_item WHERE exh_user = $1', ['fail@example.com'])).toBe(0);
  });
});
