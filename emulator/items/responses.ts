import type { OperationContext } from '../context.js';
import { EwsError, type ResponseCode } from '../soap/response-codes.js';
import { newAttachmentId } from '../store/ids.js';
import type { Mailbox } from '../store/mailbox.js';
import type { PropValue, StoredFolder, StoredItem } from '../store/model.js';
import { child, type XmlNode } from '../xml/node.js';
import { convertBody } from './body.js';
import { exceptionOf, type ItemView, occurrenceByStart, resolveItemId, viewOf } from './calendar.js';
import { deliver } from './mail.js';
import {
  attendeesOf,
  cancellationProps,
  findCopy,
  type MeetingResponse,
  organizedBy,
  recordResponse,
  sendCancellations,
} from './meetings.js';
import { normalizeXmlProp } from './read.js';
import { renderItemId } from './render.js';
import { addressesOf, bool, isoSeconds, mailboxNode, normalizeDate, textOf } from './values.js';

/**
 * Response objects in CreateItem, as Exchange handles them (docs/emulator.md, "Meeting responses"): an attendee
 * answers a meeting (AcceptItem, TentativelyAcceptItem, DeclineItem) or removes a cancelled one (RemoveItem), the
 * organizer cancels it (CancelCalendarItem), anyone replies to or forwards an item (ReplyToItem, ReplyAllToItem,
 * ForwardItem). Each returns the Items of its CreateItemResponseMessage.
 */

export const responseObjectNames = new Set([
  'AcceptItem',
  'TentativelyAcceptItem',
  'DeclineItem',
  'CancelCalendarItem',
  'RemoveItem',
  'ReplyToItem',
  'ReplyAllToItem',
  'ForwardItem',
]);

export interface ResponseOptions {
  /** MessageDisposition as sent (undefined when absent). */
  disposition: string | undefined;
  /** SavedItemFolderId: where a saved copy or draft goes. */
  folder: StoredFolder | undefined;
}

const answers: Record<string, { response: MeetingResponse; prefix: string; itemClass: string; verb: string }> = {
  AcceptItem: { response: 'Accept', prefix: 'Accepted', itemClass: 'IPM.Schedule.Meeting.Resp.Pos', verb: 'Accept' },
  TentativelyAcceptItem: {
    response: 'Tentative',
    prefix: 'Tentative',
    itemClass: 'IPM.Schedule.Meeting.Resp.Tent',
    verb: 'Tentative',
  },
  DeclineItem: { response: 'Decline', prefix: 'Declined', itemClass: 'IPM.Schedule.Meeting.Resp.Neg', verb: 'Decline' },
};

function referencedView(ctx: OperationContext, node: XmlNode): ItemView {
  const ref = child(node, 'ReferenceItemId');
  if (!ref) throw new EwsError('ErrorInvalidRequest', `${node.n} needs a ReferenceItemId.`);
  return resolveItemId(ctx.mailbox, ref).view;
}

function referenced(ctx: OperationContext, node: XmlNode): StoredItem {
  return referencedView(ctx, node).item;
}

function bodyOf(node: XmlNode, name = 'Body'): XmlNode | undefined {
  const body = child(node, name);
  return body ? { n: 'Body', a: { BodyType: body.a?.BodyType ?? 'HTML' }, t: body.t ?? '' } : undefined;
}

function sender(mailbox: Mailbox): Record<string, PropValue> {
  const me = mailboxNode(mailbox.address, mailbox.displayName, true);
  return { From: { n: 'From', c: [me] }, Sender: { n: 'Sender', c: [me] } };
}

function recipients(ctx: OperationContext, name: string, addresses: string[]): XmlNode {
  return normalizeXmlProp({ n: name, c: addresses.map((a) => mailboxNode(a, '', false)) }, ctx);
}

/** A saved copy in Sent Items (SendAndSaveCopy) or a draft in Drafts (SaveOnly), as the disposition says. */
function keep(
  ctx: OperationContext,
  options: ResponseOptions,
  kind: StoredItem['kind'],
  props: Record<string, PropValue>,
  attachments?: StoredItem['attachments'],
): StoredItem | undefined {
  const mailbox = ctx.mailbox;
  const now = new Date(ctx.core.now()).toISOString();
  if (options.disposition === 'SendOnly') return undefined;
  const draft = options.disposition === 'SaveOnly';
  const folder = options.folder ?? mailbox.folder(draft ? 'drafts' : 'sentitems');
  return mailbox.addItem(folder.id, {
    kind,
    props: { ...props, IsRead: 'true', ...(draft ? { _draft: 'true' } : { _sent: now }) },
    ...(attachments ? { attachments: attachments.map((a) => ({ ...a, id: newAttachmentId() })) } : {}),
  });
}

/** Moves an item to Deleted Items, or deletes it for good when it is there already; the moved item, if any. */
function toDeletedItems(mailbox: Mailbox, item: StoredItem): StoredItem | undefined {
  const deleted = mailbox.folder('deleteditems');
  if (item.folderId === deleted.id) {
    mailbox.removeItem(item);
    return undefined;
  }
  return mailbox.moveItem(item, deleted.id);
}

/** Message-only properties of a meeting request that its calendar item does not carry. */
const requestOnly = new Set([
  'From',
  'Sender',
  'ToRecipients',
  'CcRecipients',
  'IsRead',
  'MeetingRequestType',
  'IntendedFreeBusyStatus',
  '_received',
  '_associatedId',
]);

/** The attendee's calendar item a response is about: the one referenced, or the request's (made again if gone). */
function calendarItemOf(mailbox: Mailbox, target: StoredItem): StoredItem | undefined {
  if (target.kind === 'CalendarItem') return target;
  const associated = mailbox.items.get(textOf(target.props._associatedId) ?? '');
  if (associated?.kind === 'CalendarItem') return associated;
  const copy = findCopy(mailbox, textOf(target.props.UID) ?? '');
  if (copy) return copy;
  const props: Record<string, PropValue> = {};
  for (const [name, value] of Object.entries(target.props)) if (!requestOnly.has(name)) props[name] = value;
  return mailbox.addItem(mailbox.folder('calendar').id, { kind: 'CalendarItem', props });
}

type Answer = (typeof answers)[string];

function freeBusy(answer: Answer, request: StoredItem | undefined): string {
  if (answer.response === 'Accept') return textOf(request?.props.IntendedFreeBusyStatus) ?? 'Busy';
  return answer.response === 'Tentative' ? 'Tentative' : 'Free';
}

/** The MeetingResponse message of an answer, as sent to the organizer and kept by the attendee. */
function responseProps(
  ctx: OperationContext,
  node: XmlNode,
  answer: Answer,
  meeting: Record<string, PropValue>,
): Record<string, PropValue> {
  const organizer = textOf(meeting._organizer) ?? '';
  const sensitivity = textOf(child(node, 'Sensitivity'));
  const body = bodyOf(node);
  const props: Record<string, PropValue> = {
    ItemClass: answer.itemClass,
    Subject: `${answer.prefix}: ${textOf(meeting.Subject) ?? ''}`,
    ...(sensitivity ? { Sensitivity: sensitivity } : {}),
    ...(body ? { Body: body } : {}),
    ...sender(ctx.mailbox),
    ToRecipients: recipients(ctx, 'ToRecipients', organizer ? [organizer] : []),
    UID: textOf(meeting.UID) ?? '',
    _organizer: organizer,
    _myResponse: answer.response,
  };
  for (const name of ['Start', 'End', 'Location']) {
    const value = meeting[name];
    if (value !== undefined) props[name] = value;
  }
  const proposedStart = timeText(node, 'ProposedStart');
  const proposedEnd = timeText(node, 'ProposedEnd');
  if (proposedStart) props.ProposedStart = proposedStart;
  if (proposedEnd) props.ProposedEnd = proposedEnd;
  return props;
}

/** AcceptItem, TentativelyAcceptItem, DeclineItem: an attendee answers a meeting request or its calendar item. */
function answerMeeting(ctx: OperationContext, node: XmlNode, options: ResponseOptions): string {
  const answer = answers[node.n] as Answer;
  const mailbox = ctx.mailbox;
  const view = referencedView(ctx, node);
  const target = view.item;
  if (target.kind !== 'MeetingRequest' && target.kind !== 'CalendarItem')
    throw new EwsError(
      'ErrorInvalidOperation',
      `${node.n} answers a meeting request or a meeting, not a ${target.kind}.`,
    );
  if (organizedBy(target, mailbox)) {
    if (target.kind === 'CalendarItem' && textOf(target.props._organizer) === undefined && !hasAttendees(target))
      throw new EwsError('ErrorInvalidOperation', `${node.n} answers a meeting; this appointment is not one.`);
    throw new EwsError(`ErrorCalendarIsOrganizerFor${answer.verb}` as ResponseCode);
  }
  const request = target.kind === 'MeetingRequest' ? target : undefined;
  let calendar = calendarItemOf(mailbox, target);
  if (calendar && bool(calendar.props._cancelled))
    throw new EwsError(`ErrorCalendarIsCancelledFor${answer.verb}` as ResponseCode);
  if (view.occurrence) return answerOccurrence(ctx, node, answer, view, options);
  const time = isoSeconds(ctx.core.now());
  const send = options.disposition !== 'SaveOnly';
  const props = responseProps(ctx, node, answer, (calendar ?? target).props);

  const out: string[] = [];
  if (calendar) {
    calendar.props._myResponse = answer.response;
    calendar.props._replyTime = time;
    calendar.props.LegacyFreeBusyStatus = freeBusy(answer, request);
    mailbox.touch(calendar);
    // A declined meeting leaves the calendar when the answer is sent (a draft answer changes nothing yet).
    if (answer.response === 'Decline' && send) calendar = toDeletedItems(mailbox, calendar);
    if (calendar) out.push(renderItemId(viewOf(calendar)));
  }
  if (request) {
    request.props._myResponse = answer.response;
    const moved = toDeletedItems(mailbox, request);
    if (moved) out.push(renderItemId(viewOf(moved)));
  }
  if (send) deliverResponse(ctx, props);
  const kept = keep(ctx, options, 'MeetingResponse', props);
  // A draft answer is the item the client asked for; a sent one is found in Sent Items (as on Exchange).
  if (kept && !send) out.push(renderItemId(viewOf(kept)));
  return `<m:Items>${out.join('')}</m:Items>`;
}

/**
 * An answer to one occurrence of the attendee's series: that occurrence becomes an exception with its own response
 * (a sent decline deletes it from the series). The organizer gets the MeetingResponse with the occurrence's times; the
 * attendee's entry in the organizer's series is left as it is.
 */
function answerOccurrence(
  ctx: OperationContext,
  node: XmlNode,
  answer: Answer,
  view: ItemView,
  options: ResponseOptions,
): string {
  const mailbox = ctx.mailbox;
  const series = view.item;
  const originalStart = view.occurrence?.originalStart ?? 0;
  const key = isoSeconds(originalStart);
  const send = options.disposition !== 'SaveOnly';
  const exception = exceptionOf(series, originalStart);
  exception.props._myResponse = answer.response;
  exception.props._replyTime = isoSeconds(ctx.core.now());
  exception.props.LegacyFreeBusyStatus = freeBusy(answer, undefined);
  exception.version++;
  exception.modified = ctx.core.now();
  const declined = answer.response === 'Decline' && send;
  if (declined) {
    series.deletedOccurrences = [...new Set([...(series.deletedOccurrences ?? []), key])];
    delete series.exceptions?.[key];
  }
  mailbox.touch(series);
  const props = { ...responseProps(ctx, node, answer, view.props), _occurrence: key };
  if (send) deliverResponse(ctx, props);
  const kept = keep(ctx, options, 'MeetingResponse', props);
  // The occurrence answered, or the series it was declined from (the calendar item that changed).
  let out = renderItemId(declined ? viewOf(series) : occurrenceByStart(series, key));
  if (kept && !send) out += renderItemId(viewOf(kept));
  return `<m:Items>${out}</m:Items>`;
}

/** The answer reaches the organizer: a MeetingResponse in the Inbox, the attendee's response on the meeting. */
function deliverResponse(ctx: OperationContext, props: Record<string, PropValue>): void {
  const organizer = textOf(props._organizer) ?? '';
  const now = ctx.core.now();
  const uid = textOf(props.UID) ?? '';
  const details = {
    response: (textOf(props._myResponse) ?? 'Accept') as MeetingResponse,
    time: isoSeconds(now),
    proposedStart: textOf(props.ProposedStart),
    proposedEnd: textOf(props.ProposedEnd),
  };
  const organizerBox = ctx.core.store.get(organizer);
  // An answer to one occurrence leaves the organizer's series as it is.
  const meeting =
    props._occurrence === undefined
      ? recordResponse(ctx.core, ctx.mailbox.address, organizer, uid, details)
      : organizerBox && findCopy(organizerBox, uid);
  if (!organizerBox) return;
  const { _draft, _sent, _occurrence, ...shared } = props;
  organizerBox.deliverItem(organizerBox.folder('inbox').id, {
    kind: 'MeetingResponse',
    props: {
      ...shared,
      IsRead: 'false',
      _received: new Date(now).toISOString(),
      ...(meeting ? { _associatedId: meeting.id } : {}),
    },
  });
}

/**
 * SendItem of a meeting response saved as a draft (SaveOnly): the answer is sent now, and a decline takes the
 * meeting out of the attendee's calendar then. `saveIn` is where the sent copy goes (none: not kept).
 */
export function sendSavedResponse(ctx: OperationContext, item: StoredItem, saveIn: StoredFolder | undefined): void {
  const mailbox = ctx.mailbox;
  delete item.props._draft;
  item.props._sent = new Date(ctx.core.now()).toISOString();
  deliverResponse(ctx, item.props);
  const calendar = findCopy(mailbox, textOf(item.props.UID) ?? '');
  if (calendar && textOf(item.props._myResponse) === 'Decline') {
    const occurrence = textOf(item.props._occurrence);
    if (occurrence === undefined) toDeletedItems(mailbox, calendar);
    else {
      calendar.deletedOccurrences = [...new Set([...(calendar.deletedOccurrences ?? []), occurrence])];
      delete calendar.exceptions?.[occurrence];
      mailbox.touch(calendar);
    }
  }
  if (saveIn) mailbox.moveItem(item, saveIn.id);
  else mailbox.removeItem(item);
}

function hasAttendees(item: StoredItem): boolean {
  return ['RequiredAttendees', 'OptionalAttendees', 'Resources'].some((n) => addressesOf(item.props[n]).length > 0);
}

function timeText(node: XmlNode, name: string): string | undefined {
  const raw = textOf(child(node, name));
  return raw ? normalizeDate(raw, name) : undefined;
}

/** CancelCalendarItem: the organizer cancels the meeting; attendees' copies are cancelled, the meeting deleted. */
function cancelMeeting(ctx: OperationContext, node: XmlNode, options: ResponseOptions): string {
  const mailbox = ctx.mailbox;
  const ref = child(node, 'ReferenceItemId');
  if (!ref) throw new EwsError('ErrorInvalidRequest', 'CancelCalendarItem needs a ReferenceItemId.');
  const { view } = resolveItemId(mailbox, ref);
  const meeting = view.item;
  if (meeting.kind !== 'CalendarItem' || !organizedBy(meeting, mailbox) || !hasAttendees(meeting))
    throw new EwsError('ErrorCalendarIsNotOrganizer');
  if (view.occurrence)
    throw new EwsError('ErrorInvalidOperation', 'The emulator cancels whole meetings; delete an occurrence instead.');
  const body = bodyOf(node, 'NewBodyContent') ?? bodyOf(node);
  const attendees = attendeesOf(meeting).filter((a) => a !== mailbox.address);
  const props = cancellationProps(ctx.core, mailbox, meeting, attendees, body);
  if (options.disposition === 'SaveOnly') {
    const draft = keep(ctx, options, 'MeetingCancellation', props);
    return `<m:Items>${draft ? renderItemId(viewOf(draft)) : ''}</m:Items>`;
  }
  sendCancellations(ctx.core, mailbox, meeting, body);
  keep(ctx, options, 'MeetingCancellation', props);
  meeting.props._cancelled = 'true';
  mailbox.touch(meeting);
  const moved = toDeletedItems(mailbox, meeting);
  return `<m:Items>${moved ? renderItemId(viewOf(moved)) : ''}</m:Items>`;
}

/** RemoveItem: an attendee removes a cancelled meeting from the calendar, given the MeetingCancellation. */
function removeMeeting(ctx: OperationContext, node: XmlNode): string {
  const mailbox = ctx.mailbox;
  const target = referenced(ctx, node);
  // "RemoveItem is valid only for a MeetingCancellation" (Microsoft's RemoveItem reference).
  if (target.kind !== 'MeetingCancellation')
    throw new EwsError('ErrorInvalidOperation', `RemoveItem removes a cancelled meeting, not a ${target.kind}.`);
  const calendar =
    mailbox.items.get(textOf(target.props._associatedId) ?? '') ?? findCopy(mailbox, textOf(target.props.UID) ?? '');
  if (calendar && organizedBy(calendar, mailbox)) throw new EwsError('ErrorCalendarIsOrganizerForRemove');
  // The meeting was sent again after this cancellation: the cancellation is out of date.
  if (calendar && !bool(calendar.props._cancelled)) throw new EwsError('ErrorCalendarMeetingRequestIsOutOfDate');
  if (calendar) toDeletedItems(mailbox, calendar);
  toDeletedItems(mailbox, target);
  return '<m:Items/>';
}

const prefixes: Record<string, string> = { ReplyToItem: 'RE', ReplyAllToItem: 'RE', ForwardItem: 'FW' };

/** The original's body below the new text, in the new text's body type. */
function quotedBody(newText: XmlNode | undefined, original: PropValue | undefined): XmlNode | undefined {
  const old = typeof original === 'object' ? original : undefined;
  if (!newText && !old) return undefined;
  const type = newText?.a?.BodyType === 'Text' ? 'Text' : 'HTML';
  const oldType = old?.a?.BodyType === 'Text' ? 'Text' : 'HTML';
  const quoted = old ? convertBody(old.t ?? '', oldType, type) : '';
  const top = newText?.t ?? '';
  const joined = type === 'HTML' ? `${top}<hr>${quoted}` : `${top}\r\n\r\n${quoted}`;
  return { n: 'Body', a: { BodyType: type }, t: old ? joined : top };
}

/** ReplyToItem, ReplyAllToItem, ForwardItem: a new message about the referenced one, sent or saved. */
function replyOrForward(ctx: OperationContext, node: XmlNode, options: ResponseOptions): string {
  if (options.disposition === undefined) throw new EwsError('ErrorMessageDispositionRequired');
  const mailbox = ctx.mailbox;
  const original = referenced(ctx, node);
  const me = mailbox.address;
  const given = (name: string) => {
    const list = child(node, name);
    return list ? addressesOf(normalizeXmlProp(list, ctx)).map((a) => a.address) : [];
  };
  let to = given('ToRecipients');
  let cc = given('CcRecipients');
  const bcc = given('BccRecipients');
  if (node.n !== 'ForwardItem') {
    // A message is answered to its sender, an attendee's meeting to its organizer.
    const from = addressesOf(original.props.From ?? original.props.Sender).map((a) => a.address);
    const organizer = textOf(original.props._organizer);
    const replyTo = from.length > 0 ? from : organizer ? [organizer] : [];
    const others = (list: PropValue | undefined) =>
      addressesOf(list)
        .map((a) => a.address)
        .filter((a) => a.toLowerCase() !== me && !replyTo.includes(a));
    if (to.length === 0) {
      to = [...replyTo];
      if (node.n === 'ReplyAllToItem')
        to.push(...others(original.props.ToRecipients ?? original.props.RequiredAttendees));
    }
    if (cc.length === 0 && node.n === 'ReplyAllToItem')
      cc = others(original.props.CcRecipients ?? original.props.OptionalAttendees);
  } else if (to.length + cc.length + bcc.length === 0) {
    throw new EwsError('ErrorInvalidRecipients', 'A forward needs at least one recipient.');
  }
  const subject = textOf(child(node, 'Subject')) ?? `${prefixes[node.n]}: ${textOf(original.props.Subject) ?? ''}`;
  const props: Record<string, PropValue> = {
    Subject: subject,
    ...sender(mailbox),
    ...(to.length > 0 ? { ToRecipients: recipients(ctx, 'ToRecipients', to) } : {}),
    ...(cc.length > 0 ? { CcRecipients: recipients(ctx, 'CcRecipients', cc) } : {}),
    ...(bcc.length > 0 ? { BccRecipients: recipients(ctx, 'BccRecipients', bcc) } : {}),
    _imid: `${original.id.slice(-12)}${ctx.core.now().toString(36)}`,
  };
  const body = bodyOf(node) ?? quotedBody(bodyOf(node, 'NewBodyContent'), original.props.Body);
  if (body) props.Body = body;
  // A forward carries the original's attachments; a reply does not.
  const attachments = node.n === 'ForwardItem' ? original.attachments : undefined;
  if (options.disposition !== 'SaveOnly') deliver(ctx.core, mailbox, props, attachments, undefined);
  const kept = keep(ctx, options, 'Message', props, attachments);
  return `<m:Items>${kept && options.disposition === 'SaveOnly' ? renderItemId(viewOf(kept)) : ''}</m:Items>`;
}

/** One response object of a CreateItem: its effects, and the Items of its response message. */
export function createResponseObject(ctx: OperationContext, node: XmlNode, options: ResponseOptions): string {
  switch (node.n) {
    case 'AcceptItem':
    case 'TentativelyAcceptItem':
    case 'DeclineItem':
      // Exchange 2013 and later answer a meeting response without MessageDisposition as SendAndSaveCopy
      // (Microsoft's own ProposedStart example sends none).
      return answerMeeting(ctx, node, { ...options, disposition: options.disposition ?? 'SendAndSaveCopy' });
    case 'CancelCalendarItem':
      return cancelMeeting(ctx, node, { ...options, disposition: options.disposition ?? 'SendAndSaveCopy' });
    case 'RemoveItem':
      return removeMeeting(ctx, node);
    default:
      return replyOrForward(ctx, node, options);
  }
}
