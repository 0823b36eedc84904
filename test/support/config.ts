import type { RunningEmulator } from '../../emulator/index.js';
import { registerConfigSecrets, testSecret } from './log-scan.js';

/**
 * The configuration (as written in a file, before the schema's defaults) of a connector under test: the emulator as
 * its Exchange, the given database, every listener on a free port or off (parallel test files never meet on a
 * default port), JSON logs. `listeners`, `sync` and the rest are merged over these. The database listener gets a
 * distinctive token unless the test names one, and every secret of the result is registered, so that the end of the
 * run can tell that none reached a log (test/support/log-scan.ts).
 */
export function testConfig(
  emulator: Pick<RunningEmulator, 'url' | 'serviceAccount' | 'password'>,
  database: Record<string, unknown>,
  overrides: {
    listeners?: Record<string, Record<string, unknown>>;
    exchange?: Record<string, unknown>;
    [key: string]: unknown;
  } = {},
): Record<string, unknown> {
  const { listeners = {}, exchange = {}, ...rest } = overrides;
  const token = listeners.database?.token ?? testSecret('listeners.database.token');
  const config = {
    database,
    exchange: {
      staticEwsUrl: emulator.url,
      impersonationUser: emulator.serviceAccount,
      impersonationPassword: emulator.password,
      ...exchange,
    },
    listeners: {
      log: { enabled: false, ...listeners.log },
      exchange: { host: '127.0.0.1', port: 0, ...listeners.exchange },
      graph: { host: '127.0.0.1', port: 0, ...listeners.graph },
      database: { port: 0, ...listeners.database, token },
      http: { enabled: false, ...listeners.http },
    },
    log: { level: 'debug', format: 'json' },
    ...rest,
  };
  registerConfigSecrets(config);
  return config;
}
