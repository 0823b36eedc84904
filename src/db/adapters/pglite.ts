import type { PGlite } from '@electric-sql/pglite';
import { errors } from '../../errors.js';
import { pgliteTarget } from '../target.js';
import type { PgConnection, PgDriver, PgQueryable } from './postgres-family.js';
import { PostgresFamilyDatabase } from './postgres-family.js';

export interface PgliteOptions {
  /** Absent: in memory. */
  dataDir?: string;
  /**
   * An instance the caller created and keeps (the demo and the tests look into the same in-memory database). The
   * adapter uses it from connect() to close() and never closes it.
   */
  instance?: PGlite;
}

/**
 * PGlite: PostgreSQL compiled to WebAssembly, in this process. In memory when there is no data directory (tests, the
 * demo); one process at a time may open a data directory.
 */
export function createPgliteDatabase(options: PgliteOptions = {}): PostgresFamilyDatabase {
  return new PostgresFamilyDatabase(new PgliteDriver(options));
}

class PgliteDriver implements PgDriver {
  readonly type = 'pglite' as const;
  readonly target: string;

  constructor(private readonly options: PgliteOptions) {
    this.target = pgliteTarget(options.instance ? (options.instance.dataDir ?? undefined) : options.dataDir);
  }

  isConnectionError(error: unknown): boolean {
    // There is no network: the only way to lose PGlite is to have closed it (or its WebAssembly instance aborted).
    return error instanceof Error && /PGlite is closed|RuntimeError: Aborted/i.test(error.message);
  }

  async open(): Promise<PgConnection> {
    if (this.options.instance) return new PgliteConnection(this.options.instance, false);
    const { PGlite } = await import('@electric-sql/pglite').catch((cause: unknown) => {
      throw errors.driverMissing('@electric-sql/pglite', 'pglite', cause);
    });
    const { dataDir } = this.options;
    const db = await PGlite.create(dataDir === undefined ? {} : { dataDir });
    return new PgliteConnection(db, true);
  }
}

class PgliteConnection implements PgConnection {
  constructor(
    private readonly db: PGlite,
    private readonly owned: boolean,
  ) {}

  async query<T>(text: string, params?: unknown[]): Promise<{ rows: T[] }> {
    const result = await this.db.query<T>(text, params);
    return { rows: result.rows };
  }

  transaction<T>(work: (tx: PgQueryable) => Promise<T>): Promise<T> {
    return this.db.transaction((tx) =>
      work({
        async query<R>(text: string, params?: unknown[]) {
          const result = await tx.query<R>(text, params);
          return { rows: result.rows };
        },
        async exec(script: string) {
          await tx.exec(script);
        },
      }),
    );
  }

  async exec(script: string): Promise<void> {
    await this.db.transaction(async (tx) => {
      await tx.exec(script);
    });
  }

  async batch(script: string): Promise<void> {
    // One simple-protocol Query, run by the server as one implicit transaction (postgres-family.ts applyChanges).
    try {
      await this.db.exec(script);
    } catch (error) {
      // PGlite attaches the statement to its error: a whole page (megabytes) would travel with it into the logs.
      const facts = error as { query?: unknown };
      if (typeof facts?.query === 'string' && facts.query.length > 200) facts.query = `${facts.query.slice(0, 200)}…`;
      throw error;
    }
  }

  async probe(): Promise<void> {
    // One WebAssembly instance in this process: nothing to wait for but the instance itself.
    await this.db.query('SELECT 1');
  }

  async listen(channel: string, onPayload: (payload: string) => void): Promise<() => Promise<void>> {
    const unlisten = await this.db.listen(channel, onPayload);
    return () => unlisten();
  }

  async close(): Promise<void> {
    if (this.owned) await this.db.close();
  }
}
