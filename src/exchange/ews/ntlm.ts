import http, { type ClientRequest, type IncomingMessage } from 'node:http';
import https from 'node:https';
import { createRequire } from 'node:module';
import type { Socket } from 'node:net';
import { errors } from '../../errors.js';

/**
 * NTLM for the transport (Windows integrated authentication, the norm for Exchange on premises). NTLM authenticates
 * the TCP connection, not the request: Type 1 (negotiate) → 401 with the server's Type 2 (challenge) → Type 3
 * (authenticate) with the real request, on the same socket; later requests on that socket carry no header at all.
 * So each connection here is its own keep-alive agent with a single socket, used by one request at a time; a
 * connection whose socket closed is dropped, and the next request opens (and authenticates) another.
 *
 * The messages are httpntlm's (CommonJS without types, hence createRequire): it answers a challenge that asks for
 * extended session security and carries target info, as Exchange's does, with NTLMv2.
 */

interface Challenge {
  serverChallenge: Buffer;
  negotiateFlags: number;
  targetInfo?: Buffer;
}

interface HttpNtlm {
  createType1Message(options: { domain: string; workstation: string }): string;
  parseType2Message(header: string, onError: (error: Error) => void): Challenge | null;
  createType3Message(
    challenge: Challenge,
    options: { username: string; password: string; domain: string; workstation: string },
  ): string;
}

const require = createRequire(import.meta.url);
const ntlm = require('httpntlm/ntlm.js') as HttpNtlm;

export interface NtlmCredentials {
  user: string;
  /** NetBIOS domain; empty for a UPN. */
  domain: string;
  password: string;
}

/**
 * `DOMAIN\user` is the domain and the account name; `user@domain` (a UPN) is sent whole with an empty domain, as
 * Windows does: the part before the @ need not be the account name (sAMAccountName), and the domain controller
 * resolves the UPN itself.
 */
export function ntlmCredentials(account: string, password: string): NtlmCredentials {
  const slash = account.indexOf('\\');
  if (slash < 0) return { user: account, domain: '', password };
  return { user: account.slice(slash + 1), domain: account.slice(0, slash), password };
}

/** The token of an `NTLM <base64>` challenge among the WWW-Authenticate values (Node joins repeated lines). */
export function challengeToken(header: string | string[] | undefined): string | undefined {
  const value = Array.isArray(header) ? header.join(', ') : (header ?? '');
  return /(?:^|,)\s*NTLM\s+([A-Za-z0-9+/]+=*)\s*(?:,|$)/i.exec(value)?.[1];
}

function offersNtlm(header: string | string[] | undefined): boolean {
  const value = Array.isArray(header) ? header.join(', ') : (header ?? '');
  return /(?:^|,)\s*NTLM\b/i.test(value);
}

/** One request of the handshake as the transport sent it. */
export interface Sent {
  request: ClientRequest;
  response: IncomingMessage;
  /** Reads the answer to its end and throws it away, so that the socket can carry the next request. */
  discard(): Promise<void>;
}

/** Sends one request over `agent`, with this Authorization header (none when undefined). */
export type Send<T extends Sent> = (agent: http.Agent, authorization: string | undefined, body: string) => Promise<T>;

interface Connection {
  origin: string;
  agent: http.Agent;
  /** The socket that completed the handshake; undefined until then and once it closes. */
  socket: Socket | undefined;
  busy: boolean;
}

export class NtlmConnections {
  readonly #connections = new Set<Connection>();
  readonly #credentials: NtlmCredentials;
  readonly #ignoreSsl: boolean;

  constructor(credentials: NtlmCredentials, ignoreSsl: boolean) {
    this.#credentials = credentials;
    this.#ignoreSsl = ignoreSsl;
  }

  /**
   * Sends one request on an authenticated connection to the URL's origin, with a handshake when the connection has
   * none yet, or when Exchange answers 401 on one that had (it forgot it: a restart, a balancer that moved it); the
   * handshake is tried once. Resolves with the answer to the request itself (a 401 if the credentials are wrong).
   */
  async start<T extends Sent>(url: URL, body: string, send: Send<T>): Promise<T> {
    const connection = this.#acquire(url);
    try {
      const sent = await this.#run(connection, url, body, send);
      sent.request.once('close', () => this.#release(connection));
      return sent;
    } catch (error) {
      this.#release(connection);
      throw error;
    }
  }

  async #run<T extends Sent>(connection: Connection, url: URL, body: string, send: Send<T>): Promise<T> {
    if (connection.socket) {
      const sent = await send(connection.agent, undefined, body);
      if (sent.response.statusCode !== 401 || !offersNtlm(sent.response.headers['www-authenticate'])) return sent;
      connection.socket = undefined;
      await sent.discard();
    }
    const negotiate = await send(
      connection.agent,
      ntlm.createType1Message({ domain: this.#credentials.domain, workstation: '' }),
      '',
    );
    const token = challengeToken(negotiate.response.headers['www-authenticate']);
    const socket = negotiate.request.socket;
    await negotiate.discard();
    // No challenge: this server does not ask for NTLM here; the request's own answer says what it does want.
    if (negotiate.response.statusCode !== 401 || !token || !socket) return send(connection.agent, undefined, body);
    const sent = await send(connection.agent, this.#type3(url, token), body);
    if (sent.response.statusCode === 401 && sent.request.socket !== socket) {
      sent.request.destroy();
      throw errors.exchangeUnavailable(
        url.href,
        'the connection closed between the NTLM challenge and the answer to it; NTLM needs the connection kept open ' +
          '(a proxy or load balancer in between must keep client connections on one server connection)',
      );
    }
    if (sent.response.statusCode !== 401) this.#authenticated(connection, socket);
    return sent;
  }

  #type3(url: URL, token: string): string {
    let problem: Error | undefined;
    const challenge = ntlm.parseType2Message(`NTLM ${token}`, (error) => {
      problem = error;
    });
    if (!challenge) {
      throw errors.exchangeRequestFailed(url.href, 'NTLM', `the server's NTLM challenge cannot be read (${problem})`);
    }
    const { user, domain, password } = this.#credentials;
    return ntlm.createType3Message(challenge, { username: user, password, domain, workstation: '' });
  }

  #authenticated(connection: Connection, socket: Socket): void {
    connection.socket = socket;
    socket.once('close', () => {
      if (connection.socket !== socket) return;
      connection.socket = undefined;
      if (!connection.busy) this.#drop(connection);
    });
  }

  /** An idle connection to the origin that is authenticated, or a new one. */
  #acquire(url: URL): Connection {
    for (const connection of this.#connections) {
      if (connection.busy || connection.origin !== url.origin || !connection.socket) continue;
      if (connection.socket.destroyed) continue;
      connection.busy = true;
      return connection;
    }
    const options = { keepAlive: true, maxSockets: 1 };
    const agent =
      url.protocol === 'https:'
        ? new https.Agent({ ...options, rejectUnauthorized: !this.#ignoreSsl })
        : new http.Agent(options);
    const connection: Connection = { origin: url.origin, agent, socket: undefined, busy: true };
    this.#connections.add(connection);
    return connection;
  }

  #release(connection: Connection): void {
    connection.busy = false;
    if (!connection.socket || connection.socket.destroyed) this.#drop(connection);
  }

  #drop(connection: Connection): void {
    this.#connections.delete(connection);
    connection.agent.destroy();
  }

  /** Closes every connection. */
  close(): void {
    for (const connection of [...this.#connections]) this.#drop(connection);
  }
}
