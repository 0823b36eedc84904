import type { OperationContext } from '../context.js';
import { resolveItemId, viewOf } from '../items/calendar.js';
import { renderItemId } from '../items/render.js';
import { EwsError } from '../soap/response-codes.js';
import { child, children, text, type XmlNode } from '../xml/node.js';
import { resolveFolder, responseMessages } from './common.js';

/**
 * MoveItem: items to another folder of the same mailbox, each under a new id, as Exchange moves them (the store's
 * moveItem, which DeleteItem's MoveToDeletedItems uses too): a MovedEvent, a delete in the old folder's sync and a
 * create in the new one's. Each answer names the moved item by its new id (Microsoft's MoveItem example,
 * docs/emulator.md), unless the request says `ReturnNewItemIds` false. An occurrence cannot move on its own
 * (ErrorCalendarCannotMoveOrCopyOccurrence), nor can anything move into a search folder (ErrorMoveCopyFailed).
 */
export function moveItems(request: XmlNode, ctx: OperationContext): string {
  const targetNode = children(child(request, 'ToFolderId'))[0];
  const ids = children(child(request, 'ItemIds'));
  const returnNewIds = !['false', '0'].includes((text(request, 'ReturnNewItemIds') ?? '').trim());
  return responseMessages(
    'MoveItem',
    ids,
    (id) => {
      if (!targetNode) throw new EwsError('ErrorInvalidRequest', 'ToFolderId names no folder.');
      const target = resolveFolder(ctx, targetNode);
      const { view } = resolveItemId(ctx.mailbox, id);
      if (view.occurrence) throw new EwsError('ErrorCalendarCannotMoveOrCopyOccurrence');
      if (target.element === 'SearchFolder')
        throw new EwsError('ErrorMoveCopyFailed', 'Items cannot move into a search folder.');
      const moved = ctx.mailbox.moveItem(view.item, target.id);
      return `<m:Items>${returnNewIds ? renderItemId(viewOf(moved)) : ''}</m:Items>`;
    },
    // ItemInfoResponseMessageType: Items is there in an error message too, empty.
    () => '<m:Items/>',
  );
}
