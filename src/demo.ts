import { randomBytes } from 'node:crypto';
import { type AddressInfo, createServer } from 'node:net';
import { PGlite } from '@electric-sql/pglite';
import { configSchema } from './config/schema.js';
import { createPgliteDatabase } from './db/adapters/pglite.js';
import { installInto } from './db/commands.js';
import { createDemoActivity } from './demo-activity.js';
import { describe } from './errors.js';
import { createExchangeBackend } from './exchange/create-exchange.js';
import { loadEmulator } from './load-emulator.js';
import { createLogging } from './logging/logger.js';
import { startRuntime } from './runtime.js';

/**
 * `npm start`: everything on one machine with nothing else installed. An embedded PGlite database with the base
 * project, the example application and three users; the Exchange emulator with their mailboxes; the connector between
 * them; and a little activity every few seconds, by turns in a mailbox and in the example application's tables, so that
 * changes can be seen flowing both ways: into the tables, and through the outbox into the mailboxes (on the dashboard
 * and in the log feed: telnet 127.0.0.1 8888). Nothing is kept after Ctrl-C. Also `exh demo` (src/commands/demo.ts);
 * docs/operations.md, "The demo".
 */
// First, so that an installed exh, which has no emulator, says so before anything starts (src/load-emulator.ts).
const { startEmulator } = await loadEmulator('exh demo');
const users: [string, string, string] = ['alice@contoso.test', 'bob@contoso.test', 'carol@contoso.test'];
// Every variable the demo reads; README.md and docs/operations.md list them.
const logPort = portFrom('EXH_LISTENERS_LOG_PORT', 8888);
const emulatorPort = portFrom('EXH_DEMO_EMULATOR_PORT', 8200);
const httpPort = portFrom('EXH_LISTENERS_HTTP_PORT', 8080);
const databasePort = portFrom('EXH_LISTENERS_DATABASE_PORT', 9988);
const intervalMs = activityInterval(process.env.EXH_DEMO_INTERVAL_MS);
// The dashboard's actions (resync, re-register, retry) need it; a new one each run, printed below.
const adminToken = process.env.EXH_LISTENERS_HTTP_ADMIN_TOKEN ?? randomBytes(12).toString('hex');

/** A port from the environment, or the default; anything else stops the demo naming the variable. */
function portFrom(variable: string, fallback: number): number {
  const raw = process.env[variable];
  const port = raw === undefined || raw === '' ? fallback : Number(raw);
  if (Number.isInteger(port) && port >= 0 && port <= 65535) return port;
  return fail(`${variable}=${raw} is not a port: set it to a number 0–65535 (0 picks a free port).`, 2);
}

/** EXH_DEMO_INTERVAL_MS: milliseconds between simulated user actions; 0 or "off" switches them off. */
function activityInterval(raw: string | undefined): number | undefined {
  if (raw === undefined || raw === '') return 8_000;
  if (raw.trim().toLowerCase() === 'off' || Number(raw) === 0) return undefined;
  const ms = Number(raw);
  if (Number.isInteger(ms) && ms >= 100) return ms;
  return fail(`EXH_DEMO_INTERVAL_MS=${raw}: expected milliseconds of 100 or more, or 0 / off for no activity.`, 2);
}

function fail(message: string, exitCode = 1): never {
  process.stderr.write(`${message}\n`);
  process.exit(exitCode);
}

/**
 * Takes the port for a moment to learn whether it is free (and, for 0, which port the system gives), so that a taken
 * port stops the demo with the variable to set instead of a stack trace from deep inside the runtime.
 */
async function claim(port: number, host: string, variable: string, what: string): Promise<number> {
  const server = createServer();
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, host, resolve);
    });
  } catch (error) {
    fail(portMessage(error, host, port, variable, what));
  }
  const real = (server.address() as AddressInfo).port;
  await new Promise((resolve) => server.close(resolve));
  return real;
}

function portMessage(error: unknown, host: string, port: number, variable: string, what: string): string {
  const code = (error as { code?: string }).code;
  const why = code === 'EADDRINUSE' ? 'is taken by another program' : `cannot be used (${describe(error)})`;
  return `The demo's ${what} port ${host}:${port} ${why}: set ${variable} to a free port (0 picks one), for example ${variable}=0 npm start.`;
}

const listenerHost = '127.0.0.1';
const realLogPort = await claim(logPort, listenerHost, 'EXH_LISTENERS_LOG_PORT', 'log feed');
const realHttpPort = await claim(httpPort, listenerHost, 'EXH_LISTENERS_HTTP_PORT', 'dashboard');
await claim(databasePort, listenerHost, 'EXH_LISTENERS_DATABASE_PORT', 'database listener');

const emulator = await startEmulator({ port: emulatorPort, mailboxes: users }).catch((error: unknown) =>
  fail(portMessage(error, listenerHost, emulatorPort, 'EXH_DEMO_EMULATOR_PORT', 'Exchange emulator')),
);
// EWS (on-premises Exchange) or Microsoft Graph (Exchange Online), both served by the emulator over one store.
const backend = demoBackend(process.env.EXH_DEMO_BACKEND);
const graphApp = emulator.admin.graphApp();
const config = configSchema.parse({
  database: { type: 'pglite' },
  exchange: {
    backend,
    staticEwsUrl: emulator.url,
    impersonationUser: emulator.serviceAccount,
    impersonationPassword: emulator.password,
    graph: {
      baseUrl: emulator.graphUrl,
      // The emulator's token endpoint stands in for Entra (msal reaches a plain-http authority through it).
      authority: `${new URL(emulator.graphUrl).origin}/graph-login`,
      tenant: graphApp.tenant,
      clientId: graphApp.clientId,
      clientSecret: graphApp.clientSecret,
      pollIntervalMs: 2_000,
    },
  },
  listeners: {
    log: { host: listenerHost, port: realLogPort },
    database: { host: listenerHost, port: databasePort },
    http: { host: listenerHost, port: realHttpPort, adminToken },
  },
  log: { level: 'info', format: process.env.EXH_LOG_FORMAT === 'json' ? 'json' : 'pretty' },
});
const logging = createLogging({ level: config.log.level, format: config.log.format });
const log = logging.logger.child({ actor: 'demo' });

const instance = await PGlite.create();
const db = createPgliteDatabase({ instance });
await db.connect();
await installInto(db, { exampleApp: true });
await db.runScript(`INSERT INTO app_user (exh_user) VALUES ${users.map((user) => `('${user}')`).join(', ')};`);
await db.close();
log.action(`Demo: PGlite in memory with the base project and the example application; users ${users.join(', ')}`);
log.action(
  backend === 'graph'
    ? `Demo: Exchange emulator's Microsoft Graph at ${emulator.graphUrl}, polled every 2 s (app ${graphApp.clientId} of ${graphApp.tenant})`
    : `Demo: Exchange emulator at ${emulator.url} (exh emulator; password "${emulator.password}")`,
);
log.info(`Watch the live log: telnet 127.0.0.1 ${realLogPort}  (type e, w, a or m and Enter to filter). Ctrl-C stops.`);
log.action(
  `Demo: dashboard at http://localhost:${realHttpPort}/ (statecharts live, /metrics, /api/status); admin token for its actions: ${adminToken}`,
);

const exchange = await createExchangeBackend(config, logging.logger);
const runtime = startRuntime({ config, logging, db, exchange: exchange.port });

// People at work: every few seconds something changes, in a mailbox or in the application's tables, by turns, and
// the connector carries it to the other side (src/demo-activity.ts).
const people = createDemoActivity({ db: instance, admin: emulator.admin, users, log });
const activity = intervalMs === undefined ? undefined : setInterval(() => void people.step(), intervalMs);
log.action(
  intervalMs === undefined
    ? 'Demo: simulated user activity is off (EXH_DEMO_INTERVAL_MS=0); make changes with the emulator or the database'
    : `Demo: simulated user activity every ${intervalMs} ms, in Exchange and in the application's tables by turns (EXH_DEMO_INTERVAL_MS; 0 or off switches it off)`,
);

// As exh start: the first signal stops everything within 10 s, a second one exits at once.
let signalled = false;
const stop = (signal: NodeJS.Signals) => {
  if (signalled) {
    log.warn(`${signal} again: exiting at once`);
    process.exit(130);
  }
  signalled = true;
  log.action(`${signal} received: the demo is stopping (a second signal exits at once)`);
  if (activity) clearInterval(activity);
  people.stop();
  setTimeout(() => {
    log.error('The demo did not stop within 10 s: exiting anyway');
    process.exit(1);
  }, 10_000).unref();
  void runtime.stop();
};
process.on('SIGINT', stop);
process.on('SIGTERM', stop);
const { exitCode } = await runtime.done;
if (activity) clearInterval(activity);
people.stop();
await exchange.close();
await emulator.close();
await instance.close();
// The last line, once everything (connector, emulator, database) has stopped: a Ctrl-C shows that it is over.
log.action({ exitCode }, exitCode === 0 ? 'Stopped.' : `Stopped (exit code ${exitCode}).`);
process.exit(exitCode);

/** EXH_DEMO_BACKEND: ews (the default) or graph; anything else stops the demo naming the variable. */
function demoBackend(value: string | undefined): 'ews' | 'graph' {
  if (value === undefined || value === '' || value === 'ews') return 'ews';
  if (value === 'graph') return 'graph';
  return fail(`EXH_DEMO_BACKEND must be ews or graph, not "${value}".`);
}
