import { describe, expect, it } from 'vitest';
import { type ConnectFailure, chainCodes, connectError, socketFailure } from '../../src/db/connect-errors.js';

const fixes = {
  tlsRequired: 'Turn TLS on.',
  tlsFailed: 'Trust the CA.',
  databaseNotFound: 'Or the login lacks a user.',
};

describe('connectError', () => {
  it('gives each cause its own code', () => {
    const codes: Record<ConnectFailure, string> = {
      databaseNotFound: 'EXH_DB_DATABASE_NOT_FOUND',
      loginFailed: 'EXH_DB_LOGIN_FAILED',
      hostUnknown: 'EXH_DB_HOST_UNKNOWN',
      connectionRefused: 'EXH_DB_CONNECTION_REFUSED',
      tlsRequired: 'EXH_DB_TLS_REQUIRED',
      tlsFailed: 'EXH_DB_TLS_FAILED',
      unreachable: 'EXH_DB_UNREACHABLE',
    };
    for (const [failure, code] of Object.entries(codes)) {
      const error = connectError(failure as ConnectFailure, 'db://h/app', new Error('x'), fixes);
      expect(error.code).toBe(code);
      expect(error.details).toEqual({ target: 'db://h/app' });
      expect(error.cause).toBeInstanceOf(Error);
    }
  });

  it("adds the adapter's own fixes where the database types differ", () => {
    expect(connectError('tlsRequired', 't', new Error('x'), fixes).message).toContain('. Turn TLS on');
    expect(connectError('tlsFailed', 't', new Error('x'), fixes).message).toContain('. Trust the CA');
    expect(connectError('databaseNotFound', 't', new Error('x'), fixes).message).toContain(
      '. Or the login lacks a user',
    );
  });
});

describe('socketFailure', () => {
  const socket = (code: string) => Object.assign(new Error(code), { code });

  it("reads Node's codes anywhere in the chain: cause, mssql's originalError, AggregateError members", () => {
    expect(socketFailure(new Error('outer', { cause: socket('ENOTFOUND') }))).toBe('hostUnknown');
    expect(socketFailure(Object.assign(new Error('mssql'), { originalError: socket('EAI_AGAIN') }))).toBe(
      'hostUnknown',
    );
    expect(socketFailure(new AggregateError([socket('ETIMEDOUT'), socket('ECONNREFUSED')], ''))).toBe(
      'connectionRefused',
    );
    expect(socketFailure(socket('CERT_HAS_EXPIRED'))).toBe('tlsFailed');
    expect(socketFailure(socket('ETIMEDOUT'))).toBeUndefined();
  });

  it('stops at a cycle', () => {
    const a: Error & { cause?: unknown } = socket('ECONNRESET');
    a.cause = new Error('b', { cause: a });
    expect([...chainCodes(a)]).toEqual(['ECONNRESET']);
  });
});
