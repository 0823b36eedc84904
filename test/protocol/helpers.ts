import { connect, type Socket } from 'node:net';
import { createLogging } from '../../src/logging/logger.js';
import type { DatabaseRequest } from '../../src/protocol/messages.js';
import type { Reply } from '../../src/protocol/replies.js';

export const token = 'test-token-0123456789abcdef';

/** A logger whose records the test can read (JSON lines). */
export function recordingLogger() {
  const lines: string[] = [];
  const { logger } = createLogging({ level: 'debug', format: 'json', stdout: { write: (line) => lines.push(line) } });
  return { logger, records: () => lines.map((line) => JSON.parse(line) as Record<string, unknown>), lines };
}

/** A handler that records what it was called with and answers with `answer`. */
export function recordingHandler(answer: (request: DatabaseRequest) => Promise<Reply> | Reply = () => ok()) {
  const calls: Array<{ request: DatabaseRequest; remoteAddress: string }> = [];
  const handle = async (request: DatabaseRequest, context: { remoteAddress: string }) => {
    calls.push({ request, remoteAddress: context.remoteAddress });
    return answer(request);
  };
  return { handle, calls };
}

function ok(): Reply {
  return { exitCode: 0, outputValue: 'done', errorMessage: null };
}

/** Everything a raw client received until the server closed the connection. */
export interface RawExchange {
  socket: Socket;
  /** Resolves with the bytes received once the connection is closed. */
  closed: Promise<string>;
}

/** A raw TCP client, for what a well-behaved sender would never send. */
export async function rawClient(port: number): Promise<RawExchange> {
  const socket = connect({ host: '127.0.0.1', port });
  const chunks: Buffer[] = [];
  socket.on('data', (chunk: Buffer) => chunks.push(chunk));
  // The server may reset a connection that still sends; the bytes received so far still count.
  socket.on('error', () => {});
  const closed = new Promise<string>((resolve) =>
    socket.once('close', () => resolve(Buffer.concat(chunks).toString('utf8'))),
  );
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', resolve);
    socket.once('error', reject);
  });
  return { socket, closed };
}

/** The one reply line a raw exchange got. */
export function replyOf(received: string): Reply {
  const lines = received.split('\n');
  if (lines.length !== 2 || lines[1] !== '')
    throw new Error(`expected exactly one reply line, got ${JSON.stringify(received)}`);
  return JSON.parse(lines[0] as string) as Reply;
}
