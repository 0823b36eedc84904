import type { ItemKind } from '../items/fields.js';
import type { XmlNode } from '../xml/node.js';

/**
 * How the emulator keeps a mailbox. Everything here is JSON-safe: `--data` writes it out as it is.
 * Property values are the text or the XML element a client sent, under the EWS element name (`Subject`, `Start`,
 * `Body`, `RequiredAttendees`); names starting with `_` are the emulator's own bookkeeping.
 */
export type PropValue = string | XmlNode;

export interface ExtendedProp {
  /** Canonical key of the ExtendedFieldURI (case rules as Exchange: GUIDs and tags case-insensitive, names not). */
  key: string;
  /** The ExtendedFieldURI attributes as the client sent them. */
  uri: Record<string, string>;
  value?: string;
  values?: string[];
}

export interface StoredAttachment {
  id: string;
  name: string;
  contentType?: string;
  contentId?: string;
  isInline: boolean;
  isContactPhoto?: boolean;
  /** Base64, as EWS carries it. */
  content: string;
  size: number;
  lastModified: number;
}

/** A changed occurrence of a recurring series (an exception), keyed by its original start. */
export interface OccurrenceException {
  props: Record<string, PropValue>;
  version: number;
  modified: number;
}

export interface StoredItem {
  id: string;
  /** Graph's immutable id: kept across moves between folders (a regular id changes). Absent in older data files. */
  immutableId?: string;
  kind: ItemKind;
  folderId: string;
  /** Bumped on every change; the ChangeKey is derived from it. */
  version: number;
  created: number;
  modified: number;
  /** Mailbox sequence numbers, for SyncFolderItems: when it entered its folder, last changed, last content change. */
  createdSeq: number;
  changeSeq: number;
  contentSeq: number;
  props: Record<string, PropValue>;
  /** The item version at which each property was last set (AutoResolve conflict detection). */
  fieldVersions?: Record<string, number>;
  ext?: ExtendedProp[];
  attachments?: StoredAttachment[];
  /** Recurring masters: modified occurrences by original start (ISO, UTC) and deleted ones. */
  exceptions?: Record<string, OccurrenceException>;
  deletedOccurrences?: string[];
}

export interface Tombstone {
  id: string;
  /** The item's immutable id, for Graph's `@removed` entries under `Prefer: IdType="ImmutableId"`. */
  immutableId?: string;
  createdSeq: number;
  seq: number;
}

export type FolderElement = 'Folder' | 'CalendarFolder' | 'ContactsFolder' | 'TasksFolder' | 'SearchFolder';

export interface StoredFolder {
  id: string;
  distinguished?: string;
  parentId?: string;
  displayName: string;
  folderClass?: string;
  element: FolderElement;
  version: number;
}

export type EventType =
  | 'CreatedEvent'
  | 'ModifiedEvent'
  | 'DeletedEvent'
  | 'MovedEvent'
  | 'CopiedEvent'
  | 'NewMailEvent'
  | 'FreeBusyChangedEvent';

export const eventTypes: readonly EventType[] = [
  'CopiedEvent',
  'CreatedEvent',
  'DeletedEvent',
  'ModifiedEvent',
  'MovedEvent',
  'NewMailEvent',
  'FreeBusyChangedEvent',
];

/** One entry of a mailbox's event log, the source of every notification. */
export interface MailboxEvent {
  seq: number;
  type: EventType;
  time: number;
  /** Item events carry itemId and changeKey; folder events carry folderId. */
  itemId?: string;
  changeKey?: string;
  folderId?: string;
  folderChangeKey?: string;
  parentFolderId: string;
  oldItemId?: string;
  oldParentFolderId?: string;
  unreadCount?: number;
}
