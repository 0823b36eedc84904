import type { Pool, PoolClient } from 'pg';
import { errors } from '../../errors.js';
import { postgresTarget } from '../target.js';
import { isPgConnectionError } from './pg-errors.js';
import type { PgConnection, PgDriver, PgQueryable } from './postgres-family.js';
import { PostgresFamilyDatabase } from './postgres-family.js';

/** PostgreSQL server through a pg Pool. The connection string may carry `?options=-c search_path=...`. */
export function createPostgresDatabase(connectionString: string): PostgresFamilyDatabase {
  return new PostgresFamilyDatabase(new PgPoolDriver(connectionString));
}

class PgPoolDriver implements PgDriver {
  readonly type = 'postgres' as const;
  readonly target: string;

  constructor(private readonly connectionString: string) {
    this.target = postgresTarget(connectionString);
  }

  isConnectionError(error: unknown): boolean {
    return isPgConnectionError(error);
  }

  async open(): Promise<PgConnection> {
    const pg = await import('pg').catch((cause: unknown) => {
      throw errors.driverMissing('pg', 'postgres', cause);
    });
    const pool = new pg.default.Pool({
      connectionString: this.connectionString,
      max: 4,
      connectionTimeoutMillis: 10_000,
      idleTimeoutMillis: 30_000,
      // A network that drops packets silently leaves a socket open forever: TCP keep-alive finds it dead, and a
      // query that gets no answer at all fails instead of holding its caller (the probe has its own, shorter limit).
      keepAlive: true,
      keepAliveInitialDelayMillis: 10_000,
      query_timeout: queryTimeoutMs,
    });
    // An idle client whose server went away emits here; the next query reports the loss to the caller.
    pool.on('error', () => undefined);
    const clients = new Set<PoolClient>();
    pool.on('connect', (client) => clients.add(client));
    pool.on('remove', (client) => clients.delete(client));
    try {
      await pool.query('SELECT 1');
    } catch (error) {
      await pool.end().catch(() => undefined);
      throw error;
    }
    return new PgPoolConnection(pool, clients);
  }
}

/** Longest a single statement may wait for the server's answer. */
const queryTimeoutMs = 5 * 60_000;
/** How long close() lets checked-out clients finish before their sockets are destroyed. */
const closeGraceMs = 2_000;

class PgPoolConnection implements PgConnection {
  /** Listening clients are checked out of the pool; close() must give them back or pool.end() waits forever. */
  private readonly listeners = new Set<() => Promise<void>>();

  constructor(
    private readonly pool: Pool,
    private readonly clients: Set<PoolClient>,
  ) {}

  async query<T>(text: string, params?: unknown[]): Promise<{ rows: T[] }> {
    const result = await this.pool.query(text, params);
    return { rows: result.rows as T[] };
  }

  async transaction<T>(work: (tx: PgQueryable) => Promise<T>): Promise<T> {
    const client = await this.pool.connect();
    // Checked out, the client has no listener of the pool's: a connection cut now (during a catch-up) would emit
    // an unhandled 'error'. The query in flight fails with the same error, so the listener only remembers it, and the
    // client is discarded rather than returned to the pool.
    let broken: Error | undefined;
    const onError = (error: Error) => {
      broken ??= error;
    };
    client.on('error', onError);
    try {
      await client.query('BEGIN');
      const result = await work(clientQueryable(client));
      await client.query('COMMIT');
      return result;
    } catch (error) {
      await client.query('ROLLBACK').catch((rollbackError: unknown) => {
        broken ??= rollbackError instanceof Error ? rollbackError : new Error(String(rollbackError));
      });
      throw error;
    } finally {
      // release() puts pg-pool's listener back before this one goes: the client is never without one.
      client.release(broken);
      client.off('error', onError);
    }
  }

  async exec(script: string): Promise<void> {
    // The simple query protocol runs a multi-statement string as one implicit transaction.
    await this.pool.query(script);
  }

  async listen(
    channel: string,
    onPayload: (payload: string) => void,
    onError?: (error: unknown) => void,
  ): Promise<() => Promise<void>> {
    const client = await this.pool.connect();
    const onNotification = (message: { channel: string; payload?: string }) => {
      if (message.channel === channel) onPayload(message.payload ?? '');
    };
    client.on('notification', onNotification);
    // The listening connection broke (server restart, terminated backend): notifications stop, so the caller must
    // know, once (pg follows the server's error with "Connection terminated unexpectedly").
    let failed = false;
    client.on('error', (error: Error) => {
      if (failed) return;
      failed = true;
      onError?.(error);
    });
    try {
      await client.query(`LISTEN ${channel}`);
    } catch (error) {
      client.release(error instanceof Error ? error : true);
      throw error;
    }
    const stop = async () => {
      if (!this.listeners.delete(stop)) return;
      client.off('notification', onNotification);
      const error = await client.query(`UNLISTEN ${channel}`).then(
        () => undefined,
        (e: unknown) => e,
      );
      client.release(error instanceof Error ? error : undefined);
    };
    this.listeners.add(stop);
    return stop;
  }

  async close(): Promise<void> {
    const ended = (async () => {
      await Promise.all([...this.listeners].map((stop) => stop()));
      await this.pool.end();
    })();
    // pool.end() waits for every checked-out client; one stuck on a dead network would hold a shutdown forever.
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<'late'>((resolve) => {
      timer = setTimeout(() => resolve('late'), closeGraceMs);
    });
    const outcome = await Promise.race([ended.then(() => 'ended' as const), late]);
    clearTimeout(timer);
    if (outcome === 'late') {
      for (const client of this.clients)
        (client as unknown as { connection: { stream: { destroy(): void } } }).connection.stream.destroy();
      await Promise.race([ended.catch(() => undefined), new Promise((resolve) => setTimeout(resolve, closeGraceMs))]);
    }
  }
}

function clientQueryable(client: PoolClient): PgQueryable {
  return {
    async query<T>(text: string, params?: unknown[]) {
      const result = await client.query(text, params);
      return { rows: result.rows as T[] };
    },
  };
}
