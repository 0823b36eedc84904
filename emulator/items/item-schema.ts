import {
  base64,
  boolean,
  dateTime,
  integer,
  many,
  number,
  one,
  oneOf,
  optional,
  type Particle,
  type Spec,
  string,
  text,
  type Value,
} from '../soap/schema-check.js';
import { itemSchemaText } from './item-schema-table.js';

/**
 * Request-side specs of the items a client sends (CreateItem, SetItemField): which elements a CalendarItem, Message,
 * Contact or Task may hold and in which order (types.xsd, via item-schema-table.ts), the values of the simple ones,
 * and the shape of the complex ones the emulator reads (bodies, recipients, attendees, dictionaries, extended
 * properties, attachments). A misplaced or unknown element is ErrorSchemaValidation, as on Exchange.
 */

export type ItemElement = keyof typeof itemSchemaText;

const simple: Record<string, Value> = {
  s: string,
  d: dateTime,
  b: boolean,
  i: integer('xs:long', -(2 ** 53), 2 ** 53),
  n: number,
  6: base64,
};

const mailbox: Spec = {
  seq: [
    optional('Name', text(string)),
    optional('EmailAddress', text(string)),
    optional('RoutingType', text(string)),
    optional(
      'MailboxType',
      text(
        oneOf('t:MailboxTypeType', [
          'Unknown',
          'OneOff',
          'Mailbox',
          'PublicDL',
          'PrivateDL',
          'Contact',
          'PublicFolder',
          'GroupMailbox',
          'ImplicitContact',
          'User',
        ]),
      ),
    ),
    optional('ItemId'),
  ],
};
const responseTypes = ['Unknown', 'Organizer', 'Tentative', 'Accept', 'Decline', 'NoResponseReceived'];
const attendees: Spec = {
  seq: [
    many('Attendee', {
      seq: [
        one('Mailbox', mailbox),
        optional('ResponseType', text(oneOf('t:ResponseTypeType', responseTypes))),
        optional('LastResponseTime', text(dateTime)),
        optional('ProposedStart', text(dateTime)),
        optional('ProposedEnd', text(dateTime)),
      ],
    }),
  ],
};
const recipients: Spec = { seq: [many('Mailbox', mailbox, 0)] };
const single: Spec = { seq: [one('Mailbox', mailbox)] };
const strings: Spec = { seq: [many('String', text(string), 0)] };
const entries = (members?: Particle[]): Spec => ({
  seq: [many('Entry', { attrs: { Key: { required: true } }, ...(members ? { seq: members } : { text: string }) })],
});
const physicalAddress = ['Street', 'City', 'State', 'CountryOrRegion', 'PostalCode'].map((n) =>
  optional(n, text(string)),
);
const zone: Spec = { attrs: { Id: {} } };

export const fileAttachment: Spec = {
  seq: [
    optional('AttachmentId'),
    optional('Name', text(string)),
    optional('ContentType', text(string)),
    optional('ContentId', text(string)),
    optional('ContentLocation', text(string)),
    optional('AttachmentOriginalUrl', text(string)),
    optional('Size', text(integer())),
    optional('LastModifiedTime', text(dateTime)),
    optional('IsInline', text(boolean)),
    optional('IsContactPhoto', text(boolean)),
    optional('Content', text(base64)),
  ],
};
/** Only file attachments are read; the others are refused later with a clearer error. */
export const attachments: Spec = {
  seq: [
    many(['FileAttachment', 'ItemAttachment', 'ReferenceAttachment'], (name) =>
      name === 'FileAttachment' ? fileAttachment : undefined,
    ),
  ],
};
const extendedProperty: Spec = {
  seq: [one('ExtendedFieldURI', { attrs: { PropertyType: { required: true } } }), one(['Value', 'Values'])],
};

/** Complex elements the emulator reads, by name (all item kinds name them alike). */
const complex: Record<string, Spec> = {
  Body: { attrs: { BodyType: { required: true, value: oneOf('t:BodyTypeType', ['HTML', 'Text']) } }, text: string },
  Attachments: attachments,
  ExtendedProperty: extendedProperty,
  Categories: strings,
  Children: strings,
  Companies: strings,
  Contacts: strings,
  ToRecipients: recipients,
  CcRecipients: recipients,
  BccRecipients: recipients,
  ReplyTo: recipients,
  From: single,
  Sender: single,
  RequiredAttendees: attendees,
  OptionalAttendees: attendees,
  Resources: attendees,
  EmailAddresses: entries(),
  PhoneNumbers: entries(),
  ImAddresses: entries(),
  PhysicalAddresses: entries(physicalAddress),
  StartTimeZone: zone,
  EndTimeZone: zone,
};

function particles(lines: string[]): Particle[] {
  return lines
    .join(' ')
    .split(' ')
    .filter(Boolean)
    .map((word) => {
      const [head, code] = word.split(/:(.*)/s) as [string, string | undefined];
      const repeated = head.endsWith('*');
      const name = repeated ? head.slice(0, -1) : head;
      let spec: Spec | undefined = complex[name];
      if (code === 'body') spec = complex.Body;
      else if (code?.startsWith('e=')) spec = text(oneOf(`t:${name}`, code.slice(2).split('|')));
      else if (code && simple[code]) spec = text(simple[code] as Value);
      return repeated ? many(name, spec, 0) : optional(name, spec);
    });
}

const base = particles(itemSchemaText.Item);
const specs = new Map<string, Spec>();

/** The spec of an item element (CalendarItem, Message, Contact, Task or Item), undefined for other kinds. */
export function itemSpec(element: string): Spec | undefined {
  if (!(element in itemSchemaText)) return undefined;
  let spec = specs.get(element);
  if (!spec) {
    const own = element === 'Item' ? [] : particles(itemSchemaText[element as ItemElement]);
    spec = { seq: [...base, ...own] };
    specs.set(element, spec);
  }
  return spec;
}

/** The element names of an item type in schema order (for tests that compare with types.xsd). */
export function itemElementNames(element: ItemElement): string[] {
  const spec = itemSpec(element);
  return (spec?.seq ?? []).flatMap((p) => p.names);
}
