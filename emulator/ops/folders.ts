import type { OperationContext } from '../context.js';
import { errorMessage, responseRoot, successMessage } from '../soap/envelope.js';
import { EwsError } from '../soap/response-codes.js';
import type { StoredFolder } from '../store/model.js';
import { child, children, text, type XmlNode } from '../xml/node.js';
import { el } from '../xml/write.js';
import { intAttr, resolveFolder, responseMessages } from './common.js';
import { folderProperties, renderFolderWith } from './folder-shape.js';

/**
 * GetFolder and FindFolder over the folders every emulated mailbox has (store/mailbox.ts, the distinguished folders
 * Exchange creates), in the FolderShape asked for (ops/folder-shape.ts).
 */

/** The properties a FolderShape asks for; a property that is not a folder's fails every message, as on Exchange. */
function shapeOf(request: XmlNode): ReturnType<typeof folderProperties> | EwsError {
  const shape = child(request, 'FolderShape');
  try {
    return folderProperties(text(shape, 'BaseShape') ?? 'Default', child(shape, 'AdditionalProperties'));
  } catch (error) {
    if (error instanceof EwsError) return error;
    throw error;
  }
}

export function getFolder(request: XmlNode, ctx: OperationContext): string {
  const wanted = shapeOf(request);
  const ids = children(child(request, 'FolderIds'));
  return responseMessages('GetFolder', ids, (id) => {
    if (wanted instanceof EwsError) throw wanted;
    const folder = resolveFolder(ctx, id);
    return `<m:Folders>${renderFolderWith(folder, wanted, ctx)}</m:Folders>`;
  });
}

function descendants(ctx: OperationContext, parent: StoredFolder, deep: boolean): StoredFolder[] {
  const out: StoredFolder[] = [];
  for (const folder of ctx.mailbox.folders.values()) {
    if (folder.parentId !== parent.id) continue;
    out.push(folder);
    if (deep) out.push(...descendants(ctx, folder, true));
  }
  return out;
}

export function findFolder(request: XmlNode, ctx: OperationContext): string {
  const wanted = shapeOf(request);
  const traversal = request.a?.Traversal ?? 'Shallow';
  const view = child(request, 'IndexedPageFolderView');
  const parents = children(child(request, 'ParentFolderIds'));
  let inner = '';
  for (const parentId of parents) {
    try {
      if (traversal !== 'Shallow' && traversal !== 'Deep') {
        throw new EwsError('ErrorInvalidRequest', `Traversal ${traversal} is not supported for folders.`);
      }
      if (wanted instanceof EwsError) throw wanted;
      const parent = resolveFolder(ctx, parentId);
      const all = descendants(ctx, parent, traversal === 'Deep');
      const offset = intAttr(view, 'Offset', 0);
      const max = intAttr(view, 'MaxEntriesReturned', all.length || 1);
      const fromEnd = view?.a?.BasePoint === 'End';
      const ordered = fromEnd ? [...all].reverse() : all;
      const page = ordered.slice(offset, offset + max);
      const last = offset + page.length >= all.length;
      const folders = page.map((f) => renderFolderWith(f, wanted, ctx)).join('');
      inner += successMessage(
        'FindFolderResponseMessage',
        el(
          'm:RootFolder',
          {
            // Without IndexedPageFolderView Exchange writes no IndexedPagingOffset (Microsoft's FindFolder example).
            ...(view ? { IndexedPagingOffset: offset + page.length } : {}),
            TotalItemsInView: all.length,
            IncludesLastItemInRange: last,
          },
          `<t:Folders>${folders}</t:Folders>`,
        ),
      );
    } catch (error) {
      if (!(error instanceof EwsError)) throw error;
      inner += errorMessage('FindFolderResponseMessage', error);
    }
  }
  return responseRoot('FindFolderResponse', `<m:ResponseMessages>${inner}</m:ResponseMessages>`);
}
