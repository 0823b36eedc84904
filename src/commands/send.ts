import { type Command, InvalidArgumentError, Option } from 'commander';
import { parseListenerAddresses } from '../db/adapters/installable.js';
import { describe, errors, isExhError } from '../errors.js';
import { itemTypeNames } from '../items/index.js';
import type { SetUp } from '../ports/database.port.js';
import type { ListenerTarget, SendOptions } from '../protocol/client.js';
import type { WireRequest } from '../protocol/messages.js';
import type { Reply } from '../protocol/replies.js';
import { requestTypes } from '../protocol/request-types.js';

/**
 * The command-line clients of a running connector (`exh send`, `exh sync-users`, `exh sync-items`,
 * `exh attachment get`): they find the listener as the database's senders do — exh_set_up in the database named by
 * --config — or from --host/--port/--token, send one request (docs/protocol.md) and exit with a status that follows
 * the reply's exit code (`clientExit`, docs/operations.md).
 */

/** Process exit status per reply exit code; 2 is a usage or configuration error, as everywhere in exh. */
export const clientExit = { ok: 0, error: 1, usage: 2, offline: 3, exchangeFailed: 4 } as const;

export function exitStatusOf(reply: Reply): number {
  switch (reply.exitCode) {
    case 0:
      return clientExit.ok;
    case 521:
      return clientExit.offline;
    case 522:
      return clientExit.exchangeFailed;
    default:
      return clientExit.error;
  }
}

export interface ClientOptions {
  config?: string;
  host?: string;
  port?: number;
  token?: string;
  timeout: number;
}

/** --config, --host, --port, --token and --timeout on a client command; usage errors exit 2. */
export function clientCommand(command: Command): Command {
  return command
    .addOption(
      new Option('-c, --config <file>', 'configuration whose database holds exh_set_up (default: exh.config.json)'),
    )
    .option('--host <host>', "the connector's database listener (default: exh_ip_address in exh_set_up)")
    .option('--port <port>', 'its port (default: exh_ip_address_port in exh_set_up)', parsePort)
    .option('--token <token>', 'its token (default: exh_listener_token in exh_set_up; visible to ps, prefer --config)')
    .option('--timeout <ms>', 'how long to wait for the reply (longer than exchange.timeoutMs)', parseCount, 130_000)
    .exitOverride((error) => process.exit(error.exitCode === 0 ? 0 : clientExit.usage));
}

/**
 * Where the listener is: the flags given, the rest from exh_set_up through the configured database's adapter. With
 * several instances and no --host/--port, `others` are the other instances' listeners (exh_ip_addresses), tried in
 * turn when the first does not accept the connection (docs/senders.md, "Several instances").
 */
export async function resolveListener(
  options: ClientOptions,
): Promise<{ target: ListenerTarget; token: string; others: ListenerTarget[] }> {
  let { host, port, token } = options;
  let others: ListenerTarget[] = [];
  if (host === undefined || port === undefined || token === undefined) {
    const setUp = await readSetUp(options.config);
    if (host === undefined && port === undefined) others = otherListeners(setUp.found);
    host ??= setUp.found.ipAddress;
    port ??= setUp.found.port;
    token ??= setUp.found.token;
    const missing = [
      host === undefined ? 'exh_ip_address' : '',
      port === undefined ? 'exh_ip_address_port' : '',
      token === undefined ? 'exh_listener_token' : '',
    ].filter(Boolean);
    if (missing.length > 0 || host === undefined || port === undefined || token === undefined) {
      throw errors.setUpMissing(setUp.target, missing);
    }
  }
  const first = `${host}:${port}`;
  return { target: { host, port }, token, others: others.filter((o) => `${o.host}:${o.port}` !== first) };
}

/** exh_ip_addresses as targets. */
function otherListeners(setUp: Partial<SetUp>): ListenerTarget[] {
  return parseListenerAddresses((setUp.addresses ?? []).join(','));
}

/** exh_set_up as the connector wrote it, read through the DatabasePort adapter of the configuration. */
export async function readSetUp(configFile: string | undefined): Promise<{ target: string; found: Partial<SetUp> }> {
  // Loaded when a command runs, not when the command line starts (`exh --help`): zod, yaml, the database drivers.
  const { loadConfig } = await import('../config/load.js');
  const { config } = loadConfig({ file: configFile });
  const { createDatabase } = await import('../db/create-database.js');
  const db = createDatabase(config.database);
  try {
    await db.connect();
    return { target: db.target, found: await db.readSetUp() };
  } finally {
    await db.close();
  }
}

/**
 * Resolves the listener, sends, and exits with the reply's status. Configuration problems exit 2, a listener that
 * cannot be found (no exh_set_up yet) 3 like a connector that is offline, a database that cannot be read 1.
 */
export async function sendAndExit(
  options: ClientOptions,
  request: Omit<WireRequest, 'token'>,
  handle: (reply: Reply) => void | Promise<void> = printReply,
  extra: Omit<SendOptions, 'timeoutMs'> = {},
): Promise<never> {
  let listener: { target: ListenerTarget; token: string; others: ListenerTarget[] };
  try {
    listener = await resolveListener(options);
  } catch (error) {
    process.stderr.write(`${isExhError(error) ? `${error.code}: ${error.message}` : describe(error)}\n`);
    if (isExhError(error) && error.code.startsWith('EXH_CONFIG_')) {
      process.stderr.write(
        'Name the configuration with --config FILE, or the listener with --host, --port and --token.\n',
      );
      process.exit(clientExit.usage);
    }
    process.exit(isExhError(error, 'EXH_DB_SET_UP_MISSING') ? clientExit.offline : clientExit.error);
  }
  const { sendRequestToAny } = await import('../protocol/client.js');
  const reply = await sendRequestToAny(
    [listener.target, ...listener.others],
    { ...request, token: listener.token } as WireRequest,
    { timeoutMs: options.timeout, ...extra },
  );
  await handle(reply);
  process.exit(exitStatusOf(reply));
}

/** The reply as one JSON line on stdout; its error message also on stderr, where a person looks for it. */
export function printReply(reply: Reply): void {
  process.stdout.write(`${JSON.stringify(reply)}\n`);
  if (reply.exitCode !== 0 && reply.errorMessage) process.stderr.write(`${reply.errorMessage}\n`);
}

/** A request checked here as the listener would check it, so that a bad flag is a usage error, not a round trip. */
export async function checkedRequest(
  program: Command,
  body: Record<string, unknown>,
): Promise<Omit<WireRequest, 'token'>> {
  const { parseRequest } = await import('../protocol/messages.js');
  const parsed = parseRequest(body);
  if (!parsed.ok) program.error(`error: the request is not valid: ${parsed.problem}`, { exitCode: clientExit.usage });
  return body as Omit<WireRequest, 'token'>;
}

export function parseJsonObject(what: string) {
  return (value: string): Record<string, unknown> => {
    let parsed: unknown;
    try {
      parsed = JSON.parse(value);
    } catch (error) {
      throw new InvalidArgumentError(`${what} is not JSON: ${describe(error)}`);
    }
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
      throw new InvalidArgumentError(`${what} must be a JSON object`);
    }
    return parsed as Record<string, unknown>;
  };
}

export function parsePort(value: string): number {
  const port = Number(value);
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw new InvalidArgumentError('expected a port 1–65535');
  return port;
}

export function parseCount(value: string): number {
  const count = Number(value);
  if (!Number.isInteger(count) || count < 1) throw new InvalidArgumentError('expected a whole number of 1 or more');
  return count;
}

interface SendFlags extends ClientOptions {
  json?: Record<string, unknown>;
  type: string;
  action?: string;
  itemType?: string;
  user?: string;
  fields?: Record<string, unknown>;
}

/** `exh send`: one request to a running connector, as a sender in the database would send it. */
export function registerSend(program: Command): void {
  clientCommand(
    program
      .command('send')
      .description('send one request to a running connector (docs/protocol.md) and print its reply')
      .addOption(new Option('--type <type>', 'request type').choices(requestTypes).default('item'))
      .addOption(new Option('--action <action>', 'for --type item').choices(['add', 'chg', 'del']))
      .addOption(new Option('--item-type <type>', 'for --type item').choices(itemTypeNames()))
      .option('--user <address>', 'the mailbox')
      .option(
        '--fields <json>',
        'for --type item: fields without the exh_ prefix, e.g. {"app_item_id":"1"}',
        parseJsonObject('--fields'),
      )
      .option(
        '--json <request>',
        'the whole request as JSON instead of the flags (the token is added)',
        parseJsonObject('--json'),
      ),
  ).action(async (flags: SendFlags, command: Command) => {
    const body = flags.json ?? requestFromFlags(command, flags);
    const { token: _ignored, ...request } = body;
    await sendAndExit(flags, await checkedRequest(command, request));
  });
}

function requestFromFlags(command: Command, flags: SendFlags): Record<string, unknown> {
  if (flags.type !== 'item') {
    return { type: flags.type, ...(flags.user ? { user: flags.user } : {}) };
  }
  const missing = [
    flags.action ? '' : '--action',
    flags.itemType ? '' : '--item-type',
    flags.user ? '' : '--user',
    flags.fields ? '' : '--fields',
  ].filter(Boolean);
  if (missing.length > 0) {
    command.error(`error: --type item needs ${missing.join(', ')} (or the whole request with --json)`, {
      exitCode: clientExit.usage,
    });
  }
  return { type: 'item', action: flags.action, itemType: flags.itemType, user: flags.user, fields: flags.fields };
}
