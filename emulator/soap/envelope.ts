import { el, escapeText, textEl } from '../xml/write.js';
import { type EwsError, type ResponseCode, responseMessages, type SoapFault } from './response-codes.js';

export const ns = {
  soap: 'http://schemas.xmlsoap.org/soap/envelope/',
  m: 'http://schemas.microsoft.com/exchange/services/2006/messages',
  t: 'http://schemas.microsoft.com/exchange/services/2006/types',
  errors: 'http://schemas.microsoft.com/exchange/services/2006/errors',
  xsi: 'http://www.w3.org/2001/XMLSchema-instance',
  xsd: 'http://www.w3.org/2001/XMLSchema',
  autodiscover: 'http://schemas.microsoft.com/exchange/2010/Autodiscover',
  wsa: 'http://www.w3.org/2005/08/addressing',
} as const;

/** Exchange Server 2016 CU7, the edition of the schema in ../shared/reference/ews-schema. */
export const serverVersion = {
  MajorVersion: 15,
  MinorVersion: 1,
  MajorBuildNumber: 1261,
  MinorBuildNumber: 35,
  Version: 'V2017_07_11',
} as const;

export const versions = [
  'Exchange2007_SP1',
  'Exchange2009',
  'Exchange2010',
  'Exchange2010_SP1',
  'Exchange2010_SP2',
  'Exchange2012',
  'Exchange2013',
  'Exchange2013_SP1',
  'Exchange2015',
  'Exchange2016',
  'V2015_10_05',
  'V2016_01_06',
  'V2016_04_13',
  'V2016_07_13',
  'V2016_10_10',
] as const;
export type ExchangeVersion = (typeof versions)[number];

/** Index of a version for comparisons ("2010 or later"). */
export function versionRank(version: ExchangeVersion): number {
  return versions.indexOf(version);
}

export function serverVersionInfo(): string {
  return el('h:ServerVersionInfo', {
    ...serverVersion,
    'xmlns:h': ns.t,
    xmlns: ns.t,
    'xmlns:xsi': ns.xsi,
    'xmlns:xsd': ns.xsd,
  });
}

/** The opening tag of an operation's response element, declaring m: and t: on it so it validates on its own. */
export function responseRoot(name: string, inner: string): string {
  return `<m:${name} xmlns:m="${ns.m}" xmlns:t="${ns.t}">${inner}</m:${name}>`;
}

/** Exchange's envelope: ServerVersionInfo in the header, the operation's response in the body. */
export function envelope(body: string): string {
  return (
    `<?xml version="1.0" encoding="utf-8"?><s:Envelope xmlns:s="${ns.soap}"><s:Header>${serverVersionInfo()}</s:Header>` +
    `<s:Body xmlns:xsi="${ns.xsi}" xmlns:xsd="${ns.xsd}">${body}</s:Body></s:Envelope>`
  );
}

export function messageXml(values: Record<string, string>): string {
  const entries = Object.entries(values);
  if (entries.length === 0) return '';
  return el(
    'm:MessageXml',
    undefined,
    entries.map(([name, value]) => textEl('t:Value', value, { Name: name })).join(''),
  );
}

/** A successful response message; `inner` follows ResponseCode in the message's sequence. */
export function successMessage(name: string, inner = ''): string {
  return `<m:${name} ResponseClass="Success"><m:ResponseCode>NoError</m:ResponseCode>${inner}</m:${name}>`;
}

/** A failed response message, as Exchange writes it (MessageText, ResponseCode, DescriptiveLinkKey, MessageXml). */
export function errorMessage(name: string, error: EwsError, inner = ''): string {
  return (
    `<m:${name} ResponseClass="Error">${textEl('m:MessageText', error.message)}${textEl('m:ResponseCode', error.code)}` +
    `<m:DescriptiveLinkKey>0</m:DescriptiveLinkKey>${messageXml(error.values)}${inner}</m:${name}>`
  );
}

/** A warning message (Exchange uses it for, e.g., a batch stopped part way). */
export function warningMessage(name: string, code: ResponseCode, inner = ''): string {
  return (
    `<m:${name} ResponseClass="Warning">${textEl('m:MessageText', responseMessages[code])}${textEl('m:ResponseCode', code)}` +
    `<m:DescriptiveLinkKey>0</m:DescriptiveLinkKey>${inner}</m:${name}>`
  );
}

/** A SOAP fault as Exchange sends it with HTTP 500 (faultcode in the types namespace, details in the errors one). */
export function faultEnvelope(fault: SoapFault): string {
  const values = Object.entries(fault.values);
  const detailXml =
    values.length === 0
      ? ''
      : el(
          't:MessageXml',
          { 'xmlns:t': ns.t },
          values.map(([name, v]) => textEl('t:Value', v, { Name: name })).join(''),
        );
  return (
    `<?xml version="1.0" encoding="utf-8"?><s:Envelope xmlns:s="${ns.soap}"><s:Body><s:Fault>` +
    `<faultcode xmlns:a="${ns.t}">a:${fault.code}</faultcode>` +
    `<faultstring xml:lang="en-US">${escapeText(fault.message)}</faultstring>` +
    `<detail><e:ResponseCode xmlns:e="${ns.errors}">${fault.code}</e:ResponseCode>` +
    `<e:Message xmlns:e="${ns.errors}">${escapeText(fault.message)}</e:Message>${detailXml}</detail>` +
    '</s:Fault></s:Body></s:Envelope>'
  );
}
