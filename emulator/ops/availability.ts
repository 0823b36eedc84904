import type { OperationContext } from '../context.js';
import { type ItemView, occurrencesIn, viewOf } from '../items/calendar.js';
import { ianaOf, offsetMs } from '../items/timezone.js';
import { timeOf } from '../items/values.js';
import { errorMessage, ns, successMessage } from '../soap/envelope.js';
import { EwsError, SoapFault } from '../soap/response-codes.js';
import type { Mailbox } from '../store/mailbox.js';
import { child, children, text, type XmlNode } from '../xml/node.js';
import { el, textEl } from '../xml/write.js';

/**
 * GetUserAvailability, free/busy part: for each mailbox of MailboxDataArray, its calendar items (occurrences of
 * series expanded) that overlap FreeBusyViewOptions' TimeWindow and are not Free, as CalendarEvents with StartTime,
 * EndTime and BusyType, with CalendarEventDetails in the Detailed views; MergedFreeBusy (one digit per
 * MergedFreeBusyIntervalInMinutes: 0 free, 1 tentative, 2 busy, 3 OOF, 4 working elsewhere) in the *Merged views and
 * MergedOnly; and WorkingHours (Exchange's default, Monday to Friday 8:00–17:00, UTC as no mailbox here has regional
 * settings). Times are read and written as wall-clock times of the request's zone: t:TimeZone in the body (Exchange
 * 2007 SP1) or the TimeZoneContext header (2010 on), UTC without either; a TimeWindow time with an offset is taken as
 * that instant. Another mailbox's details are not shared (Exchange's default calendar permission, AvailabilityOnly):
 * Detailed becomes FreeBusy and DetailedMerged FreeBusyMerged for any mailbox but the caller's own.
 * Request-wide mistakes are SOAP faults, as on Exchange: no mailboxes, an end before the start, a window over 62
 * days, an interval outside 5–1440 minutes. An address with no mailbox is ErrorMailRecipientNotFound in its place.
 * SuggestionsViewOptions (meeting suggestions) are not emulated: a SuggestionsResponse answers ErrorInvalidRequest.
 */

const minute = 60_000;
const maxWindowDays = 62;

/** A time zone as this request's times are read: the offset from UTC at an instant. */
interface Zone {
  offsetAt(utcMs: number): number;
}

function ianaZone(windowsId: string | undefined): Zone {
  const iana = ianaOf(windowsId);
  return { offsetAt: (utc) => offsetMs(iana, utc) };
}

const weekdays = ['Sunday', 'Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday'];

interface ChangeRule {
  bias: number;
  month: number;
  dayOrder: number;
  weekday: number;
  /** Minutes after midnight, local. */
  time: number;
}

function ruleOf(node: XmlNode | undefined): ChangeRule {
  const [h = 0, m = 0, s = 0] = (text(node, 'Time') ?? '0:0:0').split(':').map(Number);
  return {
    bias: Number(text(node, 'Bias') ?? 0),
    month: Number(text(node, 'Month') ?? 0),
    dayOrder: Number(text(node, 'DayOrder') ?? 0),
    weekday: Math.max(0, weekdays.indexOf(text(node, 'DayOfWeek') ?? 'Sunday')),
    time: h * 60 + m + s / 60,
  };
}

/** The wall-clock instant (as if UTC) a rule names in a year: the DayOrder-th weekday of the month (5: the last). */
function ruleWall(rule: ChangeRule, year: number): number {
  const first = new Date(Date.UTC(year, rule.month - 1, 1)).getUTCDay();
  let date = 1 + ((rule.weekday - first + 7) % 7) + 7 * (rule.dayOrder - 1);
  const daysInMonth = new Date(Date.UTC(year, rule.month, 0)).getUTCDate();
  while (date > daysInMonth) date -= 7;
  return Date.UTC(year, rule.month - 1, date) + rule.time * minute;
}

/** A SerializableTimeZone (Bias, StandardTime, DaylightTime), with Windows' yearly rules; Month 0: no daylight time. */
function serializableZone(node: XmlNode): Zone {
  const bias = Number(text(node, 'Bias') ?? 0);
  const standard = ruleOf(child(node, 'StandardTime'));
  const daylight = ruleOf(child(node, 'DaylightTime'));
  const standardOffset = -(bias + standard.bias) * minute;
  const daylightOffset = -(bias + daylight.bias) * minute;
  return {
    offsetAt(utc) {
      if (standard.month === 0 || daylight.month === 0) return standardOffset;
      const year = new Date(utc).getUTCFullYear();
      const toDaylight = ruleWall(daylight, year) - standardOffset;
      const toStandard = ruleWall(standard, year) - daylightOffset;
      const inDaylight =
        toDaylight < toStandard ? utc >= toDaylight && utc < toStandard : utc >= toDaylight || utc < toStandard;
      return inDaylight ? daylightOffset : standardOffset;
    },
  };
}

function toWall(zone: Zone, utc: number): number {
  return utc + zone.offsetAt(utc);
}

function toUtc(zone: Zone, wall: number): number {
  let guess = wall - zone.offsetAt(wall);
  guess = wall - zone.offsetAt(guess);
  return wall - zone.offsetAt(guess);
}

/** xs:dateTime without an offset: wall-clock time in the request's zone, as Exchange writes free/busy times. */
function wallText(zone: Zone, utc: number): string {
  return new Date(toWall(zone, utc)).toISOString().slice(0, 19);
}

function readTime(value: string | undefined, zone: Zone, name: string): number {
  const raw = (value ?? '').trim();
  const hasOffset = /(Z|[+-]\d\d:\d\d)$/i.test(raw);
  const ms = Date.parse(hasOffset ? raw : `${raw}Z`);
  if (Number.isNaN(ms)) throw new SoapFault('ErrorInvalidRequest', `${name} is not a valid time.`);
  return hasOffset ? ms : toUtc(zone, ms);
}

const busyDigits: Record<string, string> = {
  Free: '0',
  Tentative: '1',
  Busy: '2',
  OOF: '3',
  WorkingElsewhere: '4',
  NoData: '5',
};
/** Which status shows when events overlap: the strongest. */
const strength: Record<string, number> = { Free: 0, WorkingElsewhere: 1, Tentative: 2, Busy: 3, OOF: 4 };

interface Event {
  start: number;
  end: number;
  busy: string;
  view: ItemView;
}

function busyTypeOf(view: ItemView): string {
  const value = view.props.LegacyFreeBusyStatus;
  const status = typeof value === 'string' ? value.trim() : 'Busy';
  return status in busyDigits ? status : 'Busy';
}

function eventsOf(mailbox: Mailbox, from: number, to: number): Event[] {
  const events: Event[] = [];
  for (const item of mailbox.itemsIn(mailbox.folder('calendar').id).values()) {
    if (item.kind !== 'CalendarItem' || item.props.IsCancelled === 'true') continue;
    const views = item.props.Recurrence ? occurrencesIn(item, from, to) : [viewOf(item)];
    for (const view of views) {
      const start = timeOf(view.props.Start);
      if (start === undefined) continue;
      const end = timeOf(view.props.End) ?? start;
      if (end <= from || start >= to) continue;
      const busy = busyTypeOf(view);
      if (busy !== 'Free') events.push({ start, end, busy, view });
    }
  }
  return events.sort((a, b) => a.start - b.start || a.end - b.end);
}

function merged(events: Event[], from: number, to: number, interval: number): string {
  let out = '';
  for (let slot = from; slot < to; slot += interval) {
    let status = 'Free';
    for (const event of events) {
      if (event.start < slot + interval && event.end > slot && (strength[event.busy] ?? 0) > (strength[status] ?? 0)) {
        status = event.busy;
      }
    }
    out += busyDigits[status];
  }
  return out;
}

function details(event: Event): string {
  const { view } = event;
  const textProp = (name: string) => {
    const value = view.props[name];
    return typeof value === 'string' ? value : undefined;
  };
  const subject = textProp('Subject');
  const location = textProp('Location');
  const attendees = ['RequiredAttendees', 'OptionalAttendees', 'Resources'].some((n) => view.props[n] !== undefined);
  return el(
    't:CalendarEventDetails',
    undefined,
    textEl('t:ID', view.id) +
      (subject === undefined ? '' : textEl('t:Subject', subject)) +
      // Written empty for an event without one, as in Microsoft's GetUserAvailability example.
      textEl('t:Location', location ?? '') +
      textEl('t:IsMeeting', attendees) +
      textEl('t:IsRecurring', view.occurrence !== undefined) +
      textEl('t:IsException', view.occurrence?.exception ?? false) +
      textEl('t:IsReminderSet', textProp('ReminderIsSet') === 'true') +
      textEl('t:IsPrivate', textProp('Sensitivity') === 'Private'),
  );
}

const utcTime = (name: string) =>
  el(
    `t:${name}`,
    undefined,
    textEl('t:Bias', 0) +
      textEl('t:Time', '00:00:00') +
      textEl('t:DayOrder', 0) +
      textEl('t:Month', 0) +
      textEl('t:DayOfWeek', 'Sunday'),
  );

const workingHours = el(
  't:WorkingHours',
  undefined,
  el('t:TimeZone', undefined, textEl('t:Bias', 0) + utcTime('StandardTime') + utcTime('DaylightTime')) +
    el(
      't:WorkingPeriodArray',
      undefined,
      el(
        't:WorkingPeriod',
        undefined,
        textEl('t:DayOfWeek', 'Monday Tuesday Wednesday Thursday Friday') +
          textEl('t:StartTimeInMinutes', 480) +
          textEl('t:EndTimeInMinutes', 1020),
      ),
    ),
);

const views = ['None', 'MergedOnly', 'FreeBusy', 'FreeBusyMerged', 'Detailed', 'DetailedMerged'];

interface Options {
  from: number;
  to: number;
  interval: number;
  view: string;
  zone: Zone;
}

function freeBusyView(mailbox: Mailbox, own: boolean, options: Options): string {
  let view = options.view;
  if (!own && view === 'Detailed') view = 'FreeBusy';
  if (!own && view === 'DetailedMerged') view = 'FreeBusyMerged';
  if (view === 'None') return el('m:FreeBusyView', undefined, textEl('t:FreeBusyViewType', 'None'));
  const events = eventsOf(mailbox, options.from, options.to);
  let inner = textEl('t:FreeBusyViewType', view);
  if (view.endsWith('Merged') || view === 'MergedOnly') {
    inner += textEl('t:MergedFreeBusy', merged(events, options.from, options.to, options.interval * minute));
  }
  if (view !== 'MergedOnly') {
    const withDetails = view.startsWith('Detailed');
    const array = events
      .map((event) =>
        el(
          't:CalendarEvent',
          undefined,
          textEl('t:StartTime', wallText(options.zone, event.start)) +
            textEl('t:EndTime', wallText(options.zone, event.end)) +
            textEl('t:BusyType', event.busy) +
            (withDetails ? details(event) : ''),
        ),
      )
      .join('');
    inner += el('t:CalendarEventArray', undefined, array);
  }
  inner += workingHours;
  return el('m:FreeBusyView', undefined, inner);
}

function readOptions(request: XmlNode, ctx: OperationContext): Options {
  const timeZone = child(request, 'TimeZone');
  const zone = timeZone ? serializableZone(timeZone) : ianaZone(ctx.timeZone);
  const options = child(request, 'FreeBusyViewOptions');
  const window = child(options, 'TimeWindow');
  const from = readTime(text(window, 'StartTime'), zone, 'StartTime');
  const to = readTime(text(window, 'EndTime'), zone, 'EndTime');
  if (to <= from) throw new SoapFault('ErrorInvalidTimeInterval');
  if (to - from > maxWindowDays * 24 * 60 * minute) throw new SoapFault('ErrorTimeIntervalTooBig');
  const interval = Number(text(options, 'MergedFreeBusyIntervalInMinutes') ?? 30);
  if (!Number.isInteger(interval) || interval < 5 || interval > 1440)
    throw new SoapFault('ErrorInvalidMergedFreeBusyInterval');
  // FreeBusyViewType is a list type: the first known name is the view asked for.
  const asked = (text(options, 'RequestedView') ?? 'FreeBusy').trim().split(/\s+/);
  const view = asked.find((name) => views.includes(name)) ?? 'FreeBusy';
  return { from, to, interval, view, zone };
}

export function getUserAvailability(request: XmlNode, ctx: OperationContext): string {
  const attendees = children(child(request, 'MailboxDataArray'), 'MailboxData');
  if (attendees.length === 0) throw new SoapFault('ErrorMailboxDataArrayEmpty', 'MailboxDataArray has no mailbox.');
  let body = '';
  if (child(request, 'FreeBusyViewOptions')) {
    const options = readOptions(request, ctx);
    let responses = '';
    for (const attendee of attendees) {
      const address = (text(child(attendee, 'Email'), 'Address') ?? '').trim();
      const mailbox = ctx.core.store.get(address);
      if (!mailbox) {
        const error = new EwsError(
          'ErrorMailRecipientNotFound',
          `Unable to resolve e-mail address ${address} to a mailbox.`,
        );
        responses += el(
          'm:FreeBusyResponse',
          undefined,
          errorMessage('ResponseMessage', error) +
            el('m:FreeBusyView', undefined, textEl('t:FreeBusyViewType', 'None')),
        );
        continue;
      }
      responses += el(
        'm:FreeBusyResponse',
        undefined,
        successMessage('ResponseMessage') + freeBusyView(mailbox, mailbox === ctx.mailbox, options),
      );
    }
    body += el('m:FreeBusyResponseArray', undefined, responses);
  }
  if (child(request, 'SuggestionsViewOptions')) {
    const error = new EwsError('ErrorInvalidRequest', 'Meeting suggestions are not emulated.');
    body += el('m:SuggestionsResponse', undefined, errorMessage('ResponseMessage', error));
  }
  return `<m:GetUserAvailabilityResponse xmlns:m="${ns.m}" xmlns:t="${ns.t}">${body}</m:GetUserAvailabilityResponse>`;
}
