import { connect as connectTcp, isIP, type Socket } from 'node:net';
import { connect as connectTls } from 'node:tls';
import { describe } from '../errors.js';
import type { WireRequest } from './messages.js';
import { failure, type Reply, replySchema } from './replies.js';

/**
 * A sender in TypeScript, doing what the database's senders do (docs/protocol.md): connect, write one JSON line, read
 * one reply line. Like the seed's senders it never throws: a connector that cannot be reached is exit code 521.
 */

export interface ListenerTarget {
  host: string;
  port: number;
  /** Speak TLS; `ca` trusts a self-signed certificate, `rejectUnauthorized: false` trusts any (tests only). */
  tls?: { ca?: string | Buffer; servername?: string; rejectUnauthorized?: boolean };
}

export const offlineMessage = 'The Exchange Connector is offline';
/** Larger replies (an attachment as base64) than this are not read to the end. */
const maxReplyBytes = 64 * 1024 * 1024;

export function sendRequest(
  target: ListenerTarget,
  request: WireRequest,
  options: { timeoutMs: number },
): Promise<Reply> {
  return new Promise<Reply>((resolve) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let connected = false;
    let settled = false;
    const settle = (reply: Reply) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      resolve(reply);
    };

    const socket: Socket = target.tls
      ? connectTls({
          host: target.host,
          port: target.port,
          // SNI carries host names only (RFC 6066); for an address, name the certificate's host in tls.servername.
          ...(isIP(target.host) === 0 ? { servername: target.host } : {}),
          ...target.tls,
        })
      : connectTcp({ host: target.host, port: target.port });
    const timer = setTimeout(
      () =>
        settle(
          connected
            ? failure(`No reply from the Exchange Connector at ${where(target)} within ${options.timeoutMs} ms.`)
            : failure(`${offlineMessage}: no connection to ${where(target)} within ${options.timeoutMs} ms.`, 521),
        ),
      options.timeoutMs,
    );

    socket.once(target.tls ? 'secureConnect' : 'connect', () => {
      connected = true;
      socket.write(`${JSON.stringify(request)}\n`);
    });
    socket.on('data', (chunk: Buffer) => {
      const end = chunk.indexOf(0x0a);
      chunks.push(end < 0 ? chunk : chunk.subarray(0, end));
      size += end < 0 ? chunk.length : end;
      if (end >= 0) settle(parseReply(Buffer.concat(chunks, size)));
      else if (size > maxReplyBytes) settle(failure(`The reply is larger than ${maxReplyBytes} bytes.`));
    });
    socket.on('error', (error) =>
      settle(
        connected
          ? failure(`The connection to the Exchange Connector at ${where(target)} failed: ${describe(error)}.`)
          : failure(`${offlineMessage}: cannot connect to ${where(target)} (${describe(error)}).`, 521),
      ),
    );
    socket.on('close', () =>
      settle(failure(`The Exchange Connector at ${where(target)} closed the connection without a reply.`)),
    );
  });
}

function parseReply(line: Buffer): Reply {
  try {
    const result = replySchema.safeParse(JSON.parse(line.toString('utf8')));
    if (result.success) return result.data;
  } catch {
    // Reported below, as for a reply of the wrong shape.
  }
  return failure('The Exchange Connector sent a reply that is not {exitCode, outputValue, errorMessage}.');
}

function where(target: ListenerTarget): string {
  return `${target.host}:${target.port}`;
}
