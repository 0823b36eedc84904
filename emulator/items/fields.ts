import type { ExchangeVersion } from '../soap/envelope.js';
import { ewsSimpleTypes } from '../soap/generated/ews-schema.js';

/**
 * The item properties the emulator keeps, per item kind, in the order of types.xsd (each item type is an
 * xs:sequence, so a response must list them in exactly this order). A property is stored as text (`text`, `date`)
 * or as the XML the client sent (`xml`), or is computed from the item when it is rendered (`computed`).
 *
 * Flags: `find` — returned by FindItem/SyncFolderItems with AllProperties (Exchange keeps bodies, attendees and
 * recurrence out of those); `dflt` — part of the Default shape; `explicit` — only when asked for by name
 * (TextBody, UniqueBody); `since`/`until` — the request versions that see it.
 */
export type Storage = 'text' | 'date' | 'xml' | 'computed';

export interface FieldDef {
  el: string;
  uri: string;
  storage: Storage;
  find?: boolean;
  dflt?: boolean;
  explicit?: boolean;
  since?: ExchangeVersion;
  until?: ExchangeVersion;
}

export const itemKinds = [
  'CalendarItem',
  'Message',
  'Contact',
  'Task',
  'MeetingRequest',
  'MeetingCancellation',
  'MeetingResponse',
] as const;
export type ItemKind = (typeof itemKinds)[number];

type Spec = [el: string, uri: string, storage: Storage, flags?: string];

function defs(specs: Spec[]): FieldDef[] {
  return specs.map(([el, uri, storage, flags = '']) => {
    const def: FieldDef = { el, uri, storage };
    for (const flag of flags.split(' ').filter(Boolean)) {
      if (flag === 'f') def.find = true;
      else if (flag === 'd') def.dflt = true;
      else if (flag === 'x') def.explicit = true;
      else if (flag.startsWith('>')) def.since = flag.slice(1) as ExchangeVersion;
      else if (flag.startsWith('<')) def.until = flag.slice(1) as ExchangeVersion;
    }
    return def;
  });
}

const itemFields = defs([
  ['ItemId', 'item:ItemId', 'computed', 'f d'],
  ['ParentFolderId', 'item:ParentFolderId', 'computed', 'f'],
  ['ItemClass', 'item:ItemClass', 'text', 'f'],
  ['Subject', 'item:Subject', 'text', 'f d'],
  ['Sensitivity', 'item:Sensitivity', 'text', 'f'],
  ['Body', 'item:Body', 'xml', 'd'],
  ['Attachments', 'item:Attachments', 'computed', 'd'],
  ['DateTimeReceived', 'item:DateTimeReceived', 'computed', 'f'],
  ['Size', 'item:Size', 'computed', 'f'],
  ['Categories', 'item:Categories', 'xml', 'f'],
  ['Importance', 'item:Importance', 'text', 'f'],
  ['InReplyTo', 'item:InReplyTo', 'text', 'f'],
  ['IsSubmitted', 'item:IsSubmitted', 'computed', 'f'],
  ['IsDraft', 'item:IsDraft', 'computed', 'f'],
  ['IsFromMe', 'item:IsFromMe', 'computed', 'f'],
  ['IsResend', 'item:IsResend', 'computed', 'f'],
  ['IsUnmodified', 'item:IsUnmodified', 'computed', 'f'],
  ['DateTimeSent', 'item:DateTimeSent', 'computed', 'f'],
  ['DateTimeCreated', 'item:DateTimeCreated', 'computed', 'f'],
  ['ReminderDueBy', 'item:ReminderDueBy', 'date', 'f'],
  ['ReminderIsSet', 'item:ReminderIsSet', 'text', 'f'],
  ['ReminderMinutesBeforeStart', 'item:ReminderMinutesBeforeStart', 'text', 'f'],
  ['DisplayCc', 'item:DisplayCc', 'computed', 'f'],
  ['DisplayTo', 'item:DisplayTo', 'computed', 'f'],
  ['HasAttachments', 'item:HasAttachments', 'computed', 'f d'],
  ['ExtendedProperty', '', 'computed', 'f'],
  ['Culture', 'item:Culture', 'text', 'f'],
  ['LastModifiedName', 'item:LastModifiedName', 'computed', 'f'],
  ['LastModifiedTime', 'item:LastModifiedTime', 'computed', 'f'],
  ['IsAssociated', 'item:IsAssociated', 'computed', 'f >Exchange2010'],
  ['UniqueBody', 'item:UniqueBody', 'computed', 'x >Exchange2010'],
  ['Preview', 'item:Preview', 'computed', 'f >Exchange2013'],
  ['TextBody', 'item:TextBody', 'computed', 'x >Exchange2013'],
]);

const messageFields = defs([
  ['Sender', 'message:Sender', 'xml', 'f'],
  ['ToRecipients', 'message:ToRecipients', 'xml', 'd'],
  ['CcRecipients', 'message:CcRecipients', 'xml', 'd'],
  ['BccRecipients', 'message:BccRecipients', 'xml', 'd'],
  ['IsReadReceiptRequested', 'message:IsReadReceiptRequested', 'text', 'f'],
  ['IsDeliveryReceiptRequested', 'message:IsDeliveryReceiptRequested', 'text', 'f'],
  ['ConversationTopic', 'message:ConversationTopic', 'computed', 'f'],
  ['From', 'message:From', 'xml', 'f d'],
  ['InternetMessageId', 'message:InternetMessageId', 'computed', 'f'],
  ['IsRead', 'message:IsRead', 'text', 'f d'],
  ['IsResponseRequested', 'message:IsResponseRequested', 'text', 'f'],
  ['References', 'message:References', 'text', 'f'],
  ['ReplyTo', 'message:ReplyTo', 'xml', ''],
  ['ReceivedBy', 'message:ReceivedBy', 'computed', 'f'],
  ['ReceivedRepresenting', 'message:ReceivedRepresenting', 'computed', 'f'],
]);

/** The calendar part of CalendarItem; meeting requests carry the same properties from Start on, less a few. */
function calendarFields(meetingRequest: boolean): FieldDef[] {
  const all = defs([
    ['UID', 'calendar:UID', 'text', 'f'],
    ['RecurrenceId', 'calendar:RecurrenceId', 'computed', 'f'],
    ['DateTimeStamp', 'calendar:DateTimeStamp', 'computed', 'f'],
    ['Start', 'calendar:Start', 'date', 'f d'],
    ['End', 'calendar:End', 'date', 'f d'],
    ['OriginalStart', 'calendar:OriginalStart', 'computed', 'f'],
    ['IsAllDayEvent', 'calendar:IsAllDayEvent', 'text', 'f'],
    ['LegacyFreeBusyStatus', 'calendar:LegacyFreeBusyStatus', 'text', 'f'],
    ['Location', 'calendar:Location', 'text', 'f d'],
    ['When', 'calendar:When', 'text', 'f'],
    ['IsMeeting', 'calendar:IsMeeting', 'computed', 'f'],
    ['IsCancelled', 'calendar:IsCancelled', 'computed', 'f'],
    ['IsRecurring', 'calendar:IsRecurring', 'computed', 'f'],
    ['MeetingRequestWasSent', 'calendar:MeetingRequestWasSent', 'computed', 'f'],
    ['IsResponseRequested', 'calendar:IsResponseRequested', 'text', 'f'],
    ['CalendarItemType', 'calendar:CalendarItemType', 'computed', 'f d'],
    ['MyResponseType', 'calendar:MyResponseType', 'computed', 'f'],
    ['Organizer', 'calendar:Organizer', 'computed', 'f d'],
    ['RequiredAttendees', 'calendar:RequiredAttendees', 'xml', ''],
    ['OptionalAttendees', 'calendar:OptionalAttendees', 'xml', ''],
    ['Resources', 'calendar:Resources', 'xml', ''],
    ['ConflictingMeetingCount', 'calendar:ConflictingMeetingCount', 'computed', ''],
    ['AdjacentMeetingCount', 'calendar:AdjacentMeetingCount', 'computed', ''],
    ['Duration', 'calendar:Duration', 'computed', 'f'],
    ['TimeZone', 'calendar:TimeZone', 'computed', 'f'],
    ['AppointmentReplyTime', 'calendar:AppointmentReplyTime', 'computed', 'f'],
    ['AppointmentSequenceNumber', 'calendar:AppointmentSequenceNumber', 'computed', 'f'],
    ['AppointmentState', 'calendar:AppointmentState', 'computed', 'f'],
    ['Recurrence', 'calendar:Recurrence', 'xml', ''],
    ['FirstOccurrence', 'calendar:FirstOccurrence', 'computed', ''],
    ['LastOccurrence', 'calendar:LastOccurrence', 'computed', ''],
    ['ModifiedOccurrences', 'calendar:ModifiedOccurrences', 'computed', ''],
    ['DeletedOccurrences', 'calendar:DeletedOccurrences', 'computed', ''],
    ['MeetingTimeZone', 'calendar:MeetingTimeZone', 'computed', '<Exchange2007_SP1'],
    ['StartTimeZone', 'calendar:StartTimeZone', 'computed', '>Exchange2010'],
    ['EndTimeZone', 'calendar:EndTimeZone', 'computed', '>Exchange2010'],
    ['ConferenceType', 'calendar:ConferenceType', 'text', 'f'],
    ['AllowNewTimeProposal', 'calendar:AllowNewTimeProposal', 'text', 'f'],
    ['IsOnlineMeeting', 'calendar:IsOnlineMeeting', 'text', 'f'],
    ['MeetingWorkspaceUrl', 'calendar:MeetingWorkspaceUrl', 'text', 'f'],
    ['NetShowUrl', 'calendar:NetShowUrl', 'text', 'f'],
  ]);
  if (meetingRequest) {
    const skip = new Set(['UID', 'RecurrenceId', 'DateTimeStamp', 'IsResponseRequested']);
    return all.filter((f) => !skip.has(f.el));
  }
  return [...all, ...defs([['IsOrganizer', 'calendar:IsOrganizer', 'computed', 'f >Exchange2013']])];
}

const meetingMessageFields = defs([
  ['AssociatedCalendarItemId', 'meeting:AssociatedCalendarItemId', 'computed', 'f'],
  ['IsDelegated', 'meeting:IsDelegated', 'computed', 'f'],
  ['IsOutOfDate', 'meeting:IsOutOfDate', 'computed', 'f'],
  ['HasBeenProcessed', 'meeting:HasBeenProcessed', 'computed', 'f'],
  ['ResponseType', 'meeting:ResponseType', 'computed', 'f'],
  ['UID', 'calendar:UID', 'text', 'f'],
  ['RecurrenceId', 'calendar:RecurrenceId', 'computed', 'f'],
  ['DateTimeStamp', 'calendar:DateTimeStamp', 'computed', 'f'],
  ['IsOrganizer', 'calendar:IsOrganizer', 'computed', 'f >Exchange2013'],
]);

const meetingRequestOnly = defs([
  ['MeetingRequestType', 'meetingRequest:MeetingRequestType', 'text', 'f'],
  ['IntendedFreeBusyStatus', 'meetingRequest:IntendedFreeBusyStatus', 'text', 'f'],
]);

const meetingCancellationOnly = defs([
  ['Start', 'calendar:Start', 'date', 'f'],
  ['End', 'calendar:End', 'date', 'f'],
  ['Location', 'calendar:Location', 'text', 'f'],
  ['Recurrence', 'calendar:Recurrence', 'xml', ''],
  ['CalendarItemType', 'calendar:CalendarItemType', 'computed', 'f'],
]);

const meetingResponseOnly = [
  ...meetingCancellationOnly,
  ...defs([
    ['ProposedStart', 'meeting:ProposedStart', 'date', 'f'],
    ['ProposedEnd', 'meeting:ProposedEnd', 'date', 'f'],
  ]),
];

const contactFields = defs([
  ['FileAs', 'contacts:FileAs', 'text', 'f'],
  ['FileAsMapping', 'contacts:FileAsMapping', 'text', 'f'],
  ['DisplayName', 'contacts:DisplayName', 'text', 'f d'],
  ['GivenName', 'contacts:GivenName', 'text', 'f'],
  ['Initials', 'contacts:Initials', 'text', 'f'],
  ['MiddleName', 'contacts:MiddleName', 'text', 'f'],
  ['Nickname', 'contacts:Nickname', 'text', 'f'],
  ['CompleteName', 'contacts:CompleteName', 'computed', 'f'],
  ['CompanyName', 'contacts:CompanyName', 'text', 'f'],
  ['EmailAddresses', 'contacts:EmailAddresses', 'xml', 'f'],
  ['PhysicalAddresses', 'contacts:PhysicalAddresses', 'xml', 'f'],
  ['PhoneNumbers', 'contacts:PhoneNumbers', 'xml', 'f'],
  ['AssistantName', 'contacts:AssistantName', 'text', 'f'],
  ['Birthday', 'contacts:Birthday', 'date', 'f'],
  ['BusinessHomePage', 'contacts:BusinessHomePage', 'text', 'f'],
  ['Children', 'contacts:Children', 'xml', 'f'],
  ['Companies', 'contacts:Companies', 'xml', 'f'],
  ['ContactSource', 'contacts:ContactSource', 'text', 'f'],
  ['Department', 'contacts:Department', 'text', 'f'],
  ['Generation', 'contacts:Generation', 'text', 'f'],
  ['ImAddresses', 'contacts:ImAddresses', 'xml', 'f'],
  ['JobTitle', 'contacts:JobTitle', 'text', 'f'],
  ['Manager', 'contacts:Manager', 'text', 'f'],
  ['Mileage', 'contacts:Mileage', 'text', 'f'],
  ['OfficeLocation', 'contacts:OfficeLocation', 'text', 'f'],
  ['PostalAddressIndex', 'contacts:PostalAddressIndex', 'text', 'f'],
  ['Profession', 'contacts:Profession', 'text', 'f'],
  ['SpouseName', 'contacts:SpouseName', 'text', 'f'],
  ['Surname', 'contacts:Surname', 'text', 'f'],
  ['WeddingAnniversary', 'contacts:WeddingAnniversary', 'date', 'f'],
  ['HasPicture', 'contacts:HasPicture', 'computed', 'f >Exchange2010'],
]);

const taskFields = defs([
  ['ActualWork', 'task:ActualWork', 'text', 'f'],
  ['AssignedTime', 'task:AssignedTime', 'date', 'f'],
  ['BillingInformation', 'task:BillingInformation', 'text', 'f'],
  ['ChangeCount', 'task:ChangeCount', 'computed', 'f'],
  ['Companies', 'task:Companies', 'xml', 'f'],
  ['CompleteDate', 'task:CompleteDate', 'date', 'f'],
  ['Contacts', 'task:Contacts', 'xml', 'f'],
  ['DelegationState', 'task:DelegationState', 'computed', 'f'],
  ['Delegator', 'task:Delegator', 'text', 'f'],
  ['DueDate', 'task:DueDate', 'date', 'f d'],
  ['IsAssignmentEditable', 'task:IsAssignmentEditable', 'computed', 'f'],
  ['IsComplete', 'task:IsComplete', 'computed', 'f'],
  ['IsRecurring', 'task:IsRecurring', 'computed', 'f'],
  ['IsTeamTask', 'task:IsTeamTask', 'computed', 'f'],
  ['Mileage', 'task:Mileage', 'text', 'f'],
  ['Owner', 'task:Owner', 'text', 'f'],
  ['PercentComplete', 'task:PercentComplete', 'text', 'f'],
  ['Recurrence', 'task:Recurrence', 'xml', ''],
  ['StartDate', 'task:StartDate', 'date', 'f'],
  ['Status', 'task:Status', 'text', 'f d'],
  ['StatusDescription', 'task:StatusDescription', 'computed', 'f'],
  ['TotalWork', 'task:TotalWork', 'text', 'f'],
]);

export const fieldsByKind: Record<ItemKind, FieldDef[]> = {
  Message: [...itemFields, ...messageFields],
  CalendarItem: [...itemFields, ...calendarFields(false)],
  Contact: [...itemFields, ...contactFields],
  Task: [...itemFields, ...taskFields],
  MeetingRequest: [
    ...itemFields,
    ...messageFields,
    ...meetingMessageFields,
    ...meetingRequestOnly,
    ...calendarFields(true),
  ],
  MeetingCancellation: [...itemFields, ...messageFields, ...meetingMessageFields, ...meetingCancellationOnly],
  MeetingResponse: [...itemFields, ...messageFields, ...meetingMessageFields, ...meetingResponseOnly],
};

const byElement = new Map<ItemKind, Map<string, FieldDef>>();
const byUri = new Map<ItemKind, Map<string, FieldDef>>();
for (const kind of itemKinds) {
  byElement.set(kind, new Map(fieldsByKind[kind].map((f) => [f.el, f])));
  byUri.set(kind, new Map(fieldsByKind[kind].filter((f) => f.uri).map((f) => [f.uri, f])));
}

export function fieldByElement(kind: ItemKind, element: string): FieldDef | undefined {
  return byElement.get(kind)?.get(element);
}

export function fieldByUri(kind: ItemKind, uri: string): FieldDef | undefined {
  return byUri.get(kind)?.get(uri);
}

/** Every FieldURI any kind knows: a URI outside this set is an invalid request, not just absent from one kind. */
export const knownUris = new Set(itemKinds.flatMap((kind) => fieldsByKind[kind].map((f) => f.uri).filter(Boolean)));

/**
 * Every item FieldURI types.xsd allows (UnindexedFieldURIType, its folder: names aside), from the generated schema
 * table: an item shape may ask for any of them (issue 16, finding 3). The ones the emulator keeps (knownUris and the
 * computed ones render.ts adds) are answered with their value; the others (calendar:AdjacentMeetings,
 * contacts:Alias, a Contact's path asked of a Message, …) are left out, as Exchange leaves out a property the item
 * does not have. A folder: name on an item is ErrorInvalidPropertyRequest; a name outside the enumeration never gets
 * this far (ErrorSchemaValidation).
 */
export const requestableItemUris: ReadonlySet<string> = new Set(
  (ewsSimpleTypes['t:UnindexedFieldURIType']?.e ?? []).filter((uri) => !uri.startsWith('folder:')),
);

/** Indexed properties (contacts:EmailAddress with FieldIndex="EmailAddress1") live inside these dictionaries. */
export const indexedFields: Record<string, { dictionary: string; member?: string }> = {
  'contacts:EmailAddress': { dictionary: 'EmailAddresses' },
  'contacts:PhoneNumber': { dictionary: 'PhoneNumbers' },
  'contacts:ImAddress': { dictionary: 'ImAddresses' },
  'contacts:PhysicalAddress:Street': { dictionary: 'PhysicalAddresses', member: 'Street' },
  'contacts:PhysicalAddress:City': { dictionary: 'PhysicalAddresses', member: 'City' },
  'contacts:PhysicalAddress:State': { dictionary: 'PhysicalAddresses', member: 'State' },
  'contacts:PhysicalAddress:CountryOrRegion': { dictionary: 'PhysicalAddresses', member: 'CountryOrRegion' },
  'contacts:PhysicalAddress:PostalCode': { dictionary: 'PhysicalAddresses', member: 'PostalCode' },
};

/** The element the item appears as in responses and requests. */
export const defaultItemClass: Record<ItemKind, string> = {
  CalendarItem: 'IPM.Appointment',
  Message: 'IPM.Note',
  Contact: 'IPM.Contact',
  Task: 'IPM.Task',
  MeetingRequest: 'IPM.Schedule.Meeting.Request',
  MeetingCancellation: 'IPM.Schedule.Meeting.Canceled',
  MeetingResponse: 'IPM.Schedule.Meeting.Resp.Pos',
};
