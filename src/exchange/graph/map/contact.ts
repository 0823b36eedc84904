import type { Contact, PhysicalAddress, SingleValueLegacyExtendedProperty } from '@microsoft/microsoft-graph-types';
import type { ExchangeItem, ExchangeValue, ItemProperty } from '../../../ports/exchange.port.js';
import { stampOf } from '../ids.js';
import {
  checked,
  given,
  iso,
  type Labels,
  nearestDate,
  put,
  splitList,
  strings,
  text,
  toInstant,
  toText,
  type Values,
} from './values.js';

/**
 * A Graph contact ↔ the neutral properties of a contact. Graph keeps e-mail addresses and phones as lists and
 * addresses as whole objects, so a write of one entry keeps the others (`current`: the contact as it is): email1–3
 * are emailAddresses[0..2], businessPhone is businessPhones[0], homePhone homePhones[0]. The notes are Graph's
 * personalNotes (plain text). Graph v1.0 has no fax number: `businessFax` is left out of the item (not carried, so the
 * core keeps the application's column) and not written.
 */

export type GraphContact = Contact & { '@odata.etag'?: string };

const textFields = {
  displayName: 'displayName',
  givenName: 'givenName',
  middleName: 'middleName',
  surname: 'surname',
  initials: 'initials',
  nickname: 'nickName',
  company: 'companyName',
  department: 'department',
  jobTitle: 'jobTitle',
  fileAs: 'fileAs',
  mobilePhone: 'mobilePhone',
} as const satisfies Partial<Record<ItemProperty, keyof Contact>>;

const addressParts = {
  street: 'street',
  city: 'city',
  state: 'state',
  postalCode: 'postalCode',
  country: 'countryOrRegion',
} as const satisfies Record<string, keyof PhysicalAddress>;

const addressKinds = { businessAddress: 'businessAddress', homeAddress: 'homeAddress' } as const;
const emailSlots = ['email1', 'email2', 'email3'] as const;

export function contactFromGraph(contact: GraphContact): ExchangeItem {
  const properties: Partial<Record<ItemProperty, ExchangeValue>> = {
    subject: text(contact.displayName),
    body: text(contact.personalNotes),
    bodyType: contact.personalNotes ? 'Text' : null,
    categories: strings(contact.categories),
    created: iso(contact.createdDateTime),
    lastModified: iso(contact.lastModifiedDateTime),
    appItemId: stampOf(contact.singleValueExtendedProperties),
    birthday: nearestDate(contact.birthday),
    businessPhone: text(contact.businessPhones?.[0]),
    homePhone: text(contact.homePhones?.[0]),
  };
  for (const [property, key] of Object.entries(textFields)) {
    properties[property as ItemProperty] = text(contact[key] as string | null | undefined);
  }
  emailSlots.forEach((slot, index) => {
    properties[slot] = text(contact.emailAddresses?.[index]?.address);
  });
  for (const [prefix, key] of Object.entries(addressKinds)) {
    const value = contact[key];
    for (const [part, member] of Object.entries(addressParts)) {
      properties[`${prefix}.${part}` as ItemProperty] = text(value?.[member]);
    }
  }
  return {
    id: contact.id ?? '',
    changeKey: contact['@odata.etag'] ?? contact.changeKey ?? '',
    itemClass: 'IPM.Contact',
    properties,
  };
}

/** A list with entry `index` set from the write (kept from `current` otherwise); '' removes the entry. */
function listWith(current: readonly string[], index: number, value: string | null): string[] {
  const list = [...current];
  while (list.length <= index) list.push('');
  list[index] = value ?? '';
  return list;
}

/** The JSON of a POST or PATCH of a contact; `current` is the contact as it is (PATCH), for lists and addresses. */
export function contactToGraph(
  values: Values,
  labels: Labels = {},
  current: Contact | undefined = undefined,
  extra: SingleValueLegacyExtendedProperty[] = [],
): Record<string, unknown> {
  const json: Record<string, unknown> = {};
  for (const [property, key] of Object.entries(textFields))
    put(json, key, values, labels, property as ItemProperty, toText);
  put(json, 'personalNotes', values, labels, 'body', toText);
  put(json, 'categories', values, labels, 'categories', splitList, []);
  put(json, 'birthday', values, labels, 'birthday', (v) => `${toInstant(v).slice(0, 10)}T00:00:00Z`);
  // The whole list is written: the entries the write leaves alone are kept as they are.
  if (emailSlots.some((slot) => given(values, slot) !== 'leave')) {
    let emails = (current?.emailAddresses ?? []).map((e) => e.address ?? '');
    emailSlots.forEach((slot, index) => {
      const value = given(values, slot);
      if (value === 'leave') return;
      emails = listWith(emails, index, value === 'clear' ? null : checked(slot, labels, () => toText(value).trim()));
    });
    json.emailAddresses = emails.filter(Boolean).map((a) => ({ address: a, name: a }));
  }
  for (const [property, key] of [
    ['businessPhone', 'businessPhones'],
    ['homePhone', 'homePhones'],
  ] as const) {
    const value = given(values, property);
    if (value === 'leave') continue;
    const list = listWith(current?.[key] ?? [], 0, value === 'clear' ? null : toText(value));
    json[key] = list.filter(Boolean);
  }
  for (const [prefix, key] of Object.entries(addressKinds) as Array<
    [keyof typeof addressKinds, (typeof addressKinds)[keyof typeof addressKinds]]
  >) {
    const parts = Object.entries(addressParts) as Array<[keyof typeof addressParts, keyof PhysicalAddress]>;
    if (!parts.some(([part]) => given(values, `${prefix}.${part}`) !== 'leave')) continue;
    const address: Record<string, string | null> = { ...(current?.[key] ?? {}) } as Record<string, string | null>;
    for (const [part, member] of parts) {
      const value = given(values, `${prefix}.${part}`);
      if (value === 'leave') continue;
      address[member] = value === 'clear' ? null : toText(value);
    }
    json[key] = address;
  }
  if (extra.length > 0) json.singleValueExtendedProperties = extra;
  return json;
}

/** Whether a contact write touches what Graph keeps as a list or an object (needs the contact as it is first). */
export function needsCurrentContact(values: Values): boolean {
  const keys: ItemProperty[] = [...emailSlots, 'businessPhone', 'homePhone'];
  for (const prefix of Object.keys(addressKinds)) {
    for (const part of Object.keys(addressParts)) keys.push(`${prefix}.${part}` as ItemProperty);
  }
  return keys.some((key) => given(values, key) !== 'leave');
}
