import type { Contact, EmailAddress, PhysicalAddress } from '@microsoft/microsoft-graph-types';
import type { ItemView } from '../../items/calendar.js';
import { isoSeconds, textOf, timeOf } from '../../items/values.js';
import type { PropValue } from '../../store/model.js';
import { children, type XmlNode } from '../../xml/node.js';
import { badRequest } from '../http.js';
import { folderGraphId, graphIdOf } from '../ids.js';
import { stringList, stringsOf, text } from './common.js';
import type { RenderContext } from './context.js';

/**
 * Graph's contact (https://learn.microsoft.com/graph/api/resources/contact) from and to the store's EWS contact:
 * emailAddresses ↔ EmailAddresses (EmailAddress1..3), businessPhones/homePhones/mobilePhone ↔ PhoneNumbers
 * (BusinessPhone, BusinessPhone2, HomePhone, HomePhone2, MobilePhone), home/business/otherAddress ↔
 * PhysicalAddresses (Home, Business, Other), personalNotes ↔ Body, the rest by name.
 */

const simple: Record<string, string> = {
  givenName: 'GivenName',
  surname: 'Surname',
  middleName: 'MiddleName',
  nickName: 'Nickname',
  displayName: 'DisplayName',
  fileAs: 'FileAs',
  initials: 'Initials',
  generation: 'Generation',
  companyName: 'CompanyName',
  department: 'Department',
  jobTitle: 'JobTitle',
  officeLocation: 'OfficeLocation',
  profession: 'Profession',
  assistantName: 'AssistantName',
  manager: 'Manager',
  spouseName: 'SpouseName',
  businessHomePage: 'BusinessHomePage',
};
const phones: Record<string, string[]> = {
  businessPhones: ['BusinessPhone', 'BusinessPhone2'],
  homePhones: ['HomePhone', 'HomePhone2'],
  mobilePhone: ['MobilePhone'],
};
const addresses: Record<string, string> = { homeAddress: 'Home', businessAddress: 'Business', otherAddress: 'Other' };
const addressParts: [keyof PhysicalAddress, string][] = [
  ['street', 'Street'],
  ['city', 'City'],
  ['state', 'State'],
  ['countryOrRegion', 'CountryOrRegion'],
  ['postalCode', 'PostalCode'],
];
const emailKeys = ['EmailAddress1', 'EmailAddress2', 'EmailAddress3'];
const imKeys = ['ImAddress1', 'ImAddress2', 'ImAddress3'];

function entries(value: PropValue | undefined): XmlNode[] {
  return typeof value === 'object' ? children(value, 'Entry') : [];
}

function entry(value: PropValue | undefined, key: string): XmlNode | undefined {
  return entries(value).find((e) => e.a?.Key === key);
}

function physical(value: PropValue | undefined, key: string): PhysicalAddress {
  const found = entry(value, key);
  const out: PhysicalAddress = {};
  for (const [graph, ews] of addressParts) {
    const part = found ? children(found, ews)[0]?.t : undefined;
    if (part) out[graph] = part as never;
  }
  return out;
}

export function renderContact(view: ItemView, ctx: RenderContext): Contact & Record<string, unknown> {
  const { item, props } = view;
  const out: Contact & Record<string, unknown> = {
    '@odata.etag': `W/"${view.changeKey}"`,
    id: graphIdOf(item, ctx.prefs.immutableIds),
    createdDateTime: isoSeconds(item.created),
    lastModifiedDateTime: isoSeconds(item.modified),
    changeKey: view.changeKey,
    categories: stringsOf(props.Categories),
    parentFolderId: folderGraphId(item.folderId),
    birthday: timeOf(props.Birthday) !== undefined ? isoSeconds(timeOf(props.Birthday) ?? 0) : null,
  };
  for (const [graph, ews] of Object.entries(simple)) out[graph] = textOf(props[ews]) ?? null;
  out.personalNotes = typeof props.Body === 'object' ? (props.Body.t ?? '') : '';
  out.emailAddresses = emailKeys
    .map((key) => entry(props.EmailAddresses, key))
    .filter((e): e is XmlNode => e !== undefined && !!e.t)
    .map((e): EmailAddress => ({ name: e.a?.Name ?? e.t ?? '', address: e.t ?? '' }));
  out.imAddresses = imKeys.map((key) => entry(props.ImAddresses, key)?.t).filter((t): t is string => !!t);
  for (const [graph, keys] of Object.entries(phones)) {
    const values = keys.map((key) => entry(props.PhoneNumbers, key)?.t).filter((t): t is string => !!t);
    out[graph] = graph === 'mobilePhone' ? (values[0] ?? null) : values;
  }
  for (const [graph, key] of Object.entries(addresses)) out[graph] = physical(props.PhysicalAddresses, key);
  out.children = stringsOf(props.Children);
  return out;
}

function withEntries(current: PropValue | undefined, name: string, replace: string[], added: XmlNode[]): XmlNode {
  const kept = entries(current).filter((e) => !replace.includes(e.a?.Key ?? ''));
  const all = [...kept, ...added];
  return all.length > 0 ? { n: name, c: all } : { n: name };
}

function strings(value: unknown, what: string): string[] {
  if (value === null) return [];
  if (!Array.isArray(value) || value.some((v) => typeof v !== 'string'))
    throw badRequest(`${what}: expected an array of strings.`);
  return value as string[];
}

/**
 * A contact write as EWS elements, dictionaries merged with what the contact has (`current`): businessPhones
 * replaces the business numbers and leaves the mobile one. Unknown properties are returned in `unknown`.
 */
export function contactElements(
  input: Record<string, unknown>,
  current: Record<string, PropValue>,
): { set: XmlNode[]; clear: string[]; unknown: string[] } {
  const set: XmlNode[] = [];
  const clear: string[] = [];
  const unknown: string[] = [];
  const dictionaries: Record<string, PropValue | undefined> = {
    EmailAddresses: current.EmailAddresses,
    PhoneNumbers: current.PhoneNumbers,
    PhysicalAddresses: current.PhysicalAddresses,
    ImAddresses: current.ImAddresses,
  };
  const touched = new Set<string>();
  const replace = (name: string, keys: string[], added: XmlNode[]) => {
    dictionaries[name] = withEntries(dictionaries[name], name, keys, added);
    touched.add(name);
  };
  for (const [name, value] of Object.entries(input)) {
    const ews = simple[name];
    if (ews) {
      if (value === null) clear.push(ews);
      else set.push({ n: ews, t: text(value, name) });
    } else if (name === 'personalNotes') {
      if (value === null || value === '') clear.push('Body');
      else set.push({ n: 'Body', a: { BodyType: 'Text' }, t: text(value, name) });
    } else if (name === 'birthday') {
      if (value === null) clear.push('Birthday');
      else set.push({ n: 'Birthday', t: text(value, name) });
    } else if (name === 'categories') set.push(stringList('Categories', value));
    else if (name === 'children') set.push(stringList('Children', value));
    else if (name === 'emailAddresses') {
      if (value !== null && !Array.isArray(value)) throw badRequest('emailAddresses: expected an array.');
      const list = ((value ?? []) as EmailAddress[]).slice(0, 3);
      replace(
        'EmailAddresses',
        emailKeys,
        list.map((e, i) => ({
          n: 'Entry',
          a: { Key: emailKeys[i] ?? 'EmailAddress1', ...(e?.name ? { Name: e.name } : {}) },
          t: text(e?.address ?? '', 'emailAddresses.address'),
        })),
      );
    } else if (name === 'imAddresses') {
      replace(
        'ImAddresses',
        imKeys,
        strings(value, name)
          .slice(0, 3)
          .map((t, i) => ({ n: 'Entry', a: { Key: imKeys[i] ?? '' }, t })),
      );
    } else if (phones[name]) {
      const keys = phones[name] ?? [];
      const values =
        name === 'mobilePhone' ? (value === null || value === '' ? [] : [text(value, name)]) : strings(value, name);
      replace(
        'PhoneNumbers',
        keys,
        values.slice(0, keys.length).map((t, i) => ({ n: 'Entry', a: { Key: keys[i] ?? '' }, t })),
      );
    } else if (addresses[name]) {
      const key = addresses[name] ?? 'Home';
      const given = (value ?? {}) as Record<string, unknown>;
      const parts = addressParts
        .filter(([graph]) => typeof given[graph] === 'string' && given[graph] !== '')
        .map(([graph, ews]) => ({ n: ews, t: String(given[graph]) }));
      replace('PhysicalAddresses', [key], parts.length > 0 ? [{ n: 'Entry', a: { Key: key }, c: parts }] : []);
    } else if (!contactIgnored.has(name) && name !== 'singleValueExtendedProperties') unknown.push(name);
  }
  for (const name of touched) {
    const node = dictionaries[name];
    if (typeof node === 'object' && node.c?.length) set.push(node);
    else clear.push(name);
  }
  return { set, clear, unknown };
}

const contactIgnored = new Set([
  'id',
  '@odata.type',
  '@odata.etag',
  'changeKey',
  'createdDateTime',
  'lastModifiedDateTime',
  'parentFolderId',
  'title',
  'yomiGivenName',
  'yomiSurname',
  'yomiCompanyName',
]);
