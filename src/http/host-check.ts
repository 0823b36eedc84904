import { isIP } from 'node:net';

/**
 * Whether a request's `Host` names this connector, against DNS rebinding (docs/dashboard.md, "Who may ask"): a page
 * on evil.example whose name is made to resolve to 127.0.0.1 reaches the listener, but its requests still carry
 * `Host: evil.example`. Allowed: an IP address (a rebinding page cannot make its Host one), `localhost` and its
 * subdomains, and the names in `listeners.http.allowedHosts` (`*` allows every name, for a proxy that checks it).
 * A request without Host (HTTP/1.0) cannot come from a browser and is allowed.
 */
export function hostAllowed(host: string | undefined, allowedHosts: readonly string[]): boolean {
  if (host === undefined || host === '') return true;
  const name = hostname(host);
  if (name === undefined) return false;
  if (isIP(name) !== 0) return true;
  if (name === 'localhost' || name.endsWith('.localhost')) return true;
  return allowedHosts.some((allowed) => allowed === '*' || allowed.toLowerCase() === name);
}

/** The name of a Host header without its port: `[::1]:8080` → `::1`, `Exh.Example:80` → `exh.example`. */
function hostname(host: string): string | undefined {
  const text = host.trim().toLowerCase();
  const bracketed = /^\[([0-9a-f:.]+)\](?::\d+)?$/.exec(text);
  if (bracketed) return bracketed[1];
  const named = /^([a-z0-9.-]+?)\.?(?::\d+)?$/.exec(text);
  return named?.[1];
}
