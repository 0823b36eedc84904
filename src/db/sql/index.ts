import type { ItemTypeDefinition } from '../../items/definition.js';
import { db2BaseProject } from './db2.js';
import { postgresBaseProject } from './postgres.js';
import { postgresExampleApp } from './postgres-example.js';
import { sqlServerBaseProject } from './sqlserver.js';
import { sqlServerExampleApp } from './sqlserver-example.js';
import { postgresSyncSender } from './sync-sender.js';
import type { Dialect } from './types.js';

export interface ScriptFile {
  /** Relative to the repository root, e.g. sql/postgres/base-project.sql. */
  path: string;
  content: string;
  role: 'base-project' | 'example-app' | 'sync-sender';
}

/** Where each dialect's scripts live (SQL Server's in sql/mssql, the path docs/database.md and installations use). */
export const scriptDirectories: Record<Dialect, string> = {
  postgres: 'sql/postgres',
  sqlserver: 'sql/mssql',
  db2: 'sql/db2',
};

interface DialectScripts {
  baseProject(types: readonly ItemTypeDefinition[]): string;
  exampleApp?(types: readonly ItemTypeDefinition[]): string;
  /** The synchronous sender installed in the database itself (docs/senders.md); DB2's and SQL Server's are senders/. */
  syncSender?(): string;
}

const generators: Record<Dialect, DialectScripts> = {
  postgres: { baseProject: postgresBaseProject, exampleApp: postgresExampleApp, syncSender: postgresSyncSender },
  sqlserver: { baseProject: sqlServerBaseProject, exampleApp: sqlServerExampleApp },
  db2: { baseProject: db2BaseProject },
};

/** The dialect's scripts, base project first. Deterministic: the same definitions give the same text. */
export function scripts(dialect: Dialect, types: readonly ItemTypeDefinition[]): ScriptFile[] {
  const generator = generators[dialect];
  const directory = scriptDirectories[dialect];
  const files: ScriptFile[] = [
    { path: `${directory}/base-project.sql`, content: generator.baseProject(types), role: 'base-project' },
  ];
  if (generator.exampleApp) {
    files.push({ path: `${directory}/example-app.sql`, content: generator.exampleApp(types), role: 'example-app' });
  }
  if (generator.syncSender) {
    files.push({ path: `${directory}/sync-sender.sql`, content: generator.syncSender(), role: 'sync-sender' });
  }
  return files;
}
