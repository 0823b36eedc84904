import { describe, expect, it } from 'vitest';
import { errorContext, type SoapTarget, soapCall, soapEnvelope } from '../../../src/exchange/ews/soap.js';
import { at, attr, parseXml, textOf } from '../../../src/exchange/ews/xml.js';
import { scriptedServer, soapAnswer, testTransport } from './scripted-server.js';

const signal = () => new AbortController().signal;

/** The requests the adapter writes itself (src/exchange/ews/soap.ts), against a real HTTP server that answers as told. */
describe('soapCall', async () => {
  const answers = new Map<string, { status?: number; body: string }>();
  const server = await scriptedServer((request) => answers.get(request.path) ?? { status: 404, body: '' });
  const transport = testTransport();
  const target = (path: string, user = 'alice@contoso.test'): SoapTarget => ({
    url: `${server.base}${path}`,
    user,
    account: 'svc@contoso.test',
    version: 'Exchange2013_SP1',
  });

  it('acts as the user: impersonation, X-AnchorMailbox and the version in every request, its values escaped', async () => {
    answers.set('/ok', { body: soapAnswer('<m:GetFolderResponse><m:ResponseMessages/></m:GetFolderResponse>') });
    const odd = "o'neil&co@contoso.test";
    const response = await soapCall(transport, target('/ok', odd), 'GetFolder', '<m:GetFolder/>', signal());
    expect(at(response, 'ResponseMessages')).toBeDefined();
    const sent = server.received.at(-1);
    expect(sent?.headers).toMatchObject({
      'content-type': 'text/xml; charset=utf-8',
      'x-anchormailbox': odd,
      authorization: `Basic ${Buffer.from('svc@contoso.test:pw').toString('base64')}`,
    });
    const envelope = parseXml(sent?.body ?? '');
    const header = at(envelope, 'Envelope', 'Header');
    expect(attr(at(header, 'RequestServerVersion'), 'Version')).toBe('Exchange2013_SP1');
    expect(textOf(header, 'ExchangeImpersonation', 'ConnectingSID', 'SmtpAddress')).toBe(odd);
    expect(at(envelope, 'Envelope', 'Body', 'GetFolder')).toBeDefined();
    expect(sent?.body).toBe(soapEnvelope(target('/ok', odd), '<m:GetFolder/>'));
  });

  it("turns Exchange's HTTP answers into the catalogue's errors, naming the URL", async () => {
    answers.set('/denied', { status: 401, body: '' });
    const refused = await soapCall(transport, target('/denied'), 'GetItem', '<m:GetItem/>', signal()).catch((e) => e);
    expect(refused).toMatchObject({ code: 'EXH_EXCHANGE_AUTH_FAILED' });
    expect(refused.message).toContain(`${server.base}/denied`);
    answers.set('/busy', {
      status: 500,
      body: soapAnswer(
        '<s:Fault><faultcode>a:ErrorServerBusy</faultcode><faultstring>busy</faultstring><detail>' +
          '<e:ResponseCode xmlns:e="http://schemas.microsoft.com/exchange/services/2006/errors">ErrorServerBusy' +
          '</e:ResponseCode><t:MessageXml><t:Value Name="BackOffMilliseconds">2500</t:Value></t:MessageXml>' +
          '</detail></s:Fault>',
      ),
    });
    const busy = await soapCall(transport, target('/busy'), 'GetItem', '<m:GetItem/>', signal()).catch((e) => e);
    expect(busy).toMatchObject({ code: 'EXH_EXCHANGE_THROTTLED', retryable: true, details: { backOffMs: 2500 } });
  });

  it('refuses an answer that is not XML, or not the answer to the operation asked, saying which', async () => {
    answers.set('/html', { body: '<html><body>Sign in<br></body></html>' });
    const html = await soapCall(transport, target('/html'), 'GetItem', '<m:GetItem/>', signal()).catch((e) => e);
    expect(html).toMatchObject({ code: 'EXH_EXCHANGE_REQUEST_FAILED' });
    answers.set('/other', { body: soapAnswer('<m:GetFolderResponse/>') });
    const other = await soapCall(transport, target('/other'), 'GetItem', '<m:GetItem/>', signal()).catch((e) => e);
    expect(other).toMatchObject({ code: 'EXH_EXCHANGE_REQUEST_FAILED' });
    expect(other.message).toContain('the answer has no GetItemResponse');
    answers.set('/dtd', { body: '<!DOCTYPE x [<!ENTITY e "e">]><x>&e;</x>' });
    const dtd = await soapCall(transport, target('/dtd'), 'GetItem', '<m:GetItem/>', signal()).catch((e) => e);
    expect(dtd).toMatchObject({ code: 'EXH_EXCHANGE_REQUEST_FAILED' });
  });

  it('names the mailbox and the account in the context of its errors', () => {
    expect(errorContext(target('/x'), { folder: 'calendar' })).toEqual({
      url: `${server.base}/x`,
      user: 'alice@contoso.test',
      account: 'svc@contoso.test',
      folder: 'calendar',
    });
  });
});
