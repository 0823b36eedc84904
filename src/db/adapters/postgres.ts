import type { Client, ClientConfig, Pool, PoolClient } from 'pg';
import { errors } from '../../errors.js';
import { postgresTarget } from '../target.js';
import { errorCode, isPgConnectionError, isPgPoolWait } from './pg-errors.js';
import type { PgConnection, PgDriver, PgQueryable } from './postgres-family.js';
import { PostgresFamilyDatabase } from './postgres-family.js';

export interface PostgresOptions {
  /** Connections in the pool (database.poolSize). The probe and LISTEN have connections of their own besides. */
  poolSize?: number;
  /**
   * How long a new connection may take to open, and how long a call waits for a pooled one before it fails with
   * EXH_DB_POOL_EXHAUSTED (pg-pool uses one setting for both). Tests shorten it.
   */
  connectionTimeoutMs?: number;
}

/** database.poolSize's default (src/config/schema.ts). */
export const defaultPoolSize = 10;
const defaultConnectionTimeoutMs = 10_000;

/** PostgreSQL server through a pg Pool. The connection string may carry `?options=-c search_path=...`. */
export function createPostgresDatabase(
  connectionString: string,
  options: PostgresOptions = {},
): PostgresFamilyDatabase {
  return new PostgresFamilyDatabase(new PgPoolDriver(connectionString, options));
}

class PgPoolDriver implements PgDriver {
  readonly type = 'postgres' as const;
  readonly target: string;

  constructor(
    private readonly connectionString: string,
    private readonly options: PostgresOptions,
  ) {
    this.target = postgresTarget(connectionString);
  }

  isConnectionError(error: unknown): boolean {
    return isPgConnectionError(error);
  }

  async open(): Promise<PgConnection> {
    const pg = await import('pg').catch((cause: unknown) => {
      throw errors.driverMissing('pg', 'postgres', cause);
    });
    const poolSize = this.options.poolSize ?? defaultPoolSize;
    const waitMs = this.options.connectionTimeoutMs ?? defaultConnectionTimeoutMs;
    const settings: ClientConfig = {
      connectionString: this.connectionString,
      connectionTimeoutMillis: waitMs,
      // A network that drops packets silently leaves a socket open forever: TCP keep-alive finds it dead, and a
      // query that gets no answer at all fails instead of holding its caller (the probe has its own, shorter limit).
      keepAlive: true,
      keepAliveInitialDelayMillis: 10_000,
      query_timeout: queryTimeoutMs,
    };
    const pool = new pg.default.Pool({ ...settings, max: poolSize, idleTimeoutMillis: 30_000 });
    // An idle client whose server went away emits here (pg-pool has removed it already); the next query that needs
    // a connection reports the loss to its caller.
    pool.on('error', () => undefined);
    const clients = new Set<Client>();
    pool.on('connect', (client) => clients.add(client));
    pool.on('remove', (client) => clients.delete(client));
    try {
      await pool.query('SELECT 1');
    } catch (error) {
      await pool.end().catch(() => undefined);
      throw error;
    }
    return new PgPoolConnection(pool, clients, {
      target: this.target,
      poolSize,
      waitMs,
      newClient: () => new pg.default.Client(settings),
    });
  }
}

/** Longest a single statement may wait for the server's answer. */
const queryTimeoutMs = 5 * 60_000;
/** How long close() lets checked-out clients finish before their sockets are destroyed. */
const closeGraceMs = 2_000;

interface PoolFacts {
  target: string;
  poolSize: number;
  waitMs: number;
  /** A client outside the pool, with the pool's settings. */
  newClient: () => Client;
}

/**
 * Every EventEmitter here has an 'error' listener for as long as it exists (an 'error' without one ends the process):
 * the pool itself; idle pooled clients (pg-pool's own listener, which re-emits on the pool); a client checked out for
 * a transaction, for as long as it is checked out (pool.query() does the same for its own checkouts); the probe's
 * client and every LISTEN client, which live outside the pool and keep their listener after they end.
 */
class PgPoolConnection implements PgConnection {
  /** Stops of the LISTENs running; close() stops them. */
  private readonly listeners = new Set<() => Promise<void>>();
  /** The probe's client and the LISTEN clients: outside the pool, so close() ends them itself. */
  private readonly dedicated = new Set<Client>();
  private probing: { client: Promise<Client>; broken: boolean } | undefined;
  /** The cluster's own client (membership below), opened at its first use, and its statements one after another. */
  private beating: { client: Promise<Client>; broken: boolean } | undefined;
  private beatQueue: Promise<unknown> = Promise.resolve();
  /** Callers waiting for a pooled client; close() ends their wait (checkout()). */
  private readonly waiting = new Set<(error: Error) => void>();

  constructor(
    private readonly pool: Pool,
    private readonly clients: Set<Client>,
    private readonly facts: PoolFacts,
  ) {}

  async query<T>(text: string, params?: unknown[]): Promise<{ rows: T[] }> {
    // pool.query() would queue inside pg-pool, where close() cannot reach the caller: checked out here instead,
    // released as pool.query() releases (a client whose statement failed is discarded).
    const client = await this.checkout();
    let failure: Error | undefined;
    const onError = (error: Error) => {
      failure ??= error;
    };
    client.on('error', onError);
    try {
      const result = await client.query(text, params);
      return { rows: result.rows as T[] };
    } catch (error) {
      failure ??= error instanceof Error ? error : new Error(String(error));
      throw error;
    } finally {
      client.release(failure);
      client.off('error', onError);
    }
  }

  async transaction<T>(work: (tx: PgQueryable) => Promise<T>): Promise<T> {
    const client = await this.checkout();
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
    await this.query(script);
  }

  async batch(script: string): Promise<void> {
    const client = await this.checkout();
    // As in transaction(): a connection cut meanwhile is remembered and the client discarded. A statement the server
    // refused leaves the session idle (the implicit transaction is rolled back), so the client goes back to the pool;
    // an error without a SQLSTATE (a read time-out) leaves it in an unknown state, so it is discarded too.
    let broken: Error | undefined;
    const onError = (error: Error) => {
      broken ??= error;
    };
    client.on('error', onError);
    try {
      // No parameters: pg sends a simple Query message, whatever the number of statements.
      await client.query(script);
    } catch (error) {
      if (isPgConnectionError(error) || errorCode(error) === undefined) {
        broken ??= error instanceof Error ? error : new Error(String(error));
      }
      throw error;
    } finally {
      client.release(broken);
      client.off('error', onError);
    }
  }

  /**
   * The cluster's heartbeat, claims and view on a connection of their own, as the probe's: renewing leases must not
   * wait behind a pool kept busy by catch-ups, or an instance under load would lose every lease (measured: a 4 s lease
   * lost during a 100-mailbox catch-up on two cores). One statement at a time; reopened once it broke.
   */
  readonly membership: PgQueryable = {
    query: <T>(text: string, params?: unknown[]) => {
      // One statement at a time on the one client (the heartbeat, and a view asked for by the dashboard or the
      // forwarding meanwhile): pg's own queue for a busy client is deprecated.
      const run = this.beatQueue.then(async () => {
        if (this.beating?.broken) {
          void this.end(this.beating.client);
          this.beating = undefined;
        }
        this.beating ??= this.openProbe();
        const client = await this.beating.client;
        const result = await client.query(text, params);
        return { rows: result.rows as T[] };
      });
      this.beatQueue = run.catch(() => undefined);
      return run;
    },
    exec: async (script: string) => {
      await this.membership.query(script);
    },
  };

  /** SELECT 1 on a connection of its own, so that it never waits behind a busy pool (docs/database.md). */
  async probe(): Promise<void> {
    if (this.probing?.broken) {
      void this.end(this.probing.client);
      this.probing = undefined;
    }
    this.probing ??= this.openProbe();
    const client = await this.probing.client;
    await client.query('SELECT 1');
  }

  /** The probe's client; once it breaks (or cannot connect), the next probe opens another. */
  private openProbe(): { client: Promise<Client>; broken: boolean } {
    const probing = { broken: false } as { client: Promise<Client>; broken: boolean };
    const markBroken = () => {
      probing.broken = true;
    };
    probing.client = this.openDedicated(markBroken);
    probing.client.catch(markBroken);
    return probing;
  }

  async listen(
    channel: string,
    onPayload: (payload: string) => void,
    onError?: (error: unknown) => void,
  ): Promise<() => Promise<void>> {
    // The listening connection broke (server restart, terminated backend): notifications stop, so the caller must
    // know, once (pg follows the server's error with "Connection terminated unexpectedly").
    let failed = false;
    const client = this.openDedicated((error) => {
      if (failed) return;
      failed = true;
      onError?.(error);
    });
    const onNotification = (message: { channel: string; payload?: string }) => {
      if (message.channel === channel) onPayload(message.payload ?? '');
    };
    const connected = await client;
    connected.on('notification', onNotification);
    try {
      await connected.query(`LISTEN ${channel}`);
    } catch (error) {
      failed = true;
      await this.end(client);
      throw error;
    }
    const stop = async () => {
      if (!this.listeners.delete(stop)) return;
      connected.off('notification', onNotification);
      // Ending the session ends its LISTEN; what the connection says while it ends is no news to the caller.
      failed = true;
      await this.end(client);
    };
    this.listeners.add(stop);
    return stop;
  }

  /**
   * A pooled client. pg-pool's end() leaves callers that wait for a client waiting until their connection time-out
   * (10 s): close() ends them at once instead, as a lost connection, so that nothing of a lost database outlives it
   * (a mailbox's sync waiting here holds its sync lock, which the mailbox started after the reconnection needs).
   */
  private checkout(): Promise<PoolClient> {
    return new Promise<PoolClient>((resolve, reject) => {
      let abandoned = false;
      const abandon = (error: Error) => {
        abandoned = true;
        reject(error);
      };
      this.waiting.add(abandon);
      this.pool.connect().then(
        (client) => {
          this.waiting.delete(abandon);
          // close() gave up on this caller meanwhile: the client goes back to the ending pool, which removes it.
          if (abandoned) client.release();
          else resolve(client);
        },
        (error: unknown) => {
          this.waiting.delete(abandon);
          reject(this.waited(error));
        },
      );
    });
  }

  async close(): Promise<void> {
    const closed = new Error('Connection terminated: the database connection was closed while this call waited for it');
    for (const abandon of this.waiting) abandon(closed);
    this.waiting.clear();
    const probing = this.probing;
    this.probing = undefined;
    const beating = this.beating;
    this.beating = undefined;
    const ended = (async () => {
      await Promise.all([...this.listeners].map((stop) => stop()));
      await Promise.all([
        this.pool.end(),
        probing ? this.end(probing.client) : undefined,
        beating ? this.end(beating.client) : undefined,
      ]);
    })();
    // pool.end() waits for every checked-out client; one stuck on a dead network would hold a shutdown forever.
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<'late'>((resolve) => {
      timer = setTimeout(() => resolve('late'), closeGraceMs);
    });
    const outcome = await Promise.race([ended.then(() => 'ended' as const), late]);
    clearTimeout(timer);
    if (outcome === 'late') {
      for (const client of [...this.clients, ...this.dedicated])
        (client as unknown as { connection: { stream: { destroy(): void } } }).connection.stream.destroy();
      await Promise.race([ended.catch(() => undefined), new Promise((resolve) => setTimeout(resolve, closeGraceMs))]);
    }
  }

  /** pg-pool's "timeout exceeded when trying to connect": every connection stayed busy. Back-pressure, not loss. */
  private waited(error: unknown): unknown {
    if (!isPgPoolWait(error)) return error;
    return errors.databasePoolExhausted(this.facts.target, this.facts.poolSize, this.facts.waitMs, error);
  }

  /** A connected client outside the pool; its 'error' listener is added before it connects and never removed. */
  private async openDedicated(onError: (error: Error) => void): Promise<Client> {
    const client = this.facts.newClient();
    client.on('error', onError);
    this.dedicated.add(client);
    client.once('end', () => this.dedicated.delete(client));
    try {
      await client.connect();
    } catch (error) {
      this.dedicated.delete(client);
      void client.end().catch(() => undefined);
      throw error;
    }
    return client;
  }

  /** Ends a dedicated client; one that never connected, or whose connection is gone, ends quietly. */
  private async end(client: Promise<Client>): Promise<void> {
    await client.then(
      (connected) => connected.end().catch(() => undefined),
      () => undefined,
    );
  }
}

function clientQueryable(client: PoolClient): PgQueryable {
  return {
    async query<T>(text: string, params?: unknown[]) {
      const result = await client.query(text, params);
      return { rows: result.rows as T[] };
    },
    async exec(script: string) {
      await client.query(script);
    },
  };
}
