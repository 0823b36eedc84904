import { describe, expect, it } from 'vitest';
import { isExhError } from '../../src/errors.js';
import { AutodiscoverV2, isExchangeOnline } from '../../src/exchange/autodiscover-v2.js';
import { ExchangePool } from '../../src/pool/exchange-pool.js';
import { freePort } from '../support/net.js';
import { scriptedServer } from './ews/scripted-server.js';

const call = () => ({ signal: new AbortController().signal, priority: 'catchUp' as const });

/**
 * Autodiscover v2 against a real HTTP server that answers as each test says (test/exchange/ews/scripted-server.ts): the
 * Graph emulator's Autodiscover v2 answers only what its mailboxes are, and these cases need answers it does not give
 * (an on-premises URL, errors, a changed answer for the cache).
 */
describe('AutodiscoverV2', () => {
  const answers = new Map<string, { status?: number; body: string }>();
  const serverReady = scriptedServer((request) => {
    const email = new URL(request.path, 'http://x').searchParams.get('Email') ?? '';
    return { headers: { 'content-type': 'application/json' }, ...(answers.get(email) ?? { status: 404, body: '' }) };
  });
  const answer = (email: string, url: string, status = 200) =>
    answers.set(email, { status, body: JSON.stringify({ Protocol: 'EWS', Url: url }) });

  async function client(options: { now?: () => number; ttlMs?: number } = {}) {
    const server = await serverReady;
    const autodiscover = new AutodiscoverV2({
      url: `${server.base}/autodiscover/autodiscover.json`,
      pool: new ExchangePool(2),
      timeoutMs: 5_000,
      ...options,
    });
    return { autodiscover, server };
  }

  it('asks for the user and EWS, and sends Exchange Online mailboxes to Graph and on-premises ones to EWS at their URL', async () => {
    const { autodiscover, server } = await client();
    answer('cloud@contoso.test', 'https://outlook.office365.com/EWS/Exchange.asmx');
    answer('onprem@contoso.test', 'https://mail.contoso.test/EWS/Exchange.asmx');
    await expect(autodiscover.locate('cloud@contoso.test', call())).resolves.toEqual({
      backend: 'graph',
      url: 'https://outlook.office365.com/EWS/Exchange.asmx',
    });
    await expect(autodiscover.locate('onprem@contoso.test', call())).resolves.toEqual({
      backend: 'ews',
      url: 'https://mail.contoso.test/EWS/Exchange.asmx',
    });
    const asked = new URL(server.received.at(-1)?.path ?? '', 'http://x');
    expect(asked.pathname).toBe('/autodiscover/autodiscover.json');
    expect(Object.fromEntries(asked.searchParams)).toEqual({ Email: 'onprem@contoso.test', Protocol: 'EWS' });
  });

  it('keeps an answer per user (case-blind) until it expires or is forgotten', async () => {
    let now = 1_000;
    const { autodiscover, server } = await client({ now: () => now, ttlMs: 60_000 });
    answer('moving@contoso.test', 'https://mail.contoso.test/EWS/Exchange.asmx');
    const asked = () => server.received.filter((r) => r.path.includes('moving%40contoso.test')).length;
    await autodiscover.locate('moving@contoso.test', call());
    await autodiscover.locate('Moving@Contoso.test', call());
    expect(asked()).toBe(1);
    // The mailbox moved to Exchange Online: the cached answer holds until it expires...
    answer('moving@contoso.test', 'https://outlook.office365.com/EWS/Exchange.asmx');
    now += 59_999;
    expect((await autodiscover.locate('moving@contoso.test', call())).backend).toBe('ews');
    now += 1;
    expect((await autodiscover.locate('moving@contoso.test', call())).backend).toBe('graph');
    expect(asked()).toBe(2);
    // ...or until the routing forgets it (a connect that failed as if the mailbox had moved).
    answer('moving@contoso.test', 'https://mail.contoso.test/EWS/Exchange.asmx');
    autodiscover.forget('MOVING@contoso.test');
    expect((await autodiscover.locate('moving@contoso.test', call())).backend).toBe('ews');
    expect(asked()).toBe(3);
  });

  it('fails retryably, naming the URL and the cause, for an error status, an answer not JSON or without a URL', async () => {
    const { autodiscover } = await client();
    answers.set('broken@contoso.test', { status: 503, body: 'busy' });
    answers.set('junk@contoso.test', { body: '<html>' });
    answers.set('empty@contoso.test', { body: JSON.stringify({ Protocol: 'EWS' }) });
    answers.set('other@contoso.test', {
      body: JSON.stringify({ Protocol: 'ActiveSync', Url: 'https://m.contoso.test/Microsoft-Server-ActiveSync' }),
    });
    const problems: string[] = [];
    for (const user of ['broken', 'junk', 'empty', 'other']) {
      const error = await autodiscover.locate(`${user}@contoso.test`, call()).catch((e: unknown) => e);
      expect(isExhError(error, 'EXH_EXCHANGE_AUTODISCOVER_FAILED')).toBe(true);
      expect(error).toMatchObject({ retryable: true });
      expect((error as Error).message).toContain('/autodiscover/autodiscover.json?Email=');
      problems.push((error as Error).message);
    }
    expect(problems[0]).toContain('HTTP 503: busy');
    expect(problems[1]).toContain('not JSON');
    expect(problems[2]).toContain('names no URL');
    expect(problems[3]).toContain('protocol ActiveSync');
    // Nothing failed is cached: the next call asks again.
    answer('broken@contoso.test', 'https://outlook.office365.com/EWS/Exchange.asmx');
    expect((await autodiscover.locate('broken@contoso.test', call())).backend).toBe('graph');
  });

  it('fails retryably when nothing answers at the URL', async () => {
    const port = await freePort();
    const autodiscover = new AutodiscoverV2({
      url: `http://127.0.0.1:${port}/autodiscover/autodiscover.json`,
      pool: new ExchangePool(1),
      timeoutMs: 5_000,
    });
    const error = await autodiscover.locate('a@contoso.test', call()).catch((e: unknown) => e);
    expect(isExhError(error, 'EXH_EXCHANGE_AUTODISCOVER_FAILED')).toBe(true);
    expect((error as Error).message).toContain(`http://127.0.0.1:${port}/autodiscover/autodiscover.json?Email=`);
    expect((error as Error).message).toContain('ECONNREFUSED');
  });

  it('a stopped caller gets EXH_POOL_ABORTED, not an Autodiscover failure', async () => {
    const { autodiscover } = await client();
    const controller = new AbortController();
    controller.abort();
    const error = await autodiscover
      .locate('cloud@contoso.test', { signal: controller.signal, priority: 'catchUp' })
      .catch((e: unknown) => e);
    expect(isExhError(error, 'EXH_POOL_ABORTED')).toBe(true);
  });
});

describe('isExchangeOnline', () => {
  it("knows Exchange Online's hosts, the national clouds' included, and nothing else", () => {
    for (const host of [
      'outlook.office365.com',
      'outlook.office.com',
      'OUTLOOK.OFFICE365.COM',
      'eur.outlook.com',
      'outlook.office365.us',
      'outlook-dod.office365.us',
      'partner.outlook.cn',
      'outlook.office.de',
    ]) {
      expect(isExchangeOnline(`https://${host}/EWS/Exchange.asmx`), host).toBe(true);
    }
    for (const url of [
      'https://mail.contoso.test/EWS/Exchange.asmx',
      'https://outlook.office365.com.contoso.test/EWS/Exchange.asmx',
      'https://notoutlook.com/EWS/Exchange.asmx',
      'not a url',
    ]) {
      expect(isExchangeOnline(url), url).toBe(false);
    }
  });
});
