import { execFile } from 'node:child_process';
import { afterAll, beforeAll } from 'vitest';
import { createLogging } from '../../src/logging/logger.js';
import { type DatabaseListener, startDatabaseListener } from '../../src/protocol/listener.js';
import type { DatabaseRequest } from '../../src/protocol/messages.js';
import type { Reply } from '../../src/protocol/replies.js';
import { exhBin } from '../support/exh-process.js';

/** `exh …` run to its end; stdout kept as bytes (an attachment may be anything). */
export function exh(args: string[]): Promise<{ code: number; stdout: Buffer; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [exhBin, ...args],
      { encoding: 'buffer', maxBuffer: 64 * 1024 * 1024 },
      (error, stdout, stderr) => {
        const code = error ? Number((error as { code?: unknown }).code ?? 1) : 0;
        resolve({ code, stdout, stderr: stderr.toString('utf8') });
      },
    );
  });
}

/** The reply a client prints on stdout, one JSON line. */
export const reply = (stdout: Buffer) => JSON.parse(stdout.toString('utf8'));

/**
 * The real database listener (framing, token, validation) for the tests of a block, on a free port, answering each
 * request with `answer` and keeping it in `received`; `flags()` are the client flags that reach it.
 */
export function useDatabaseListener(token: string, answer: (request: DatabaseRequest) => Reply) {
  const received: DatabaseRequest[] = [];
  let listener: DatabaseListener | undefined;
  beforeAll(async () => {
    listener = await startDatabaseListener({
      host: '127.0.0.1',
      port: 0,
      token,
      logger: createLogging({ stdout: { write: () => {} } }).logger,
      handle: async (request) => {
        received.push(request);
        return answer(request);
      },
    });
  });
  afterAll(() => listener?.close());
  const flags = () => ['--host', '127.0.0.1', '--port', String(listener?.address.port), '--token', token];
  return { received, flags };
}
