import { type DestinationStream, type Logger, pino } from 'pino';
import { formatRecord } from './format.js';
import { LogHub } from './log-hub.js';

/**
 * Every record has a category, the seed's letters: Error, Warning, Action (a change synchronised, a subscription
 * made, a state reached), Message (everything else). The category follows from the level, so callers pick it by
 * calling log.error / log.warn / log.action / log.info (or debug).
 */
export type Category = 'E' | 'W' | 'A' | 'M';
export const categories: readonly Category[] = ['E', 'W', 'A', 'M'];

/** `action` sits between info and warn, so `level: info` shows actions and `level: warn` hides them. */
export const customLevels = { action: 35 } as const;
export type ExhLogger = Logger<'action'>;

export function categoryOfLevel(level: number): Category {
  if (level >= 50) return 'E';
  if (level >= 40) return 'W';
  if (level >= customLevels.action) return 'A';
  return 'M';
}

/** Keys that never reach a log line, wherever they appear in a record's first two levels. */
const secretKeys = ['password', 'impersonationPassword', 'token', 'adminToken', 'oauthToken', 'connectionString'];
export const redactPaths = secretKeys.flatMap((key) => [key, `*.${key}`, `*.*.${key}`]);

export interface LoggerOptions {
  level?: string;
  /** json: pino JSON lines; pretty: the log feed's one-line form; auto: pretty when stdout is a TTY. */
  format?: 'json' | 'pretty' | 'auto';
  /** Where stdout records go (tests pass their own). */
  stdout?: DestinationStream;
  isTTY?: boolean;
}

export interface Logging {
  logger: ExhLogger;
  /** Fan-out of every record to the log feed's clients. */
  hub: LogHub;
}

export function createLogging(options: LoggerOptions = {}): Logging {
  const hub = new LogHub();
  // Synchronous, so that nothing is lost when the process exits right after a record (a fatal error, a signal).
  const stdout = options.stdout ?? pino.destination({ dest: 1, sync: true });
  const isTTY = options.isTTY ?? process.stdout.isTTY === true;
  const pretty = options.format === 'pretty' || ((options.format ?? 'auto') === 'auto' && isTTY);
  const console: DestinationStream = pretty ? { write: (line: string) => stdout.write(prettyLine(line)) } : stdout;
  const level = options.level ?? 'info';
  const logger = pino(
    {
      level,
      customLevels,
      redact: { paths: redactPaths, censor: '***' },
      base: undefined,
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: {
        level: (_label, number) => ({ level: number, cat: categoryOfLevel(number) }),
      },
    },
    pino.multistream([
      { stream: console, level: level as pino.Level },
      // The feed sees every record from `debug` up whatever stdout shows; a client filters by category itself.
      { stream: hub, level: 'debug' },
    ]),
  ) as ExhLogger;
  return { logger, hub };
}

function prettyLine(line: string): string {
  try {
    return `${formatRecord(JSON.parse(line))}\n`;
  } catch {
    return line;
  }
}
