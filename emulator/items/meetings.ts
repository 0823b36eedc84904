import type { Core } from '../context.js';
import type { Mailbox } from '../store/mailbox.js';
import type { PropValue, StoredItem } from '../store/model.js';
import type { XmlNode } from '../xml/node.js';
import { addressesOf, mailboxNode, textOf } from './values.js';

/**
 * Meeting invitations between mailboxes of this emulator, as Exchange delivers them: each attendee with a mailbox
 * here gets a meeting request in the Inbox and a tentative copy of the appointment in the Calendar, with the
 * organizer's UID. The organizer's custom extended properties stay with the organizer unless the emulator is told
 * otherwise, because a real Exchange does not carry them either.
 */

const attendeeLists = ['RequiredAttendees', 'OptionalAttendees', 'Resources'];
/** The organizer's own bookkeeping that does not travel. */
const private_ = new Set(['_meetingSent', '_myResponse', '_organizer', '_invited', '_modifiedBy', '_draft']);

export function attendeesOf(item: StoredItem): string[] {
  const seen = new Set<string>();
  for (const list of attendeeLists) {
    for (const { address } of addressesOf(item.props[list])) seen.add(address.toLowerCase());
  }
  return [...seen];
}

function sharedProps(organizer: StoredItem, from: Mailbox): Record<string, PropValue> {
  const props: Record<string, PropValue> = {};
  for (const [name, value] of Object.entries(organizer.props)) if (!private_.has(name)) props[name] = value;
  props._organizer = from.address;
  return props;
}

/** The meeting with this UID in the mailbox's Calendar (an attendee's copy, or the organizer's own). */
export function findCopy(mailbox: Mailbox, uid: string): StoredItem | undefined {
  for (const item of mailbox.itemsIn(mailbox.folder('calendar').id).values()) {
    if (item.kind === 'CalendarItem' && item.props.UID === uid) return item;
  }
  return undefined;
}

function recipients(addresses: string[], core: Core): XmlNode {
  return {
    n: 'ToRecipients',
    c: addresses.map((a) => {
      const known = core.store.get(a);
      return mailboxNode(a, known?.displayName ?? a, known !== undefined);
    }),
  };
}

function meetingMessage(
  core: Core,
  from: Mailbox,
  shared: Record<string, PropValue>,
  attendees: string[],
  extra: Record<string, PropValue>,
): Record<string, PropValue> {
  const sender: XmlNode = { n: 'From', c: [mailboxNode(from.address, from.displayName, true)] };
  return {
    ...shared,
    From: sender,
    Sender: { ...sender, n: 'Sender' },
    ToRecipients: recipients(attendees, core),
    ...extra,
  };
}

export interface InvitationOptions {
  /** A copy of the request in the organizer's Sent Items (SendToAllAndSaveCopy). */
  saveCopy: boolean;
  kind: 'new' | 'update';
}

/** Sends (or re-sends after an update) the organizer's meeting to every attendee that has a mailbox here. */
export function sendInvitations(
  core: Core,
  organizerBox: Mailbox,
  meeting: StoredItem,
  options: InvitationOptions,
): void {
  const uid = textOf(meeting.props.UID) ?? '';
  const attendees = attendeesOf(meeting).filter((a) => a !== organizerBox.address);
  const previously = (textOf(meeting.props._invited) ?? '').split(',').filter(Boolean);
  const shared = sharedProps(meeting, organizerBox);
  const sequence = Number(textOf(meeting.props._sequence) ?? 0) + (options.kind === 'update' ? 1 : 0);
  shared._sequence = String(sequence);
  const now = core.now();
  for (const address of attendees) {
    const box = core.store.get(address);
    if (!box) continue;
    const copyProps: Record<string, PropValue> = { ...shared, LegacyFreeBusyStatus: 'Tentative' };
    const ext = core.settings.copyExtendedPropertiesToAttendees ? meeting.ext : undefined;
    let copy = findCopy(box, uid);
    if (copy) {
      copyProps._myResponse = copy.props._myResponse ?? 'NoResponseReceived';
      copy.props = copyProps;
      copy.exceptions = structuredClone(meeting.exceptions);
      copy.deletedOccurrences = meeting.deletedOccurrences ? [...meeting.deletedOccurrences] : undefined;
      if (ext) copy.ext = structuredClone(ext);
      box.touch(copy);
    } else {
      copyProps._myResponse = 'NoResponseReceived';
      copy = box.addItem(box.folder('calendar').id, {
        kind: 'CalendarItem',
        props: copyProps,
        ...(ext ? { ext: structuredClone(ext) } : {}),
      });
      if (meeting.exceptions || meeting.deletedOccurrences) {
        copy.exceptions = structuredClone(meeting.exceptions);
        copy.deletedOccurrences = meeting.deletedOccurrences ? [...meeting.deletedOccurrences] : undefined;
        box.touch(copy);
      }
    }
    box.deliverItem(box.folder('inbox').id, {
      kind: 'MeetingRequest',
      props: meetingMessage(core, organizerBox, shared, attendees, {
        IsRead: 'false',
        _received: new Date(now).toISOString(),
        _associatedId: copy.id,
        _myResponse: 'NoResponseReceived',
        MeetingRequestType: options.kind === 'new' ? 'NewMeetingRequest' : 'FullUpdate',
        IntendedFreeBusyStatus: textOf(meeting.props.LegacyFreeBusyStatus) ?? 'Busy',
      }),
    });
  }
  for (const address of previously) {
    if (!attendees.includes(address)) cancelCopy(core, organizerBox, meeting, address);
  }
  meeting.props._meetingSent = 'true';
  meeting.props._invited = attendees.join(',');
  meeting.props._sequence = String(sequence);
  if (options.saveCopy && attendees.length > 0) {
    organizerBox.addItem(organizerBox.folder('sentitems').id, {
      kind: 'MeetingRequest',
      props: meetingMessage(core, organizerBox, shared, attendees, {
        IsRead: 'true',
        _sent: new Date(now).toISOString(),
      }),
    });
  }
}

/** The MeetingCancellation an organizer sends (or keeps in Sent Items, or as a draft), without its mailbox parts. */
export function cancellationProps(
  core: Core,
  organizerBox: Mailbox,
  meeting: StoredItem,
  attendees: string[],
  body?: XmlNode,
): Record<string, PropValue> {
  const subject = textOf(meeting.props.Subject) ?? '';
  const shared: Record<string, PropValue> = { UID: textOf(meeting.props.UID) ?? '' };
  for (const name of ['Start', 'End', 'Location']) {
    const value = meeting.props[name];
    if (value !== undefined) shared[name] = value;
  }
  return meetingMessage(core, organizerBox, shared, attendees, {
    Subject: `Canceled: ${subject}`,
    Importance: 'High',
    ...(body ? { Body: body } : {}),
  });
}

function cancelCopy(core: Core, organizerBox: Mailbox, meeting: StoredItem, address: string, body?: XmlNode): void {
  const box = core.store.get(address);
  const uid = textOf(meeting.props.UID) ?? '';
  const copy = box ? findCopy(box, uid) : undefined;
  if (!box || !copy) return;
  const subject = textOf(meeting.props.Subject) ?? '';
  copy.props = { ...copy.props, _cancelled: 'true', Subject: `Canceled: ${subject}` };
  box.touch(copy);
  box.deliverItem(box.folder('inbox').id, {
    kind: 'MeetingCancellation',
    props: {
      ...cancellationProps(core, organizerBox, meeting, [address], body),
      IsRead: 'false',
      _received: new Date(core.now()).toISOString(),
      _associatedId: copy.id,
    },
  });
}

/** The organizer deleted or cancelled the meeting with cancellations: every attendee's copy is cancelled. */
export function sendCancellations(core: Core, organizerBox: Mailbox, meeting: StoredItem, body?: XmlNode): void {
  for (const address of attendeesOf(meeting)) {
    if (address !== organizerBox.address) cancelCopy(core, organizerBox, meeting, address, body);
  }
}

export type MeetingResponse = 'Accept' | 'Tentative' | 'Decline';

export interface ResponseDetails {
  response: MeetingResponse;
  /** When the attendee answered (the Attendee's LastResponseTime). */
  time: string;
  proposedStart?: string | undefined;
  proposedEnd?: string | undefined;
}

/**
 * The organizer's side of an attendee's answer: the attendee's entry in the organizer's meeting gets its
 * ResponseType and LastResponseTime (and a proposed time), as Exchange records them when the response arrives.
 * Returns the organizer's meeting, or undefined when the organizer has no mailbox here or no longer has it.
 */
export function recordResponse(
  core: Core,
  attendee: string,
  organizer: string,
  uid: string,
  details: ResponseDetails,
): StoredItem | undefined {
  const box = core.store.get(organizer);
  const meeting = box ? findCopy(box, uid) : undefined;
  if (!box || !meeting || !organizedBy(meeting, box)) return undefined;
  let changed = false;
  for (const list of attendeeLists) {
    const value = meeting.props[list];
    if (typeof value !== 'object') continue;
    const c = (value.c ?? []).map((entry) => {
      const mailbox = entry.c?.find((part) => part.n === 'Mailbox');
      const address = mailbox?.c?.find((part) => part.n === 'EmailAddress')?.t;
      if (!mailbox || address?.toLowerCase() !== attendee) return entry;
      changed = true;
      const parts: XmlNode[] = [
        mailbox,
        { n: 'ResponseType', t: details.response },
        { n: 'LastResponseTime', t: details.time },
      ];
      if (details.proposedStart) parts.push({ n: 'ProposedStart', t: details.proposedStart });
      if (details.proposedEnd) parts.push({ n: 'ProposedEnd', t: details.proposedEnd });
      return { ...entry, c: parts };
    });
    meeting.props[list] = { ...value, c };
  }
  if (changed) box.touch(meeting);
  return meeting;
}

/** Is this mailbox the organizer of the item (or is the item not a meeting at all)? */
export function organizedBy(item: StoredItem, mailbox: Mailbox): boolean {
  const organizer = textOf(item.props._organizer);
  return organizer === undefined || organizer === mailbox.address;
}
