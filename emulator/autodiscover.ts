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

/** The Exchange Control Panel's origin, beside EWS's (Exchange serves both from the same host). */
function ecpUrl(core: Core): string {
  return new URL('/ecp/', core.ewsUrl()).href;
}

/**
 * The ECP pages Exchange names, by the stem of their SOAP settings (InternalEcp<stem>Url, ExternalEcp<stem>Url,
 * Ecp<stem>UrlFragment) and the fragment Exchange 2013/2016 answers; POX Autodiscover calls the same fragments
 * EcpUrl-um, -aggr, -sms, -mt, -ret, -publish, -photo, -connect, -tm, -tmCreating, -tmEditing, -tmHiding, -extinstall.
 */
const ecpPages: Record<string, string> = {
  Voicemail: '?rfr=olk&p=customize/voicemail.aspx&exsvurl=1&realm=<Realm>',
  EmailSubscriptions: '?rfr=olk&p=personalsettings/EmailSubscriptions.slab&exsvurl=1&realm=<Realm>',
  TextMessaging: '?rfr=olk&p=sms/textmessaging.slab&exsvurl=1&realm=<Realm>',
  DeliveryReport:
    'PersonalSettings/DeliveryReport.aspx?rfr=olk&exsvurl=1&IsOWA=<IsOWA>&MsgID=<MsgID>&Mbx=<Mbx>&realm=<Realm>',
  RetentionPolicyTags: '?rfr=olk&p=organize/retentionpolicytags.slab&exsvurl=1&realm=<Realm>',
  Publishing: 'customize/calendarpublishing.slab?rfr=olk&exsvurl=1&FldID=<FldID>&realm=<Realm>',
  Photo: 'PersonalSettings/EditAccount.aspx?rfr=olk&chgPhoto=1&exsvurl=1&realm=<Realm>',
  Connect: '?rfr=olk&p=Connect/Connections.slab&exsvurl=1&realm=<Realm>',
  TeamMailbox: '?rfr=olk&ftr=TeamMailbox&exsvurl=1&realm=<Realm>',
  TeamMailboxCreating:
    '?rfr=olk&ftr=TeamMailboxCreating&SPUrl=<SPUrl>&Title=<Title>&SPTMAppUrl=<SPTMAppUrl>&exsvurl=1&realm=<Realm>',
  TeamMailboxEditing: '?rfr=olk&ftr=TeamMailboxEditing&Id=<Id>&exsvurl=1&realm=<Realm>',
  TeamMailboxHiding: '?rfr=olk&ftr=TeamMailboxHiding&Id=<Id>&exsvurl=1&realm=<Realm>',
  ExtensionInstallation: 'Extension/InstalledExtensions.slab?rfr=olk&exsvurl=1&realm=<Realm>',
};

type Setting = (core: Core, address: string) => string;

function ecpSettings(): Record<string, Setting> {
  const out: Record<string, Setting> = {
    InternalEcpUrl: (core) => ecpUrl(core),
    ExternalEcpUrl: (core) => ecpUrl(core),
  };
  for (const [stem, fragment] of Object.entries(ecpPages)) {
    const realm = (address: string) => fragment.replace('<Realm>', address.split('@')[1] ?? '');
    out[`Ecp${stem}UrlFragment`] = (_core, address) => realm(address);
    out[`InternalEcp${stem}Url`] = (core, address) => ecpUrl(core) + realm(address);
    out[`ExternalEcp${stem}Url`] = (core, address) => ecpUrl(core) + realm(address);
  }
  return out;
}

/** The host a client reaches the mailbox through from outside (Outlook Anywhere's), the emulator's own. */
function externalHost(core: Core): string {
  return new URL(core.ewsUrl()).hostname;
}

const legacyDn = '/o=ExhEmulator/ou=Exchange Administrative Group';

/** The offline address book's URL, as Exchange names it: /OAB/<the OAB's GUID>/ on the Client Access server. */
function oabUrl(core: Core): string {
  return new URL('/OAB/3c2c8d9e-7f4b-4a51-9d0e-2b6f1e0a9c41/', core.ewsUrl()).href;
}

/** Outlook on the web's URL, with the logons Exchange lists for it (forms, and Basic as the emulator takes). */
function webClientUrls(core: Core): string {
  const url = new URL('/owa/', core.ewsUrl()).href;
  return el(
    'WebClientUrls',
    undefined,
    el('WebClientUrl', undefined, textEl('AuthenticationMethods', 'Basic, Fba') + textEl('Url', url)),
  );
}

/** Settings that are not strings: their i:type and their element (the value's place). */
const collectionSettings: Record<string, { type: string; xml: (core: Core) => string }> = {
  InternalWebClientUrls: { type: 'WebClientUrlCollectionSetting', xml: webClientUrls },
  ExternalWebClientUrls: { type: 'WebClientUrlCollectionSetting', xml: webClientUrls },
};

const settings: Record<string, Setting> = {
  ...ecpSettings(),
  UserDisplayName: (core, address) => core.store.get(address)?.displayName ?? address,
  UserDN: (_core, address) =>
    `/o=ExhEmulator/ou=Exchange Administrative Group/cn=Recipients/cn=${address.split('@')[0]}`,
  UserDeploymentId: () => '6b3a6f80-3c4b-4ba5-9d8e-6f0a4b7e2c11',
  AutoDiscoverSMTPAddress: (_core, address) => address,
  InternalMailboxServer: (core, address) => serverOf(address, core.settings.mailboxServers),
  InternalRpcClientServer: (core, address) => serverOf(address, core.settings.mailboxServers),
  InternalMailboxServerDN: (core, address) =>
    `${legacyDn}/cn=Configuration/cn=Servers/cn=${serverOf(address, core.settings.mailboxServers)}`,
  InternalMailboxServerAuthenticationMethods: () => 'Ntlm',
  ExternalMailboxServer: (core) => externalHost(core),
  ExternalMailboxServerRequiresSSL: (core) => (new URL(core.ewsUrl()).protocol === 'https:' ? 'True' : 'False'),
  ExternalMailboxServerAuthenticationMethods: () => 'Basic',
  InternalOABUrl: (core) => oabUrl(core),
  ExternalOABUrl: (core) => oabUrl(core),
  ActiveDirectoryServer: (_core, address) => `exh-dc1.${address.split('@')[1] ?? 'emulator.test'}`,
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
    const collection = collectionSettings[name];
    if (!setting && !collection) {
      errors += el(
        'UserSettingError',
        undefined,
        textEl('ErrorCode', 'InvalidSetting') +
          textEl('ErrorMessage', `The requested setting, '${name}', isn't valid.`) +
          textEl('SettingName', name),
      );
      continue;
    }
    values += collection
      ? el('UserSetting', { 'i:type': collection.type }, textEl('Name', name) + collection.xml(core))
      : el(
          'UserSetting',
          { 'i:type': 'StringSetting' },
          textEl('Name', name) + textEl('Value', setting?.(core, mailbox.address) ?? ''),
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
