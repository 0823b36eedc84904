import type { ItemTypeName } from '../ports/database.port.js';
import type { FolderName } from '../ports/exchange.port.js';

/** Where each item type lives in a mailbox: e-mail in two folders (incoming and outgoing, seed §Features). */
export const foldersOf: Record<ItemTypeName, readonly FolderName[]> = {
  calendar: ['calendar'],
  contact: ['contacts'],
  email: ['inbox', 'sentitems'],
  task: ['tasks'],
};

export function itemTypeOfFolder(folder: FolderName): ItemTypeName {
  const entry = Object.entries(foldersOf).find(([, folders]) => folders.includes(folder));
  if (!entry) throw new Error(`no item type reads folder ${folder}`);
  return entry[0] as ItemTypeName;
}

/** Item kinds (EWS item classes) an item type synchronises; anything else in its folders is skipped. */
const kindsOf: Record<ItemTypeName, readonly string[]> = {
  calendar: ['CalendarItem'],
  contact: ['Contact'],
  email: ['Message'],
  task: ['Task'],
};

/** Meeting requests, responses and cancellations are e-mail too, but only with sync.meetingRequestsResponses. */
const meetingMessageKinds = ['MeetingRequest', 'MeetingResponse', 'MeetingCancellation', 'MeetingMessage'];

export function synchronisesKind(itemType: ItemTypeName, kind: string, meetingRequestsResponses: boolean): boolean {
  if (kindsOf[itemType].includes(kind)) return true;
  return itemType === 'email' && meetingRequestsResponses && meetingMessageKinds.includes(kind);
}
