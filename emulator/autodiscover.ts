import type { Core } from './context.js';
import { ns, serverVersion } from './soap/envelope.js';
import { children, parseXml, path, text, XmlSyntaxError } from './xml/node.js';
import { el, escapeText, textEl } from './xml/write.js';

/**
 * SOAP Autodiscover (GetUserSettings at /autodiscover/autodiscover.svc) and the unauthenticated GET probe of
 * /autodiscover/autodiscover.xml that EWS clients make first to learn which endpoints a host offers (Exchange answers
 * 401 with X-SOAP-Enabled and friends). Unknown users get Exchange's InvalidUser, unknown settings InvalidSetting.
 */

/** Headers Exchange sends on the probe: the client reads the enabled endpoints from them. */
export const probeHeaders = {
  'www-authenticate': 'Basic realm="exh emulator"',
  'x-soap-enabled': 'True',
  'x-wssecurity-enabled': 'True',
  'x-oauth-enabled': 'False',
};

/**
 * The "mailbox server" a mailbox lives on, one of `servers` (the emulator's mailboxServers, default 2) chosen by a
 * hash of the address; GroupingInformation and X-CalculatedBETarget name it.
 */
export function serverOf(address: string, servers = 2): string {
  let hash = 0;
  for (const c of address.toLowerCase()) hash = (hash * 31 + c.charCodeAt(0)) >>> 0;
  const domain = address.split('@')[1] ?? 'emulator.test';
  return `exh-mbx${(hash % Math.max(1, servers)) + 1}.${domain}`;
}

const settings: Record<string, (core: Core, address: string) => string> = {
  UserDisplayName: (core, address) => core.store.get(address)?.displayName ?? address,
  UserDN: (_core, address) =>
    `/o=ExhEmulator/ou=Exchange Administrative Group/cn=Recipients/cn=${address.split('@')[0]}`,
  UserDeploymentId: () => '6b3a6f80-3c4b-4ba5-9d8e-6f0a4b7e2c11',
  AutoDiscoverSMTPAddress: (_core, address) => address,
  InternalMailboxServer: (core, address) => serverOf(address, core.settings.mailboxServers),
  MailboxDN: (core, address) =>
    `/o=ExhEmulator/ou=Exchange Administrative Group/cn=Configuration/cn=Servers/cn=${serverOf(address, core.settings.mailboxServers)}/cn=Microsoft Private MDB`,
  CasVersion: () =>
    `${serverVersion.MajorVersion}.${String(serverVersion.MinorVersion).padStart(2, '0')}.${serverVersion.MajorBuildNumber}.${String(serverVersion.MinorBuildNumber).padStart(3, '0')}`,
  EwsSupportedSchemas: () =>
    'Exchange2007, Exchange2007_SP1, Exchange2010, Exchange2010_SP1, Exchange2010_SP2, Exchange2013, Exchange2013_SP1, Exchange2016',
  InternalEwsUrl: (core) => core.ewsUrl(),
  ExternalEwsUrl: (core) => core.ewsUrl(),
  ExternalEwsVersion: () => '15.01.1261.035',
  GroupingInformation: (core, address) =>
    serverOf(address, core.settings.mailboxServers).split('.')[0]?.toUpperCase() ?? 'EXH-MBX1',
};

const i = 'http://www.w3.org/2001/XMLSchema-instance';

function envelope(action: string, body: string): string {
  const versionInfo = el(
    'h:ServerVersionInfo',
    { 'xmlns:h': ns.autodiscover, 'xmlns:i': i },
    textEl('h:MajorVersion', serverVersion.MajorVersion) +
      textEl('h:MinorVersion', serverVersion.MinorVersion) +
      textEl('h:MajorBuildNumber', serverVersion.MajorBuildNumber) +
      textEl('h:MinorBuildNumber', serverVersion.MinorBuildNumber) +
      textEl('h:Version', 'Exchange2015'),
  );
  return (
    `<?xml version="1.0" encoding="utf-8"?><s:Envelope xmlns:s="${ns.soap}" xmlns:a="${ns.wsa}"><s:Header>` +
    `<a:Action s:mustUnderstand="1">http://schemas.microsoft.com/exchange/2010/Autodiscover/Autodiscover/${action}</a:Action>` +
    `${versionInfo}</s:Header><s:Body>${body}</s:Body></s:Envelope>`
  );
}

function userResponse(core: Core, address: string, requested: string[]): string {
  const mailbox = core.store.get(address);
  if (!mailbox) {
    return el(
      'UserResponse',
      undefined,
      textEl('ErrorCode', 'InvalidUser') +
        textEl('ErrorMessage', `Invalid user: '${address}'`) +
        '<UserSettingErrors/><UserSettings/>',
    );
  }
  let values = '';
  let errors = '';
  for (const name of requested) {
    const setting = settings[name];
    if (!setting) {
      errors += el(
        'UserSettingError',
        undefined,
        textEl('ErrorCode', 'InvalidSetting') +
          textEl('ErrorMessage', `The requested setting, '${name}', isn't valid.`) +
          textEl('SettingName', name),
      );
      continue;
    }
    values += el(
      'UserSetting',
      { 'i:type': 'StringSetting' },
      textEl('Name', name) + textEl('Value', setting(core, mailbox.address)),
    );
  }
  return el(
    'UserResponse',
    undefined,
    textEl('ErrorCode', 'NoError') +
      textEl('ErrorMessage', 'No error.') +
      '<RedirectTarget i:nil="true"/>' +
      el('UserSettingErrors', undefined, errors) +
      el('UserSettings', undefined, values),
  );
}

export interface AutodiscoverAnswer {
  status: number;
  body: string;
}

/** Answers a SOAP Autodiscover request (GetUserSettings); other requests get an Autodiscover error. */
export function autodiscover(core: Core, raw: string): AutodiscoverAnswer {
  let root: ReturnType<typeof parseXml>;
  try {
    root = parseXml(raw);
  } catch (error) {
    const message = error instanceof XmlSyntaxError ? error.message : 'Invalid request.';
    return { status: 400, body: fault('InvalidRequest', message) };
  }
  const request = path(root, 'Body', 'GetUserSettingsRequestMessage', 'Request');
  if (!request) {
    const operation = (path(root, 'Body')?.c ?? [])[0]?.n ?? 'nothing';
    return {
      status: 500,
      body: fault('InvalidRequest', `The emulator's Autodiscover answers GetUserSettings, not ${operation}.`),
    };
  }
  const users = children(path(request, 'Users'), 'User').map((u) => (text(u, 'Mailbox') ?? '').trim());
  const requested = children(path(request, 'RequestedSettings'), 'Setting').map((s) => (s.t ?? '').trim());
  const body = el(
    'GetUserSettingsResponseMessage',
    { xmlns: ns.autodiscover },
    el(
      'Response',
      { 'xmlns:i': i },
      textEl('ErrorCode', 'NoError') +
        textEl('ErrorMessage', '') +
        el('UserResponses', undefined, users.map((u) => userResponse(core, u, requested)).join('')),
    ),
  );
  return { status: 200, body: envelope('GetUserSettingsResponse', body) };
}

function fault(code: string, message: string): string {
  return (
    `<?xml version="1.0" encoding="utf-8"?><s:Envelope xmlns:s="${ns.soap}"><s:Body><s:Fault>` +
    `<faultcode>s:Client</faultcode><faultstring xml:lang="en-US">${escapeText(`${code}: ${message}`)}</faultstring>` +
    '</s:Fault></s:Body></s:Envelope>'
  );
}
