import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { type ErrorCode, ExhError, errorCatalogue, errors } from '../../src/errors.js';
import { failure, ok, replyForError, replySchema } from '../../src/protocol/replies.js';

describe('replyForError', () => {
  it.each([
    ['EXH_EXCHANGE_UNAVAILABLE', errors.exchangeUnavailable('u', 'down'), 522],
    ['EXH_EXCHANGE_TIMEOUT', errors.exchangeTimeout('u', 5), 522],
    ['EXH_EXCHANGE_AUTODISCOVER_FAILED', errors.autodiscoverFailed('a@b.test', []), 522],
    ['EXH_EXCHANGE_TLS', errors.exchangeTls('u', new Error('self-signed')), 522],
    ['EXH_EXCHANGE_AUTH_FAILED', errors.exchangeAuthFailed('u', 'svc'), 522],
    ['EXH_EXCHANGE_THROTTLED', errors.exchangeThrottled('u', 100), 522],
    ['EXH_CONNECTOR_OFFLINE', errors.connectorOffline('stopping'), 521],
    ['EXH_DB_UNREACHABLE', errors.databaseUnreachable('pg', new Error('refused')), 521],
    ['EXH_DB_POOL_EXHAUSTED', errors.databasePoolExhausted('pg', 10, 10_000, new Error('timeout')), 521],
    ['EXH_POOL_ABORTED', errors.poolAborted(), 521],
    ['EXH_EXCHANGE_ITEM_NOT_FOUND', errors.itemNotFound('a@b.test', 'I'), 1],
    ['EXH_EXCHANGE_IMPERSONATION_DENIED', errors.impersonationDenied('a@b.test', 'svc', 'ErrorAccessDenied'), 1],
    ['EXH_DB_PROCEDURE_FAILED', errors.procedureFailed('exh_get_item_task', new Error('boom')), 1],
  ])('%s → %i', (code, error, exitCode) => {
    expect(error.code).toBe(code);
    expect(replyForError(error)).toEqual({ exitCode, outputValue: null, errorMessage: error.message });
  });

  it('gives the message of anything else with exit code 1', () => {
    expect(replyForError('plain text')).toEqual({ exitCode: 1, outputValue: null, errorMessage: 'plain text' });
  });
});

describe('the reply schema', () => {
  it('takes what ok and failure build, and only the four exit codes, with no other key', () => {
    expect(replySchema.parse(ok('AAMk='))).toEqual({ exitCode: 0, outputValue: 'AAMk=', errorMessage: null });
    expect(replySchema.parse(ok())).toEqual({ exitCode: 0, outputValue: null, errorMessage: null });
    expect(replySchema.parse(failure('offline', 521))).toEqual({
      exitCode: 521,
      outputValue: null,
      errorMessage: 'offline',
    });
    expect(failure('refused').exitCode).toBe(1);
    expect(replySchema.safeParse({ exitCode: 2, outputValue: null, errorMessage: 'x' }).success).toBe(false);
    expect(replySchema.safeParse({ ...ok(), extra: 1 }).success).toBe(false);
  });
});

describe('docs/protocol.md, "Replies"', () => {
  const doc = readFileSync(new URL('../../docs/protocol.md', import.meta.url), 'utf8');

  it('lists every error code that is not exit code 1 in its row of the mapping table', () => {
    for (const exitCode of [521, 522]) {
      const row = doc.split('\n').find((line) => line.startsWith(`| ${exitCode} `)) ?? '';
      const documented = new Set(row.match(/EXH_[A-Z_]+/g));
      const mapped = Object.keys(errorCatalogue).filter(
        (code) => replyForError(new ExhError(code as ErrorCode, 'm', false)).exitCode === exitCode,
      );
      expect([...documented].sort(), `the ${exitCode} row`).toEqual(mapped.sort());
    }
  });
});
