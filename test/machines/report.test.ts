import { describe, expect, it } from 'vitest';
import { serializeError } from '../../machines/report.js';
import { errorCatalogue, errors } from '../../src/errors.js';

/** serializeError: what a machine keeps of an error in its context, and decides from (docs/architecture.md). */
describe('serializeError', () => {
  it('keeps a coded error’s code, message and retryable flag, and nothing else (no cause, no details)', () => {
    const error = errors.listenerFailed('http', '127.0.0.1', 8080, new Error('EADDRINUSE'));
    const serialized = serializeError(error);
    expect(serialized).toEqual({ code: 'EXH_LISTENER_FAILED', message: error.message, retryable: false });
    // Plain data: the snapshot persists and prints as it is.
    expect(JSON.parse(JSON.stringify(serialized))).toEqual(serialized);
  });

  it('carries the pause Exchange asked for, from the error itself or from its details', () => {
    expect(serializeError(errors.exchangeThrottled('https://x.test/EWS', 2_500))).toEqual({
      code: 'EXH_EXCHANGE_THROTTLED',
      message: expect.stringContaining('2500 ms'),
      retryable: true,
      backOffMs: 2_500,
    });
    expect(serializeError({ code: 'EXH_EXCHANGE_UNAVAILABLE', message: 'm', retryable: true, backOffMs: 700 })).toEqual(
      { code: 'EXH_EXCHANGE_UNAVAILABLE', message: 'm', retryable: true, backOffMs: 700 },
    );
    // Asked for no pause: no backOffMs key at all; a pause that is not a number is not one.
    expect(serializeError(errors.exchangeThrottled('https://x.test/EWS', undefined))).not.toHaveProperty('backOffMs');
    expect(serializeError({ code: 'X', message: 'm', details: { backOffMs: '5' } })).not.toHaveProperty('backOffMs');
  });

  it('is retryable only when the error says so with true (a serialized error passes through unchanged)', () => {
    const once = serializeError(errors.exchangeUnavailable('https://x.test/EWS', 'down'));
    expect(once.retryable).toBe(true);
    expect(serializeError(once)).toEqual(once);
    expect(serializeError({ code: 'X', message: 'm', retryable: 'yes' }).retryable).toBe(false);
    expect(serializeError({ code: 42, message: 7 })).toEqual({ code: '42', message: '7', retryable: false });
  });

  it('makes anything uncoded an EXH_INTERNAL (a bug), keeping an Error’s message or the thing as text', () => {
    const internal = { code: 'EXH_INTERNAL', retryable: errorCatalogue.EXH_INTERNAL.retryable };
    expect(serializeError(new TypeError('x is undefined'))).toEqual({ ...internal, message: 'x is undefined' });
    expect(serializeError('boom')).toEqual({ ...internal, message: 'boom' });
    expect(serializeError(null)).toEqual({ ...internal, message: 'null' });
    expect(serializeError(undefined)).toEqual({ ...internal, message: 'undefined' });
    // An object with a code but no message is not a coded error.
    expect(serializeError({ code: 'EXH_X' })).toEqual({ ...internal, message: '[object Object]' });
  });
});
