import { PGlite } from '@electric-sql/pglite';
import { configSchema } from './config/schema.js';
import { createPgliteDatabase } from './db/adapters/pglite.js';
import { installInto } from './db/commands.js';
import { createLogging } from './logging/logger.js';
import { startRuntime } from './runtime.js';

/**
 * `npm start`: the connector on an embedded PGlite database with the base project, the example application and two
 * users, and the telnet log feed. Nothing to install; nothing kept after Ctrl-C. (The Exchange emulator and the
 * dashboard join the demo as they are built.)
 */
const users = ['alice@contoso.test', 'bob@contoso.test'];
const logPort = Number(process.env.EXH_LISTENERS_LOG_PORT ?? 8888);

const config = configSchema.parse({
  database: { type: 'pglite' },
  exchange: { impersonationUser: 'exh-service@contoso.test', impersonationPassword: 'exh' },
  listeners: { log: { port: logPort } },
  log: { level: 'info', format: 'pretty' },
});
const logging = createLogging({ level: config.log.level, format: config.log.format });
const instance = await PGlite.create();
const db = createPgliteDatabase({ instance });
await db.connect();
const { applied } = await installInto(db, { exampleApp: true });
await db.runScript(
  `INSERT INTO app_user (exh_user, sync_calendar, sync_contact, sync_email, sync_task) VALUES ${users
    .map((user) => `('${user}', true, true, true, true)`)
    .join(', ')};`,
);
await db.close();
logging.logger.action({ applied }, `Demo database ready (PGlite in memory) with users ${users.join(', ')}`);
logging.logger.info(
  `Watch the live log: telnet 127.0.0.1 ${logPort}  (type e, w, a or m and Enter to filter). Ctrl-C stops.`,
);

const runtime = startRuntime({ config, logging, db });
const stop = () => void runtime.stop();
process.once('SIGINT', stop);
process.once('SIGTERM', stop);
const { exitCode } = await runtime.done;
await instance.close();
process.exit(exitCode);
