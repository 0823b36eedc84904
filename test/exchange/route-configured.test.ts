import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defaultGraphApp, graphLoginPrefix } from '../../emulator/graph/token.js';
import { type RunningEmulator, startEmulator } from '../../emulator/index.js';
import { type Config, configSchema } from '../../src/config/schema.js';
import { isExhError } from '../../src/errors.js';
import { ewsCapabilities } from '../../src/exchange/ews/capabilities.js';
import { routeConfigured } from '../../src/exchange/route-configured.js';
import { createLogging } from '../../src/logging/logger.js';
import { ExchangePool } from '../../src/pool/exchange-pool.js';

const alice = 'alice@contoso.test';
const bob = 'bob@contoso.test';
const call = () => ({ signal: new AbortController().signal, priority: 'catchUp' as const });

/**
 * The routing as the configuration builds it, against the project's emulator serving EWS, Graph (with its token
 * endpoint, reached by msal-node as an http authority) and Autodiscover v2 over one mailbox store.
 */
describe('routeConfigured', () => {
  let emulator: RunningEmulator;
  const pools: ExchangePool[] = [];
  const closers: Array<() => void> = [];

  beforeAll(async () => {
    emulator = await startEmulator({ port: 0, graph: true, mailboxes: [alice, bob] });
  });
  afterAll(async () => {
    for (const close of closers) close();
    for (const pool of pools) await pool.close();
    await emulator?.close();
  });

  function build(exchange: Record<string, unknown>) {
    const origin = new URL(emulator.graphUrl).origin;
    const config: Config = configSchema.parse({
      database: { type: 'pglite' },
      exchange: {
        timeoutMs: 5_000,
        ...exchange,
        graph: {
          baseUrl: emulator.graphUrl,
          authority: `${origin}${graphLoginPrefix}`,
          autodiscoverUrl: `${origin}/autodiscover/autodiscover.json`,
          ...(exchange.graph as Record<string, unknown> | undefined),
        },
      },
    });
    const records: Array<Record<string, unknown>> = [];
    const { logger } = createLogging({
      format: 'json',
      stdout: { write: (line: string) => void records.push(JSON.parse(line)) },
    });
    const pool = new ExchangePool(config.exchange.concurrency);
    pools.push(pool);
    const routed = routeConfigured(config, logger, pool);
    closers.push(routed.close);
    return { port: routed.port, records };
  }

  const ews = () => ({ impersonationUser: emulator.serviceAccount, impersonationPassword: emulator.password });
  const app = {
    tenant: defaultGraphApp.tenant,
    clientId: defaultGraphApp.clientId,
    clientSecret: defaultGraphApp.clientSecret,
  };

  it('auto: a mailbox marked on premises is served by EWS at the URL Autodiscover v2 names, one in the cloud by Graph', async () => {
    emulator.admin.markOnPremises(alice);
    try {
      const { port } = build({ backend: 'auto', ...ews(), graph: app });
      const onPremises = await port.connect(alice, call());
      expect(onPremises.capabilities).toBe(ewsCapabilities);
      expect(onPremises.endpoint).toBe(emulator.url);
      const cloud = await port.connect(bob, call());
      expect(cloud.capabilities.notifications).toEqual(['poll']);
      expect(cloud.capabilities.requestsPerMailbox).toBe(4);
      // Graph itself refuses the on-premises mailbox, as Exchange Online does (MailboxNotEnabledForRESTAPI).
      const refused = await port.connect(alice, { ...call(), backend: 'graph' }).catch((e: unknown) => e);
      expect(isExhError(refused, 'EXH_EXCHANGE_MAILBOX_NOT_IN_CLOUD')).toBe(true);
      // The port limits no mailbox by itself: each backend's requests carry their own limit.
      expect(port.capabilities.requestsPerMailbox).toBeUndefined();
    } finally {
      emulator.admin.markOnPremises(alice, false);
    }
  });

  it('Graph only: EWS is built only for a user routed to it, so its missing credentials are said there and not before', async () => {
    const { port, records } = build({ backend: 'graph', graph: app });
    expect((await port.connect(alice, call())).capabilities.notifications).toEqual(['poll']);
    expect(records.filter((r) => Number(r.level) >= 50)).toEqual([]);
    const refused = await port.connect(bob, { ...call(), backend: 'ews' }).catch((e: unknown) => e);
    expect(isExhError(refused)).toBe(true);
    expect((refused as Error).message).toMatch(/impersonation/i);
  });

  it('EWS without an app registration: a user routed to Graph is refused naming the settings, the others are served', async () => {
    const { port } = build({ backend: 'ews', staticEwsUrl: emulator.url, ...ews() });
    const refused = await port.connect(bob, { ...call(), backend: 'graph' }).catch((e: unknown) => e);
    expect(isExhError(refused, 'EXH_CONFIG_INVALID')).toBe(true);
    expect((refused as Error).message).toContain(
      `${bob} is served by Microsoft Graph, but exchange.graph.tenant, clientId and clientCertificate (or clientSecret) are not all set`,
    );
    expect((await port.connect(alice, call())).capabilities).toBe(ewsCapabilities);
  });
});
