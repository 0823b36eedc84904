import { createLogging } from '../../src/logging/logger.js';

/** A logger whose records the test reads back: each JSON line parsed into `records`, from `level` up (default info). */
export function recordingLogger(level?: string) {
  const records: Array<Record<string, unknown>> = [];
  const { logger } = createLogging({
    ...(level === undefined ? {} : { level }),
    format: 'json',
    stdout: { write: (line: string) => void records.push(JSON.parse(line)) },
  });
  return { logger, records };
}
