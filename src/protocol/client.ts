import { connect as connectTcp, isIP, type Socket } from 'node:net';
import { connect as connectTls, type PeerCertificate } from 'node:tls';
import { describe } from '../errors.js';
import type { SyncItemsProgress } from '../ports/control.port.js';
import type { WireRequest } from './messages.js';
import { failure, type Reply, replySchema } from './replies.js';

/**
 * A sender in TypeScript, doing what the database's senders do (docs/protocol.md): connect, write one JSON line, read
 * one reply line. Like every sender it never throws: a connector that cannot be reached is exit code 521
 * (docs/senders.md, "What every sender does alike").
 */

export interface ListenerTarget {
  host: string;
  port: number;
  /** Speak TLS; `ca` trusts a self-signed certificate, `rejectUnauthorized: false` trusts any (tests only). */
  tls?: {
    ca?: string | Buffer;
    servername?: string;
    rejectUnauthorized?: boolean;
    /** Instances of a cluster forwarding to each other check the certificate they share, not a host name. */
    checkServerIdentity?: (host: string, cert: PeerCertificate) => Error | undefined;
  };
}

export const offlineMessage = 'The Exchange Connector is offline';
/** Larger replies (an attachment as base64) than this are not read to the end. */
const maxReplyBytes = 64 * 1024 * 1024;

export interface SendOptions {
  timeoutMs: number;
  /** How long the connection may take (at most timeoutMs); default timeoutMs. The reply then has timeoutMs. */
  connectTimeoutMs?: number;
  /**
   * Called for each `{"progress": {...}}` line the connector writes before its reply (a syncItems request with
   * `"progress": true`, docs/protocol.md). Each such line also restarts the time-out: a long resync that reports
   * progress is not cut off.
   */
  onProgress?: (progress: SyncItemsProgress) => void;
}

export function sendRequest(target: ListenerTarget, request: WireRequest, options: SendOptions): Promise<Reply> {
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
    const expire = () =>
      settle(
        connected
          ? failure(`No reply from the Exchange Connector at ${where(target)} within ${options.timeoutMs} ms.`)
          : failure(`${offlineMessage}: no connection to ${where(target)} within ${connectTimeoutMs} ms.`, 521),
      );
    const connectTimeoutMs = Math.min(options.connectTimeoutMs ?? options.timeoutMs, options.timeoutMs);
    let timer = setTimeout(expire, connectTimeoutMs);

    socket.once(target.tls ? 'secureConnect' : 'connect', () => {
      connected = true;
      if (connectTimeoutMs !== options.timeoutMs) {
        clearTimeout(timer);
        timer = setTimeout(expire, options.timeoutMs);
      }
      // The token first: the listener then authenticates the connection before the rest of a large request arrives.
      const { token, ...rest } = request;
      socket.write(`${JSON.stringify({ token, ...rest })}\n`);
    });
    socket.on('data', (data: Buffer) => {
      let chunk = data;
      for (let end = chunk.indexOf(0x0a); end >= 0 && !settled; end = chunk.indexOf(0x0a)) {
        chunks.push(chunk.subarray(0, end));
        const line = Buffer.concat(chunks, size + end);
        chunks.length = 0;
        size = 0;
        chunk = chunk.subarray(end + 1);
        const progress = options.onProgress ? progressOf(line) : undefined;
        if (!progress) return settle(parseReply(line));
        options.onProgress?.(progress);
        clearTimeout(timer);
        timer = setTimeout(expire, options.timeoutMs);
      }
      chunks.push(chunk);
      size += chunk.length;
      if (size > maxReplyBytes) settle(failure(`The reply is larger than ${maxReplyBytes} bytes.`));
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

/**
 * Several instances (docs/senders.md, "Several instances"): the request goes to the first target that accepts the
 * connection, in order; a target that does not (exit code 521 before connecting) gives way to the next. Once
 * connected, its reply is the answer whatever it says: the request may have been handled. All unreachable → 521
 * naming each.
 */
export async function sendRequestToAny(
  targets: readonly ListenerTarget[],
  request: WireRequest,
  options: SendOptions,
): Promise<Reply> {
  const problems: string[] = [];
  // Like the database's senders, a host that does not answer gives way after 10 s when there are others to try.
  const connectTimeoutMs = targets.length > 1 ? Math.min(options.timeoutMs, 10_000) : options.timeoutMs;
  for (const target of targets) {
    const reply = await sendRequest(target, request, { connectTimeoutMs, ...options });
    if (!notConnected(reply)) return reply;
    problems.push((reply.errorMessage ?? '').slice(offlineMessage.length + 2));
  }
  if (problems.length === 1) return failure(`${offlineMessage}: ${problems[0]}`, 521);
  return failure(`${offlineMessage}: no instance accepted the connection: ${problems.join('; ')}`, 521);
}

/** Whether a reply says that no connection was made (nothing reached the connector). */
export function notConnected(reply: Reply): boolean {
  return reply.exitCode === 521 && reply.errorMessage?.startsWith(offlineMessage) === true;
}

/** A progress line, or undefined for anything else (which is then read as the reply). */
function progressOf(line: Buffer): SyncItemsProgress | undefined {
  try {
    const value = JSON.parse(line.toString('utf8')) as { progress?: unknown };
    const progress = value?.progress as Partial<SyncItemsProgress> | undefined;
    if (typeof progress?.user !== 'string' || typeof progress.itemType !== 'string') return undefined;
    if (typeof progress.done !== 'number') return undefined;
    return { ...progress, total: typeof progress.total === 'number' ? progress.total : null } as SyncItemsProgress;
  } catch {
    return undefined;
  }
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
