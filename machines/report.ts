import { errorCatalogue } from '../src/errors.js';
import type { Category } from '../src/logging/logger.js';

/**
 * What a machine wants said about itself. Machines stay free of I/O: they name a `report` action with these params,
 * and the composition root (src/runtime.ts) provides the implementation that writes the log record.
 */
export interface Report {
  category: Category;
  /** A stable dot-case name for what happened, e.g. `database.lost`. */
  event: string;
  message: string;
  /** When a retry is scheduled: in how many milliseconds (the logger turns it into a clock time). */
  retryInMs?: number;
  error?: SerializedError | null;
  [key: string]: unknown;
}

/** Errors in machine context are plain data, so snapshots persist and print. */
export interface SerializedError {
  code: string;
  message: string;
  retryable: boolean;
  /** The pause Exchange asked for before the next request, when it asked for one. */
  backOffMs?: number;
}

export function serializeError(error: unknown): SerializedError {
  if (error !== null && typeof error === 'object' && 'code' in error && 'message' in error) {
    const e = error as { code: unknown; message: unknown; retryable?: unknown; backOffMs?: unknown; details?: unknown };
    const serialized: SerializedError = {
      code: String(e.code),
      message: String(e.message),
      retryable: e.retryable === true,
    };
    const backOffMs = e.backOffMs ?? (e.details as { backOffMs?: unknown } | undefined)?.backOffMs;
    if (typeof backOffMs === 'number') serialized.backOffMs = backOffMs;
    return serialized;
  }
  // Not coded: a bug (src/errors.ts, EXH_INTERNAL).
  return {
    code: 'EXH_INTERNAL',
    message: error instanceof Error ? error.message : String(error),
    retryable: errorCatalogue.EXH_INTERNAL.retryable,
  };
}
