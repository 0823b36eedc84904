import type { Server } from 'node:net';
import type { ExhLogger } from '../logging/logger.js';

/**
 * A listening server emits 'error' when it cannot accept a connection (EMFILE: out of file descriptors). fastify
 * removes its own listener once listening, and an 'error' without a listener ends the process, so every listener
 * the connector runs keeps one: the refused connection is logged as W and the server goes on listening
 * (docs/reliability.md, "No error ends the process").
 */
export function keepServing(server: Server, log: ExhLogger, listener: string): void {
  server.on('error', (error: NodeJS.ErrnoException) => {
    log.warn(
      { event: 'listener.error', listener, err: error },
      `The ${listener} listener could not take a connection (${error.code ?? error.message}); it goes on listening`,
    );
  });
}
