import { ConnectingIdType, ExchangeVersion } from 'ews-javascript-api';
import { afterAll, describe, expect, it } from 'vitest';
import { configSchema } from '../../../src/config/schema.js';
import { createService, type ExchangeSettings, transportAuthentication } from '../../../src/exchange/ews/service.js';
import { EwsTransport } from '../../../src/exchange/ews/transport.js';

function settings(exchange: Record<string, unknown>): ExchangeSettings {
  return configSchema.parse({
    database: { type: 'pglite' },
    exchange: { impersonationUser: 'svc@contoso.test', ...exchange },
  }).exchange;
}

describe('transportAuthentication', () => {
  it('logs on with Basic by default: the account and password, UTF-8, in every request', () => {
    expect(transportAuthentication(settings({ impersonationPassword: 'pä:ss' }))).toEqual({
      authorization: `Basic ${Buffer.from('svc@contoso.test:pä:ss', 'utf8').toString('base64')}`,
    });
  });

  it('sends the OAuth token as a Bearer header, once, however it was configured', () => {
    for (const oauthToken of ['eyJ0eXAi.abc', 'Bearer eyJ0eXAi.abc', 'bearer  eyJ0eXAi.abc']) {
      expect(transportAuthentication(settings({ auth: 'oauth', oauthToken }))).toEqual({
        authorization: 'Bearer eyJ0eXAi.abc',
      });
    }
  });

  it('refuses OAuth without a token, naming the key', () => {
    const exchange = { ...settings({ auth: 'oauth', oauthToken: 'x' }), oauthToken: undefined };
    expect(() => transportAuthentication(exchange)).toThrow(
      expect.objectContaining({ code: 'EXH_CONFIG_INVALID', message: expect.stringContaining('exchange.oauthToken') }),
    );
  });

  it('leaves NTLM to the handshake, with the domain of DOMAIN\\user and a UPN whole', () => {
    expect(
      transportAuthentication(
        settings({ auth: 'ntlm', impersonationUser: 'CONTOSO\\svc', impersonationPassword: 'pw' }),
      ),
    ).toEqual({ authorization: '', ntlm: { user: 'svc', domain: 'CONTOSO', password: 'pw' } });
    expect(transportAuthentication(settings({ auth: 'ntlm', impersonationPassword: 'pw' }))).toEqual({
      authorization: '',
      ntlm: { user: 'svc@contoso.test', domain: '', password: 'pw' },
    });
  });
});

describe('createService', () => {
  const transport = new EwsTransport({ timeoutMs: 5_000, ignoreSsl: false, authorization: '', account: 'svc' });
  afterAll(() => transport.close());

  it("acts as the mailbox's user through the project's transport, at the configured URL, version and time-out", () => {
    const exchange = settings({ impersonationPassword: 'pw', version: 'Exchange2010_SP2', timeoutMs: 42_000 });
    const service = createService({
      url: 'https://mail.contoso.test/EWS/Exchange.asmx',
      user: 'alice@contoso.test',
      exchange,
      transport,
    });
    expect(service.XHRApi).toBe(transport);
    expect(service.Url.AbsoluteUri).toBe('https://mail.contoso.test/EWS/Exchange.asmx');
    expect(service.RequestedServerVersion).toBe(ExchangeVersion.Exchange2010_SP2);
    expect(service.ImpersonatedUserId.IdType).toBe(ConnectingIdType.SmtpAddress);
    expect(service.ImpersonatedUserId.Id).toBe('alice@contoso.test');
    expect(service.HttpHeaders.get('X-AnchorMailbox')).toBe('alice@contoso.test');
    expect(service.Timeout).toBe(42_000);
  });
});
