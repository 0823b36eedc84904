import { randomBytes } from 'node:crypto';
import { type AddressInfo, connect, createServer, type Server, type Socket } from 'node:net';
import pg from 'pg';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { createPostgresDatabase } from '../../../src/db/adapters/postgres.js';
import { isExhError } from '../../../src/errors.js';
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
