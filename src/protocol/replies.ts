import { z } from 'zod';
import { describe, type ErrorCode, isExhError } from '../errors.js';

/**
 * The reply to every request, the original's three values (docs/protocol.md, "Replies"): `exitCode` (0 ok, 1 general
 * error, 521 connector offline, 522 connecting to Exchange failed), `outputValue` (the Exchange item id, base64
 * bytes, …) and `errorMessage`.
 */
export const exitCodes = { ok: 0, error: 1, connectorOffline: 521, exchangeFailed: 522 } as const;
export type ExitCode = (typeof exitCodes)[keyof typeof exitCodes];

export const replySchema = z.strictObject({
  exitCode: z.union([z.literal(0), z.literal(1), z.literal(521), z.literal(522)]),
  outputValue: z.string().nullable(),
  errorMessage: z.string().nullable(),
});
export type Reply = z.infer<typeof replySchema>;

export function ok(outputValue: string | null = null): Reply {
  return { exitCode: 0, outputValue, errorMessage: null };
}

export function failure(errorMessage: string, exitCode: Exclude<ExitCode, 0> = 1): Reply {
  return { exitCode, outputValue: null, errorMessage };
}

/** Errors that mean "the connector cannot serve now" (exit code 521, docs/protocol.md "Replies"). */
const offlineCodes: ReadonlySet<ErrorCode> = new Set<ErrorCode>([
  'EXH_CONNECTOR_OFFLINE',
  'EXH_DB_UNREACHABLE',
  // The causes EXH_DB_UNREACHABLE was split into (docs/operations.md); all mean "no database for now".
  'EXH_DB_DATABASE_NOT_FOUND',
  'EXH_DB_HOST_UNKNOWN',
  'EXH_DB_CONNECTION_REFUSED',
  'EXH_DB_TLS_REQUIRED',
  'EXH_DB_TLS_FAILED',
  'EXH_DB_CONNECTION_LOST',
  'EXH_DB_LOGIN_FAILED',
  // Every database connection busy: try again later, as for a connector that cannot serve now.
  'EXH_DB_POOL_EXHAUSTED',
  'EXH_POOL_ABORTED',
  'EXH_LISTENER_BUSY',
  // Several instances: the instance holding the user's lease did not answer the request handed on to it.
  'EXH_CLUSTER_HOLDER_UNREACHABLE',
]);

/** Errors that mean "Exchange could not be reached or would not serve now" (exit code 522). */
const exchangeCodes: ReadonlySet<ErrorCode> = new Set<ErrorCode>([
  'EXH_EXCHANGE_UNAVAILABLE',
  'EXH_EXCHANGE_TIMEOUT',
  'EXH_EXCHANGE_AUTODISCOVER_FAILED',
  'EXH_EXCHANGE_TLS',
  'EXH_EXCHANGE_AUTH_FAILED',
  'EXH_EXCHANGE_THROTTLED',
  'EXH_EXCHANGE_MAILBOX_MOVING',
  'EXH_MAILBOX_NOT_CONNECTED',
  // Several instances: the mailbox is between instances (none holds it yet, or it moved), as when it is starting.
  'EXH_CLUSTER_NO_HOLDER',
  'EXH_CLUSTER_OWNER_MOVED',
  // The lease ended while the request was handled: nothing was written, the new holder takes it.
  'EXH_CLUSTER_LEASE_LOST',
]);

/**
 * The reply for an error thrown while handling a request (mapping in docs/protocol.md). Everything not listed —
 * refusals by Exchange for this item (not the organizer, unknown item, access denied), procedure failures, bugs —
 * is the general error 1. The message is the error's own, which names the cause and the fix.
 */
export function replyForError(error: unknown): Reply {
  if (isExhError(error)) {
    if (offlineCodes.has(error.code)) return failure(error.message, 521);
    if (exchangeCodes.has(error.code)) return failure(error.message, 522);
    return failure(error.message, 1);
  }
  return failure(describe(error), 1);
}
