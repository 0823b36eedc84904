import { type ExhError, errors, isExhError } from '../../errors.js';
import { type ConnectFailure, type ConnectFixes, chainCodes, chainText, socketFailure } from '../connect-errors.js';

/**
 * Translates errors of PostgreSQL drivers (pg, PGlite) into the catalogue. Both report SQLSTATE in `code` and the
 * PL/pgSQL call stack in `where`; they differ only in how a lost connection looks (see isConnectionError in each).
 */

/** SQLSTATEs of objects that do not exist: function, table, column, type, schema. */
const undefinedObject = new Set(['42883', '42P01', '42703', '42704', '3F000']);

/** Node's socket errors and the server's "connection is going away" states. */
const connectionErrnos = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ECONNABORTED',
  'ETIMEDOUT',
  'EPIPE',
  'ENOTFOUND',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EAI_AGAIN',
]);
const connectionSqlStates = new Set(['57P01', '57P02', '57P03', '53300']);

export function errorCode(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : undefined;
}

/**
 * Why connecting failed, from what pg (or PGlite) threw. The server answers a missing database with 3D000 and a
 * refused login with class 28; "no pg_hba.conf entry … no encryption" (PostgreSQL 12 and later; "SSL off" before) is
 * class 28 too but means that no rule admits an unencrypted connection from this host, which TLS may fix.
 */
export function classifyPgConnectError(error: unknown): ConnectFailure {
  const codes = chainCodes(error);
  const text = chainText(error);
  if (codes.has('3D000')) return 'databaseNotFound';
  if (/no pg_hba\.conf entry for .*(no encryption|SSL off)/i.test(text)) return 'tlsRequired';
  if ([...codes].some((code) => /^28[0-9A-Z]{3}$/.test(code))) return 'loginFailed';
  // pg's own words when sslmode asks for TLS and the server has none.
  if (/server does not support SSL/i.test(text)) return 'tlsFailed';
  return socketFailure(error) ?? 'unreachable';
}

/** How to turn TLS on, or trust the server's certificate, in a postgres:// connection string. */
export const pgConnectFixes: ConnectFixes = {
  tlsRequired:
    'If the server requires TLS, add sslmode=require to database.connectionString (sslmode=verify-full with ' +
    "sslrootcert=FILE to check its certificate); otherwise ask its administrator for a pg_hba.conf entry for this host's address.",
  tlsFailed:
    'If the server has no TLS, remove sslmode (or ssl) from database.connectionString; if its certificate is not ' +
    'trusted, name its CA with sslrootcert=FILE (or NODE_EXTRA_CA_CERTS) and check that the host name matches it.',
};

/**
 * pg-pool's answer when every client stayed checked out for connectionTimeoutMillis: the pool is busy, the database
 * is not lost (a new client that cannot connect fails with the socket's error, or "Connection terminated due to
 * connection timeout", instead).
 */
export function isPgPoolWait(error: unknown): boolean {
  return error instanceof Error && error.message === 'timeout exceeded when trying to connect';
}

/** True for socket errors, SQLSTATE class 08 (connection exception) and administrator shutdowns. */
export function isPgConnectionError(error: unknown): boolean {
  if (isPgPoolWait(error)) return false;
  if (error instanceof AggregateError) return error.errors.some(isPgConnectionError) || hasConnectionCode(error);
  if (hasConnectionCode(error)) return true;
  const message = error instanceof Error ? error.message : '';
  // pg's query_timeout ("Query read timeout") gives up on the answer, not the statement: a page sent as one script
  // may still commit on the server, so the page must not be tried again item by item beside it (pg-page.ts). Like a
  // cut, the client is discarded and the database machine reconnects before anything is tried again.
  return /Connection terminated|connection error|not queryable|Client was closed|Cannot use a pool after calling end|Query read timeout/i.test(
    message,
  );
}

function hasConnectionCode(error: unknown): boolean {
  const code = errorCode(error);
  if (!code) return false;
  return connectionErrnos.has(code) || connectionSqlStates.has(code) || /^08[0-9A-Z]{3}$/.test(code);
}

/** The name in `relation "x" does not exist`, `type "x" does not exist`, `column "c" of relation "x" ...`. */
function missingObjectName(error: unknown): string | undefined {
  const message = error instanceof Error ? error.message : '';
  const column = /column "([^"]+)" of relation "([^"]+)"/.exec(message);
  if (column) return `${column[2]}.${column[1]}`;
  return /(?:relation|type|schema|column|function) "?([^"(\s]+)"?/.exec(message)?.[1];
}

export interface PgErrorContext {
  target: string;
  /** The object the statement used (the procedure called, the table written), named when it turns out missing. */
  object: string;
  isConnectionError: (error: unknown) => boolean;
}

/**
 * Deadlock, serialization failure, lock not available, statement cancelled: the database refused for now, not the row.
 * Retrying the whole page later is right; recording the item as failed would lose its change.
 */
const transientSqlStates = new Set(['40P01', '40001', '55P03', '57014']);

export function translatePgError(error: unknown, context: PgErrorContext): ExhError {
  if (isExhError(error)) return error;
  if (context.isConnectionError(error)) return errors.databaseConnectionLost(context.target, error);
  if (transientSqlStates.has(errorCode(error) ?? '')) return errors.databaseBusy(context.object, error);
  const code = errorCode(error);
  const where = (error as { where?: unknown } | null)?.where;
  // Raised inside a routine (the application's template uses a table that is not there): the routine's own failure.
  const insideRoutine = typeof where === 'string' && where.trim() !== '';
  if (code && undefinedObject.has(code) && !insideRoutine) {
    const name = code === '42883' ? context.object : (missingObjectName(error) ?? context.object);
    return errors.baseProjectMissing(name, error);
  }
  return errors.procedureFailed(context.object, error);
}

/** The fence check's refusal (pg-page.ts, fenceCheck: SQLSTATE EXH01): the caller turns it into EXH_CLUSTER_LEASE_LOST. */
export function isPgLeaseLost(error: unknown): boolean {
  return errorCode(error) === 'EXH01';
}

/** The page's last check (pg-page.ts, overtakenCheck: SQLSTATE EXH02): the caller turns it into EXH_SYNC_PAGE_OVERTAKEN. */
export function isPgOvertaken(error: unknown): boolean {
  return errorCode(error) === 'EXH02';
}
