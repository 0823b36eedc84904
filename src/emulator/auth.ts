import { timingSafeEqual } from 'node:crypto';
import type { Core } from './context.js';
import { SoapFault } from './soap/response-codes.js';
import type { Mailbox } from './store/mailbox.js';
import { child, text, type XmlNode } from './xml/node.js';

/**
 * Basic authentication and impersonation as Exchange applies them: the service account and every mailbox owner log
 * on with the emulator's password; only the service account may impersonate (when it holds the right), through the
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
