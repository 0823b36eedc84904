import { errors, isExhError } from '../errors.js';
import type { ExchangePool } from '../pool/exchange-pool.js';
import type { CallOptions } from '../ports/exchange.port.js';

/**
 * Autodiscover v2 (docs/exchange-online.md, "Routing"): `GET {autodiscoverUrl}?Email=<user>&Protocol=EWS` answers
 * `{"Protocol": "EWS", "Url": "https://…/EWS/Exchange.asmx"}`. A URL on an Exchange Online host means the mailbox is
 * in the cloud, where app-only Graph reaches it; any other URL is an on-premises Exchange (a hybrid organisation's
 * mailbox that has not moved), which only EWS reaches, at that URL. Answers are cached per user for `ttlMs`;
 * `forget` drops one when its mailbox looks moved.
 */

/** Where a mailbox is served: Graph for Exchange Online, else EWS at the URL Autodiscover gave. */
export type MailboxLocation = { backend: 'graph'; url: string } | { backend: 'ews'; url: string };

/**
 * Exchange Online's EWS hosts, worldwide and in the national clouds (US Government GCC High and DoD, 21Vianet in
 * China, the former Microsoft Cloud Deutschland), and any host under outlook.com.
 */
const exchangeOnlineHosts = new Set([
  'outlook.office365.com',
  'outlook.office.com',
  'outlook.office365.us',
  'outlook-dod.office365.us',
  'partner.outlook.cn',
  'outlook.office.de',
]);

export function isExchangeOnline(url: string): boolean {
  let host: string;
  try {
    host = new URL(url).hostname.toLowerCase();
  } catch {
    return false;
  }
  return exchangeOnlineHosts.has(host) || host === 'outlook.com' || host.endsWith('.outlook.com');
}

export interface AutodiscoverV2Options {
  /** exchange.graph.autodiscoverUrl. */
  url: string;
  pool: ExchangePool;
  /** exchange.timeoutMs: an answer slower than this is a failure (retryable). */
  timeoutMs: number;
  /** How long an answer is used before asking again (default 24 hours). */
  ttlMs?: number;
  /** The clock of the cache (tests). */
  now?: () => number;
}

export const defaultAutodiscoverTtlMs = 24 * 60 * 60 * 1000;

export class AutodiscoverV2 {
  readonly #cache = new Map<string, { location: MailboxLocation; until: number }>();
  readonly #ttlMs: number;
  readonly #now: () => number;

  constructor(private readonly options: AutodiscoverV2Options) {
    this.#ttlMs = options.ttlMs ?? defaultAutodiscoverTtlMs;
    this.#now = options.now ?? Date.now;
  }

  /**
   * Where the user's mailbox is served, from the cache while fresh. Rejects with EXH_EXCHANGE_AUTODISCOVER_FAILED
   * (retryable, naming the URL) when Autodiscover cannot be reached or answers with anything but an EWS URL.
   */
  async locate(user: string, options: CallOptions): Promise<MailboxLocation> {
    const key = user.toLowerCase();
    const cached = this.#cache.get(key);
    if (cached && cached.until > this.#now()) return cached.location;
    const url = await this.#ask(user, options);
    const location: MailboxLocation = isExchangeOnline(url) ? { backend: 'graph', url } : { backend: 'ews', url };
    this.#cache.set(key, { location, until: this.#now() + this.#ttlMs });
    return location;
  }

  /** Asks again next time (the mailbox's connect failed in a way that says it moved). */
  forget(user: string): void {
    this.#cache.delete(user.toLowerCase());
  }

  async #ask(user: string, options: CallOptions): Promise<string> {
    const url = new URL(this.options.url);
    url.searchParams.set('Email', user);
    url.searchParams.set('Protocol', 'EWS');
    const where = url.toString();
    const failed = (problem: string) => errors.autodiscoverFailed(user, [{ url: where, problem }]);
    return this.options.pool.run(async (signal) => {
      let response: Response;
      let text: string;
      try {
        response = await fetch(where, {
          headers: { accept: 'application/json' },
          signal: AbortSignal.any([signal, AbortSignal.timeout(this.options.timeoutMs)]),
        });
        text = await response.text();
      } catch (error) {
        if (signal.aborted) throw errors.poolAborted();
        if (isExhError(error)) throw error;
        const cause = error as Error & { cause?: { code?: string; message?: string } };
        const problem =
          cause.name === 'TimeoutError'
            ? `no answer within ${this.options.timeoutMs} ms`
            : (cause.cause?.code ?? cause.cause?.message ?? cause.message);
        throw failed(problem);
      }
      if (!response.ok) throw failed(`HTTP ${response.status}${text ? `: ${text.slice(0, 200)}` : ''}`);
      let body: unknown;
      try {
        body = JSON.parse(text);
      } catch {
        throw failed('the answer is not JSON');
      }
      const { Protocol, Url } = (body ?? {}) as { Protocol?: unknown; Url?: unknown };
      if (typeof Url !== 'string' || !/^https?:\/\//i.test(Url)) throw failed('the answer names no URL');
      if (typeof Protocol === 'string' && Protocol.toUpperCase() !== 'EWS') {
        throw failed(`the answer is for protocol ${Protocol}, not EWS`);
      }
      return Url;
    }, options);
  }
}
