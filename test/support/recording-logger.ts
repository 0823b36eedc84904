import { createLogging } from '../../src/logging/logger.js';

/**
 * A logger whose records the test reads back: each JSON line parsed into `records` (typed `R` as the test knows
 * them), from `level` up (default info).
 */
export function recordingLogger<R = Record<string, unknown>>(level?: string) {
  const records: R[] = [];
  const { logger } = createLogging({
    ...(level === undefined ? {} : { level }),
    format: 'json',
    stdout: { write: (line: string) => void records.push(JSON.parse(line) as R) },
  });
  return { logger, records };
}
