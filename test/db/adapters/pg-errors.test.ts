import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { classifyPgConnectError, isPgConnectionError, isPgPoolWait } from '../../../src/db/adapters/pg-errors.js';

/**
 * pg's errors as pg builds them: a server's ErrorResponse becomes pg.DatabaseError with the SQLSTATE in `code` (set
 * after construction, as pg-protocol's parser does). The causes the server here cannot produce are tested this way;
 * postgres.test.ts has the ones it can (missing database, unknown role, host, refused port, TLS not offered).
 */
function serverError(code: string, message: string): pg.DatabaseError {
  const error = new pg.DatabaseError(message, message.length, 'error');
  Object.assign(error, { code, severity: 'FATAL' });
  return error;
}

describe('classifyPgConnectError', () => {
  it('a pg_hba.conf without a rule for unencrypted connections from this host: tlsRequired', () => {
    const error = serverError(
      '28000',
      'no pg_hba.conf entry for host "10.1.2.3", user "exh", database "app", no encryption',
    );
    expect(classifyPgConnectError(error)).toBe('tlsRequired');
    // PostgreSQL 11 and earlier said "SSL off".
    const older = serverError('28000', 'no pg_hba.conf entry for host "10.1.2.3", user "exh", database "app", SSL off');
    expect(classifyPgConnectError(older)).toBe('tlsRequired');
  });

  it('the same rejection of a TLS connection, a wrong password and an explicit reject: loginFailed', () => {
    const encrypted = serverError(
      '28000',
      'no pg_hba.conf entry for host "10.1.2.3", user "exh", database "app", SSL encryption',
    );
    expect(classifyPgConnectError(encrypted)).toBe('loginFailed');
    expect(classifyPgConnectError(serverError('28P01', 'password authentication failed for user "exh"'))).toBe(
      'loginFailed',
    );
    expect(
      classifyPgConnectError(serverError('28000', 'pg_hba.conf rejects connection for host "10.1.2.3", user "exh"')),
    ).toBe('loginFailed');
  });

  it('a missing database (3D000), DNS failures, a refused port and a distrusted certificate', () => {
    expect(classifyPgConnectError(serverError('3D000', 'database "app" does not exist'))).toBe('databaseNotFound');
    const dns = Object.assign(new Error('getaddrinfo EAI_AGAIN db.contoso.local'), { code: 'EAI_AGAIN' });
    expect(classifyPgConnectError(dns)).toBe('hostUnknown');
    // Node tries every address of a name (IPv6, then IPv4) and reports them together.
    const refused = new AggregateError(
      [
        Object.assign(new Error('connect ECONNREFUSED ::1:5432'), { code: 'ECONNREFUSED' }),
        Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED' }),
      ],
      '',
    );
    expect(classifyPgConnectError(refused)).toBe('connectionRefused');
    const certificate = Object.assign(new Error('self-signed certificate in certificate chain'), {
      code: 'SELF_SIGNED_CERT_IN_CHAIN',
    });
    expect(classifyPgConnectError(certificate)).toBe('tlsFailed');
    expect(classifyPgConnectError(new Error('Connection terminated due to connection timeout'))).toBe('unreachable');
  });
});

describe('the pool-wait time-out', () => {
  const waited = new Error('timeout exceeded when trying to connect');

  it('is back-pressure: not a connection error, so no caller reports the database lost', () => {
    expect(isPgPoolWait(waited)).toBe(true);
    expect(isPgConnectionError(waited)).toBe(false);
    // A new connection that cannot be made is still a loss.
    expect(isPgConnectionError(new Error('Connection terminated due to connection timeout'))).toBe(true);
    expect(isPgPoolWait(new Error('Connection terminated due to connection timeout'))).toBe(false);
  });
});

describe("pg's query time-out", () => {
  it('is a lost connection: the server may still commit a page sent as one script, so no item-by-item retry runs beside it', () => {
    expect(isPgConnectionError(new Error('Query read timeout'))).toBe(true);
  });
});
