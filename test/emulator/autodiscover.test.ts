import {
  AutodiscoverErrorCode,
  AutodiscoverService,
  ExchangeVersion,
  type IXHRApi,
  type IXHROptions,
  Uri,
  UserSettingName,
  type WebClientUrlCollection,
  WebCredentials,
} from 'ews-javascript-api';
import { describe, expect, it } from 'vitest';
import { startTestEmulator } from './support/harness.js';

const emulator = await startTestEmulator();
const requested = [
  UserSettingName.ExternalEwsUrl,
  UserSettingName.InternalEwsUrl,
  UserSettingName.GroupingInformation,
  UserSettingName.UserDisplayName,
];

function autodiscoverService(url?: string): AutodiscoverService {
  const service = new AutodiscoverService(ExchangeVersion.Exchange2013_SP1);
  service.Credentials = new WebCredentials(emulator.serviceAccount, emulator.password);
  if (url) service.Url = new Uri(url);
  return service;
}

describe('Autodiscover', () => {
  it('answers GetUserSettings with the EWS URLs, grouping and display name', async () => {
    const responses = await autodiscoverService(emulator.autodiscoverUrl).GetUsersSettings(
      ['alice@contoso.test'],
      ...requested,
    );
    const alice = responses.GetEnumerator()[0];
    expect(alice?.ErrorCode).toBe(AutodiscoverErrorCode.NoError);
    expect(alice?.Settings.get(UserSettingName.ExternalEwsUrl)).toBe(emulator.url);
    expect(alice?.Settings.get(UserSettingName.InternalEwsUrl)).toBe(emulator.url);
    expect(alice?.Settings.get(UserSettingName.UserDisplayName)).toBe('Alice');
    expect(alice?.Settings.get(UserSettingName.GroupingInformation)).toMatch(/^EXH-MBX[12]$/);
  });

  it('answers the Outlook Anywhere, directory and Control Panel settings Exchange returns', async () => {
    const asked = [
      UserSettingName.ExternalMailboxServer,
      UserSettingName.ExternalMailboxServerRequiresSSL,
      UserSettingName.ExternalMailboxServerAuthenticationMethods,
      UserSettingName.InternalMailboxServer,
      UserSettingName.InternalRpcClientServer,
      UserSettingName.MailboxDN,
      UserSettingName.ActiveDirectoryServer,
      UserSettingName.CasVersion,
      UserSettingName.EwsSupportedSchemas,
      UserSettingName.InternalEcpUrl,
      UserSettingName.ExternalEcpUrl,
      UserSettingName.EcpVoicemailUrlFragment,
      UserSettingName.EcpEmailSubscriptionsUrlFragment,
      UserSettingName.EcpDeliveryReportUrlFragment,
      UserSettingName.EcpRetentionPolicyTagsUrlFragment,
      UserSettingName.EcpTextMessagingUrlFragment,
      UserSettingName.EcpPublishingUrlFragment,
      UserSettingName.EcpPhotoUrlFragment,
      UserSettingName.EcpTeamMailboxUrlFragment,
      UserSettingName.EcpTeamMailboxCreatingUrlFragment,
      UserSettingName.EcpTeamMailboxEditingUrlFragment,
      UserSettingName.EcpExtensionInstallationUrlFragment,
      UserSettingName.ExternalEcpPhotoUrl,
    ];
    const responses = await autodiscoverService(emulator.autodiscoverUrl).GetUsersSettings(
      ['alice@contoso.test'],
      ...asked,
    );
    const alice = responses.GetEnumerator()[0];
    expect(alice?.ErrorCode).toBe(AutodiscoverErrorCode.NoError);
    expect(alice?.UserSettingErrors).toEqual([]);
    const setting = (name: UserSettingName) => alice?.Settings.get(name);
    for (const name of asked) expect(setting(name), UserSettingName[name]).toBeTruthy();
    const ecp = new URL('/ecp/', emulator.url).href;
    expect(setting(UserSettingName.ExternalMailboxServer)).toBe(new URL(emulator.url).hostname);
    expect(setting(UserSettingName.ExternalMailboxServerRequiresSSL)).toBe('False');
    expect(setting(UserSettingName.InternalEcpUrl)).toBe(ecp);
    expect(setting(UserSettingName.EcpVoicemailUrlFragment)).toContain('p=customize/voicemail.aspx');
    expect(setting(UserSettingName.EcpPhotoUrlFragment)).toContain('chgPhoto=1');
    expect(setting(UserSettingName.ExternalEcpPhotoUrl)).toBe(ecp + setting(UserSettingName.EcpPhotoUrlFragment));
    expect(setting(UserSettingName.EcpTeamMailboxCreatingUrlFragment)).toContain('ftr=TeamMailboxCreating');
    expect(setting(UserSettingName.EcpExtensionInstallationUrlFragment)).toContain('InstalledExtensions.slab');
  });

  it("answers Outlook on the web's URLs as a WebClientUrlCollectionSetting and the offline address book's", async () => {
    const responses = await autodiscoverService(emulator.autodiscoverUrl).GetUsersSettings(
      ['alice@contoso.test'],
      UserSettingName.ExternalWebClientUrls,
      UserSettingName.InternalOABUrl,
    );
    const alice = responses.GetEnumerator()[0];
    expect(alice?.UserSettingErrors).toEqual([]);
    const urls = alice?.Settings.get(UserSettingName.ExternalWebClientUrls) as WebClientUrlCollection | undefined;
    expect(urls?.Urls.map((u) => [u.AuthenticationMethods, u.Url])).toEqual([
      ['Basic, Fba', new URL('/owa/', emulator.url).href],
    ]);
    expect(alice?.Settings.get(UserSettingName.InternalOABUrl)).toMatch(
      new RegExp(`^${new URL('/OAB/', emulator.url).href}[0-9a-f-]{36}/$`),
    );
  });

  it('lists names it does not know under UserSettingErrors and answers the rest, as Exchange does', async () => {
    const body =
      '<?xml version="1.0" encoding="utf-8"?><soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"' +
      ' xmlns:a="http://schemas.microsoft.com/exchange/2010/Autodiscover"><soap:Body><a:GetUserSettingsRequestMessage>' +
      '<a:Request><a:Users><a:User><a:Mailbox>bob@contoso.test</a:Mailbox></a:User></a:Users><a:RequestedSettings>' +
      '<a:Setting>EcpUrl-um</a:Setting><a:Setting>ExternalMailboxServer</a:Setting></a:RequestedSettings>' +
      '</a:Request></a:GetUserSettingsRequestMessage></soap:Body></soap:Envelope>';
    const answer = await fetch(emulator.autodiscoverUrl, {
      method: 'POST',
      headers: {
        'content-type': 'text/xml; charset=utf-8',
        authorization: `Basic ${Buffer.from(`${emulator.serviceAccount}:${emulator.password}`).toString('base64')}`,
      },
      body,
    });
    const xml = await answer.text();
    expect(answer.status).toBe(200);
    expect(xml).toMatch(
      /<UserSettingErrors><UserSettingError><ErrorCode>InvalidSetting<\/ErrorCode><ErrorMessage>[^<]*<\/ErrorMessage><SettingName>EcpUrl-um<\/SettingName><\/UserSettingError><\/UserSettingErrors>/,
    );
    expect(xml).toContain('<Name>ExternalMailboxServer</Name>');
  });

  it('answers InvalidUser for an address without a mailbox, as Exchange does', async () => {
    const responses = await autodiscoverService(emulator.autodiscoverUrl).GetUsersSettings(
      ['ghost@contoso.test', 'bob@contoso.test'],
      ...requested,
    );
    expect(responses.GetEnumerator()[0]?.ErrorCode).toBe(AutodiscoverErrorCode.InvalidUser);
    expect(responses.GetEnumerator()[0]?.ErrorMessage).toContain('ghost@contoso.test');
    expect(responses.GetEnumerator()[1]?.ErrorCode).toBe(AutodiscoverErrorCode.NoError);
  });

  it('answers the unauthenticated GET probe with 401 and the endpoints it offers', async () => {
    const probe = await fetch(emulator.autodiscoverUrl.replace('autodiscover.svc', 'autodiscover.xml'));
    expect(probe.status).toBe(401);
    expect(probe.headers.get('x-soap-enabled')).toBe('True');
    expect(probe.headers.get('www-authenticate')).toMatch(/^Basic/);
  });

  it('is found from the domain alone, probe first, when https://contoso.test leads to the emulator', async () => {
    const service = autodiscoverService();
    const base = service.XHRApi;
    const origin = new URL(emulator.url).origin;
    const seen: string[] = [];
    const rewrite = (options: IXHROptions): IXHROptions => {
      const url = options.url.replace(/^https:\/\/(autodiscover\.)?contoso\.test/, origin);
      seen.push(`${options.type ?? 'POST'} ${new URL(url).pathname}`);
      return { ...options, url };
    };
    const routed: IXHRApi = {
      xhr: (options, progress) => base.xhr(rewrite(options), progress),
      xhrStream: (options, progress) => base.xhrStream(rewrite(options), progress),
      disconnect: () => base.disconnect(),
    };
    service.XHRApi = routed;
    service.Domain = 'contoso.test';
    const responses = await service.GetUsersSettings(['alice@contoso.test'], ...requested);
    expect(responses.GetEnumerator()[0]?.Settings.get(UserSettingName.ExternalEwsUrl)).toBe(emulator.url);
    expect(seen).toEqual(['GET /autodiscover/autodiscover.xml', 'POST /autodiscover/autodiscover.svc']);
  });
});
