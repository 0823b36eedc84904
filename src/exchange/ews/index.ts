import type { Config } from '../../config/schema.js';
import type { ExhError } from '../../errors.js';
import type { ExhLogger } from '../../logging/logger.js';
import type { ExchangePool } from '../../pool/exchange-pool.js';
import type { CallOptions, ExchangePort, MailboxConnection, MailboxWriter } from '../../ports/exchange.port.js';
import type { PushReceiver } from '../push-receiver.js';
import { discoverEwsSettings, type EwsSettings } from './autodiscover.js';
import { ewsCapabilities } from './capabilities.js';
import { detached, EwsConnection } from './connection.js';
import { distinguishedFolderIds } from './folders.js';
import { createService, transportAuthentication } from './service.js';
import type { SoapTarget } from './soap.js';
import { StreamGroups } from './subscriptions/groups.js';
import { EwsTransport, type TransportOptions } from './transport.js';
import { defaultTuning, type Tuning } from './tuning.js';

/**
 * The EWS adapter behind ExchangePort: ews-javascript-api over the project's own transport (transport.ts), with
 * Autodiscover, GetItem, GetFolder and GetStreamingEvents written by hand where the library falls short (see each
 * module). Every request goes through the ExchangePool with the caller's priority and AbortSignal.
 */

export { appItemIdDefinition, appItemIdFieldUri, appItemIdProperty } from './properties.js';
export type { Tuning } from './tuning.js';

export interface EwsExchangeDeps {
  exchange: Config['exchange'];
  pool: ExchangePool;
  logger: ExhLogger;
  /** The push notification listener (src/exchange/push-receiver.ts), needed for exchange.notifications "push". */
  push?: PushReceiver;
  /** Timings the configuration does not name (tests shorten them). */
  tuning?: Partial<Tuning>;
  /** Autodiscover URLs to ask for a domain (default https://<domain>/… and https://autodiscover.<domain>/…). */
  autodiscoverCandidates?: (domain: string) => string[];
}

export interface EwsExchange extends ExchangePort {
  /** Ends requests in flight and the idle connections of the transport. */
  close(): void;
}

export function createEwsExchange(deps: EwsExchangeDeps): EwsExchange {
  const { exchange, pool } = deps;
  const log = deps.logger.child({ actor: 'exchange' });
  const tuning: Tuning = { ...defaultTuning, ...deps.tuning };
  let authentication: Pick<TransportOptions, 'authorization' | 'ntlm'> = { authorization: '' };
  let authError: ExhError | undefined;
  try {
    authentication = transportAuthentication(exchange);
  } catch (error) {
    authError = error as ExhError;
    log.error({ code: authError.code }, authError.message);
  }
  if (exchange.ignoreSsl) {
    log.warn(
      'exchange.ignoreSsl is true: the certificates of Exchange are NOT checked, so anyone between exh and Exchange ' +
        'can read and change the traffic, passwords included. Fix the certificate and switch it off.',
    );
  }
  if (exchange.enableScpLookup && !exchange.staticEwsUrl) {
    log.warn(
      'exchange.enableScpLookup is set, but exh cannot query Active Directory for SCP records: Autodiscover asks ' +
        'the DNS candidates (https://<domain>/autodiscover/…, https://autodiscover.<domain>/…) only.',
    );
  }
  const account = exchange.impersonationUser ?? '';
  const transport = new EwsTransport({
    timeoutMs: exchange.timeoutMs,
    ignoreSsl: exchange.ignoreSsl,
    ...authentication,
    account,
    logger: log,
  });

  const streams = new StreamGroups({ transport, pool, logger: log, tuning });

  async function connect(user: string, options: CallOptions): Promise<MailboxConnection & MailboxWriter> {
    if (authError) throw authError;
    // With a static URL there is no GroupingInformation: the mailboxes are grouped by the URL alone.
    const settings: EwsSettings = exchange.staticEwsUrl
      ? { ewsUrl: exchange.staticEwsUrl, groupingInformation: '' }
      : await discoverEwsSettings(
          user,
          {
            transport,
            pool,
            account,
            version: exchange.version,
            ...(deps.autodiscoverCandidates ? { candidates: deps.autodiscoverCandidates } : {}),
          },
          options,
        );
    const url = settings.ewsUrl;
    const target: SoapTarget = { url, user, account, version: exchange.version };
    const folderNames = await pool.run((signal) => distinguishedFolderIds(transport, target, signal), options);
    log.info({ user, url }, `Connected to the mailbox of ${user} at ${url}`);
    return new EwsConnection({
      user,
      target,
      service: createService({ url, user, exchange, transport }),
      transport,
      pool,
      logger: deps.logger.child({ actor: 'exchange', user }),
      tuning,
      push: deps.push,
      folderNames: new Map([...folderNames].map(([id, name]) => [detached(id), name])),
      groupingInformation: settings.groupingInformation,
      streams,
    });
  }

  return {
    capabilities: ewsCapabilities,
    connect,
    close: () => {
      streams.close();
      transport.close();
    },
  };
}
