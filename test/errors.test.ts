import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { type ErrorCode, errorCatalogue, errors } from '../src/errors.js';

/** The catalogue of coded errors (src/errors.ts) and its documentation. */
describe('the error catalogue', () => {
  const operations = readFileSync(new URL('../docs/operations.md', import.meta.url), 'utf8');
  const databaseCodes = Object.keys(errorCatalogue).filter((code) => code.startsWith('EXH_DB_')) as ErrorCode[];

  it('lists every database code in the error table of docs/operations.md, with what it means and what to do', () => {
    for (const code of databaseCodes) {
      const row = operations.split('\n').find((line) => line.startsWith(`| \`${code}\` |`));
      expect(row, `${code} has no row in docs/operations.md`).toBeDefined();
      const [meaning, fix] = (row ?? '').split('|').slice(2, 4);
      expect(meaning?.trim().length, `${code}: what it means`).toBeGreaterThan(10);
      expect(fix?.trim().length, `${code}: what to do`).toBeGreaterThan(5);
    }
  });

  it('retries every cause of a failed connection: each can be fixed while the connector waits', () => {
    const connectCodes: ErrorCode[] = [
      'EXH_DB_UNREACHABLE',
      'EXH_DB_DATABASE_NOT_FOUND',
      'EXH_DB_LOGIN_FAILED',
      'EXH_DB_HOST_UNKNOWN',
      'EXH_DB_CONNECTION_REFUSED',
      'EXH_DB_TLS_REQUIRED',
      'EXH_DB_TLS_FAILED',
    ];
    for (const code of [...connectCodes, 'EXH_DB_POOL_EXHAUSTED' as const]) {
      expect(errorCatalogue[code].retryable, code).toBe(true);
    }
  });

  it('names the cause and the fix in each message of a failed connection, never the generic "host, port, firewall"', () => {
    const cause = Object.assign(new Error('database "app" does not exist'), { code: '3D000' });
    const target = 'postgres://exh@db:5432/app';
    const cases: Array<[ReturnType<typeof errors.databaseUnreachable>, RegExp]> = [
      [errors.databaseNotFound(target, cause), /does not exist \(3D000\)\. Create the database .*exh db install/],
      [errors.databaseLoginFailed(target, cause), /refused the login: .*Check the user and password/],
      [errors.databaseHostUnknown(target, cause), /cannot be resolved: .*Check the host/],
      [errors.databaseConnectionRefused(target, cause), /Nothing accepts connections at .*server is running/],
      [errors.databaseTlsRequired(target, 'Add sslmode=require.', cause), /no unencrypted connection.*sslmode=require/],
      [errors.databaseTlsFailed(target, 'Name the CA.', cause), /No TLS connection.*Name the CA/],
      [
        errors.databasePoolExhausted(target, 4, 10_000, cause),
        /All 4 connections .*10000 ms.*not lost.*database\.poolSize/,
      ],
    ];
    for (const [error, expected] of cases) {
      expect(error.message).toMatch(expected);
      expect(error.message).toContain(target);
      if (error.code !== 'EXH_DB_UNREACHABLE') expect(error.message).not.toMatch(/firewall\)/);
    }
  });
});
