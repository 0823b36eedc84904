import type { Core, OperationContext } from '../context.js';
import { type ItemView, occurrenceByStart, viewOf } from '../items/calendar.js';
import { fieldByElement, type ItemKind } from '../items/fields.js';
import { applyUpdates, transact } from '../items/update.js';
import { isoSeconds, timeOf } from '../items/values.js';
import { commitChange, createItem } from '../ops/items.js';
import type { Mailbox } from '../store/mailbox.js';
import type { StoredFolder, StoredItem } from '../store/model.js';
import type { XmlNode } from '../xml/node.js';
import { badRequest, GraphError, notFound } from './http.js';
import { type ResolvedId, resolveGraphId } from './ids.js';

/**
 * Graph writes carried out by the emulator's own EWS item logic (ops/items.ts, items/update.ts), so that an item
 * written over Graph is the item EWS would have written: same normalisation, meeting invitations, sync sequence and
 * notifications. A Graph property becomes the EWS element the store keeps (convert/*.ts); a PATCH becomes
 * SetItemField / DeleteItemField updates.
 */

export function operationContext(core: Core, mailbox: Mailbox): OperationContext {
  return { core, operation: 'graph', version: 'Exchange2016', account: mailbox.address, mailbox, timeZone: undefined };
}

export interface ElementChanges {
  /** Elements to set (EWS property elements, StartTimeZone, ExtendedProperty). */
  set: XmlNode[];
  /** EWS element names to delete. */
  clear: string[];
}

/** Creates an item as the mailbox's owner would over EWS; invitations go out for events with attendees. */
export function createStored(
  core: Core,
  mailbox: Mailbox,
  kind: ItemKind,
  elements: XmlNode[],
  folder: StoredFolder | undefined,
): StoredItem {
  const item = createItem(
    operationContext(core, mailbox),
    { n: kind, c: elements },
    { messageDisposition: 'SaveOnly', sendInvitations: 'SendToAllAndSaveCopy', folder },
  );
  if (!item) throw new GraphError(500, 'generalException', 'The item was not saved.');
  return item;
}

function pathOf(kind: ItemKind, element: XmlNode): XmlNode {
  if (element.n === 'ExtendedProperty') {
    const uri = (element.c ?? []).find((c) => c.n === 'ExtendedFieldURI');
    return { n: 'ExtendedFieldURI', a: uri?.a ?? {} };
  }
  if (element.n === 'StartTimeZone' || element.n === 'EndTimeZone')
    return { n: 'FieldURI', a: { FieldURI: `calendar:${element.n}` } };
  const def = fieldByElement(kind, element.n);
  if (!def) throw badRequest(`${element.n} cannot be set on a ${kind}.`);
  return { n: 'FieldURI', a: { FieldURI: def.uri } };
}

/** Applies a PATCH to an item or an occurrence (which becomes an exception), as UpdateItem does. */
export function updateStored(core: Core, mailbox: Mailbox, view: ItemView, changes: ElementChanges): ItemView {
  const ctx = operationContext(core, mailbox);
  const kind = view.kind;
  const updates: XmlNode = {
    n: 'Updates',
    c: [
      ...changes.set.map((element) => ({
        n: 'SetItemField',
        c: [pathOf(kind, element), { n: kind, c: [element] }],
      })),
      ...changes.clear.map((name) => ({ n: 'DeleteItemField', c: [pathOf(kind, { n: name })] })),
    ],
  };
  const touched = transact(view.item, () => {
    const names = applyUpdates(view, updates, ctx);
    if (kind === 'CalendarItem') {
      const props = view.occurrence
        ? { ...view.props, ...(view.item.exceptions?.[isoSeconds(view.occurrence.originalStart)]?.props ?? {}) }
        : view.item.props;
      const start = timeOf(props.Start);
      const end = timeOf(props.End);
      if (start !== undefined && end !== undefined && end < start)
        throw badRequest('The end of the event is before its start.', 'ErrorCalendarEndDateIsEarlierThanStartDate');
    }
    return names;
  });
  return commitChange(ctx, view, touched, 'SendToAllAndSaveCopy');
}

const homeElements: Partial<Record<ItemKind, string>> = {
  CalendarItem: 'CalendarFolder',
  Contact: 'ContactsFolder',
  Task: 'TasksFolder',
};

/**
 * `If-Match` on a PATCH or DELETE: the item's @odata.etag (`W/"changeKey"`) or bare change key; another one is 412,
 * as Graph answers a write over someone else's change. `*` matches any.
 */
export function checkIfMatch(view: ItemView, header: string | undefined): void {
  if (header === undefined || header.trim() === '*') return;
  const given = header.trim().replace(/^W\//, '').replace(/^"|"$/g, '');
  if (given !== view.changeKey)
    throw new GraphError(
      412,
      'ErrorIrresolvableConflict',
      'The change key passed in the request does not match the current change key for the item.',
    );
}

/** The item (or occurrence) a Graph id names in this mailbox, or Graph's 404. */
export function viewById(mailbox: Mailbox, id: string, kinds?: ItemKind[]): ItemView {
  const resolved: ResolvedId | undefined = resolveGraphId(mailbox, id);
  if (!resolved || (kinds && !kinds.includes(resolved.item.kind))) throw notFound();
  // Events, contacts and tasks are their folders' (a deleted one in Deleted Items is gone for /events/{id});
  // messages are anywhere among the mail folders.
  const folder = mailbox.folders.get(resolved.item.folderId);
  const home = homeElements[resolved.item.kind];
  if (home && folder?.element !== home) throw notFound();
  if (!resolved.originalStart) return viewOf(resolved.item);
  try {
    return occurrenceByStart(resolved.item, resolved.originalStart);
  } catch {
    throw notFound();
  }
}
