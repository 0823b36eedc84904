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

function findCopy(mailbox: Mailbox, uid: string): StoredItem | undefined {
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
    const request = box.addItem(box.folder('inbox').id, {
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
    box.newMail(request);
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

function cancelCopy(core: Core, organizerBox: Mailbox, meeting: StoredItem, address: string): void {
  const box = core.store.get(address);
  const uid = textOf(meeting.props.UID) ?? '';
  const copy = box ? findCopy(box, uid) : undefined;
  if (!box || !copy) return;
  const subject = textOf(meeting.props.Subject) ?? '';
  copy.props = { ...copy.props, _cancelled: 'true', Subject: `Canceled: ${subject}` };
  box.touch(copy);
  const cancellation = box.addItem(box.folder('inbox').id, {
    kind: 'MeetingCancellation',
    props: meetingMessage(core, organizerBox, { UID: uid }, [address], {
      Subject: `Canceled: ${subject}`,
      IsRead: 'false',
      _received: new Date(core.now()).toISOString(),
      _associatedId: copy.id,
    }),
  });
  box.newMail(cancellation);
}

/** The organizer deleted the meeting with cancellations: every attendee's copy is cancelled. */
export function sendCancellations(core: Core, organizerBox: Mailbox, meeting: StoredItem): void {
  for (const address of attendeesOf(meeting)) {
    if (address !== organizerBox.address) cancelCopy(core, organizerBox, meeting, address);
  }
}

/** Is this mailbox the organizer of the item (or is the item not a meeting at all)? */
export function organizedBy(item: StoredItem, mailbox: Mailbox): boolean {
  const organizer = textOf(item.props._organizer);
  return organizer === undefined || organizer === mailbox.address;
}
