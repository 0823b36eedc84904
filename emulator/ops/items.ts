import { randomBytes } from 'node:crypto';
import type { OperationContext } from '../context.js';
import { exceptionOf, type IdRef, type ItemView, resolveItemId, viewOf } from '../items/calendar.js';
import type { ItemKind } from '../items/fields.js';
import { deliver } from '../items/mail.js';
import { attendeesOf, organizedBy, sendCancellations, sendInvitations } from '../items/meetings.js';
import { readItem } from '../items/read.js';
import { parseShape, renderItem, renderItemId } from '../items/render.js';
import { createResponseObject, responseObjectNames, sendSavedResponse } from '../items/responses.js';
import { applyUpdates, transact, updatedKeys, versionOfChangeKey } from '../items/update.js';
import { isoSeconds, textOf, timeOf } from '../items/values.js';
import { EwsError, type ResponseCode } from '../soap/response-codes.js';
import type { Mailbox } from '../store/mailbox.js';
import type { StoredFolder, StoredItem } from '../store/model.js';
import { child, children, type XmlNode } from '../xml/node.js';
import { resolveFolder, responseMessages } from './common.js';

/** CreateItem, GetItem, UpdateItem and DeleteItem. */

const creatable: Record<string, { kind: ItemKind; folder: 'calendar' | 'contacts' | 'tasks' | 'drafts' }> = {
  CalendarItem: { kind: 'CalendarItem', folder: 'calendar' },
  Message: { kind: 'Message', folder: 'drafts' },
  Contact: { kind: 'Contact', folder: 'contacts' },
  Task: { kind: 'Task', folder: 'tasks' },
};

/**
 * The folders Exchange lets CreateItem put each kind in: a contact, appointment or task only in a folder of its own
 * kind (Microsoft's CreateItem (contact) example: a contact in searchfolders is refused); messages anywhere.
 */
const folderFor: Partial<Record<ItemKind, { element: StoredFolder['element']; error: ResponseCode }>> = {
  Contact: { element: 'ContactsFolder', error: 'ErrorCannotCreateContactInNonContactFolder' },
  CalendarItem: { element: 'CalendarFolder', error: 'ErrorCannotCreateCalendarItemInNonCalendarFolder' },
  Task: { element: 'TasksFolder', error: 'ErrorCannotCreateTaskInNonTaskFolder' },
};

/** ItemInfoResponseMessageType requires Items even in an error message; Exchange sends it empty. */
const emptyItems = () => '<m:Items/>';

/** A UID in the form Exchange gives them (Global Object Id, hex). */
function newUid(): string {
  return `040000008200E00074C5B7101A82E00800000000${randomBytes(24).toString('hex').toUpperCase()}`;
}

function savedFolder(request: XmlNode, ctx: OperationContext): StoredFolder | undefined {
  const target = children(child(request, 'SavedItemFolderId'))[0];
  return target ? resolveFolder(ctx, target) : undefined;
}

function checkTimes(props: Record<string, unknown>): void {
  const start = timeOf(props.Start as string | undefined);
  const end = timeOf(props.End as string | undefined);
  if (start !== undefined && end !== undefined && end < start)
    throw new EwsError('ErrorCalendarEndDateIsEarlierThanStartDate');
}

export interface CreateOptions {
  messageDisposition: string | undefined;
  sendInvitations: string | undefined;
  folder: StoredFolder | undefined;
  /** The admin API may choose the id (tests of case-sensitive ids); EWS clients never can. */
  id?: string;
}

/** Creates one item as the mailbox's owner would; returns the stored item, or undefined for a sent message. */
export function createItem(ctx: OperationContext, node: XmlNode, options: CreateOptions): StoredItem | undefined {
  const spec = creatable[node.n];
  if (!spec) throw new EwsError('ErrorInvalidRequest', `The emulator cannot create a ${node.n}.`);
  const read = readItem(node, spec.kind, ctx);
  const props = read.props;
  const mailbox = ctx.mailbox;
  if (spec.kind === 'CalendarItem') {
    props.UID ??= newUid();
    props._tz ??= ctx.timeZone ?? 'UTC';
    const now = ctx.core.now();
    props.Start ??= isoSeconds(Math.ceil(now / 1_800_000) * 1_800_000);
    props.End ??= isoSeconds((timeOf(props.Start) ?? now) + 1_800_000);
    checkTimes(props);
  }
  if (spec.kind === 'Message') {
    props._imid = randomBytes(12).toString('hex');
    const disposition = options.messageDisposition ?? 'SaveOnly';
    if (disposition === 'SendOnly' || disposition === 'SendAndSaveCopy') {
      deliver(ctx.core, mailbox, props, read.attachments, read.ext);
      if (disposition === 'SendOnly') return undefined;
      const folder = options.folder ?? mailbox.folder('sentitems');
      props.IsRead = 'true';
      props._sent = new Date(ctx.core.now()).toISOString();
      mailbox.addItem(folder.id, { kind: 'Message', props, ext: read.ext, attachments: read.attachments });
      return undefined;
    }
    props.IsRead ??= 'true';
    props._draft = 'true';
  }
  const folder = options.folder ?? mailbox.folder(spec.folder);
  if (options.id !== undefined && mailbox.items.has(options.id))
    throw new EwsError('ErrorInvalidRequest', 'An item with this id exists.');
  const item = mailbox.addItem(folder.id, {
    kind: spec.kind,
    props,
    ext: read.ext,
    attachments: read.attachments,
    ...(options.id !== undefined ? { id: options.id } : {}),
  });
  const send = options.sendInvitations;
  if (spec.kind === 'CalendarItem' && (send === 'SendOnlyToAll' || send === 'SendToAllAndSaveCopy')) {
    if (attendeesOf(item).length > 0)
      sendInvitations(ctx.core, mailbox, item, { saveCopy: send === 'SendToAllAndSaveCopy', kind: 'new' });
  }
  return item;
}

export function createItems(request: XmlNode, ctx: OperationContext): string {
  const items = children(child(request, 'Items'));
  let folder: StoredFolder | undefined;
  let folderError: EwsError | undefined;
  try {
    folder = savedFolder(request, ctx);
  } catch (error) {
    if (!(error instanceof EwsError)) throw error;
    folderError = error;
  }
  const options: CreateOptions = {
    messageDisposition: request.a?.MessageDisposition,
    sendInvitations: request.a?.SendMeetingInvitations,
    folder,
  };
  return responseMessages(
    'CreateItem',
    items,
    (node) => {
      if (folderError) throw folderError;
      if (responseObjectNames.has(node.n))
        return createResponseObject(ctx, node, { disposition: options.messageDisposition, folder });
      // Optional in the schema, required by Exchange for the items they concern.
      if (node.n === 'CalendarItem' && options.sendInvitations === undefined)
        throw new EwsError('ErrorSendMeetingInvitationsRequired');
      if (node.n === 'Message' && options.messageDisposition === undefined)
        throw new EwsError('ErrorMessageDispositionRequired');
      const needed = folder && folderFor[creatable[node.n]?.kind ?? 'Message'];
      if (folder && needed && folder.element !== needed.element) throw new EwsError(needed.error);
      const item = createItem(ctx, node, options);
      return `<m:Items>${item ? renderItemId(viewOf(item)) : ''}</m:Items>`;
    },
    emptyItems,
  );
}

export function getItems(request: XmlNode, ctx: OperationContext): string {
  const shape = parseShape(child(request, 'ItemShape'), false);
  const ids = children(child(request, 'ItemIds'));
  return responseMessages(
    'GetItem',
    ids,
    (id) => {
      const { view } = resolveItemId(ctx.mailbox, id);
      return `<m:Items>${renderItem(view, shape, ctx)}</m:Items>`;
    },
    emptyItems,
  );
}

function checkConflict(ref: IdRef, updates: XmlNode, mode: string): void {
  const { view, changeKey } = ref;
  if (!changeKey || changeKey === view.changeKey || mode === 'AlwaysOverwrite') return;
  if (mode === 'NeverOverwrite' || view.occurrence) throw new EwsError('ErrorIrresolvableConflict');
  const clientVersion = versionOfChangeKey(view.item, changeKey);
  if (clientVersion === 0) throw new EwsError('ErrorIrresolvableConflict');
  const versions = view.item.fieldVersions ?? {};
  for (const key of updatedKeys(view, updates)) {
    if ((versions[key] ?? 0) > clientVersion) throw new EwsError('ErrorIrresolvableConflict');
  }
}

/** Records a change made through UpdateItem (or the admin API) and lets the meeting's attendees know. */
export function commitChange(
  ctx: OperationContext,
  view: ItemView,
  touched: string[],
  sendMode: string | undefined,
): ItemView {
  const item = view.item;
  const mailbox: Mailbox = ctx.mailbox;
  // No change, no new ChangeKey and no ModifiedEvent (an empty Updates is refused by the schema check before this).
  if (touched.length === 0) return view;
  item.props._modifiedBy = mailbox.displayName;
  if (view.occurrence) {
    const exception = item.exceptions?.[isoSeconds(view.occurrence.originalStart)];
    if (exception) {
      exception.version++;
      exception.modified = ctx.core.now();
    }
  }
  const readOnly = touched.length > 0 && touched.every((name) => name === 'IsRead');
  mailbox.touch(item, readOnly);
  const sends =
    sendMode === 'SendToAllAndSaveCopy' ||
    sendMode === 'SendOnlyToAll' ||
    sendMode === 'SendOnlyToChanged' ||
    sendMode === 'SendToChangedAndSaveCopy';
  if (item.kind === 'CalendarItem' && sends && organizedBy(item, mailbox) && attendeesOf(item).length > 0) {
    sendInvitations(ctx.core, mailbox, item, {
      saveCopy: sendMode.endsWith('SaveCopy'),
      kind: item.props._meetingSent ? 'update' : 'new',
    });
  }
  return view.occurrence ? resolveItemId(mailbox, { n: 'ItemId', a: { Id: view.id } }).view : viewOf(item);
}

export function updateItems(request: XmlNode, ctx: OperationContext): string {
  const mode = request.a?.ConflictResolution ?? 'AutoResolve';
  const sendMode = request.a?.SendMeetingInvitationsOrCancellations;
  const disposition = request.a?.MessageDisposition;
  const changes = children(child(request, 'ItemChanges'), 'ItemChange');
  return responseMessages(
    'UpdateItem',
    changes,
    (change) => {
      const idNode = (change.c ?? [])[0];
      const updates = child(change, 'Updates');
      if (!idNode || !updates) throw new EwsError('ErrorInvalidRequest', 'ItemChange needs an item id and Updates.');
      const ref = resolveItemId(ctx.mailbox, idNode);
      if (ref.view.kind === 'CalendarItem' && sendMode === undefined)
        throw new EwsError('ErrorSendMeetingInvitationsOrCancellationsRequired');
      if (ref.view.kind === 'Message' && disposition === undefined)
        throw new EwsError('ErrorMessageDispositionRequired');
      checkConflict(ref, updates, mode);
      const touched = transact(ref.view.item, () => {
        const names = applyUpdates(ref.view, updates, ctx);
        if (ref.view.kind === 'CalendarItem') {
          const exception = ref.view.occurrence
            ? exceptionOf(ref.view.item, ref.view.occurrence.originalStart)
            : undefined;
          checkTimes(exception ? { ...ref.view.props, ...exception.props } : ref.view.item.props);
        }
        return names;
      });
      let view = commitChange(ctx, ref.view, touched, sendMode);
      if (view.kind === 'Message' && (disposition === 'SendOnly' || disposition === 'SendAndSaveCopy')) {
        deliver(ctx.core, ctx.mailbox, view.item.props, view.item.attachments, view.item.ext);
        delete view.item.props._draft;
        if (disposition === 'SendOnly') {
          ctx.mailbox.removeItem(view.item);
          return '<m:Items/><m:ConflictResults><t:Count>0</t:Count></m:ConflictResults>';
        }
        view = viewOf(ctx.mailbox.moveItem(view.item, ctx.mailbox.folder('sentitems').id));
      }
      return `<m:Items>${renderItemId(view)}</m:Items><m:ConflictResults><t:Count>0</t:Count></m:ConflictResults>`;
    },
    emptyItems,
  );
}

/** Deletes an item or one occurrence as its owner would; shared with the admin API. */
export function deleteItem(
  ctx: OperationContext,
  view: ItemView,
  deleteType: string,
  sendMode: string | undefined,
): void {
  const mailbox = ctx.mailbox;
  const item = view.item;
  const sends = sendMode === 'SendOnlyToAll' || sendMode === 'SendToAllAndSaveCopy';
  if (view.occurrence) {
    const key = isoSeconds(view.occurrence.originalStart);
    item.deletedOccurrences = [...new Set([...(item.deletedOccurrences ?? []), key])];
    if (item.exceptions) delete item.exceptions[key];
    mailbox.touch(item);
    if (sends && organizedBy(item, mailbox) && attendeesOf(item).length > 0) {
      sendInvitations(ctx.core, mailbox, item, { saveCopy: sendMode === 'SendToAllAndSaveCopy', kind: 'update' });
    }
    return;
  }
  if (
    item.kind === 'CalendarItem' &&
    sends &&
    organizedBy(item, mailbox) &&
    textOf(item.props._meetingSent) === 'true'
  ) {
    sendCancellations(ctx.core, mailbox, item);
  }
  const deleted = mailbox.folder('deleteditems');
  if (deleteType === 'MoveToDeletedItems' && item.folderId !== deleted.id) mailbox.moveItem(item, deleted.id);
  else mailbox.removeItem(item);
}

export function deleteItems(request: XmlNode, ctx: OperationContext): string {
  const deleteType = request.a?.DeleteType ?? 'MoveToDeletedItems';
  if (!['HardDelete', 'SoftDelete', 'MoveToDeletedItems'].includes(deleteType)) {
    throw new EwsError('ErrorInvalidRequest', `DeleteType ${deleteType} is not valid.`);
  }
  const sendMode = request.a?.SendMeetingCancellations;
  const ids = children(child(request, 'ItemIds'));
  return responseMessages('DeleteItem', ids, (id) => {
    const { view } = resolveItemId(ctx.mailbox, id);
    if (view.kind === 'CalendarItem' && sendMode === undefined)
      throw new EwsError('ErrorSendMeetingCancellationsRequired');
    deleteItem(ctx, view, deleteType, sendMode);
    return '';
  });
}

/** SendItem: sends drafts (what EmailMessage.Send/SendAndSaveCopy do for a saved message). */
export function sendItems(request: XmlNode, ctx: OperationContext): string {
  const save = !['false', '0'].includes((request.a?.SaveItemToFolder ?? '').trim());
  const target = savedFolder(request, ctx);
  const ids = children(child(request, 'ItemIds'));
  return responseMessages('SendItem', ids, (id) => {
    const { view } = resolveItemId(ctx.mailbox, id);
    if (view.kind === 'MeetingResponse' && view.props._draft === 'true') {
      sendSavedResponse(ctx, view.item, save ? (target ?? ctx.mailbox.folder('sentitems')) : undefined);
      return '';
    }
    if (view.kind !== 'Message') throw new EwsError('ErrorInvalidRequest', 'Only e-mail messages can be sent.');
    const item = view.item;
    deliver(ctx.core, ctx.mailbox, item.props, item.attachments, item.ext);
    delete item.props._draft;
    item.props._sent = new Date(ctx.core.now()).toISOString();
    if (save) ctx.mailbox.moveItem(item, (target ?? ctx.mailbox.folder('sentitems')).id);
    else ctx.mailbox.removeItem(item);
    return '';
  });
}
