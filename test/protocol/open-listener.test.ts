import { describe, expect, it } from 'vitest';
import { isExhError } from '../../src/errors.js';
import { openDatabaseListener } from '../../src/protocol/open-listener.js';
import { recordingHandler, recordingLogger, token } from './helpers.js';

const options = () => ({
  host: '127.0.0.1',
  port: 0,
  token,
  handle: recordingHandler().handle,
  logger: recordingLogger().logger,
});

async function failure(promise: Promise<unknown>) {
  const error = await promise.then(
    () => undefined,
    (caught: unknown) => caught,
  );
  if (!isExhError(error)) throw new Error(`expected a coded error, got ${String(error)}`);
  return error;
}

describe('openDatabaseListener', () => {
  it('names the TLS key and the file it cannot read', async () => {
    const error = await failure(
      openDatabaseListener({
        ...options(),
        tls: { certFile: '/nonexistent/cert.pem', keyFile: '/nonexistent/key.pem' },
      }),
    );
    expect(error.code).toBe('EXH_LISTENER_TLS_UNREADABLE');
    expect(error.message).toContain('listeners.database.tls.certFile /nonexistent/cert.pem cannot be read');
  });

  it('names the listener, the address and the key to change when the port is taken', async () => {
    const first = await openDatabaseListener(options());
    try {
      const error = await failure(openDatabaseListener({ ...options(), port: first.address.port }));
      expect(error.code).toBe('EXH_LISTENER_FAILED');
      expect(error.message).toContain(`The database listener cannot listen on 127.0.0.1:${first.address.port}`);
      expect(error.message).toContain('listeners.database.port');
    } finally {
      await first.close();
    }
  });
});
