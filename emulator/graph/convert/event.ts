import type { Attendee, Event, ResponseStatus } from '@microsoft/microsoft-graph-types';
import type { ItemView } from '../../items/calendar.js';
import { bool, isoSeconds, textOf, timeOf } from '../../items/values.js';
import type { PropValue } from '../../store/model.js';
import { children, text as textIn, type XmlNode } from '../../xml/node.js';
import { badRequest } from '../http.js';
import { graphIdOf, graphOccurrenceId } from '../ids.js';
import {
  bodyElement,
  bodyOf,
  dateTimeOf,
  lowerFirst,
  mailboxElement,
  previewOf,
  recipientOf,
  stringList,
  stringsOf,
  text,
  upperFirst,
} from './common.js';
import type { RenderContext } from './context.js';
import { recurrenceElement, recurrenceOf } from './recurrence.js';

/**
 * Graph's event (https://learn.microsoft.com/graph/api/resources/event) from and to the store's EWS calendar item:
 * start/end ↔ Start/End with the zone in StartTimeZone (`_tz`), attendees ↔ Required/OptionalAttendees/Resources,
 * showAs ↔ LegacyFreeBusyStatus, iCalUId ↔ UID, recurrence ↔ Recurrence. An occurrence or exception of a series is
 * its own event with the master's id in seriesMasterId.
 */

const responses: Record<string, ResponseStatus['response']> = {
  Unknown: 'none',
  Organizer: 'organizer',
  Tentative: 'tentativelyAccepted',
  Accept: 'accepted',
  Decline: 'declined',
  NoResponseReceived: 'notResponded',
};
const showAs: Record<string, Event['showAs']> = {
  Free: 'free',
  Tentative: 'tentative',
  Busy: 'busy',
  OOF: 'oof',
  WorkingElsewhere: 'workingElsewhere',
  NoData: 'unknown',
};
const attendeeLists: [string, Attendee['type']][] = [
  ['RequiredAttendees', 'required'],
  ['OptionalAttendees', 'optional'],
  ['Resources', 'resource'],
];

function attendeesOf(props: Record<string, PropValue>): Attendee[] {
  const out: Attendee[] = [];
  for (const [list, type] of attendeeLists) {
    const value = props[list];
    if (typeof value !== 'object') continue;
    for (const attendee of children(value, 'Attendee')) {
      const mailbox = children(attendee, 'Mailbox')[0];
      const address = textIn(mailbox, 'EmailAddress');
      if (!address) continue;
      const last = textIn(attendee, 'LastResponseTime');
      out.push({
        type,
        status: {
          response: responses[textIn(attendee, 'ResponseType') ?? 'Unknown'] ?? 'none',
          time: last ?? '0001-01-01T00:00:00Z',
        },
        ...recipientOf({ name: textIn(mailbox, 'Name') ?? address, address }),
      });
    }
  }
  return out;
}

function eventType(view: ItemView): Event['type'] {
  if (view.occurrence) return view.occurrence.exception ? 'exception' : 'occurrence';
  const recurrence = view.props.Recurrence;
  return typeof recurrence === 'object' && recurrence.c?.length ? 'seriesMaster' : 'singleInstance';
}

export function renderEvent(view: ItemView, ctx: RenderContext): Event & Record<string, unknown> {
  const { item, props } = view;
  const zone = ctx.prefs.timeZone;
  const stored = typeof props._tz === 'string' ? props._tz : 'UTC';
  const organizer = typeof props._organizer === 'string' ? props._organizer : ctx.mailbox.address;
  const isOrganizer = organizer === ctx.mailbox.address;
  const start = timeOf(props.Start) ?? item.created;
  const end = timeOf(props.End) ?? start;
  const immutable = ctx.prefs.immutableIds;
  const id = view.occurrence
    ? graphOccurrenceId(item, view.occurrence.originalStart, immutable)
    : graphIdOf(item, immutable);
  const exception = view.occurrence ? item.exceptions?.[isoSeconds(view.occurrence.originalStart)] : undefined;
  const known = ctx.core.store.get(organizer);
  const location = textOf(props.Location) ?? '';
  return {
    '@odata.etag': `W/"${view.changeKey}"`,
    id,
    createdDateTime: isoSeconds(item.created),
    lastModifiedDateTime: isoSeconds(exception?.modified || item.modified),
    changeKey: view.changeKey,
    categories: stringsOf(props.Categories),
    transactionId: typeof props._transactionId === 'string' && !view.occurrence ? props._transactionId : null,
    originalStartTimeZone: stored,
    originalEndTimeZone: typeof props._endTz === 'string' ? props._endTz : stored,
    iCalUId: textOf(props.UID) ?? '',
    reminderMinutesBeforeStart: Number(textOf(props.ReminderMinutesBeforeStart) ?? 15),
    isReminderOn: bool(props.ReminderIsSet, true),
    hasAttachments: !view.occurrence && (item.attachments?.length ?? 0) > 0,
    subject: textOf(props.Subject) ?? '',
    bodyPreview: previewOf(props.Body),
    importance: lowerFirst(textOf(props.Importance), 'Normal') as Event['importance'],
    sensitivity: lowerFirst(textOf(props.Sensitivity), 'Normal') as Event['sensitivity'],
    isAllDay: bool(props.IsAllDayEvent),
    isCancelled: bool(props._cancelled),
    isOrganizer,
    responseRequested: bool(props.IsResponseRequested, true),
    seriesMasterId: view.occurrence ? graphIdOf(item, immutable) : null,
    showAs: showAs[textOf(props.LegacyFreeBusyStatus) ?? 'Busy'] ?? 'busy',
    type: eventType(view),
    isOnlineMeeting: bool(props.IsOnlineMeeting),
    allowNewTimeProposals: bool(props.AllowNewTimeProposal, true),
    responseStatus: {
      response: isOrganizer ? 'organizer' : (responses[textOf(props._myResponse) ?? 'NoResponseReceived'] ?? 'none'),
      time: '0001-01-01T00:00:00Z',
    },
    body: bodyOf(props.Body, ctx.prefs.bodyType),
    start: dateTimeOf(start, zone),
    end: dateTimeOf(end, zone),
    ...(view.occurrence ? { originalStart: isoSeconds(view.occurrence.originalStart) } : {}),
    location: { displayName: location, locationType: 'default', uniqueIdType: 'unknown' },
    locations: location ? [{ displayName: location, locationType: 'default' }] : [],
    recurrence: view.occurrence ? null : recurrenceOf(props.Recurrence, stored),
    attendees: attendeesOf(props),
    organizer: recipientOf({ name: known?.displayName ?? organizer, address: organizer }),
  };
}

const showAsValues = ['Free', 'Tentative', 'Busy', 'OOF', 'WorkingElsewhere', 'NoData'] as const;
const sensitivities = ['Normal', 'Personal', 'Private', 'Confidential'] as const;
const importances = ['Low', 'Normal', 'High'] as const;

/** attendees as the three EWS lists (all three, so that a PATCH replaces the whole set, as Graph does). */
export function attendeeElements(value: unknown): XmlNode[] {
  const lists: Record<string, XmlNode[]> = { RequiredAttendees: [], OptionalAttendees: [], Resources: [] };
  if (value !== null && !Array.isArray(value)) throw badRequest('attendees: expected an array.');
  for (const entry of (value ?? []) as Attendee[]) {
    const type = String(entry?.type ?? 'required').toLowerCase();
    const list = type === 'optional' ? 'OptionalAttendees' : type === 'resource' ? 'Resources' : 'RequiredAttendees';
    lists[list]?.push({ n: 'Attendee', c: [mailboxElement(entry, 'attendees')] });
  }
  return Object.entries(lists).map(([n, c]) => (c.length > 0 ? { n, c } : { n }));
}

/** One writable Graph property as EWS elements (an empty element deletes it; undefined: not an event property). */
export function eventElements(name: string, value: unknown): XmlNode[] | undefined {
  const one = (node: XmlNode) => [node];
  switch (name) {
    case 'subject':
      return one(value === null ? { n: 'Subject' } : { n: 'Subject', t: text(value, 'subject') });
    case 'body':
      return one(value === null ? { n: 'Body' } : bodyElement(value));
    case 'isAllDay':
      return [{ n: 'IsAllDayEvent', t: String(value === true) }];
    case 'location': {
      const display = (value as { displayName?: unknown } | null)?.displayName;
      return one(
        value === null || !display ? { n: 'Location' } : { n: 'Location', t: text(display, 'location.displayName') },
      );
    }
    case 'attendees':
      return attendeeElements(value);
    case 'importance':
      return one(
        value === null ? { n: 'Importance' } : { n: 'Importance', t: upperFirst(value, 'importance', importances) },
      );
    case 'sensitivity':
      return one(
        value === null
          ? { n: 'Sensitivity' }
          : { n: 'Sensitivity', t: upperFirst(value, 'sensitivity', sensitivities) },
      );
    case 'showAs':
      return one(
        value === null
          ? { n: 'LegacyFreeBusyStatus' }
          : {
              n: 'LegacyFreeBusyStatus',
              t: upperFirst(value === 'unknown' ? 'NoData' : value, 'showAs', showAsValues),
            },
      );
    case 'categories':
      return [stringList('Categories', value)];
    case 'isReminderOn':
      return [{ n: 'ReminderIsSet', t: String(value === true) }];
    case 'reminderMinutesBeforeStart':
      return one(
        value === null
          ? { n: 'ReminderMinutesBeforeStart' }
          : { n: 'ReminderMinutesBeforeStart', t: String(Number(value)) },
      );
    case 'responseRequested':
      return [{ n: 'IsResponseRequested', t: String(value !== false) }];
    case 'isOnlineMeeting':
      return [{ n: 'IsOnlineMeeting', t: String(value === true) }];
    case 'allowNewTimeProposals':
      return [{ n: 'AllowNewTimeProposal', t: String(value !== false) }];
    case 'recurrence':
      return [recurrenceElement(value) ?? { n: 'Recurrence' }];
    default:
      return undefined;
  }
}

export const eventIgnored = new Set([
  'id',
  '@odata.type',
  '@odata.etag',
  'changeKey',
  'createdDateTime',
  'lastModifiedDateTime',
  'iCalUId',
  'hasAttachments',
  'bodyPreview',
  'isCancelled',
  'isOrganizer',
  'seriesMasterId',
  'type',
  'webLink',
  'onlineMeetingUrl',
  'onlineMeeting',
  'onlineMeetingProvider',
  'responseStatus',
  'organizer',
  'originalStartTimeZone',
  'originalEndTimeZone',
  'originalStart',
  'locations',
  'isDraft',
  'hideAttendees',
]);
