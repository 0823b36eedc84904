import {
  AutodiscoverErrorCode,
  AutodiscoverService,
  ExchangeVersion,
  type IXHRApi,
  type IXHROptions,
  Uri,
  UserSettingName,
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
