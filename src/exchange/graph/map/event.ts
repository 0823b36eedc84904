import type { Attendee, Event, SingleValueLegacyExtendedProperty } from '@microsoft/microsoft-graph-types';
import type { ExchangeItem, ExchangeValue, ItemProperty } from '../../../ports/exchange.port.js';
import { stampOf } from '../ids.js';
import { attachmentRefs, bodyType } from './message.js';
import { recurrenceText } from './recurrence.js';
import {
  address,
  bodyContentType,
  checked,
  fromCode,
  fromDateTimeTimeZone,
  type Given,
  given,
  importanceCodes,
  iso,
  knownZone,
  type Labels,
  localDate,
  localTime,
  put,
  sensitivityCodes,
  splitList,
  strings,
  text,
  toBoolean,
  toCode,
  toInstant,
  toInteger,
  toText,
  type Values,
} from './values.js';

/**
 * A Graph event ↔ the neutral properties of an appointment. The requests ask for UTC (Prefer outlook.timezone), so
 * start and end are UTC; an all-day event's dates are given as midnight UTC of each local date of the zone it was
 * made in (originalStartTimeZone, a Windows id). `isRecurring` is true for the master, occurrences and exceptions;
 * an occurrence's `originalStart` is its start in the pattern. `isMeeting`: Graph has none, so an event with
 * attendees is a meeting. Writing: start and end in the event's zone when `timeZone` is given (else UTC), all-day
 * ones at midnight of their dates; attendees are one list in Graph, so a write of one kind keeps the others
 * (`current`). A `uid` cannot be set through Graph (iCalUId is read-only): the created event's is returned.
 */

export type GraphEvent = Event & { '@odata.etag'?: string; '@removed'?: { reason?: string } };

const freeBusyCodes: Record<string, string> = {
  Free: 'free',
  Tentative: 'tentative',
  Busy: 'busy',
  OOF: 'oof',
  WorkingElsewhere: 'workingElsewhere',
  NoData: 'unknown',
};
const freeBusyNames = Object.fromEntries(Object.entries(freeBusyCodes).map(([name, code]) => [code, name]));

const attendeeKinds = {
  requiredAttendees: 'required',
  optionalAttendees: 'optional',
  resources: 'resource',
} as const;

/** Graph's zone names for UTC (`tzone://Microsoft/Utc`) as the Windows id. */
function zoneName(zone: string | null | undefined): string | null {
  const name = text(zone);
  return name && /^tzone:\/\/microsoft\/utc$/i.test(name) ? 'UTC' : name;
}

function attendeesOf(event: Event, kind: Attendee['type']): string[] | null {
  const list = (event.attendees ?? []).filter((a) => (a.type ?? 'required') === kind).map(address);
  const kept = list.filter((a): a is string => a !== null);
  return kept.length > 0 ? kept : null;
}

/** An all-day boundary: midnight UTC of its local date in the event's zone. */
function allDayBoundary(instant: string, zone: string | null): string {
  const date = instant.endsWith('T00:00:00.000Z') ? instant.slice(0, 10) : localDate(instant, zone);
  return `${date}T00:00:00.000Z`;
}

export function eventFromGraph(event: GraphEvent): ExchangeItem {
  const timeZone = zoneName(event.originalStartTimeZone);
  let start = fromDateTimeTimeZone(event.start);
  let end = fromDateTimeTimeZone(event.end);
  if (event.isAllDay && start && end) {
    start = allDayBoundary(start, timeZone);
    end = allDayBoundary(end, timeZone);
  }
  const type = event.type ?? (event.recurrence ? 'seriesMaster' : 'singleInstance');
  const inSeries = type === 'occurrence' || type === 'exception';
  const properties: Partial<Record<ItemProperty, ExchangeValue>> = {
    subject: text(event.subject),
    body: text(event.body?.content),
    bodyType: bodyType(event.body?.contentType),
    categories: strings(event.categories),
    importance: fromCode(event.importance),
    sensitivity: fromCode(event.sensitivity),
    created: iso(event.createdDateTime),
    lastModified: iso(event.lastModifiedDateTime),
    attachments: attachmentRefs(event.attachments),
    appItemId: stampOf(event.singleValueExtendedProperties),
    location: text(event.location?.displayName),
    start,
    end,
    isAllDay: event.isAllDay ?? null,
    timeZone,
    organizer: address(event.organizer),
    requiredAttendees: attendeesOf(event, 'required'),
    optionalAttendees: attendeesOf(event, 'optional'),
    resources: attendeesOf(event, 'resource'),
    freeBusy: event.showAs ? (freeBusyNames[event.showAs] ?? null) : null,
    reminderSet: event.isReminderOn ?? null,
    reminderMinutes: event.reminderMinutesBeforeStart ?? null,
    isRecurring: type !== 'singleInstance',
    recurrence: type === 'seriesMaster' ? recurrenceText(event.recurrence) : null,
    originalStart: inSeries ? (iso(event.originalStart) ?? start) : null,
    isCancelled: event.isCancelled ?? null,
    isMeeting: (event.attendees ?? []).length > 0,
  };
  const item: ExchangeItem = {
    id: event.id ?? '',
    changeKey: event['@odata.etag'] ?? event.changeKey ?? '',
    itemClass: 'IPM.Appointment',
    properties,
  };
  if (event.iCalUId) item.uid = event.iCalUId;
  return item;
}

/** Start or end as a dateTimeTimeZone: midnight of its date when all-day, else in `zone` (UTC when none). */
function boundary(value: Given, allDay: boolean, zone: string | null): { dateTime: string; timeZone: string } {
  const instant = toInstant(value);
  if (allDay) return { dateTime: `${instant.slice(0, 10)}T00:00:00`, timeZone: zone ?? 'UTC' };
  if (zone && zone !== 'UTC') return { dateTime: localTime(instant, zone), timeZone: zone };
  return { dateTime: instant.slice(0, 23), timeZone: 'UTC' };
}

/**
 * The JSON of a POST or PATCH of an event. `current`: the event as it is (PATCH), for the attendees a write leaves
 * alone and the all-day flag and zone a write of start or end alone keeps; `extra`: the stamp and transactionId on
 * create.
 */
export function eventToGraph(
  values: Values,
  labels: Labels = {},
  current: Event | undefined = undefined,
  extra: { singleValueExtendedProperties?: SingleValueLegacyExtendedProperty[]; transactionId?: string } = {},
): Record<string, unknown> {
  const json: Record<string, unknown> = {};
  put(json, 'subject', values, labels, 'subject', toText);
  put(json, 'body', values, labels, 'body', (v) => ({ contentType: bodyContentType(v, values), content: toText(v) }), {
    contentType: 'text',
    content: '',
  });
  put(json, 'categories', values, labels, 'categories', splitList, []);
  put(json, 'importance', values, labels, 'importance', (v) => toCode(v, importanceCodes), 'normal');
  put(json, 'sensitivity', values, labels, 'sensitivity', (v) => toCode(v, sensitivityCodes), 'normal');
  put(json, 'location', values, labels, 'location', (v) => ({ displayName: toText(v) }), { displayName: '' });
  put(json, 'isAllDay', values, labels, 'isAllDay', toBoolean);
  put(json, 'showAs', values, labels, 'freeBusy', (v) => toCode(v, freeBusyCodes), 'busy');
  put(json, 'isReminderOn', values, labels, 'reminderSet', toBoolean);
  put(json, 'reminderMinutesBeforeStart', values, labels, 'reminderMinutes', toInteger);
  const zoneGiven = given(values, 'timeZone');
  const zone =
    zoneGiven === 'leave' || zoneGiven === 'clear'
      ? zoneGiven === 'clear'
        ? null
        : zoneName(current?.originalStartTimeZone)
      : checked('timeZone', labels, () => {
          const name = toText(zoneGiven).trim();
          if (!knownZone(name)) throw new Error(`${JSON.stringify(name)} is not a Windows time zone id`);
          return name;
        });
  const allDay = typeof json.isAllDay === 'boolean' ? json.isAllDay : current?.isAllDay === true;
  for (const property of ['start', 'end'] as const) {
    const value = given(values, property);
    // Every event has both: '' leaves them as they are.
    if (value === 'leave' || value === 'clear') continue;
    json[property] = checked(property, labels, () => boundary(value, allDay, zone));
  }
  const kinds = Object.entries(attendeeKinds) as Array<[keyof typeof attendeeKinds, Attendee['type']]>;
  if (kinds.some(([property]) => given(values, property) !== 'leave')) {
    const attendees: Attendee[] = [];
    for (const [property, kind] of kinds) {
      const value = given(values, property);
      if (value === 'leave') {
        attendees.push(...(current?.attendees ?? []).filter((a) => (a.type ?? 'required') === kind));
      } else if (value !== 'clear') {
        attendees.push(...splitList(value).map((a) => ({ emailAddress: { address: a }, type: kind })));
      }
    }
    json.attendees = attendees;
  }
  if (extra.transactionId) json.transactionId = extra.transactionId;
  if (extra.singleValueExtendedProperties) json.singleValueExtendedProperties = extra.singleValueExtendedProperties;
  return json;
}

/** Whether a write invites anyone. */
export function invitesAnyone(values: Values): boolean {
  return Object.keys(attendeeKinds).some((name) => {
    const value = values[name as ItemProperty];
    return value !== null && value !== undefined && value !== '' && splitList(value).length > 0;
  });
}
