import { afterAll } from 'vitest';
import { type EmulatorOptions, type RunningEmulator, startEmulator } from '../../../emulator/index.js';
import { type Config, configSchema } from '../../../src/config/schema.js';
import { createEwsExchange, type EwsExchange, type EwsExchangeDeps } from '../../../src/exchange/ews/index.js';
import { ExchangePool } from '../../../src/pool/exchange-pool.js';
import type { CallOptions, ExchangeItem, MailboxConnection } from '../../../src/ports/exchange.port.js';
import { ewsSchema, schemaChecks } from '../../support/ews-schema.js';
import { recordingLogger } from '../../support/recording-logger.js';

/**
 * Each test file runs the project's Exchange emulator over real HTTP on a free port, with response validation on
 * (afterAll checks that everything it sent validates against messages.xsd), and the EWS adapter pointed at it.
 */

export const alice = 'alice@contoso.test';
export const bob = 'bob@contoso.test';

export async function startTestEmulator(options: EmulatorOptions = {}): Promise<RunningEmulator> {
  const emulator = await startEmulator({
    port: 0,
    // Recording needs no schema (tests count the operations sent); only checking reads it.
    validateResponses: true,
    ...(ewsSchema ? { schemaDirectory: ewsSchema } : {}),
    ...options,
  });
  afterAll(async () => {
    try {
      if (schemaChecks) await emulator.admin.validateResponses();
    } finally {
      await emulator.close();
    }
  });
  return emulator;
}

export type LogRecord = { level: number; cat: string; msg: string; [key: string]: unknown };

export interface TestAdapter {
  exchange: EwsExchange;
  pool: ExchangePool;
  records: LogRecord[];
  config: Config['exchange'];
  connect(user?: string): Promise<MailboxConnection>;
}

export function exchangeConfig(emulator: RunningEmulator, overrides: Partial<Config['exchange']> = {}) {
  return configSchema.parse({
    database: { type: 'pglite' },
    exchange: {
      staticEwsUrl: emulator.url,
      impersonationUser: emulator.serviceAccount,
      impersonationPassword: emulator.password,
      timeoutMs: 5_000,
      ...overrides,
    },
  }).exchange;
}

/** The adapter against the emulator; closed (with its pool) after the file. */
export function testAdapter(
  emulator: RunningEmulator,
  overrides: Partial<Config['exchange']> = {},
  extra: Partial<Omit<EwsExchangeDeps, 'exchange' | 'pool' | 'logger'>> & { concurrency?: number } = {},
): TestAdapter {
  const { logger, records } = recordingLogger<LogRecord>('debug');
  const config = exchangeConfig(emulator, overrides);
  const pool = new ExchangePool(extra.concurrency ?? config.concurrency);
  const exchange = createEwsExchange({ exchange: config, pool, logger, ...extra });
  afterAll(async () => {
    exchange.close();
    await pool.close();
  });
  return {
    exchange,
    pool,
    records,
    config,
    connect: (user = alice) => exchange.connect(user, live()),
  };
}

/**
 * A series in the emulator, weekly on Mondays at 09:00 UTC for `minutes`, four times from `day` (a Monday,
 * YYYY-MM-DD), and its four occurrences.
 */
export function weeklySeries(emulator: RunningEmulator, user: string, subject: string, day: string, minutes = 60) {
  const start = Date.parse(`${day}T09:00:00Z`);
  const master = emulator.admin.createItem(user, {
    kind: 'CalendarItem',
    Subject: subject,
    Start: `${day}T09:00:00Z`,
    End: new Date(start + minutes * 60_000).toISOString().replace('.000Z', 'Z'),
    Recurrence: {
      WeeklyRecurrence: { Interval: 1, DaysOfWeek: 'Monday' },
      NumberedRecurrence: { StartDate: day, NumberOfOccurrences: 4 },
    },
  });
  if (!master) throw new Error('no master');
  const until = new Date(start + 28 * 86_400_000).toISOString();
  return { master, occurrences: emulator.admin.occurrences(user, master.id, `${day}T00:00:00Z`, until) };
}

/** Call options of a caller that never stops. */
export function live(signal: AbortSignal = new AbortController().signal): CallOptions {
  return { signal, priority: 'live' };
}

/** The sample contact every contact test writes or reads, as the port's properties (src/items/contact.ts). */
export const janVanDijk = {
  displayName: 'Jan van Dijk',
  givenName: 'Jan',
  middleName: 'van',
  surname: 'Dijk',
  initials: 'J.v.D.',
  nickname: 'Jantje',
  company: 'Thinkwise',
  department: 'R&D',
  jobTitle: 'Developer',
  email1: 'jan@work.test',
  email2: 'jan@home.test',
  email3: 'jan@club.test',
  businessPhone: '+31 55 1',
  homePhone: '+31 55 2',
  mobilePhone: '+31 6 3',
  businessFax: '+31 55 9',
  'businessAddress.street': 'Street 1',
  'businessAddress.city': 'Apeldoorn',
  'businessAddress.state': 'GD',
  'businessAddress.postalCode': '7300 AA',
  'businessAddress.country': 'NL',
  'homeAddress.street': 'Home 2',
  'homeAddress.city': 'Deventer',
  'homeAddress.state': 'OV',
  'homeAddress.postalCode': '7400 BB',
  'homeAddress.country': 'NL',
  birthday: '1980-05-17',
  body: 'Met at the conference.',
  categories: ['VIP'],
  fileAs: 'Dijk, Jan',
} satisfies ExchangeItem['properties'];
