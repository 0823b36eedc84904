import { errors } from '../errors.js';
import { createDb2Database } from './adapters/db2.js';
import type { InstallableDatabase } from './adapters/installable.js';
import { createPgliteDatabase } from './adapters/pglite.js';
import { createPostgresDatabase } from './adapters/postgres.js';
import { createSqlServerDatabase } from './adapters/sqlserver.js';

/** database.* of the configuration (src/config/schema.ts produces exactly this shape). */
export interface DatabaseConfig {
  type: 'postgres' | 'pglite' | 'sqlserver' | 'db2';
  /** postgres://…, a SQL Server connection string (ADO.NET or mssql://), or a DB2 CLI connection string. */
  connectionString?: string;
  /** PGlite's data directory; absent: in memory. */
  dataDir?: string;
  /** Pooled connections for postgres and sqlserver (database.poolSize); absent: the adapter's default. */
  poolSize?: number;
}

/**
 * The adapter for the configured database. Nothing is loaded or opened here: each adapter imports its driver (pg,
 * PGlite, mssql, ibm_db) in connect(), so that an optional driver that is not installed only matters when it is
 * used, and then as EXH_DB_DRIVER_MISSING naming the package. The result is a DatabasePort that can also run the
 * base project's scripts (installInto in ./commands.ts).
 */
export function createDatabase(config: DatabaseConfig): InstallableDatabase {
  switch (config.type) {
    case 'postgres':
      return createPostgresDatabase(required(config), { poolSize: config.poolSize });
    case 'pglite':
      return createPgliteDatabase(config.dataDir === undefined ? {} : { dataDir: config.dataDir });
    case 'sqlserver':
      return createSqlServerDatabase(required(config), { poolSize: config.poolSize });
    case 'db2':
      return createDb2Database(required(config));
  }
}

function required(config: DatabaseConfig): string {
  if (!config.connectionString) {
    throw errors.configInvalid('database', [`database.connectionString: required for database.type "${config.type}"`]);
  }
  return config.connectionString;
}
