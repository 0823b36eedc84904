import type { ItemKind } from '../items/fields.js';
import { changeKeyOf, newFolderId, newImmutableId, newItemId, newToken, type TokenSeal } from './ids.js';
import type {
  EventType,
  ExtendedProp,
  MailboxEvent,
  PropValue,
  StoredAttachment,
  StoredFolder,
  StoredItem,
  Tombstone,
} from './model.js';
import type { OofSettings } from './oof.js';

/**
 * The distinguished folders every mailbox has, with their parent, EWS folder element and FolderClass, where a new
 * Exchange 2016 mailbox has them: the IPM subtree (msgfolderroot) with the folders a user sees, Sync Issues and its
 * three children, the Skype for Business contact folders under Contacts; beside it, under root, Recoverable Items and
 * its children, the search folder root (Finder) with the To-Do and Voice Mail search folders, and the system folders
 * EWS names. Not here, so ErrorFolderNotFound, as on a mailbox without them: publicfoldersroot (no public folders),
 * the archive* folders (no archive mailbox), and the Office 365 folders of the schema's later names (teamspace*,
 * yammer*, onedrive*, orionnotes, tagitems, alltaggeditems, externalcontacts, teamchat, scheduled, mecontact,
 * personmetadata). docs/emulator.md, "Operations".
 */
export const distinguishedFolders = [
  { name: 'root', displayName: 'Top of Information Store', element: 'Folder' },
  { name: 'msgfolderroot', parent: 'root', displayName: 'Top of Information Store', element: 'Folder' },
  { name: 'inbox', parent: 'msgfolderroot', displayName: 'Inbox', element: 'Folder', folderClass: 'IPF.Note' },
  { name: 'drafts', parent: 'msgfolderroot', displayName: 'Drafts', element: 'Folder', folderClass: 'IPF.Note' },
  { name: 'sentitems', parent: 'msgfolderroot', displayName: 'Sent Items', element: 'Folder', folderClass: 'IPF.Note' },
  { name: 'outbox', parent: 'msgfolderroot', displayName: 'Outbox', element: 'Folder', folderClass: 'IPF.Note' },
  {
    name: 'deleteditems',
    parent: 'msgfolderroot',
    displayName: 'Deleted Items',
    element: 'Folder',
    folderClass: 'IPF.Note',
  },
  { name: 'junkemail', parent: 'msgfolderroot', displayName: 'Junk Email', element: 'Folder', folderClass: 'IPF.Note' },
  {
    name: 'calendar',
    parent: 'msgfolderroot',
    displayName: 'Calendar',
    element: 'CalendarFolder',
    folderClass: 'IPF.Appointment',
  },
  {
    name: 'contacts',
    parent: 'msgfolderroot',
    displayName: 'Contacts',
    element: 'ContactsFolder',
    folderClass: 'IPF.Contact',
  },
  { name: 'tasks', parent: 'msgfolderroot', displayName: 'Tasks', element: 'TasksFolder', folderClass: 'IPF.Task' },
  { name: 'notes', parent: 'msgfolderroot', displayName: 'Notes', element: 'Folder', folderClass: 'IPF.StickyNote' },
  { name: 'journal', parent: 'msgfolderroot', displayName: 'Journal', element: 'Folder', folderClass: 'IPF.Journal' },
  {
    name: 'conversationhistory',
    parent: 'msgfolderroot',
    displayName: 'Conversation History',
    element: 'Folder',
    folderClass: 'IPF.Note',
  },
  {
    name: 'syncissues',
    parent: 'msgfolderroot',
    displayName: 'Sync Issues',
    element: 'Folder',
    folderClass: 'IPF.Note',
  },
  { name: 'conflicts', parent: 'syncissues', displayName: 'Conflicts', element: 'Folder', folderClass: 'IPF.Note' },
  {
    name: 'localfailures',
    parent: 'syncissues',
    displayName: 'Local Failures',
    element: 'Folder',
    folderClass: 'IPF.Note',
  },
  {
    name: 'serverfailures',
    parent: 'syncissues',
    displayName: 'Server Failures',
    element: 'Folder',
    folderClass: 'IPF.Note',
  },
  {
    name: 'recipientcache',
    parent: 'contacts',
    displayName: 'Recipient Cache',
    element: 'ContactsFolder',
    folderClass: 'IPF.Contact.RecipientCache',
  },
  {
    name: 'quickcontacts',
    parent: 'contacts',
    displayName: '{06967759-274D-40B2-A3EB-D7F9E73727D7}',
    element: 'ContactsFolder',
    folderClass: 'IPF.Contact.MOC.QuickContacts',
  },
  {
    name: 'imcontactlist',
    parent: 'contacts',
    displayName: '{A9E2BC46-B3A0-4243-B315-60D991004455}',
    element: 'ContactsFolder',
    folderClass: 'IPF.Contact.MOC.ImContactList',
  },
  { name: 'recoverableitemsroot', parent: 'root', displayName: 'Recoverable Items', element: 'Folder' },
  { name: 'recoverableitemsdeletions', parent: 'recoverableitemsroot', displayName: 'Deletions', element: 'Folder' },
  { name: 'recoverableitemsversions', parent: 'recoverableitemsroot', displayName: 'Versions', element: 'Folder' },
  { name: 'recoverableitemspurges', parent: 'recoverableitemsroot', displayName: 'Purges', element: 'Folder' },
  {
    name: 'recoverableitemsdiscoveryholds',
    parent: 'recoverableitemsroot',
    displayName: 'DiscoveryHolds',
    element: 'Folder',
  },
  { name: 'searchfolders', parent: 'root', displayName: 'Finder', element: 'Folder' },
  {
    name: 'todosearch',
    parent: 'searchfolders',
    displayName: 'To-Do Search',
    element: 'SearchFolder',
    folderClass: 'IPF.Task',
  },
  {
    name: 'voicemail',
    parent: 'searchfolders',
    displayName: 'Voice Mail',
    element: 'SearchFolder',
    folderClass: 'IPF.Note.Microsoft.Voicemail',
  },
  { name: 'mycontacts', parent: 'root', displayName: 'MyContacts', element: 'Folder', folderClass: 'IPF.Note' },
  { name: 'favorites', parent: 'root', displayName: 'Favorites', element: 'Folder', folderClass: 'IPF.Note' },
  { name: 'peopleconnect', parent: 'root', displayName: 'PeopleConnect', element: 'Folder' },
  { name: 'directory', parent: 'root', displayName: 'Directory', element: 'Folder' },
  { name: 'adminauditlogs', parent: 'root', displayName: 'AdminAuditLogs', element: 'Folder' },
] as const;

export type DistinguishedFolder = (typeof distinguishedFolders)[number]['name'];

function tombstoneOf(item: StoredItem, seq: number): Tombstone {
  const tombstone: Tombstone = { id: item.id, createdSeq: item.createdSeq, seq };
  if (item.immutableId) tombstone.immutableId = item.immutableId;
  return tombstone;
}

/** Events kept per mailbox for watermarks to resume from; older watermarks get ErrorInvalidWatermark. */
const eventLogLimit = 20_000;

export interface MailboxSnapshot {
  address: string;
  displayName: string;
  epoch: string;
  seq: number;
  folders: StoredFolder[];
  items: StoredItem[];
  tombstones: Record<string, Tombstone[]>;
  /** Out of Office settings, once set (GetUserOofSettings answers the default before). */
  oof?: OofSettings;
}

export interface NewItem {
  kind: ItemKind;
  props: Record<string, PropValue>;
  ext?: ExtendedProp[];
  attachments?: StoredAttachment[];
  id?: string;
  created?: number;
}

/**
 * One mailbox: folders, items, the tombstones SyncFolderItems reports as deletions, and the event log notifications
 * are made from. Every change takes the next sequence number; sync states and watermarks are positions in it.
 */
export class Mailbox {
  /** Changes whenever the mailbox is reset, which invalidates every sync state and watermark handed out before. */
  epoch = newToken(6);
  seq = 0;
  readonly folders = new Map<string, StoredFolder>();
  readonly byDistinguished = new Map<string, StoredFolder>();
  readonly items = new Map<string, StoredItem>();
  readonly folderItems = new Map<string, Map<string, StoredItem>>();
  readonly tombstones = new Map<string, Tombstone[]>();
  /** Per folder, its items in the order of their last change: what SyncFolderItems reads since a sync state. */
  private readonly changeLogs = new Map<string, ChangeLog>();
  events: MailboxEvent[] = [];
  /** Out of Office settings (ops/oof.ts); undefined until SetUserOofSettings. */
  oof: OofSettings | undefined;
  /** Called for every event (the notification hub listens). */
  onEvent: (mailbox: Mailbox, event: MailboxEvent) => void = () => {};

  constructor(
    readonly address: string,
    public displayName: string,
    private readonly now: () => number,
    /** Seals this mailbox's sync states and watermarks (the emulator's secret, shared by all mailboxes). */
    readonly seal: TokenSeal,
  ) {
    this.createFolders();
  }

  /** Creates the distinguished folders the mailbox lacks (all of them when new; a data file may predate some). */
  private createFolders(): void {
    for (const def of distinguishedFolders) {
      if (this.byDistinguished.has(def.name)) continue;
      const parent = 'parent' in def ? this.byDistinguished.get(def.parent) : undefined;
      const folder: StoredFolder = {
        id: newFolderId(),
        distinguished: def.name,
        displayName: def.displayName,
        element: def.element,
        version: 1,
        ...(parent ? { parentId: parent.id } : {}),
        ...('folderClass' in def ? { folderClass: def.folderClass } : {}),
      };
      this.addFolder(folder);
    }
  }

  private addFolder(folder: StoredFolder): void {
    this.folders.set(folder.id, folder);
    if (folder.distinguished) this.byDistinguished.set(folder.distinguished, folder);
    this.folderItems.set(folder.id, new Map());
    this.tombstones.set(folder.id, []);
    this.changeLogs.set(folder.id, new ChangeLog());
  }

  folder(name: DistinguishedFolder): StoredFolder {
    const folder = this.byDistinguished.get(name);
    if (!folder) throw new Error(`Mailbox ${this.address} has no ${name} folder`);
    return folder;
  }

  itemsIn(folderId: string): Map<string, StoredItem> {
    return this.folderItems.get(folderId) ?? new Map();
  }

  /**
   * The items of a folder changed (or put there) after `seq`, in change order. It costs what changed, not the folder:
   * a notification's SyncFolderItems reads one item of a folder of thousands (issue 15, the live path).
   */
  itemsChangedSince(folderId: string, seq: number): StoredItem[] {
    const log = this.changeLogs.get(folderId);
    return log ? log.since(seq, this.itemsIn(folderId)) : [];
  }

  /** The tombstones of a folder after `seq`, in order (they are appended as items leave it). */
  tombstonesSince(folderId: string, seq: number): Tombstone[] {
    const list = this.tombstones.get(folderId) ?? [];
    return list.slice(firstAfter(list.length, (i) => (list[i] as Tombstone).seq, seq));
  }

  private logChange(item: StoredItem): void {
    this.changeLogs.get(item.folderId)?.append(item, this.itemsIn(item.folderId));
  }

  /** Removes everything; sync states and watermarks from before no longer work. */
  reset(): void {
    this.folders.clear();
    this.byDistinguished.clear();
    this.items.clear();
    this.folderItems.clear();
    this.tombstones.clear();
    this.changeLogs.clear();
    this.events = [];
    this.seq = 0;
    this.epoch = newToken(6);
    this.oof = undefined;
    this.createFolders();
  }

  /**
   * Adds an item delivered to this mailbox (mail, a meeting message): CreatedEvent, NewMailEvent, then the folder's
   * ModifiedEvent, in the order of Microsoft's GetStreamingEvents example.
   */
  deliverItem(folderId: string, input: NewItem): StoredItem {
    return this.addItem(folderId, input, false, true);
  }

  /** Adds an item; `quiet` skips the event log (bulk seeding for benchmarks). */
  addItem(folderId: string, input: NewItem, quiet = false, delivered = false): StoredItem {
    const now = input.created ?? this.now();
    const seq = ++this.seq;
    const item: StoredItem = {
      id: input.id ?? newItemId(),
      immutableId: newImmutableId(),
      kind: input.kind,
      folderId,
      version: 1,
      created: now,
      modified: now,
      createdSeq: seq,
      changeSeq: seq,
      contentSeq: seq,
      props: input.props,
      ...(input.ext && input.ext.length > 0 ? { ext: input.ext } : {}),
      ...(input.attachments && input.attachments.length > 0 ? { attachments: input.attachments } : {}),
    };
    this.items.set(item.id, item);
    this.itemsIn(folderId).set(item.id, item);
    this.logChange(item);
    if (!quiet) {
      this.emitItem('CreatedEvent', item, seq);
      if (delivered) this.newMail(item);
      this.emitFolderModified(folderId);
    }
    return item;
  }

  /** Records a change to an item (its properties were already changed by the caller). */
  touch(item: StoredItem, readFlagOnly = false): void {
    const seq = ++this.seq;
    item.version++;
    item.modified = Math.max(this.now(), item.modified + 1);
    item.changeSeq = seq;
    if (!readFlagOnly) item.contentSeq = seq;
    // Re-inserting keeps each folder's map in change order.
    const inFolder = this.itemsIn(item.folderId);
    inFolder.delete(item.id);
    inFolder.set(item.id, item);
    this.logChange(item);
    this.emitItem('ModifiedEvent', item, seq);
  }

  /** Removes an item for good (HardDelete, SoftDelete): a tombstone for sync, a DeletedEvent. */
  removeItem(item: StoredItem): void {
    const seq = ++this.seq;
    this.items.delete(item.id);
    this.itemsIn(item.folderId).delete(item.id);
    this.tombstones.get(item.folderId)?.push(tombstoneOf(item, seq));
    this.emitItem('DeletedEvent', item, seq);
    this.emitFolderModified(item.folderId);
  }

  /** Moves an item to another folder under a new id, as Exchange does (MoveToDeletedItems). */
  moveItem(item: StoredItem, toFolderId: string): StoredItem {
    const seq = ++this.seq;
    const from = item.folderId;
    this.items.delete(item.id);
    this.itemsIn(from).delete(item.id);
    this.tombstones.get(from)?.push(tombstoneOf(item, seq));
    const moved: StoredItem = {
      ...item,
      id: newItemId(),
      folderId: toFolderId,
      version: item.version + 1,
      modified: this.now(),
      createdSeq: seq,
      changeSeq: seq,
      contentSeq: seq,
    };
    this.items.set(moved.id, moved);
    this.itemsIn(toFolderId).set(moved.id, moved);
    this.logChange(moved);
    this.append({
      seq,
      type: 'MovedEvent',
      time: this.now(),
      itemId: moved.id,
      changeKey: changeKeyOf(moved.id, moved.version),
      parentFolderId: toFolderId,
      oldItemId: item.id,
      oldParentFolderId: from,
    });
    this.emitFolderModified(from);
    this.emitFolderModified(toFolderId);
    return moved;
  }

  /** A NewMailEvent for a message delivered to this mailbox. */
  private newMail(item: StoredItem): void {
    this.append({
      seq: ++this.seq,
      type: 'NewMailEvent',
      time: this.now(),
      itemId: item.id,
      changeKey: changeKeyOf(item.id, item.version),
      parentFolderId: item.folderId,
    });
  }

  private emitItem(type: EventType, item: StoredItem, seq: number): void {
    this.append({
      seq,
      type,
      time: this.now(),
      itemId: item.id,
      changeKey: changeKeyOf(item.id, item.version),
      parentFolderId: item.folderId,
    });
  }

  private emitFolderModified(folderId: string): void {
    const folder = this.folders.get(folderId);
    if (!folder?.parentId) return;
    folder.version++;
    this.append({
      seq: ++this.seq,
      type: 'ModifiedEvent',
      time: this.now(),
      folderId,
      folderChangeKey: changeKeyOf(folderId, folder.version),
      parentFolderId: folder.parentId,
      unreadCount: this.unreadCount(folderId),
    });
  }

  private append(event: MailboxEvent): void {
    this.events.push(event);
    if (this.events.length > eventLogLimit) this.events.splice(0, this.events.length - eventLogLimit);
    this.onEvent(this, event);
  }

  /** Events after a sequence number; undefined when the log no longer reaches back that far. */
  eventsAfter(seq: number): MailboxEvent[] | undefined {
    const first = this.events[0];
    if (first && first.seq > seq + 1 && this.events.length >= eventLogLimit) return undefined;
    return this.events.filter((e) => e.seq > seq);
  }

  unreadCount(folderId: string): number {
    let unread = 0;
    for (const item of this.itemsIn(folderId).values()) {
      if ((item.kind === 'Message' || item.kind.startsWith('Meeting')) && item.props.IsRead !== 'true') unread++;
    }
    return unread;
  }

  snapshot(): MailboxSnapshot {
    return {
      address: this.address,
      displayName: this.displayName,
      epoch: this.epoch,
      seq: this.seq,
      folders: [...this.folders.values()],
      items: [...this.items.values()],
      tombstones: Object.fromEntries(this.tombstones),
      ...(this.oof ? { oof: this.oof } : {}),
    };
  }

  static restore(snapshot: MailboxSnapshot, now: () => number, seal: TokenSeal): Mailbox {
    const mailbox = new Mailbox(snapshot.address, snapshot.displayName, now, seal);
    mailbox.folders.clear();
    mailbox.byDistinguished.clear();
    mailbox.folderItems.clear();
    mailbox.tombstones.clear();
    mailbox.changeLogs.clear();
    for (const folder of snapshot.folders) mailbox.addFolder(folder);
    for (const [folderId, list] of Object.entries(snapshot.tombstones)) mailbox.tombstones.set(folderId, list);
    const items = [...snapshot.items].sort((a, b) => a.changeSeq - b.changeSeq);
    for (const item of items) {
      mailbox.items.set(item.id, item);
      mailbox.itemsIn(item.folderId).set(item.id, item);
      mailbox.logChange(item);
    }
    mailbox.epoch = snapshot.epoch;
    mailbox.seq = snapshot.seq;
    mailbox.oof = snapshot.oof;
    mailbox.createFolders();
    return mailbox;
  }
}

/** The first index in 0..length whose key is greater than `seq` (keys ascending), by binary search. */
function firstAfter(length: number, key: (index: number) => number, seq: number): number {
  let low = 0;
  let high = length;
  while (low < high) {
    const middle = (low + high) >>> 1;
    if (key(middle) <= seq) low = middle + 1;
    else high = middle;
  }
  return low;
}

/**
 * A folder's changes in sequence order: each change appends the item with the sequence number it got, so the entries
 * after a sync state's position are found by binary search. An entry whose item changed again, left the folder or was
 * deleted is stale and skipped; the log is rebuilt from the folder once stale entries outnumber
 * live ones, so it stays within twice the folder's size and each change costs O(1) amortised.
 */
class ChangeLog {
  private items: StoredItem[] = [];
  private seqs: number[] = [];

  append(item: StoredItem, folder: Map<string, StoredItem>): void {
    this.items.push(item);
    this.seqs.push(item.changeSeq);
    if (this.items.length > 2 * folder.size + 64) {
      this.items = [...folder.values()].sort((a, b) => a.changeSeq - b.changeSeq);
      this.seqs = this.items.map((i) => i.changeSeq);
    }
  }

  since(seq: number, folder: Map<string, StoredItem>): StoredItem[] {
    const out: StoredItem[] = [];
    for (let i = firstAfter(this.seqs.length, (n) => this.seqs[n] as number, seq); i < this.items.length; i++) {
      const item = this.items[i] as StoredItem;
      if (item.changeSeq === this.seqs[i] && folder.get(item.id) === item) out.push(item);
    }
    return out;
  }
}
