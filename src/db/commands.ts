import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { errors } from '../errors.js';
import { itemTypes } from '../items/index.js';
import type { InstallableDatabase } from './adapters/installable.js';
import { createDatabase, type DatabaseConfig } from './create-database.js';
import { type ScriptFile, scripts } from './sql/index.js';
import type { Dialect } from './sql/types.js';

/**
 * What the CLI's `exh db ...` commands call. `exh db script --dialect X` prints generateScript(X); `exh db install
 * --config F [--example-app]` calls installBaseProject.
 */

/** The dialect's scripts from the item-type definitions: files[0] is the base project, then the example application. */
export function generateScript(dialect: Dialect): { files: { path: string; content: string }[] } {
  return { files: scripts(dialect, itemTypes).map(({ path, content }) => ({ path, content })) };
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
  options: { exampleApp?: boolean } = {},
): Promise<{ applied: string[] }> {
  const files = scripts(db.dialect, itemTypes);
  const wanted: ScriptFile[] = files.filter((f) => f.role === 'base-project' || options.exampleApp);
  if (options.exampleApp && !wanted.some((f) => f.role === 'example-app')) {
    throw errors.unsupported(`There is no example application for ${db.dialect}; install without --example-app.`);
  }
  const applied: string[] = [];
  for (const file of wanted) {
    await db.runScript(file.content);
    applied.push(file.path);
  }
  return { applied };
}

/** `exh db install`: connects, installs, closes. */
export async function installBaseProject(
  config: DatabaseConfig,
  options: { exampleApp?: boolean } = {},
): Promise<{ applied: string[] }> {
  const db = createDatabase(config);
  await db.connect();
  try {
    return await installInto(db, options);
  } finally {
    await db.close();
  }
}
