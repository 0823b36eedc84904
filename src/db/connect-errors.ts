import { type ExhError, errors } from '../errors.js';

/**
 * Why a connection could not be made, decided by each adapter from its driver's error (pg, mssql/tedious, ibm_db)
 * and turned into the catalogue here, so that every database type says the same cause with the same code and fix
 * (docs/operations.md, "Error codes").
 */
export type ConnectFailure =
  | 'databaseNotFound'
  | 'loginFailed'
  | 'hostUnknown'
  | 'connectionRefused'
  | 'tlsRequired'
  | 'tlsFailed'
  | 'unreachable';

/**
 * The adapter's own wording where the fix depends on the database type: which connection-string keys turn TLS on or
 * name the trusted CA, and what else a "no such database" can mean there.
 */
export interface ConnectFixes {
  tlsRequired: string;
  tlsFailed: string;
  databaseNotFound?: string;
}

export function connectError(failure: ConnectFailure, target: string, cause: unknown, fixes: ConnectFixes): ExhError {
  switch (failure) {
    case 'databaseNotFound':
      return errors.databaseNotFound(target, cause, fixes.databaseNotFound);
    case 'loginFailed':
      return errors.databaseLoginFailed(target, cause);
    case 'hostUnknown':
      return errors.databaseHostUnknown(target, cause);
    case 'connectionRefused':
      return errors.databaseConnectionRefused(target, cause);
    case 'tlsRequired':
      return errors.databaseTlsRequired(target, fixes.tlsRequired, cause);
    case 'tlsFailed':
      return errors.databaseTlsFailed(target, fixes.tlsFailed, cause);
    case 'unreachable':
      return errors.databaseUnreachable(target, cause);
  }
}

/**
 * Every error in a driver's chain: the error, its `cause`, mssql's `originalError` and the members of an
 * AggregateError (Node reports each address it tried: IPv6 and IPv4 of `localhost`).
 */
export function errorChain(error: unknown): unknown[] {
  const seen: unknown[] = [];
  const visit = (value: unknown) => {
    if (value === null || value === undefined || seen.includes(value) || seen.length > 32) return;
    seen.push(value);
    if (typeof value !== 'object') return;
    const {
      cause,
      originalError,
      errors: members,
    } = value as {
      cause?: unknown;
      originalError?: unknown;
      errors?: unknown;
    };
    visit(cause);
    visit(originalError);
    if (Array.isArray(members)) for (const member of members) visit(member);
  };
  visit(error);
  return seen;
}

/** The string `code`s anywhere in the chain (ENOTFOUND, ECONNREFUSED, a SQLSTATE, ELOGIN, ...). */
export function chainCodes(error: unknown): Set<string> {
  const codes = new Set<string>();
  for (const value of errorChain(error)) {
    const code = (value as { code?: unknown } | null)?.code;
    if (typeof code === 'string') codes.add(code);
  }
  return codes;
}

/** The messages anywhere in the chain, joined: for the drivers that say the cause only in words. */
export function chainText(error: unknown): string {
  return errorChain(error)
    .map((value) => (value instanceof Error ? value.message : typeof value === 'string' ? value : ''))
    .join('\n');
}

/** getaddrinfo: no such name (ENOTFOUND, EAI_NONAME) or no answer from DNS for now (EAI_AGAIN). */
const hostUnknownCodes = ['ENOTFOUND', 'EAI_AGAIN', 'EAI_NONAME', 'EAI_FAIL'];
/** Node's TLS verification codes: the server's certificate is not trusted, expired, or names another host. */
const certificateCodes = [
  'SELF_SIGNED_CERT_IN_CHAIN',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'CERT_HAS_EXPIRED',
  'CERT_NOT_YET_VALID',
  'CERT_UNTRUSTED',
  'ERR_TLS_CERT_ALTNAME_INVALID',
];

/**
 * What Node's own socket and TLS errors say, wherever they sit in the chain; undefined when they say nothing
 * particular (a time-out, an unreachable network: the generic EXH_DB_UNREACHABLE).
 */
export function socketFailure(error: unknown): ConnectFailure | undefined {
  const codes = chainCodes(error);
  if (hostUnknownCodes.some((code) => codes.has(code))) return 'hostUnknown';
  if (certificateCodes.some((code) => codes.has(code)) || [...codes].some((code) => code.startsWith('ERR_SSL_'))) {
    return 'tlsFailed';
  }
  if (codes.has('ECONNREFUSED')) return 'connectionRefused';
  return undefined;
}
