import { describe, expect, it } from 'vitest';
import { errors, isExhError } from '../../src/errors.js';
import { AutodiscoverV2 } from '../../src/exchange/autodiscover-v2.js';
import { MemoryExchange } from '../../src/exchange/memory/index.js';
import { type RoutedBackend, RoutingExchange, type RoutingOptions } from '../../src/exchange/routing.js';
import { createLogging } from '../../src/logging/logger.js';
import { ExchangePool } from '../../src/pool/exchange-pool.js';
import type { ExchangeCapabilities, ExchangePort } from '../../src/ports/exchange.port.js';
import { scriptedServer } from './ews/scripted-server.js';

const call = () => ({ signal: new AbortController().signal, priority: 'catchUp' as const });

const ewsCapabilities: ExchangeCapabilities = {
  notifications: ['streaming', 'push', 'pull'],
  folders: ['calendar', 'contacts', 'inbox', 'sentitems', 'tasks'],
  writes: true,
};
const graphCapabilities: ExchangeCapabilities = {
  notifications: ['poll', 'webhook'],
  folders: ['calendar', 'contacts', 'inbox', 'sentitems', 'tasks'],
  writes: true,
  requestsPerMailbox: 4,
};

/** A memory Exchange whose connections declare `capabilities` (EWS's or Graph's), so that each shows whose it is. */
function declaring(port: ExchangePort, capabilities: ExchangeCapabilities): ExchangePort {
  return {
    capabilities,
    connect: async (user, options) => {
      const connection = await port.connect(user, options);
      return new Proxy(connection, {
        get: (target, property) => {
          if (property === 'capabilities') return capabilities;
          const value = Reflect.get(target, property, target);
          return typeof value === 'function' ? value.bind(target) : value;
        },
      });
    },
  };
}

/**
 * The routing over two in-memory Exchanges standing for the EWS and the Graph adapters (each a complete backend
 * behind the port, src/exchange/memory/), so that which one served a user shows in where its items are. Autodiscover
 * v2 is a real HTTP server answering as each test says.
 */
function world(
  options: Partial<Pick<RoutingOptions, 'backend' | 'autodiscover' | 'translate'>> & { graph?: false } = {},
) {
  const records: Array<Record<string, unknown>> = [];
  const { logger } = createLogging({
    format: 'json',
    stdout: { write: (line: string) => void records.push(JSON.parse(line)) },
  });
  const ewsPorts = new Map<string, MemoryExchange>();
  const built: Array<string | undefined> = [];
  const ews: RoutedBackend = {
    capabilities: ewsCapabilities,
    port: (url) => {
      built.push(url);
      const port = new MemoryExchange();
      ewsPorts.set(url ?? '', port);
      return declaring(port, ewsCapabilities);
    },
  };
  // Graph knows only the mailboxes in the cloud; it refuses the others as Graph does (MailboxNotEnabledForRESTAPI).
  const graphStore = new MemoryExchange({ mailboxes: ['cloud@contoso.test', 'moving@contoso.test'] });
  const graphPort: ExchangePort = {
    capabilities: graphCapabilities,
    connect: async (user, callOptions) => {
      if (!['cloud@contoso.test', 'moving@contoso.test'].includes(user.toLowerCase())) {
        throw errors.mailboxNotInCloud(user, 'REST API is not yet supported for this mailbox');
      }
      return declaring(graphStore, graphCapabilities).connect(user, callOptions);
    },
  };
  let graphBuilt = 0;
  const graph: RoutedBackend = {
    capabilities: graphCapabilities,
    port: () => {
      graphBuilt += 1;
      return graphPort;
    },
  };
  const routing = new RoutingExchange({
    backend: options.backend ?? 'ews',
    ews,
    graph: options.graph === false ? 'exchange.graph.tenant and exchange.graph.clientId are not set' : graph,
    ...(options.autodiscover ? { autodiscover: options.autodiscover } : {}),
    ...(options.translate ? { translate: options.translate } : {}),
    logger,
  });
  return { routing, records, ewsPorts, built, graphStore, graphBuilt: () => graphBuilt };
}

const warnings = (records: Array<Record<string, unknown>>) => records.filter((r) => r.level === 40);

describe('RoutingExchange', () => {
  const answers = new Map<string, string>();
  const serverReady = scriptedServer((request) => {
    const email = new URL(request.path, 'http://x').searchParams.get('Email') ?? '';
    const url = answers.get(email.toLowerCase());
    return url
      ? { headers: { 'content-type': 'application/json' }, body: JSON.stringify({ Protocol: 'EWS', Url: url }) }
      : { status: 500, body: 'no answer scripted' };
  });
  const autodiscover = async () =>
    new AutodiscoverV2({
      url: `${(await serverReady).base}/autodiscover/autodiscover.json`,
      pool: new ExchangePool(2),
      timeoutMs: 5_000,
    });
  const asked = async (user: string) =>
    (await serverReady).received.filter((r) => r.path.includes(encodeURIComponent(user))).length;

  it('offers the union of both backends, writes when both do, and no per-mailbox limit of its own', () => {
    const { routing } = world();
    expect(routing.capabilities.notifications).toEqual(['streaming', 'push', 'pull', 'poll', 'webhook']);
    expect(routing.capabilities.writes).toBe(true);
    expect(routing.capabilities.requestsPerMailbox).toBeUndefined();
    expect(world({ graph: false }).routing.capabilities.notifications).toEqual(['streaming', 'push', 'pull']);
  });

  it("serves each user through exh_backend when it names one (any case), else exchange.backend; each connection is its backend's", async () => {
    const { routing, graphBuilt, built } = world({ backend: 'ews' });
    const onPremises = await routing.connect('alice@contoso.test', call());
    const cloud = await routing.connect('cloud@contoso.test', { ...call(), backend: ' Graph ' });
    expect(onPremises.capabilities).toBe(ewsCapabilities);
    expect(cloud.capabilities).toBe(graphCapabilities);
    expect(built).toEqual([undefined]);
    expect(graphBuilt()).toBe(1);
    // The Graph mailbox refuses what is not in the cloud: exh_backend 'ews' overriding exchange.backend 'graph'.
    const graphFirst = world({ backend: 'graph' });
    await expect(graphFirst.routing.connect('alice@contoso.test', call())).rejects.toMatchObject({
      code: 'EXH_EXCHANGE_MAILBOX_NOT_IN_CLOUD',
    });
    const overridden = await graphFirst.routing.connect('alice@contoso.test', { ...call(), backend: 'EWS' });
    expect(overridden.capabilities).toBe(ewsCapabilities);
  });

  it('reports an exh_backend it does not know once per user and value, naming both, and uses exchange.backend', async () => {
    const { routing, records } = world({ backend: 'ews' });
    for (let i = 0; i < 3; i += 1) {
      const connection = await routing.connect('alice@contoso.test', { ...call(), backend: 'cloud' });
      expect(connection.capabilities).toBe(ewsCapabilities);
    }
    await routing.connect('bob@contoso.test', { ...call(), backend: 'cloud' });
    const warned = warnings(records);
    expect(warned).toHaveLength(2);
    expect(warned[0]).toMatchObject({ user: 'alice@contoso.test', exhBackend: 'cloud', backend: 'ews' });
    expect(warned[0]?.msg).toBe(
      'exh_backend of alice@contoso.test is "cloud", neither "ews" nor "graph": using exchange.backend ("ews")',
    );
  });

  it('auto: Exchange Online mailboxes to Graph, on-premises ones to EWS at the URL Autodiscover v2 gave (one port per URL)', async () => {
    answers.set('cloud@contoso.test', 'https://outlook.office365.com/EWS/Exchange.asmx');
    answers.set('alice@contoso.test', 'https://mail.contoso.test/EWS/Exchange.asmx');
    answers.set('bob@contoso.test', 'https://mail.contoso.test/EWS/Exchange.asmx');
    answers.set('carol@contoso.test', 'https://mail2.contoso.test/EWS/Exchange.asmx');
    const { routing, built } = world({ backend: 'auto', autodiscover: await autodiscover() });
    expect((await routing.connect('cloud@contoso.test', call())).capabilities).toBe(graphCapabilities);
    for (const user of ['alice@contoso.test', 'bob@contoso.test', 'carol@contoso.test']) {
      expect((await routing.connect(user, call())).capabilities).toBe(ewsCapabilities);
    }
    expect(built).toEqual([
      'https://mail.contoso.test/EWS/Exchange.asmx',
      'https://mail2.contoso.test/EWS/Exchange.asmx',
    ]);
    // exh_backend wins over Autodiscover, which is not asked for that user (it has no answer for erin either).
    const erin = await routing.connect('erin@contoso.test', { ...call(), backend: 'ews' });
    expect(erin.capabilities).toBe(ewsCapabilities);
    expect(await asked('erin@contoso.test')).toBe(0);
  });

  it('asks Autodiscover v2 again once a mailbox fails as if it had moved, and not for other failures', async () => {
    answers.set('moving@contoso.test', 'https://outlook.office365.com/EWS/Exchange.asmx');
    const { routing, graphStore } = world({ backend: 'auto', autodiscover: await autodiscover() });
    const first = await routing.connect('moving@contoso.test', call());
    expect(await asked('moving@contoso.test')).toBe(1);
    // A throttled read says nothing of where the mailbox is: the answer stays.
    graphStore.admin.failNext('moving@contoso.test', errors.exchangeThrottled('https://graph.test', 1_000));
    await expect(first.syncFolder('tasks', null, { ...call(), maxChanges: 10 })).rejects.toMatchObject({
      code: 'EXH_EXCHANGE_THROTTLED',
    });
    await routing.connect('moving@contoso.test', call());
    expect(await asked('moving@contoso.test')).toBe(1);
    // The mailbox went back on premises: Graph refuses it, and the next connect asks again and goes to EWS.
    graphStore.admin.failNext('moving@contoso.test', errors.mailboxNotInCloud('moving@contoso.test', 'on premises'));
    await expect(first.syncFolder('tasks', null, { ...call(), maxChanges: 10 })).rejects.toMatchObject({
      code: 'EXH_EXCHANGE_MAILBOX_NOT_IN_CLOUD',
    });
    answers.set('moving@contoso.test', 'https://mail.contoso.test/EWS/Exchange.asmx');
    expect((await routing.connect('moving@contoso.test', call())).capabilities).toBe(ewsCapabilities);
    expect(await asked('moving@contoso.test')).toBe(2);
    // A connect refused the same way forgets too.
    answers.set('gone@contoso.test', 'https://outlook.office365.com/EWS/Exchange.asmx');
    await expect(routing.connect('gone@contoso.test', call())).rejects.toMatchObject({
      code: 'EXH_EXCHANGE_MAILBOX_NOT_IN_CLOUD',
    });
    answers.set('gone@contoso.test', 'https://mail.contoso.test/EWS/Exchange.asmx');
    expect((await routing.connect('gone@contoso.test', call())).capabilities).toBe(ewsCapabilities);
  });

  it('passes a failed Autodiscover on as it is (retryable), connecting nothing', async () => {
    const { routing, built } = world({ backend: 'auto', autodiscover: await autodiscover() });
    const error = await routing.connect('unscripted@contoso.test', call()).catch((e: unknown) => e);
    expect(isExhError(error, 'EXH_EXCHANGE_AUTODISCOVER_FAILED')).toBe(true);
    expect(built).toEqual([]);
  });

  it('refuses a user routed to Graph when Graph is not configured, naming the user and why, and serves the others', async () => {
    const { routing } = world({ backend: 'ews', graph: false });
    const error = await routing.connect('cloud@contoso.test', { ...call(), backend: 'graph' }).catch((e: unknown) => e);
    expect(isExhError(error, 'EXH_CONFIG_INVALID')).toBe(true);
    expect((error as Error).message).toContain(
      'cloud@contoso.test is served by Microsoft Graph, but exchange.graph.tenant and exchange.graph.clientId are not set',
    );
    expect((await routing.connect('alice@contoso.test', call())).capabilities).toBe(ewsCapabilities);
  });

  it("tells the core whose a continuation is, and translates the other backend's ids towards the connection's", async () => {
    const requests: unknown[] = [];
    const { routing } = world({
      translate: async (request) => {
        requests.push(request);
        return new Map(request.ids.map((id) => [id, `${request.to}:${id}`]));
      },
    });
    const viaGraph = await routing.connect('cloud@contoso.test', { ...call(), backend: 'graph' });
    const viaEws = await routing.connect('alice@contoso.test', call());
    const graphContinuation = JSON.stringify({ backend: 'graph', link: 'https://graph/delta?token=1' });
    const ewsSeries = JSON.stringify({ state: 'H4sIAAAA', series: {} });
    expect(viaGraph.ownsContinuation?.(graphContinuation)).toBe(true);
    expect(viaGraph.ownsContinuation?.('H4sIAAAAAAAEAO29B2AcSZ')).toBe(false);
    expect(viaGraph.ownsContinuation?.(ewsSeries)).toBe(false);
    expect(viaEws.ownsContinuation?.('H4sIAAAAAAAEAO29B2AcSZ')).toBe(true);
    expect(viaEws.ownsContinuation?.(ewsSeries)).toBe(true);
    expect(viaEws.ownsContinuation?.(graphContinuation)).toBe(false);
    expect([...((await viaGraph.adoptItemIds?.(['AAMk1'], call())) ?? [])]).toEqual([['AAMk1', 'graph:AAMk1']]);
    expect(requests).toEqual([{ user: 'cloud@contoso.test', ids: ['AAMk1'], from: 'ews', to: 'graph' }]);
    await viaEws.adoptItemIds?.(['rest1'], call());
    expect(requests[1]).toEqual({ user: 'alice@contoso.test', ids: ['rest1'], from: 'graph', to: 'ews' });
    // Without a translator (Graph not configured), nothing is translated: the core matches by application id.
    const plain = await world({ graph: false }).routing.connect('alice@contoso.test', call());
    expect((await plain.adoptItemIds?.(['x'], call()))?.size).toBe(0);
  });

  it('matches a mailbox Graph cannot reach by application id alone (said W), but passes any other translation failure on', async () => {
    let failure = errors.mailboxNotInCloud('alice@contoso.test', 'on premises');
    const { routing, records } = world({
      translate: async () => {
        throw failure;
      },
    });
    const viaEws = await routing.connect('alice@contoso.test', call());
    expect((await viaEws.adoptItemIds?.(['rest1'], call()))?.size).toBe(0);
    expect(warnings(records).at(-1)?.msg).toBe(
      'Graph cannot translate the item ids of alice@contoso.test (EXH_EXCHANGE_MAILBOX_NOT_IN_CLOUD): its rows are matched by application id and UID',
    );
    failure = errors.exchangeThrottled('https://graph.test', 1_000, 'HTTP 429');
    await expect(viaEws.adoptItemIds?.(['rest1'], call())).rejects.toMatchObject({ code: 'EXH_EXCHANGE_THROTTLED' });
  });
});
