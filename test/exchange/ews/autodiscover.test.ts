import { afterAll, describe, expect, it } from 'vitest';
import { type AutodiscoverDeps, defaultCandidates, discoverEwsUrl } from '../../../src/exchange/ews/autodiscover.js';
import { at, parseXml, textOf } from '../../../src/exchange/ews/xml.js';
import { ExchangePool } from '../../../src/pool/exchange-pool.js';
import { type Answer, type Received, scriptedServer, testTransport } from './scripted-server.js';

/** What a GetUserSettings answer says for the user (Exchange 2010+ SOAP Autodiscover). */
type Said =
  | { ews: { external?: string; internal?: string } }
  | { redirectAddress: string }
  | { redirectUrl: string }
  | { userError: string }
  | { status: number };

function answer(said: Said): Answer {
  if ('status' in said) return { status: said.status, body: '' };
  let user = '<ErrorCode>NoError</ErrorCode><ErrorMessage>No error.</ErrorMessage>';
  if ('userError' in said)
    user = `<ErrorCode>${said.userError}</ErrorCode><ErrorMessage>The user is unknown.</ErrorMessage>`;
  if ('redirectAddress' in said) {
    user = `<ErrorCode>RedirectAddress</ErrorCode><ErrorMessage>Redirect.</ErrorMessage><RedirectTarget>${said.redirectAddress}</RedirectTarget>`;
  }
  if ('redirectUrl' in said) {
    user = `<ErrorCode>RedirectUrl</ErrorCode><ErrorMessage>Redirect.</ErrorMessage><RedirectTarget>${said.redirectUrl}</RedirectTarget>`;
  }
  const setting = (name: string, value: string | undefined) =>
    value ? `<UserSetting i:type="StringSetting"><Name>${name}</Name><Value>${value}</Value></UserSetting>` : '';
  const settings =
    'ews' in said
      ? `<UserSettings>${setting('InternalEwsUrl', said.ews.internal)}${setting('ExternalEwsUrl', said.ews.external)}</UserSettings>`
      : '';
  return {
    body:
      '<?xml version="1.0" encoding="utf-8"?><s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body>' +
      '<GetUserSettingsResponseMessage xmlns="http://schemas.microsoft.com/exchange/2010/Autodiscover" ' +
      'xmlns:i="http://www.w3.org/2001/XMLSchema-instance"><Response><ErrorCode>NoError</ErrorCode><ErrorMessage/>' +
      `<UserResponses><UserResponse>${user}${settings}</UserResponse></UserResponses></Response>` +
      '</GetUserSettingsResponseMessage></s:Body></s:Envelope>',
  };
}

const mailboxOf = (request: Received) =>
  textOf(
    parseXml(request.body),
    'Envelope',
    'Body',
    'GetUserSettingsRequestMessage',
    'Request',
    'Users',
    'User',
    'Mailbox',
  );

/** Autodiscover written by hand (src/exchange/ews/autodiscover.ts), against real HTTP servers that answer as told. */
describe('discoverEwsUrl', async () => {
  // Per path and mailbox, what the server says.
  const script = new Map<string, Said>();
  const server = await scriptedServer((request) => {
    const said = script.get(`${request.path} ${mailboxOf(request)}`) ?? script.get(request.path);
    return said ? answer(said) : { status: 404, body: '' };
  });
  const transport = testTransport();
  const pool = new ExchangePool(2);
  afterAll(() => pool.close());
  const url = (name: string) => `${server.base}/${name}/autodiscover.svc`;
  const deps = (candidates: string[], version = 'Exchange2013_SP1'): AutodiscoverDeps => ({
    transport,
    pool,
    account: 'svc@contoso.test',
    version,
    candidates: () => candidates,
  });
  const live = () => ({ priority: 'live' as const, signal: new AbortController().signal });
  const asked = () => server.received.map((request) => `${request.path} ${mailboxOf(request)}`);

  it('asks for the EWS URLs as the account, the version in terms Autodiscover knows, and prefers the external one', async () => {
    script.set('/a/autodiscover.svc', {
      ews: { internal: 'https://internal/EWS/Exchange.asmx', external: 'https://mail/EWS/Exchange.asmx' },
    });
    expect(await discoverEwsUrl('alice@contoso.test', deps([url('a')], 'Exchange2007_SP1'), live())).toBe(
      'https://mail/EWS/Exchange.asmx',
    );
    const header = at(parseXml(server.received.at(-1)?.body ?? ''), 'Envelope', 'Header');
    expect(textOf(header, 'RequestedServerVersion')).toBe('Exchange2010');
    expect(textOf(header, 'To')).toBe(url('a'));
    expect(server.received.at(-1)?.headers.authorization).toMatch(/^Basic /);
    script.set('/b/autodiscover.svc', { ews: { internal: 'https://internal/EWS/Exchange.asmx' } });
    expect(await discoverEwsUrl('alice@contoso.test', deps([url('b')], 'Exchange2016'), live())).toBe(
      'https://internal/EWS/Exchange.asmx',
    );
    expect(
      textOf(at(parseXml(server.received.at(-1)?.body ?? ''), 'Envelope', 'Header'), 'RequestedServerVersion'),
    ).toBe('Exchange2013_SP1');
  });

  it('follows RedirectAddress at the same URL and RedirectUrl to the next, as Exchange clients do', async () => {
    server.received.length = 0;
    script.set('/c/autodiscover.svc alias@contoso.test', { redirectAddress: 'primary@contoso.test' });
    script.set('/c/autodiscover.svc primary@contoso.test', { redirectUrl: url('d') });
    script.set('/d/autodiscover.svc primary@contoso.test', { ews: { external: 'https://d/EWS/Exchange.asmx' } });
    expect(await discoverEwsUrl('alias@contoso.test', deps([url('c'), url('never')]), live())).toBe(
      'https://d/EWS/Exchange.asmx',
    );
    expect(asked()).toEqual([
      '/c/autodiscover.svc alias@contoso.test',
      '/c/autodiscover.svc primary@contoso.test',
      '/d/autodiscover.svc primary@contoso.test',
    ]);
  });

  it('gives up after ten redirections', async () => {
    server.received.length = 0;
    script.set('/loop/autodiscover.svc', { redirectUrl: url('loop') });
    const error = await discoverEwsUrl('alice@contoso.test', deps([url('loop')]), live()).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'EXH_EXCHANGE_AUTODISCOVER_FAILED' });
    expect((error as Error).message).toContain('Too many automatic redirections were attempted');
    expect(server.received).toHaveLength(11);
  });

  it('stops at an unknown user, naming the URL that said so, without asking further candidates', async () => {
    server.received.length = 0;
    script.set('/e/autodiscover.svc', { userError: 'InvalidUser' });
    const error = await discoverEwsUrl('ghost@contoso.test', deps([url('e'), url('a')]), live()).catch(
      (e: unknown) => e,
    );
    expect(error).toMatchObject({ code: 'EXH_EXCHANGE_MAILBOX_NOT_FOUND', retryable: false });
    expect((error as Error).message).toContain(`Autodiscover at ${url('e')} answered InvalidUser`);
    expect(asked()).toEqual(['/e/autodiscover.svc ghost@contoso.test']);
  });

  it('tries every candidate in order: one cause everywhere is that cause, different ones are listed by URL', async () => {
    script.set('/denied1/autodiscover.svc', { status: 401 });
    script.set('/denied2/autodiscover.svc', { status: 401 });
    const same = await discoverEwsUrl('alice@contoso.test', deps([url('denied1'), url('denied2')]), live()).catch(
      (e: unknown) => e,
    );
    expect(same).toMatchObject({ code: 'EXH_EXCHANGE_AUTH_FAILED' });
    script.set('/nosetting/autodiscover.svc', { ews: {} });
    const mixed = await discoverEwsUrl('alice@contoso.test', deps([url('denied1'), url('nosetting')]), live()).catch(
      (e: unknown) => e,
    );
    expect(mixed).toMatchObject({ code: 'EXH_EXCHANGE_AUTODISCOVER_FAILED', retryable: true });
    expect((mixed as Error).message).toContain(`${url('denied1')}: `);
    expect((mixed as Error).message).toContain(
      `${url('nosetting')}: the answer names no ExternalEwsUrl or InternalEwsUrl`,
    );
    expect(await discoverEwsUrl('alice@contoso.test', deps([url('denied1'), url('a')]), live())).toBe(
      'https://mail/EWS/Exchange.asmx',
    );
  });

  it("ends with the caller: a stopped caller's discovery is EXH_POOL_ABORTED, not a failed candidate", async () => {
    const stopped = new AbortController();
    stopped.abort();
    await expect(
      discoverEwsUrl('alice@contoso.test', deps([url('a'), url('b')]), { priority: 'live', signal: stopped.signal }),
    ).rejects.toMatchObject({ code: 'EXH_POOL_ABORTED' });
  });

  it('asks https://<domain>/ first, then https://autodiscover.<domain>/', () => {
    expect(defaultCandidates('contoso.test')).toEqual([
      'https://contoso.test/autodiscover/autodiscover.svc',
      'https://autodiscover.contoso.test/autodiscover/autodiscover.svc',
    ]);
  });
});
