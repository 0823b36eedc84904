import { type Command, Option } from 'commander';
import type { InstallableDatabase } from '../db/adapters/installable.js';
import { describe, isExhError } from '../errors.js';
import type { OutboxRecord, OutboxRowState } from '../ports/database.port.js';
import { clientExit, parseCount } from './send.js';

/**
 * `exh outbox list|retry`: the outbox (exh_outbox, database → Exchange) straight in the database named by --config,
 * through its DatabaseInstallableDatabase adapter; the connector need not run. A retried row is drained by the connector in order.
 */

interface DatabaseFlags {
  config?: string;
}

interface ListFlags extends DatabaseFlags {
  state?: OutboxRowState;
  user?: string;
  limit: number;
  json?: boolean;
}

interface RetryFlags extends DatabaseFlags {
  id?: number;
  user?: string;
  allFailed?: boolean;
}

export function registerOutbox(program: Command): void {
  const outbox = program
    .command('outbox')
    .description('rows the application wrote for Exchange (exh_outbox), read and retried in the database');
  const configOption = () =>
    new Option('-c, --config <file>', 'configuration naming the database (default: exh.config.json, or $EXH_CONFIG)');
  const usageExit = (error: { exitCode: number }) => process.exit(error.exitCode === 0 ? 0 : clientExit.usage);

  outbox
    .command('list')
    .description('list outbox rows, newest first')
    .addOption(configOption())
    .addOption(new Option('--state <state>', 'only rows in this state').choices(['pending', 'failed', 'done']))
    .option('--user <address>', 'only rows of this mailbox')
    .option('--limit <n>', 'at most this many rows', parseCount, 50)
    .option('--json', 'one JSON object per line instead of a table')
    .exitOverride(usageExit)
    .action(async (flags: ListFlags) => {
      const rows = await withDatabase(flags.config, (db) =>
        db.listOutbox({
          limit: flags.limit,
          ...(flags.state ? { state: flags.state } : {}),
          ...(flags.user ? { user: flags.user } : {}),
        }),
      );
      process.stdout.write(flags.json ? rows.map((row) => `${JSON.stringify(row)}\n`).join('') : table(rows));
    });

  outbox
    .command('retry')
    .description('set failed rows pending again, so that the connector applies them (once each, in order)')
    .addOption(configOption())
    .option('--id <n>', 'the failed row with this exh_outbox_id', parseCount)
    .option('--user <address>', 'every failed row of this mailbox')
    .option('--all-failed', 'every failed row')
    .exitOverride(usageExit)
    .action(async (flags: RetryFlags, command: Command) => {
      if (flags.id === undefined && flags.user === undefined && !flags.allFailed) {
        command.error('error: name the rows to retry: --id N, --user ADDRESS or --all-failed', {
          exitCode: clientExit.usage,
        });
      }
      if (flags.allFailed && (flags.id !== undefined || flags.user !== undefined)) {
        command.error('error: --all-failed retries every failed row; leave out --id and --user', {
          exitCode: clientExit.usage,
        });
      }
      const { retried } = await withDatabase(flags.config, (db) =>
        db.retryOutbox({
          ...(flags.id !== undefined ? { id: String(flags.id) } : {}),
          ...(flags.user !== undefined ? { user: flags.user } : {}),
        }),
      );
      process.stdout.write(`${retried}\n`);
      process.stderr.write(
        retried === 0
          ? 'No failed row matched: nothing to retry (pending rows are waiting already; done rows were applied).\n'
          : `${retried} failed row${retried === 1 ? '' : 's'} set pending again; the connector applies them in order.\n`,
      );
    });
}

/** Opens the configured database, runs `work`, closes it; configuration problems exit 2, database problems 1. */
async function withDatabase<T>(
  configFile: string | undefined,
  work: (db: InstallableDatabase) => Promise<T>,
): Promise<T> {
  let db: InstallableDatabase | undefined;
  try {
    const { loadConfig } = await import('../config/load.js');
    const { config } = loadConfig({ file: configFile });
    const { createDatabase } = await import('../db/create-database.js');
    db = createDatabase(config.database);
    await db.connect();
    return await work(db);
  } catch (error) {
    process.stderr.write(`${isExhError(error) ? `${error.code}: ${error.message}` : describe(error)}\n`);
    return process.exit(
      isExhError(error) && error.code.startsWith('EXH_CONFIG_') ? clientExit.usage : clientExit.error,
    );
  } finally {
    await db?.close();
  }
}

function table(rows: OutboxRecord[]): string {
  if (rows.length === 0) return 'No outbox rows match.\n';
  const header = ['id', 'state', 'user', 'type', 'action', 'attempts', 'exit', 'created', 'error'];
  const lines = rows.map((row) => [
    row.id,
    row.state,
    row.user ?? '',
    row.itemType ?? '',
    row.action,
    String(row.attempts),
    row.exitCode === null ? '' : String(row.exitCode),
    row.createdAt.toISOString().slice(0, 19).replace('T', ' '),
    // Whole, on one line: the error is the last column, and its end says what to do.
    (row.errorMessage ?? '').replace(/\s+/g, ' '),
  ]);
  const widths = header.map((title, i) => Math.max(title.length, ...lines.map((line) => (line[i] ?? '').length)));
  const format = (cells: string[]) =>
    cells
      .map((cell, i) => (i === cells.length - 1 ? cell : cell.padEnd(widths[i] ?? 0)))
      .join('  ')
      .trimEnd();
  return `${[header, ...lines].map(format).join('\n')}\n`;
}
