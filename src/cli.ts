import { Command, InvalidArgumentError, Option } from 'commander';
import { registerAttachment } from './commands/attachment.js';
import { registerConfigMigrate } from './commands/config-migrate.js';
import { registerDemo } from './commands/demo.js';
import { registerMachinesCommand } from './commands/machines.js';
import { registerOutbox } from './commands/outbox.js';
import { registerSend } from './commands/send.js';
import { registerStatusCommand } from './commands/status.js';
import { registerSync } from './commands/sync.js';
import { describe, isExhError } from './errors.js';
import { version } from './version.js';

// What a command needs beyond commander is imported in its action (`await import`), so that `exh --help` and
// `exh --version` load none of it: zod, yaml, pino, the database drivers, fastify, ews-javascript-api.

/** Process exit codes; docs/operations.md lists them too. */
export const exitCodes = { ok: 0, failed: 1, invalidConfig: 2, interrupted: 130 } as const;

const program = new Command()
  .name('exh')
  .description('Keeps an application database and Microsoft Exchange in step, per user, both ways.')
  .version(version, '-v, --version')
  .showHelpAfterError();

const configOption = () =>
  new Option('-c, --config <file>', 'configuration file, JSON or YAML (default: exh.config.json, or $EXH_CONFIG)');

program
  .command('start')
  .description('run the connector headless until SIGINT or SIGTERM')
  .addOption(configOption())
  .option('--inspect', "stream xstate's inspection events at /api/inspect on listeners.http (docs/dashboard.md)")
  .action(async (options: { config?: string; inspect?: boolean }) => {
    const { config, warnings } = await loadOrExit(options.config);
    if (config.database.type === 'pglite' && !config.database.dataDir) {
      process.stderr.write(
        'database.type "pglite" without database.dataDir keeps the database in this process\'s memory, where no ' +
          'base project or user could be added: set database.dataDir (then run exh db install), or try the demo ' +
          'with npm start.\n',
      );
      process.exit(exitCodes.invalidConfig);
    }
    const { createLogging } = await import('./logging/logger.js');
    const logging = createLogging({
      level: config.log.level,
      format: config.log.format,
      ...(config.log.file ? { file: config.log.file, toStdout: config.log.stdout } : {}),
    });
    // logrotate moves log.file away and sends SIGHUP (deploy/exh.service's ExecReload): write to a new one.
    process.on('SIGHUP', () => logging.reopen());
    for (const warning of warnings) logging.logger.warn({ event: 'config.warning' }, warning);
    // Loaded here so that `config check` and `--help` do not load database drivers.
    const { startRuntime } = await import('./runtime.js');
    const { createExchangeBackend } = await import('./exchange/create-exchange.js');
    const exchange = await createExchangeBackend(config, logging.logger).catch((error: unknown) => {
      logging.logger.error({ err: error }, describe(error));
      process.exit(exitCodes.failed);
    });
    const runtime = startRuntime({
      config,
      logging,
      exchange: exchange.port,
      inspect: options.inspect === true,
      ...(exchange.graphNotifications ? { graphNotifications: exchange.graphNotifications } : {}),
    });
    let signalled = false;
    const onSignal = (signal: NodeJS.Signals) => {
      if (signalled) {
        logging.logger.warn(`${signal} again: exiting at once`);
        process.exit(exitCodes.interrupted);
      }
      signalled = true;
      logging.logger.action(`${signal} received: stopping (a second signal exits at once)`);
      setTimeout(() => {
        logging.logger.error('Did not stop within 10 s: exiting anyway');
        process.exit(exitCodes.failed);
      }, 10_000).unref();
      void runtime.stop();
    };
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
    const { exitCode } = await runtime.done;
    await exchange.close();
    logging.logger.action({ exitCode }, 'Stopped');
    process.exit(exitCode);
  });

const configCommand = program.command('config').description('configuration tools');
configCommand
  .command('check')
  .description('validate the configuration and print it with secrets masked')
  .addOption(configOption())
  .action(async (options: { config?: string }) => {
    const loaded = await loadOrExit(options.config);
    const { maskSecrets } = await import('./config/mask.js');
    process.stdout.write(`${JSON.stringify(maskSecrets(loaded.config), null, 2)}\n`);
    const sources = [loaded.file ?? 'no file', ...loaded.fromEnv].join(', ');
    process.stderr.write(`Configuration is valid (${sources}).\n`);
    for (const warning of loaded.warnings) process.stderr.write(`Warning: ${warning}\n`);
  });

program
  .command('emulator')
  .description('run the Exchange emulator: EWS and Autodiscover over HTTP with in-memory mailboxes (docs/emulator.md)')
  .option('-p, --port <port>', 'port to listen on (0 picks a free one)', parsePort, 8200)
  .option('--host <host>', 'address to listen on', '127.0.0.1')
  .option('--mailboxes <list>', 'comma-separated SMTP addresses', 'alice@contoso.test,bob@contoso.test')
  .option(
    '--service-account <address>',
    'the account that may impersonate every mailbox (default exh-service@ the first domain)',
  )
  .option('--password <password>', 'password of the service account and of every mailbox', 'exh')
  .option('--data <file>', 'load mailboxes from this JSON file at start and save them to it on exit')
  .option(
    '--max-hanging-connections <n>',
    'streaming connections per mailbox before ErrorExceededConnectionCount',
    parseCount,
    3,
  )
  .option('--find-count-limit <n>', 'EWSFindCountLimit: most items one FindItem returns', parseCount, 1000)
  .option('--no-impersonation', 'the service account may not impersonate (ErrorImpersonateUserDenied)')
  .option('--graph', 'also serve Microsoft Graph v1.0, its token endpoint and Autodiscover v2 over the same mailboxes')
  .action(
    async (options: {
      graph?: boolean;
      maxHangingConnections: number;
      findCountLimit: number;
      impersonation: boolean;
      port: number;
      host: string;
      mailboxes: string;
      serviceAccount?: string;
      password: string;
      data?: string;
    }) => {
      const { loadEmulator } = await import('./load-emulator.js');
      const { startEmulator, emulatorCommandLine } = await loadEmulator('exh emulator');
      const emulator = await startEmulator({
        port: options.port,
        host: options.host,
        mailboxes: options.mailboxes
          .split(',')
          .map((mailbox) => mailbox.trim())
          .filter(Boolean),
        password: options.password,
        maxHangingConnections: options.maxHangingConnections,
        findCountLimit: options.findCountLimit,
        impersonationAllowed: options.impersonation,
        graph: options.graph === true,
        ...(options.serviceAccount ? { serviceAccount: options.serviceAccount } : {}),
        ...(options.data ? { dataFile: options.data } : {}),
      }).catch((error: unknown) => {
        process.stderr.write(`${describe(error)}\n`);
        process.exit(exitCodes.failed);
      });
      process.stdout.write(`${emulatorCommandLine({ url: emulator.url })}\n`);
      if (emulator.graphUrl) process.stdout.write(`Microsoft Graph emulator listening on ${emulator.graphUrl}\n`);
      const stop = () => {
        void emulator.close().then(() => process.exit(exitCodes.ok));
      };
      process.once('SIGINT', stop);
      process.once('SIGTERM', stop);
    },
  );

interface ScriptOptions {
  dialect?: 'postgres' | 'sqlserver' | 'db2';
  exampleApp?: boolean;
  syncSender?: boolean;
  write?: string;
}

const dbCommand = program.command('db').description('the base project in the application database');
dbCommand
  .command('script')
  .description('print the base project SQL for a dialect, generated from the item-type definitions')
  .addOption(new Option('-d, --dialect <dialect>', 'SQL dialect').choices(['postgres', 'sqlserver', 'db2']))
  .option('--example-app', 'print the example application after the base project')
  .option('--sync-sender', 'print the synchronous sender after them (PostgreSQL; docs/senders.md)')
  .option('--write <dir>', "write every dialect's files under DIR/sql/ (how the checked-in sql/ is regenerated)")
  .action(async (options: ScriptOptions) => {
    const { generateScript, writeScripts } = await import('./db/commands.js');
    if (options.write !== undefined) {
      const { written } = await writeScripts(options.write);
      process.stderr.write(`Wrote ${written.join(', ')}\n`);
      return;
    }
    const dialect = options.dialect;
    if (!dialect) return program.error('error: exh db script needs --dialect postgres|sqlserver|db2 (or --write DIR)');
    const files = generateScript(dialect).files;
    if (options.exampleApp && files.length < 2) program.error(`error: there is no example application for ${dialect}`);
    if (options.syncSender && !files.some((f) => f.role === 'sync-sender')) {
      program.error(`error: the synchronous sender for ${dialect} is in senders/ (docs/senders.md), not generated`);
    }
    const wanted = files.filter(
      (f) =>
        f.role === 'base-project' ||
        (options.exampleApp && f.role === 'example-app') ||
        (options.syncSender && f.role === 'sync-sender'),
    );
    process.stdout.write(wanted.map((file) => file.content).join('\n'));
  });
dbCommand
  .command('install')
  .description('install (or update) the base project in the configured database; running it twice changes nothing')
  .addOption(configOption())
  .option('--example-app', 'also install the example application (app_user, calendar_item, … and their triggers)')
  .option('--sync-sender', 'also install the PostgreSQL synchronous sender (PL/Python exh_send; docs/senders.md)')
  .action(async (options: { config?: string; exampleApp?: boolean; syncSender?: boolean }) => {
    const { config } = await loadOrExit(options.config);
    const { installBaseProject } = await import('./db/commands.js');
    try {
      const { applied } = await installBaseProject(config.database, {
        exampleApp: options.exampleApp === true,
        syncSender: options.syncSender === true,
      });
      process.stderr.write(`Installed into ${config.database.type}: ${applied.join(', ')}\n`);
    } catch (error) {
      process.stderr.write(`${describe(error)}\n`);
      process.exit(exitCodes.failed);
    }
  });

function parsePort(value: string): number {
  const port = Number(value);
  if (!Number.isInteger(port) || port < 0 || port > 65535)
    throw new InvalidArgumentError('expected a port number 0–65535');
  return port;
}

function parseCount(value: string): number {
  const count = Number(value);
  if (!Number.isInteger(count) || count < 1) throw new InvalidArgumentError('expected a whole number of 1 or more');
  return count;
}

async function loadOrExit(file: string | undefined) {
  const { loadConfig } = await import('./config/load.js');
  try {
    return loadConfig({ file });
  } catch (error) {
    process.stderr.write(`${isExhError(error) ? error.message : describe(error)}\n`);
    process.exit(exitCodes.invalidConfig);
  }
}

registerConfigMigrate(program);
registerMachinesCommand(program);
registerStatusCommand(program);
registerSend(program);
registerSync(program);
registerAttachment(program);
registerOutbox(program);
registerDemo(program);

await program.parseAsync(process.argv);
