import { randomBytes } from 'node:crypto';
import { PGlite } from '@electric-sql/pglite';
import { configSchema } from './config/schema.js';
import { createPgliteDatabase } from './db/adapters/pglite.js';
import { installInto } from './db/commands.js';
import { startEmulator } from './emulator/index.js';
import { createExchangeBackend } from './exchange/create-exchange.js';
import { createLogging } from './logging/logger.js';
import { startRuntime } from './runtime.js';

/**
 * `npm start`: everything on one machine with nothing else installed. An embedded PGlite database with the base
 * project, the example application and three users; the Exchange emulator with their mailboxes; the connector between
 * them; and a little activity in the mailboxes every few seconds, so that changes can be seen flowing into the
 * example application's tables (and in the log feed: telnet 127.0.0.1 8888). Nothing is kept after Ctrl-C.
 */
const users = ['alice@contoso.test', 'bob@contoso.test', 'carol@contoso.test'];
const logPort = Number(process.env.EXH_LISTENERS_LOG_PORT ?? 8888);
const emulatorPort = Number(process.env.EXH_DEMO_EMULATOR_PORT ?? 8200);
const httpPort = Number(process.env.EXH_LISTENERS_HTTP_PORT ?? 8080);
// The dashboard's actions (resync, re-register, retry) need it; a new one each run, printed below.
const adminToken = process.env.EXH_LISTENERS_HTTP_ADMIN_TOKEN ?? randomBytes(12).toString('hex');

const emulator = await startEmulator({ port: emulatorPort, mailboxes: users });
const config = configSchema.parse({
  database: { type: 'pglite' },
  exchange: {
    staticEwsUrl: emulator.url,
    impersonationUser: emulator.serviceAccount,
    impersonationPassword: emulator.password,
  },
  listeners: {
    log: { port: logPort },
    database: { port: Number(process.env.EXH_LISTENERS_DATABASE_PORT ?? 9988) },
    http: { port: httpPort, adminToken },
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
log.action(`Demo: Exchange emulator at ${emulator.url} (exh emulator; password "${emulator.password}")`);
log.info(`Watch the live log: telnet 127.0.0.1 ${logPort}  (type e, w, a or m and Enter to filter). Ctrl-C stops.`);
log.action(
  `Demo: dashboard at http://localhost:${httpPort}/ (statecharts live, /metrics, /api/status); admin token for its actions: ${adminToken}`,
);

const exchange = await createExchangeBackend(config, logging.logger);
const runtime = startRuntime({ config, logging, db, exchange: exchange.port });

// A person at work: every few seconds something changes in a mailbox, and the connector carries it to the database.
const scenes = [
  () =>
    emulator.admin.createItem('alice@contoso.test', {
      kind: 'CalendarItem',
      Subject: `Planning ${new Date().toISOString().slice(11, 19)}`,
      Start: new Date(Date.now() + 86_400_000).toISOString(),
      End: new Date(Date.now() + 90_000_000).toISOString(),
      RequiredAttendees: ['bob@contoso.test'],
    }),
  () =>
    emulator.admin.createItem('bob@contoso.test', { kind: 'Task', Subject: 'Review the minutes', PercentComplete: 25 }),
  () =>
    emulator.admin.createItem('carol@contoso.test', {
      kind: 'Message',
      send: true,
      Subject: 'Lunch?',
      Body: 'Noon at the usual place.',
      ToRecipients: ['alice@contoso.test'],
    }),
  () =>
    emulator.admin.createItem('alice@contoso.test', {
      kind: 'Contact',
      GivenName: 'Dana',
      Surname: 'Scully',
      CompanyName: 'FBI',
    }),
];
let scene = 0;
const activity = setInterval(
  () => {
    const made = scenes[scene++ % scenes.length]?.();
    if (made) log.info({ kind: made.kind, folder: made.folder }, `Demo: a user made a ${made.kind} in Exchange`);
    // A moment later, what the application's tables hold.
    setTimeout(() => {
      void instance
        .query<{ n: number }>(
          `SELECT ((SELECT count(*) FROM calendar_item) + (SELECT count(*) FROM contact_item)
              + (SELECT count(*) FROM email_item) + (SELECT count(*) FROM task_item))::int AS n`,
        )
        .then((result) => {
          const rows = result.rows[0]?.n ?? 0;
          log.info({ rows }, `Demo: ${rows} rows in the example application's item tables`);
        })
        .catch(() => {});
    }, 2_000).unref();
  },
  Number(process.env.EXH_DEMO_INTERVAL_MS ?? 8_000),
);

const stop = () => {
  clearInterval(activity);
  void runtime.stop();
};
process.once('SIGINT', stop);
process.once('SIGTERM', stop);
const { exitCode } = await runtime.done;
await exchange.close();
await emulator.close();
await instance.close();
process.exit(exitCode);
