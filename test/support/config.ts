import type { RunningEmulator } from '../../src/emulator/index.js';

/**
 * The configuration (as written in a file, before the schema's defaults) of a connector under test: the emulator as
 * its Exchange, the given database, every listener on a free port or off (parallel test files never meet on a
 * default port), JSON logs. `listeners`, `sync` and the rest are merged over these.
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
  return {
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
      database: { port: 0, ...listeners.database },
      http: { enabled: false, ...listeners.http },
    },
    log: { level: 'debug', format: 'json' },
    ...rest,
  };
}
