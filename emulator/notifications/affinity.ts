import { createHash } from 'node:crypto';
import { serverOf } from '../autodiscover.js';
import type { Core } from '../context.js';
import type { Mailbox } from '../store/mailbox.js';

/**
 * Affinity of a group of subscriptions with one Mailbox server, as Exchange keeps it (docs/emulator.md, "Streaming
 * at scale"): a request with X-PreferServerAffinity: true and X-AnchorMailbox, and without a valid
 * X-BackEndOverrideCookie, gets one in its answer (Set-Cookie) naming the anchor's Mailbox server; a request that
 * brings the cookie is routed by it. The emulator is one server, so routing changes nothing but the
 * X-CalculatedBETarget it reports; what tests read is whether clients send the headers back (the request log).
 */

export interface AffinityHeaders {
  /** X-PreferServerAffinity was "true". */
  preferServerAffinity: boolean;
  /** The X-BackEndOverrideCookie the request brought (Cookie header). */
  backEndCookie: string | undefined;
}

/** X-BackEndOverrideCookie's value in a Cookie header. */
export function cookieOf(header: string | string[] | undefined): string | undefined {
  for (const line of Array.isArray(header) ? header : header ? [header] : []) {
    for (const part of line.split(';')) {
      const [name, ...value] = part.trim().split('=');
      if (name?.toLowerCase() === 'x-backendoverridecookie' && value.length > 0) return value.join('=');
    }
  }
  return undefined;
}

/** The server a cookie names, if the cookie is one the emulator could have given. */
function serverOfCookie(cookie: string | undefined): string | undefined {
  const [server, tag] = (cookie ?? '').split('~');
  return server && tag && tag === tagOf(server) ? server : undefined;
}

function tagOf(server: string): string {
  return String(createHash('sha256').update(server).digest().readUInt32BE(0));
}

/** The Mailbox server the request goes to, and the Set-Cookie its answer carries, if any. */
export function routeRequest(
  core: Core,
  anchor: Mailbox,
  anchorHeader: string | undefined,
  affinity: AffinityHeaders,
): { server: string; headers: Record<string, string> } {
  const cookieServer = affinity.preferServerAffinity ? serverOfCookie(affinity.backEndCookie) : undefined;
  if (cookieServer) return { server: cookieServer, headers: {} };
  const server = serverOf(anchor.address, core.settings.mailboxServers);
  if (!affinity.preferServerAffinity || !anchorHeader?.trim()) return { server, headers: {} };
  return {
    server,
    headers: { 'set-cookie': `X-BackEndOverrideCookie=${server}~${tagOf(server)}; path=/; secure; HttpOnly` },
  };
}
