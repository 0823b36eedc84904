import { timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';
import type { Core } from './context.js';
import { createChallenge, messageType, parseAuthenticate, verifyNtlmV2 } from './ntlm.js';
import { SoapFault } from './soap/response-codes.js';
import type { Mailbox } from './store/mailbox.js';
import { child, text, type XmlNode } from './xml/node.js';

/**
 * Authentication and impersonation as Exchange applies them: the service account and every mailbox owner log on with
 * the emulator's password, by Basic (every request) or NTLM (once per TCP connection, as IIS's Windows
 * authentication); only the service account may impersonate (when it holds the right), through the
 * ExchangeImpersonation header; X-AnchorMailbox must name a mailbox that exists.
 */

function same(a: string, b: string): boolean {
  const left = Buffer.from(a);
  const right = Buffer.from(b);
  return left.length === right.length && timingSafeEqual(left, right);
}

/** The account a Basic Authorization header proves, or undefined. */
export function authenticate(core: Core, header: string | undefined): string | undefined {
  const match = /^Basic\s+([A-Za-z0-9+/=]+)\s*$/i.exec(header ?? '');
  if (!match?.[1]) return undefined;
  const decoded = Buffer.from(match[1], 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon < 0) return undefined;
  // DOMAIN\user and user@domain both name an account; the emulator knows accounts by SMTP address.
  const user = decoded.slice(0, colon).replace(/^.*\\/, '').trim().toLowerCase();
  const password = decoded.slice(colon + 1);
  if (!same(password, core.settings.password)) return undefined;
  if (user === core.settings.serviceAccount.toLowerCase() || core.store.get(user)) return user;
  return undefined;
}

/** What a 401 offers when a request brings no credentials, or wrong ones (IIS sends one header line per scheme). */
const authOffer = ['Basic realm="exh emulator"', 'NTLM'];

export type LogOn = { account: string } | { wwwAuthenticate: string | string[] };

/**
 * NTLM authenticates the connection, not the request: the challenge sent on a socket is the one its Type 3 must
 * answer, and a socket that answered it acts as that account until it closes (later requests carry no header).
 */
type NtlmState = { challenge: Buffer } | { account: string };
const connections = new WeakMap<Socket, NtlmState>();

function serverNames(core: Core) {
  const dnsDomain = core.settings.serviceAccount.split('@')[1] ?? 'contoso.test';
  const netbiosDomain = (dnsDomain.split('.')[0] ?? dnsDomain).toUpperCase().slice(0, 15);
  return { dnsDomain, netbiosDomain, computer: 'EXH-EMULATOR' };
}

/**
 * The account an NTLM user name stands for: a UPN (`alice@contoso.test`, domain empty) as it is; `CONTOSO\alice` by
 * its local part, when the domain is the NetBIOS name or the DNS name of the account's domain.
 */
function ntlmAccount(core: Core, user: string, domain: string): string | undefined {
  const name = user.trim().toLowerCase();
  const accounts = [core.settings.serviceAccount.toLowerCase(), ...core.store.list().map((m) => m.address)];
  if (name.includes('@')) return accounts.includes(name) ? name : undefined;
  const given = domain.trim().toLowerCase();
  const matches = accounts.filter((account) => {
    const [local, dns = ''] = account.split('@');
    return local === name && (given === '' || given === dns || given === dns.split('.')[0]);
  });
  return matches.length === 1 ? matches[0] : undefined;
}

/** EWS and Autodiscover: who the request acts as (Basic, or the connection's NTLM logon), else what the 401 says. */
export function logOn(core: Core, request: IncomingMessage): LogOn {
  const header = request.headers.authorization?.trim() ?? '';
  const socket = request.socket;
  if (/^Basic\s/i.test(header)) {
    const account = authenticate(core, header);
    return account ? { account } : { wwwAuthenticate: authOffer };
  }
  const token = /^NTLM\s+([A-Za-z0-9+/=]+)$/i.exec(header)?.[1];
  if (token) {
    const message = Buffer.from(token, 'base64');
    const state = connections.get(socket);
    connections.delete(socket);
    if (messageType(message) === 1) {
      const { challenge, message: type2 } = createChallenge(serverNames(core), core.now());
      connections.set(socket, { challenge });
      core.log.debug({ remotePort: socket.remotePort }, 'NTLM challenge');
      return { wwwAuthenticate: `NTLM ${type2.toString('base64')}` };
    }
    const answer = parseAuthenticate(message);
    const account = answer && ntlmAccount(core, answer.user, answer.domain);
    if (!answer || !account || !state || !('challenge' in state)) return { wwwAuthenticate: authOffer };
    if (!verifyNtlmV2(answer, state.challenge, core.settings.password)) {
      core.log.debug({ account }, 'NTLM logon refused');
      return { wwwAuthenticate: authOffer };
    }
    connections.set(socket, { account });
    core.log.debug({ account, remotePort: socket.remotePort }, 'NTLM logon');
    return { account };
  }
  const state = header ? undefined : connections.get(socket);
  return state && 'account' in state ? { account: state.account } : { wwwAuthenticate: authOffer };
}

/** The mailbox a request acts on: the impersonated user's, or the caller's own. Faults as Exchange raises them. */
export function effectiveMailbox(core: Core, account: string, header: XmlNode | undefined): Mailbox {
  const impersonation = child(header, 'ExchangeImpersonation');
  if (impersonation) {
    const sid = child(impersonation, 'ConnectingSID');
    const target = text(sid, 'SmtpAddress') ?? text(sid, 'PrimarySmtpAddress') ?? text(sid, 'PrincipalName');
    if (!target?.trim()) {
      throw new SoapFault(
        'ErrorInvalidExchangeImpersonationHeaderData',
        'The impersonation header names no user (SmtpAddress, PrimarySmtpAddress or PrincipalName).',
      );
    }
    if (account !== core.settings.serviceAccount.toLowerCase() || !core.settings.impersonationAllowed) {
      throw new SoapFault('ErrorImpersonateUserDenied');
    }
    const mailbox = core.store.get(target);
    if (!mailbox)
      throw new SoapFault(
        'ErrorNonExistentMailbox',
        `The SMTP address has no mailbox associated with it: ${target.trim()}`,
      );
    return mailbox;
  }
  const own = core.store.get(account);
  if (!own)
    throw new SoapFault('ErrorNonExistentMailbox', `The SMTP address has no mailbox associated with it: ${account}`);
  return own;
}

/** The mailbox X-AnchorMailbox routes to (defaults to the effective mailbox). */
export function anchorMailbox(core: Core, header: string | undefined, fallback: Mailbox): Mailbox {
  if (!header?.trim()) return fallback;
  const mailbox = core.store.get(header.trim());
  if (!mailbox) throw new SoapFault('ErrorNonExistentMailbox', `X-AnchorMailbox names no mailbox: ${header.trim()}`);
  return mailbox;
}
