import { join } from 'node:path';
import { type DestinationStream, type Logger, pino } from 'pino';
import { formatRecord } from './format.js';
import { LogHub } from './log-hub.js';
import { redactSecrets } from './redact.js';

/**
 * Every record has a category, the original's letters (docs/operations.md, "Watching the log"): Error, Warning,
 * Action (a change synchronised, a subscription made, a state reached), Message (everything else). The category
 * follows from the level, so callers pick it by calling log.error / log.warn / log.action / log.info (or debug).
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

export interface LoggerOptions {
  level?: string;
  /** json: pino JSON lines; pretty: the log feed's one-line form; auto: pretty when stdout is a TTY. */
  format?: 'json' | 'pretty' | 'auto';
  /** Where stdout records go (tests pass their own). */
  stdout?: DestinationStream;
  isTTY?: boolean;
  /** Also append every record as a JSON line to this file (created with its folders; log.file). */
  file?: string;
  /** false: records go to the file only, not to stdout (log.stdout; only with `file`). */
  toStdout?: boolean;
}

export interface Logging {
  logger: ExhLogger;
  /** Fan-out of every record to the log feed's clients. */
  hub: LogHub;
  /** Opens log.file again (after logrotate moved it: SIGHUP); nothing without a file. */
  reopen(): void;
}

export function createLogging(options: LoggerOptions = {}): Logging {
  const hub = new LogHub();
  // Synchronous, so that nothing is lost when the process exits right after a record (a fatal error, a signal).
  const ownStdout = options.stdout ? undefined : pino.destination({ dest: 1, sync: true });
  const stdout: DestinationStream = options.stdout ?? (ownStdout as DestinationStream);
  const isTTY = options.isTTY ?? process.stdout.isTTY === true;
  const pretty = options.format === 'pretty' || ((options.format ?? 'auto') === 'auto' && isTTY);
  const console: DestinationStream = pretty ? { write: (line: string) => stdout.write(prettyLine(line)) } : stdout;
  const level = options.level ?? 'info';
  // Synchronous for the same reason as stdout; the file always gets JSON lines, whatever the terminal shows.
  const file = options.file
    ? pino.destination({ dest: options.file, sync: true, mkdir: true, append: true })
    : undefined;
  const toConsole = !file || options.toStdout !== false;
  const logger = pino(
    {
      level,
      customLevels,
      base: undefined,
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: {
        level: (_label, number) => ({ level: number, cat: categoryOfLevel(number) }),
        // Secrets in a record's fields are masked by the logger's configuration. Child-logger bindings skip pino's
        // formatters, which is one more reason they carry only `actor`, `user` and `itemType` (never untrusted objects).
        log: (fields) => redactSecrets(fields),
      },
    },
    pino.multistream(
      [
        ...(toConsole ? [{ stream: console, level: level as pino.Level }] : []),
        ...(file ? [{ stream: file, level: level as pino.Level }] : []),
        // The feed gets every record the logger lets through; a client filters by category itself.
        { stream: hub, level: 'debug' },
        ...testLogStreams(),
      ],
      // Without the custom level, multistream would not know `action` and drop every record at that level.
      { levels: { ...pino.levels.values, ...customLevels } },
    ),
  ) as ExhLogger;
  if (ownStdout) reportFailures(ownStdout, 'stdout', logger);
  if (file) reportFailures(file, `log.file ${options.file}`, logger);
  return { logger, hub, reopen: () => file?.reopen() };
}

/** Environment variable of exh's own test suite (test/support/global-setup.ts); never set in production. */
export const testLogDirVariable = 'EXH_TEST_LOG_DIR';
let testLog: DestinationStream | undefined;

/**
 * Test-only: while EXH_TEST_LOG_DIR names a folder, every record of every logger of this process is also appended
 * to `<folder>/log-<pid>.jsonl`, so that the test run can scan the logs of the whole suite, child processes
 * included, for the secrets its tests used (docs/reliability.md, "Bad input"). Unset, nothing changes. One file per
 * process, opened once, written synchronously: a test that exits at once loses nothing.
 */
function testLogStreams(): pino.StreamEntry[] {
  const folder = process.env[testLogDirVariable];
  if (!folder) return [];
  testLog ??= pino.destination({
    dest: join(folder, `log-${process.pid}.jsonl`),
    sync: true,
    mkdir: true,
    append: true,
  });
  return [{ stream: testLog, level: 'trace' }];
}

function prettyLine(line: string): string {
  try {
    return `${formatRecord(JSON.parse(line))}\n`;
  } catch {
    return line;
  }
}

/**
 * A destination that cannot be written (a full disk, a closed stdout) emits 'error'; without a listener that would
 * throw into whichever call logged, or end the process. Its records are lost instead, and the other destinations
 * (stdout or the file, and the log feed) say so once, until a write to it succeeds again.
 */
function reportFailures(stream: ReturnType<typeof pino.destination>, name: string, logger: ExhLogger): void {
  let failing = false;
  stream.on('error', (error: Error) => {
    if (failing) return;
    failing = true;
    logger.error(
      { err: error },
      `The log cannot be written to ${name}: ${error.message}; its records are lost until it can`,
    );
  });
  stream.on('write', () => {
    failing = false;
  });
}
