import { createHash } from 'node:crypto';
import type { OperationContext } from '../context.js';
import { versionRank } from '../soap/envelope.js';
import { changeKeyOf, occurrenceId } from '../store/ids.js';
import type { PropValue } from '../store/model.js';
import { el, serializeNode, textEl } from '../xml/write.js';
import { htmlToText } from './body.js';
import { type ItemView, seriesOf } from './calendar.js';
import { defaultItemClass } from './fields.js';
import { expand, lastOccurrence } from './recurrence.js';
import { addressesOf, bool, durationOf, isoSeconds, mailboxNode, textOf, timeOf } from './values.js';

/**
 * Properties Exchange computes rather than stores, and the defaults it reports for properties never set. Each returns
 * the whole element, or undefined when Exchange would leave it out.
 */

type Computed = (view: ItemView, ctx: OperationContext) => string | undefined;

const t = (name: string, value: string | number | boolean) => textEl(`t:${name}`, value);

function folderIdXml(name: string, folderId: string, ctx: OperationContext): string {
  const folder = ctx.mailbox.folders.get(folderId);
  return el(`t:${name}`, { Id: folderId, ChangeKey: changeKeyOf(folderId, folder?.version ?? 1) });
}

function organizerAddress(view: ItemView, ctx: OperationContext): string {
  const stored = view.props._organizer;
  return typeof stored === 'string' ? stored : ctx.mailbox.address;
}

function isMeeting(view: ItemView): boolean {
  if (view.kind === 'MeetingRequest' || view.kind === 'MeetingCancellation') return true;
  return ['RequiredAttendees', 'OptionalAttendees', 'Resources'].some(
    (name) => addressesOf(view.props[name]).length > 0,
  );
}

function isOrganizer(view: ItemView, ctx: OperationContext): boolean {
  return organizerAddress(view, ctx) === ctx.mailbox.address;
}

function calendarItemType(view: ItemView): string {
  if (view.occurrence) return view.occurrence.exception ? 'Exception' : 'Occurrence';
  const recurrence = view.props.Recurrence;
  return typeof recurrence === 'object' && recurrence.c?.length ? 'RecurringMaster' : 'Single';
}

function displayNames(value: PropValue | undefined): string {
  return addressesOf(value)
    .map((a) => a.name ?? a.address)
    .join('; ');
}

function occurrenceInfo(name: string, view: ItemView, start: number, duration: number): string {
  const key = isoSeconds(start);
  const exception = view.item.exceptions?.[key];
  const actualStart = exception ? (timeOf(exception.props.Start) ?? start) : start;
  const actualEnd = exception ? (timeOf(exception.props.End) ?? actualStart + duration) : start + duration;
  const id = occurrenceId(view.item.id, key);
  return el(
    `t:${name}`,
    undefined,
    el('t:ItemId', { Id: id, ChangeKey: changeKeyOf(id, view.item.version * 1000 + (exception?.version ?? 0)) }) +
      t('Start', isoSeconds(actualStart)) +
      t('End', isoSeconds(actualEnd)) +
      t('OriginalStart', key),
  );
}

function masterOnly(view: ItemView): boolean {
  return !view.occurrence && calendarItemType(view) === 'RecurringMaster';
}

const zoneNames: Record<string, string> = {
  UTC: '(UTC) Coordinated Universal Time',
  'W. Europe Standard Time': '(UTC+01:00) Amsterdam, Berlin, Bern, Rome, Stockholm, Vienna',
  'Greenwich Standard Time': '(UTC+00:00) Monrovia, Reykjavik',
  'GMT Standard Time': '(UTC+00:00) Dublin, Edinburgh, Lisbon, London',
  'Eastern Standard Time': '(UTC-05:00) Eastern Time (US & Canada)',
  'Pacific Standard Time': '(UTC-08:00) Pacific Time (US & Canada)',
};

function zoneId(view: ItemView): string {
  return typeof view.props._tz === 'string' ? view.props._tz : 'UTC';
}

function zoneName(view: ItemView): string {
  if (typeof view.props._tzName === 'string') return view.props._tzName;
  return zoneNames[zoneId(view)] ?? zoneId(view);
}

const taskStatusText: Record<string, string> = {
  NotStarted: 'Not Started',
  InProgress: 'In Progress',
  Completed: 'Completed',
  WaitingOnOthers: 'Waiting on someone else',
  Deferred: 'Deferred',
};

function bodyText(view: ItemView): string {
  const body = view.props.Body;
  if (typeof body !== 'object') return '';
  return body.a?.BodyType === 'Text' ? (body.t ?? '') : htmlToText(body.t ?? '');
}

/**
 * The replies Exchange offers on an item (ResponseObjects), each an empty element. The organizer's copy of a meeting
 * offers cancelling and forwarding; an attendee's copy and a meeting request answering (with ProposeNewTime from
 * Exchange 2013), replying and forwarding; a cancelled meeting removing. A received message and a meeting response
 * offer reply, reply-all and forward; a draft nothing. Contacts and tasks can be forwarded.
 */
function responseObjectNames(view: ItemView, ctx: OperationContext): string[] {
  const reply = ['ReplyToItem', 'ReplyAllToItem', 'ForwardItem'];
  const answer = ['AcceptItem', 'TentativelyAcceptItem', 'DeclineItem', ...reply];
  if (versionRank(ctx.version) >= versionRank('Exchange2013') && view.props.AllowNewTimeProposal !== 'false') {
    answer.push('ProposeNewTime');
  }
  switch (view.kind) {
    case 'CalendarItem':
      if (isOrganizer(view, ctx)) return isMeeting(view) ? ['CancelCalendarItem', 'ForwardItem'] : ['ForwardItem'];
      return bool(view.props._cancelled) ? ['RemoveItem', ...reply] : answer;
    case 'MeetingRequest':
      return answer;
    case 'MeetingCancellation':
      return ['RemoveItem', ...reply];
    case 'MeetingResponse':
      return reply;
    case 'Message':
      return view.item.folderId === ctx.mailbox.byDistinguished.get('drafts')?.id || view.props._draft === 'true'
        ? []
        : reply;
    default:
      return ['ForwardItem'];
  }
}

/** The Outlook on the web page that opens an item, per kind, as Exchange 2013/2016 name them. */
const readForms: Record<string, string> = {
  Message: 'ReadMessageItem',
  MeetingRequest: 'ReadMessageItem',
  MeetingCancellation: 'ReadMessageItem',
  CalendarItem: 'ICalendarItemDetailsViewModelFactory',
  Contact: 'PersonaCardViewModelFactory',
  Task: 'TaskReadingPaneViewModelPopOutFactory',
};

export const computed: Record<string, Computed> = {
  WebClientReadFormQueryString: (view, ctx) =>
    t(
      'WebClientReadFormQueryString',
      `${new URL('/owa/', ctx.core.ewsUrl()).href}?ItemID=${encodeURIComponent(view.id)}&exvsurl=1&viewmodel=${readForms[view.kind] ?? 'ReadMessageItem'}`,
    ),
  // One conversation per topic, as Exchange threads items (its id is derived from the thread's first message).
  ConversationId: (view) =>
    el('t:ConversationId', {
      Id: createHash('sha256')
        .update(`conversation:${(textOf(view.props.Subject) ?? '').replace(/^((re|fw|fwd|aw|wg):\s*)+/i, '')}`)
        .digest()
        .subarray(0, 16)
        .toString('base64'),
    }),
  // The mailbox's owner (or whoever impersonates them) may do anything with an item but create items inside it.
  EffectiveRights: (_view, ctx) =>
    el(
      't:EffectiveRights',
      undefined,
      t('CreateAssociated', false) +
        t('CreateContents', false) +
        t('CreateHierarchy', false) +
        t('Delete', true) +
        t('Modify', true) +
        t('Read', true) +
        (versionRank(ctx.version) >= versionRank('Exchange2010') ? t('ViewPrivateItems', true) : ''),
    ),
  ResponseObjects: (view, ctx) => {
    const names = responseObjectNames(view, ctx);
    return names.length > 0 ? el('t:ResponseObjects', undefined, names.map((n) => `<t:${n}/>`).join('')) : undefined;
  },
  ItemId: (view) => el('t:ItemId', { Id: view.id, ChangeKey: view.changeKey }),
  ParentFolderId: (view, ctx) => folderIdXml('ParentFolderId', view.item.folderId, ctx),
  Attachments: (view, ctx) => {
    const list = view.occurrence ? [] : (view.item.attachments ?? []);
    if (list.length === 0) return undefined;
    // Size, LastModifiedTime, IsInline and IsContactPhoto came with Exchange2010 (as in GetAttachment).
    const since2010 = versionRank(ctx.version) >= versionRank('Exchange2010');
    const inner = list
      .map((a) =>
        el(
          't:FileAttachment',
          undefined,
          el('t:AttachmentId', { Id: a.id }) +
            t('Name', a.name) +
            (a.contentType ? t('ContentType', a.contentType) : '') +
            (a.contentId ? t('ContentId', a.contentId) : '') +
            (since2010
              ? t('Size', a.size) +
                t('LastModifiedTime', isoSeconds(a.lastModified)) +
                t('IsInline', a.isInline) +
                t('IsContactPhoto', a.isContactPhoto === true)
              : ''),
        ),
      )
      .join('');
    return el('t:Attachments', undefined, inner);
  },
  DateTimeReceived: (view) => t('DateTimeReceived', isoSeconds(timeOf(view.props._received) ?? view.item.created)),
  Size: (view) =>
    t('Size', JSON.stringify(view.props).length + (view.item.attachments ?? []).reduce((n, a) => n + a.size, 0)),
  IsSubmitted: (view, ctx) => t('IsSubmitted', view.item.folderId === ctx.mailbox.byDistinguished.get('sentitems')?.id),
  IsDraft: (view, ctx) =>
    t(
      'IsDraft',
      (view.kind === 'Message' && view.item.folderId === ctx.mailbox.byDistinguished.get('drafts')?.id) ||
        view.props._draft === 'true',
    ),
  IsFromMe: () => t('IsFromMe', false),
  IsResend: () => t('IsResend', false),
  IsUnmodified: (view) => t('IsUnmodified', view.item.version === 1),
  DateTimeSent: (view) => t('DateTimeSent', isoSeconds(timeOf(view.props._sent) ?? view.item.created)),
  DateTimeCreated: (view) => t('DateTimeCreated', isoSeconds(view.item.created)),
  DisplayCc: (view) =>
    t('DisplayCc', displayNames(view.kind === 'CalendarItem' ? view.props.OptionalAttendees : view.props.CcRecipients)),
  DisplayTo: (view) =>
    t('DisplayTo', displayNames(view.kind === 'CalendarItem' ? view.props.RequiredAttendees : view.props.ToRecipients)),
  HasAttachments: (view) => t('HasAttachments', !view.occurrence && (view.item.attachments?.length ?? 0) > 0),
  LastModifiedName: (view, ctx) =>
    t(
      'LastModifiedName',
      typeof view.props._modifiedBy === 'string' ? view.props._modifiedBy : ctx.mailbox.displayName,
    ),
  LastModifiedTime: (view) => {
    const exception = view.occurrence ? view.item.exceptions?.[isoSeconds(view.occurrence.originalStart)] : undefined;
    return t('LastModifiedTime', isoSeconds(exception?.modified ?? view.item.modified));
  },
  IsAssociated: () => t('IsAssociated', false),
  UniqueBody: (view) => {
    const body = view.props.Body;
    if (typeof body !== 'object') return undefined;
    return textEl('t:UniqueBody', body.t ?? '', { BodyType: body.a?.BodyType ?? 'HTML' });
  },
  Preview: (view) => {
    const preview = bodyText(view).replace(/\s+/g, ' ').trim().slice(0, 255);
    return preview ? t('Preview', preview) : undefined;
  },
  TextBody: (view) => textEl('t:TextBody', bodyText(view), { BodyType: 'Text' }),
  ConversationTopic: (view) => t('ConversationTopic', textOf(view.props.Subject) ?? ''),
  InternetMessageId: (view) => {
    const hash = createHash('sha1')
      .update(textOf(view.props._imid) ?? view.item.id)
      .digest('hex')
      .slice(0, 24);
    return t('InternetMessageId', `<${hash}@emulator.exh>`);
  },
  ReceivedBy: (view, ctx) =>
    view.props._received
      ? el('t:ReceivedBy', undefined, serializeNode(mailboxNode(ctx.mailbox.address, ctx.mailbox.displayName, true)))
      : undefined,
  ReceivedRepresenting: (view, ctx) =>
    view.props._received
      ? el(
          't:ReceivedRepresenting',
          undefined,
          serializeNode(mailboxNode(ctx.mailbox.address, ctx.mailbox.displayName, true)),
        )
      : undefined,
  RecurrenceId: (view) => (view.occurrence ? t('RecurrenceId', isoSeconds(view.occurrence.originalStart)) : undefined),
  DateTimeStamp: (view) => t('DateTimeStamp', isoSeconds(view.item.created)),
  OriginalStart: (view) =>
    view.occurrence ? t('OriginalStart', isoSeconds(view.occurrence.originalStart)) : undefined,
  IsMeeting: (view) => t('IsMeeting', isMeeting(view)),
  IsCancelled: (view) => t('IsCancelled', bool(view.props._cancelled)),
  IsRecurring: (view) => {
    if (view.kind === 'Task') {
      const recurrence = view.props.Recurrence;
      return t('IsRecurring', typeof recurrence === 'object' && (recurrence.c?.length ?? 0) > 0);
    }
    // Exchange reports false on the master itself; occurrences and exceptions are "recurring".
    return t('IsRecurring', view.occurrence !== undefined);
  },
  MeetingRequestWasSent: (view) => t('MeetingRequestWasSent', bool(view.props._meetingSent)),
  CalendarItemType: (view) => t('CalendarItemType', calendarItemType(view)),
  MyResponseType: (view, ctx) => {
    if (isOrganizer(view, ctx)) return t('MyResponseType', 'Organizer');
    return t('MyResponseType', textOf(view.props._myResponse) ?? 'NoResponseReceived');
  },
  Organizer: (view, ctx) => {
    const address = organizerAddress(view, ctx);
    const known = ctx.core.store.get(address);
    return el(
      't:Organizer',
      undefined,
      serializeNode(mailboxNode(address, known?.displayName ?? address, known !== undefined)),
    );
  },
  ConflictingMeetingCount: () => t('ConflictingMeetingCount', 0),
  AdjacentMeetingCount: () => t('AdjacentMeetingCount', 0),
  Duration: (view) => {
    const start = timeOf(view.props.Start);
    const end = timeOf(view.props.End);
    return start !== undefined && end !== undefined ? t('Duration', durationOf(end - start)) : undefined;
  },
  TimeZone: (view) =>
    view.kind === 'CalendarItem' || view.kind === 'MeetingRequest' ? t('TimeZone', zoneName(view)) : undefined,
  AppointmentReplyTime: (view) =>
    view.props._replyTime ? t('AppointmentReplyTime', textOf(view.props._replyTime) ?? '') : undefined,
  AppointmentSequenceNumber: (view) => t('AppointmentSequenceNumber', Number(textOf(view.props._sequence) ?? 0)),
  AppointmentState: (view, ctx) => {
    let state = 0;
    if (isMeeting(view)) state |= 1;
    if (!isOrganizer(view, ctx)) state |= 2;
    if (bool(view.props._cancelled)) state |= 4;
    return t('AppointmentState', state);
  },
  FirstOccurrence: (view) => {
    if (!masterOnly(view)) return undefined;
    const series = seriesOf(view.item);
    if (!series) return undefined;
    const deleted = new Set(view.item.deletedOccurrences ?? []);
    const first = expand(series.rule, series.start, series.zone, Number.NEGATIVE_INFINITY, Number.POSITIVE_INFINITY)
      .slice(0, 400)
      .find((o) => !deleted.has(isoSeconds(o.start)));
    return first ? occurrenceInfo('FirstOccurrence', view, first.start, series.duration) : undefined;
  },
  LastOccurrence: (view) => {
    if (!masterOnly(view)) return undefined;
    const series = seriesOf(view.item);
    const last = series ? lastOccurrence(series.rule, series.start, series.zone) : undefined;
    return series && last ? occurrenceInfo('LastOccurrence', view, last.start, series.duration) : undefined;
  },
  ModifiedOccurrences: (view) => {
    if (!masterOnly(view)) return undefined;
    const series = seriesOf(view.item);
    const keys = Object.keys(view.item.exceptions ?? {}).sort();
    if (!series || keys.length === 0) return undefined;
    const inner = keys.map((key) => occurrenceInfo('Occurrence', view, Date.parse(key), series.duration)).join('');
    return el('t:ModifiedOccurrences', undefined, inner);
  },
  DeletedOccurrences: (view) => {
    const deleted = [...(view.item.deletedOccurrences ?? [])].sort();
    if (!masterOnly(view) || deleted.length === 0) return undefined;
    const inner = deleted.map((key) => el('t:DeletedOccurrence', undefined, t('Start', key))).join('');
    return el('t:DeletedOccurrences', undefined, inner);
  },
  MeetingTimeZone: (view) => el('t:MeetingTimeZone', { TimeZoneName: zoneId(view) }, t('BaseOffset', 'PT0H')),
  StartTimeZone: (view) => el('t:StartTimeZone', { Id: zoneId(view), Name: zoneName(view) }),
  EndTimeZone: (view) => {
    const id = typeof view.props._endTz === 'string' ? view.props._endTz : zoneId(view);
    return el('t:EndTimeZone', { Id: id, Name: zoneNames[id] ?? id });
  },
  IsOrganizer: (view, ctx) => t('IsOrganizer', isOrganizer(view, ctx)),
  CompleteName: (view) => {
    const first = textOf(view.props.GivenName);
    const middle = textOf(view.props.MiddleName);
    const last = textOf(view.props.Surname);
    const full = [first, middle, last].filter(Boolean).join(' ') || textOf(view.props.DisplayName) || '';
    let inner = '';
    if (first) inner += t('FirstName', first);
    if (middle) inner += t('MiddleName', middle);
    if (last) inner += t('LastName', last);
    if (textOf(view.props.Initials)) inner += t('Initials', textOf(view.props.Initials) ?? '');
    inner += t('FullName', full);
    if (textOf(view.props.Nickname)) inner += t('Nickname', textOf(view.props.Nickname) ?? '');
    return el('t:CompleteName', undefined, inner);
  },
  HasPicture: (view) =>
    t(
      'HasPicture',
      (view.item.attachments ?? []).some((a) => a.isContactPhoto),
    ),
  ChangeCount: (view) => t('ChangeCount', view.item.version),
  DelegationState: () => t('DelegationState', 'NoMatch'),
  IsAssignmentEditable: () => t('IsAssignmentEditable', 0),
  IsComplete: (view) =>
    t('IsComplete', textOf(view.props.Status) === 'Completed' || Number(textOf(view.props.PercentComplete)) === 100),
  IsTeamTask: () => t('IsTeamTask', false),
  StatusDescription: (view) =>
    t('StatusDescription', taskStatusText[textOf(view.props.Status) ?? 'NotStarted'] ?? 'Not Started'),
  AssociatedCalendarItemId: (view, ctx) => {
    const id = textOf(view.props._associatedId);
    const target = id ? ctx.mailbox.items.get(id) : undefined;
    return target
      ? el('t:AssociatedCalendarItemId', { Id: target.id, ChangeKey: changeKeyOf(target.id, target.version) })
      : undefined;
  },
  IsDelegated: () => t('IsDelegated', false),
  IsOutOfDate: () => t('IsOutOfDate', false),
  HasBeenProcessed: () => t('HasBeenProcessed', true),
  ResponseType: (view) => t('ResponseType', textOf(view.props._myResponse) ?? 'NoResponseReceived'),
};

/** Values Exchange reports for properties nobody set. */
export function defaultValue(name: string, view: ItemView): string | undefined {
  const calendar = view.kind === 'CalendarItem' || view.kind === 'MeetingRequest';
  const message = view.kind === 'Message' || view.kind === 'MeetingRequest' || view.kind === 'MeetingCancellation';
  switch (name) {
    case 'ItemClass':
      return defaultItemClass[view.kind];
    case 'Sensitivity':
      return 'Normal';
    case 'Importance':
      return 'Normal';
    case 'Culture':
      return 'en-US';
    case 'ReminderIsSet':
      return calendar && view.kind === 'CalendarItem' ? 'true' : 'false';
    case 'ReminderMinutesBeforeStart':
      return view.kind === 'CalendarItem' ? '15' : '0';
    case 'ReminderDueBy':
      return view.kind === 'CalendarItem' ? textOf(view.props.Start) : undefined;
    case 'IsRead':
      return message ? 'true' : undefined;
    case 'IsReadReceiptRequested':
    case 'IsDeliveryReceiptRequested':
      return view.kind === 'Message' ? 'false' : undefined;
    case 'IsAllDayEvent':
      return calendar ? 'false' : undefined;
    case 'LegacyFreeBusyStatus':
      return calendar ? 'Busy' : undefined;
    case 'IsResponseRequested':
      return view.kind === 'CalendarItem' ? 'true' : undefined;
    case 'AllowNewTimeProposal':
      return calendar ? 'true' : undefined;
    case 'IsOnlineMeeting':
      return calendar ? 'false' : undefined;
    case 'ConferenceType':
      return calendar ? '0' : undefined;
    case 'MeetingRequestType':
      return view.kind === 'MeetingRequest' ? 'NewMeetingRequest' : undefined;
    case 'IntendedFreeBusyStatus':
      return view.kind === 'MeetingRequest' ? 'Busy' : undefined;
    case 'Status':
      return view.kind === 'Task' ? 'NotStarted' : undefined;
    case 'PercentComplete':
      return view.kind === 'Task' ? '0' : undefined;
    case 'ActualWork':
    case 'TotalWork':
      return view.kind === 'Task' ? '0' : undefined;
    case 'DisplayName':
      return view.kind === 'Contact' ? contactName(view) : undefined;
    case 'FileAs':
      return view.kind === 'Contact' ? fileAs(view) : undefined;
    default:
      return undefined;
  }
}

function contactName(view: ItemView): string {
  return [textOf(view.props.GivenName), textOf(view.props.MiddleName), textOf(view.props.Surname)]
    .filter(Boolean)
    .join(' ');
}

function fileAs(view: ItemView): string {
  const last = textOf(view.props.Surname);
  const first = textOf(view.props.GivenName);
  if (last && first) return `${last}, ${first}`;
  return last ?? first ?? textOf(view.props.CompanyName) ?? '';
}
