import { describe, type ExhError, errors } from '../errors.js';

/**
 * A request to Exchange that got no HTTP answer (DNS, refused or reset connections, certificates) → the catalogue's
 * error, the same for every backend (EWS, Microsoft Graph): only the URL names where it was going.
 */

const tlsCodes =
  /^(CERT_|UNABLE_TO_(GET|VERIFY|DECRYPT)|DEPTH_ZERO_SELF_SIGNED_CERT|SELF_SIGNED_CERT_IN_CHAIN|ERR_TLS_|ERR_SSL_|EPROTO$|HOSTNAME_MISMATCH)/;

/** A request that got no HTTP answer: DNS, refused or reset connections, certificates. */
export function fromNetworkError(cause: unknown, context: { url: string }): ExhError {
  const code = (cause as NodeJS.ErrnoException | undefined)?.code ?? '';
  const host = safeHost(context.url);
  if (tlsCodes.test(code)) return errors.exchangeTls(context.url, cause);
  if (code === 'ENOTFOUND' || code === 'EAI_AGAIN' || code === 'EAI_NONAME') {
    return errors.exchangeUnavailable(context.url, `DNS cannot resolve ${host} (${code})`, cause);
  }
  if (code === 'ECONNREFUSED') return errors.exchangeUnavailable(context.url, `${host} refused the connection`, cause);
  return errors.exchangeUnavailable(context.url, describe(cause), cause);
}

function safeHost(url: string): string {
  try {
    return new URL(url).host;
  } catch {
    return url;
  }
}
