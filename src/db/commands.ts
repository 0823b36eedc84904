import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { describe, errors } from '../errors.js';
import { itemTypes } from '../items/index.js';
import type { InstallableDatabase } from './adapters/installable.js';
import { createDatabase, type DatabaseConfig } from './create-database.js';
import { type ScriptFile, scripts } from './sql/index.js';
import type { Dialect } from './sql/types.js';

/**
 * What the CLI's `exh db ...` commands call. `exh db script --dialect X` prints generateScript(X); `exh db install
 * --config F [--example-app]` calls installBaseProject.
 */

/** The dialect's scripts from the item-type definitions: files[0] is the base project, then the example application and the sync sender. */
export function generateScript(dialect: Dialect): { files: ScriptFile[] } {
  return { files: scripts(dialect, itemTypes).map(({ path, content, role }) => ({ path, content, role })) };
}

/** Writes every dialect's scripts under rootDir (the repository root: sql/postgres, sql/mssql, sql/db2). */
export async function writeScripts(rootDir: string): Promise<{ written: string[] }> {
  const written: string[] = [];
  for (const dialect of ['postgres', 'sqlserver', 'db2'] as const) {
    for (const file of generateScript(dialect).files) {
      const path = join(rootDir, file.path);
      await mkdir(dirname(path), { recursive: true });
      await writeFile(path, file.content);
      written.push(file.path);
    }
  }
  return { written };
}

export function dialectOf(type: DatabaseConfig['type']): Dialect {
  return type === 'pglite' ? 'postgres' : type;
}

/**
 * Installs the base project (and the example application) into a connected database. Idempotent: tables, domains
 * and the application's templates are created only when missing, the connector's routines are replaced.
 */
export async function installInto(
  db: InstallableDatabase,
  options: InstallOptions = {},
): Promise<{ applied: string[] }> {
  const files = scripts(db.dialect, itemTypes);
  const wanted: ScriptFile[] = files.filter(
    (f) =>
      f.role === 'base-project' ||
      (f.role === 'example-app' && options.exampleApp) ||
      (f.role === 'sync-sender' && options.syncSender),
  );
  if (options.exampleApp && !wanted.some((f) => f.role === 'example-app')) {
    throw errors.unsupported(`There is no example application for ${db.dialect}; install without --example-app.`);
  }
  if (options.syncSender && !wanted.some((f) => f.role === 'sync-sender')) {
    throw errors.unsupported(
      `exh db install --sync-sender installs the PostgreSQL sender only; for ${db.dialect} install the sender in ` +
        'senders/ as docs/senders.md describes (DB2: the Java stored procedure, SQL Server: the CLR assembly).',
    );
  }
  const applied: string[] = [];
  for (const file of wanted) {
    try {
      await db.runScript(file.content);
    } catch (error) {
      throw file.role === 'sync-sender' ? syncSenderFailure(error) : error;
    }
    applied.push(file.path);
  }
  return { applied };
}

export interface InstallOptions {
  exampleApp?: boolean;
  /** Also the synchronous sender (PostgreSQL: the PL/Python exh_send; docs/senders.md). */
  syncSender?: boolean;
}

/** PostgreSQL's reasons for refusing CREATE EXTENSION plpython3u, translated into what to do about them. */
function syncSenderFailure(error: unknown): unknown {
  const code = sqlStateOf(error);
  const needs =
    "PL/Python needs the Debian package postgresql-plpython3-NN of the server's major version " +
    '(postgresql-plpython3-15 for PostgreSQL 15) on the database server, and a superuser to run ' +
    'CREATE EXTENSION plpython3u in this database (it is an untrusted language)';
  if (code === '42501') {
    return senderUnavailable(
      `the installing role may not create plpython3u: run exh db install --sync-sender as a superuser, or have one ` +
        `run CREATE EXTENSION plpython3u first. ${needs}`,
      error,
    );
  }
  if (
    code === '58P01' ||
    code === '0A000' ||
    /plpython3u|could not open extension control file/i.test(describe(error))
  ) {
    return senderUnavailable(`the PostgreSQL server has no PL/Python. ${needs}`, error);
  }
  return error;
}

const senderUnavailable = (reason: string, cause: unknown) =>
  errors.unsupported(`The synchronous sender cannot be installed: ${reason}. Cause: ${describe(cause)}`);

function sqlStateOf(error: unknown): string | undefined {
  for (let e: unknown = error; e && typeof e === 'object'; e = (e as { cause?: unknown }).cause) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code)) return code;
  }
  return undefined;
}

/** `exh db install`: connects, installs, closes. */
export async function installBaseProject(
  config: DatabaseConfig,
  options: InstallOptions = {},
): Promise<{ applied: string[] }> {
  const db = createDatabase(config);
  await db.connect();
  try {
    return await installInto(db, options);
  } finally {
    await db.close();
  }
}
