import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { extname, resolve } from 'node:path';
import { type Command, Option } from 'commander';
import type { MigrationFormat } from '../config/migrate.js';
import { describe, errors, isExhError } from '../errors.js';

/** 2 as for an invalid configuration (docs/operations.md, exit codes of exh). */
const invalidConfigExit = 2;

/**
 * `exh config migrate ExchangeSyncService.exe.config [--out FILE] [--format json|yaml]`: prints (or writes) our
 * configuration, and names on stderr every setting that was not carried over as it was, with why.
 */
export function registerConfigMigrate(program: Command): void {
  const config =
    program.commands.find((command) => command.name() === 'config') ??
    program.command('config').description('configuration tools');
  config
    .command('migrate')
    .description("turn the original service's ExchangeSyncService.exe.config into an exh configuration")
    .argument('<file>', 'the original configuration (XML: appSettings and connectionStrings)')
    .option('-o, --out <file>', 'write the result here (mode 0600: it holds passwords) instead of printing it')
    .addOption(
      new Option('-f, --format <format>', 'json or yaml (default: from the --out extension, else json)').choices([
        'json',
        'yaml',
      ]),
    )
    .action(async (file: string, options: { out?: string; format?: MigrationFormat }) => {
      const path = resolve(file);
      try {
        // Here, not at the top: fast-xml-parser and yaml are for this command only, not for `exh --help`.
        const { migrateServiceConfig, renderConfig } = await import('../config/migrate.js');
        if (!existsSync(path)) throw errors.migrateNotFound(path);
        const { config: migrated, notes } = migrateServiceConfig(readFileSync(path, 'utf8'));
        const format = options.format ?? formatOf(options.out);
        const text = renderConfig(migrated, format);
        for (const note of notes) process.stderr.write(`not carried over as it was: ${note.setting}: ${note.reason}\n`);
        if (options.out) {
          writeFileSync(options.out, text, { mode: 0o600 });
          process.stderr.write(`Wrote ${options.out}; check it with: exh config check --config ${options.out}\n`);
        } else {
          process.stdout.write(text);
        }
      } catch (error) {
        process.stderr.write(`${isExhError(error) ? `${error.code}: ${error.message}` : describe(error)}\n`);
        if (isExhError(error, 'EXH_CONFIG_MIGRATE_INCOMPLETE')) {
          for (const note of (error.details.notes ?? []) as { setting: string; reason: string }[]) {
            process.stderr.write(`not carried over as it was: ${note.setting}: ${note.reason}\n`);
          }
        }
        process.exit(invalidConfigExit);
      }
    });
}

function formatOf(out: string | undefined): MigrationFormat {
  const extension = out ? extname(out).toLowerCase() : '';
  return extension === '.yaml' || extension === '.yml' ? 'yaml' : 'json';
}
