/**
 * The appointment the database → Exchange benchmark writes, in both forms it takes: the example application's
 * calendar_item row (whose trigger queues it in exh_outbox) and the EWS CreateItem a plain client sends for it. The
 * content is ./items.ts's realistic appointment: an HTML body, a location, three required and one optional attendee,
 * two categories, a time zone; as the connector does, the plain client also sends the application id (extended
 * property) and a UID of its own (src/sync/executors/outbox.ts, src/exchange/ews/write.ts).
 */
import { templates } from './items.js';

const template = templates.CalendarItem as {
  Subject: string;
  Body: { BodyType: string; value: string };
  Location: string;
  StartTimeZone: string;
  RequiredAttendees: string[];
  OptionalAttendees: string[];
  Categories: string[];
};

/** The n-th appointment (0-based) of a user: an hour apart from `from` (ms), half an hour long. */
export function appointment(n: number, from: number) {
  return {
    subject: `${template.Subject} ${n + 1}`,
    body: template.Body.value,
    bodyType: template.Body.BodyType,
    location: template.Location,
    timeZone: template.StartTimeZone,
    start: new Date(from + n * 3_600_000).toISOString(),
    end: new Date(from + n * 3_600_000 + 1_800_000).toISOString(),
    requiredAttendees: template.RequiredAttendees,
    optionalAttendees: template.OptionalAttendees,
    categories: template.Categories,
  };
}

export type Appointment = ReturnType<typeof appointment>;

/** INSERT of `count` appointments per user into calendar_item, as the application would (its trigger queues them). */
export function insertAppointments(users: string[], count: number, from: number): { text: string; values: unknown[] } {
  const rows = users.flatMap((user) => Array.from({ length: count }, (_, n) => ({ user, ...appointment(n, from) })));
  return {
    text: `insert into calendar_item (exh_user, exh_subject, exh_body, exh_body_type, exh_location, exh_time_zone,
             exh_start, exh_end, exh_required_attendees, exh_optional_attendees, exh_categories)
           select * from jsonb_to_recordset($1::jsonb) as r(exh_user text, exh_subject text, exh_body text,
             exh_body_type text, exh_location text, exh_time_zone text, exh_start timestamptz, exh_end timestamptz,
             exh_required_attendees text, exh_optional_attendees text, exh_categories text)`,
    values: [
      JSON.stringify(
        rows.map((r) => ({
          exh_user: r.user,
          exh_subject: r.subject,
          exh_body: r.body,
          exh_body_type: r.bodyType,
          exh_location: r.location,
          exh_time_zone: r.timeZone,
          exh_start: r.start,
          exh_end: r.end,
          // The example application keeps lists separated by ";" (docs/database.md).
          exh_required_attendees: r.requiredAttendees.join(';'),
          exh_optional_attendees: r.optionalAttendees.join(';'),
          exh_categories: r.categories.join(';'),
        })),
      ),
    ],
  };
}

const xmlText = (text: string) =>
  text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

const attendees = (element: string, addresses: string[]) =>
  `<t:${element}>${addresses
    .map((a) => `<t:Attendee><t:Mailbox><t:EmailAddress>${xmlText(a)}</t:EmailAddress></t:Mailbox></t:Attendee>`)
    .join('')}</t:${element}>`;

/** The CreateItem body for an appointment, elements in the schema's order (types.xsd, ItemType then CalendarItemType). */
export function createItemXml(a: Appointment, appItemId: string, uid: string): string {
  return (
    '<m:CreateItem SendMeetingInvitations="SendToAllAndSaveCopy"><m:Items><t:CalendarItem>' +
    `<t:Subject>${xmlText(a.subject)}</t:Subject>` +
    `<t:Body BodyType="${a.bodyType}">${xmlText(a.body)}</t:Body>` +
    `<t:Categories>${a.categories.map((c) => `<t:String>${xmlText(c)}</t:String>`).join('')}</t:Categories>` +
    '<t:ExtendedProperty><t:ExtendedFieldURI PropertySetId="c11ff724-aa03-4555-9952-8fa248a11c3e" ' +
    `PropertyName="exh_app_item_id" PropertyType="String"/><t:Value>${xmlText(appItemId)}</t:Value></t:ExtendedProperty>` +
    `<t:UID>${xmlText(uid)}</t:UID>` +
    `<t:Start>${a.start}</t:Start><t:End>${a.end}</t:End>` +
    `<t:Location>${xmlText(a.location)}</t:Location>` +
    attendees('RequiredAttendees', a.requiredAttendees) +
    attendees('OptionalAttendees', a.optionalAttendees) +
    `<t:StartTimeZone Id="${xmlText(a.timeZone)}"/>` +
    '</t:CalendarItem></m:Items></m:CreateItem>'
  );
}
