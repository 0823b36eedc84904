import { deflateRawSync, inflateRawSync } from 'node:zlib';
import type { OperationContext } from '../context.js';
import { errorMessage, responseRoot, successMessage } from '../soap/envelope.js';
import { EwsError } from '../soap/response-codes.js';
import type { StoredFolder } from '../store/model.js';
import { child, children, text, type XmlNode } from '../xml/node.js';
import { el, textEl } from '../xml/write.js';
import { resolveFolder } from './common.js';
import { folderProperties, renderFolderWith } from './folder-shape.js';

/**
 * SyncFolderHierarchy: the changes to the folder tree below a folder (the whole mailbox below its root when no
 * SyncFolderId is given) since a sync state. The first call, without a state, answers every folder as a Create. The
 * state holds the folders the client was given and their versions, so a folder added since is a Create, one whose
 * version changed (renamed, moved, its counts changed) an Update, and one gone from the scope a Delete. Parents come
 * before their children. Exchange answers the whole change set at once: IncludesLastFolderInRange is always true.
 */

/** Opaque to clients and sealed against tampering, like SyncFolderItems' (sync-state.ts). */
const purpose = 'sync-hierarchy';

interface HierarchyState {
  epoch: string;
  scopeId: string;
  /** Folder id → version, as the client was last given it. */
  held: Map<string, number>;
}

function encodeState(state: HierarchyState, ctx: OperationContext): string {
  const list = [...state.held].map(([id, version]) => `${id}:${version}`).join(',');
  const packed = list === '' ? '' : deflateRawSync(Buffer.from(list, 'utf8')).toString('base64');
  return ctx.mailbox.seal.seal(purpose, [state.epoch, state.scopeId, packed]);
}

function decodeState(raw: string | undefined, ctx: OperationContext, scopeId: string): HierarchyState {
  const fresh: HierarchyState = { epoch: ctx.mailbox.epoch, scopeId, held: new Map() };
  if (raw === undefined || raw.trim() === '') return fresh;
  const fields = ctx.mailbox.seal.open(purpose, raw.trim());
  if (fields?.length !== 3) throw new EwsError('ErrorInvalidSyncStateData');
  const [epoch, stateScope, packed] = fields as [string, string, string];
  if (epoch !== ctx.mailbox.epoch || stateScope !== scopeId) throw new EwsError('ErrorInvalidSyncStateData');
  const held = new Map<string, number>();
  if (packed !== '') {
    for (const entry of inflateRawSync(Buffer.from(packed, 'base64')).toString('utf8').split(',')) {
      const colon = entry.lastIndexOf(':');
      held.set(entry.slice(0, colon), Number(entry.slice(colon + 1)));
    }
  }
  return { epoch, scopeId, held };
}

/** The folders below `parent`, each before its children. */
function subtree(ctx: OperationContext, parent: StoredFolder): StoredFolder[] {
  const byParent = new Map<string, StoredFolder[]>();
  for (const folder of ctx.mailbox.folders.values()) {
    if (!folder.parentId) continue;
    const siblings = byParent.get(folder.parentId) ?? [];
    siblings.push(folder);
    byParent.set(folder.parentId, siblings);
  }
  const out: StoredFolder[] = [];
  const walk = (id: string) => {
    for (const folder of byParent.get(id) ?? []) {
      out.push(folder);
      walk(folder.id);
    }
  };
  walk(parent.id);
  return out;
}

export function syncFolderHierarchy(request: XmlNode, ctx: OperationContext): string {
  const folderShape = child(request, 'FolderShape');
  const baseShape = text(folderShape, 'BaseShape') ?? 'IdOnly';
  const messageName = 'SyncFolderHierarchyResponseMessage';
  let inner: string;
  try {
    // The FolderShape's AdditionalProperties too: exchangelib asks IdOnly + folder:DisplayName.
    const wanted = folderProperties(baseShape, child(folderShape, 'AdditionalProperties'));
    const scopeNode = children(child(request, 'SyncFolderId'))[0];
    const scope = scopeNode ? resolveFolder(ctx, scopeNode) : ctx.mailbox.folder('root');
    const rawState = text(request, 'SyncState');
    if (rawState?.trim() && ctx.core.faults.take('invalidSyncState', ctx))
      throw new EwsError('ErrorInvalidSyncStateData');
    const state = decodeState(rawState, ctx, scope.id);
    const folders = subtree(ctx, scope);
    let changes = '';
    const held = new Map<string, number>();
    for (const folder of folders) {
      held.set(folder.id, folder.version);
      const known = state.held.get(folder.id);
      if (known === folder.version) continue;
      const kind = known === undefined ? 't:Create' : 't:Update';
      changes += el(kind, undefined, renderFolderWith(folder, wanted, ctx));
    }
    for (const id of state.held.keys()) {
      if (!held.has(id)) changes += el('t:Delete', undefined, el('t:FolderId', { Id: id }));
    }
    const next: HierarchyState = { epoch: ctx.mailbox.epoch, scopeId: scope.id, held };
    inner = successMessage(
      messageName,
      textEl('m:SyncState', encodeState(next, ctx)) +
        textEl('m:IncludesLastFolderInRange', true) +
        el('m:Changes', undefined, changes),
    );
  } catch (error) {
    if (!(error instanceof EwsError)) throw error;
    inner = errorMessage(messageName, error);
  }
  return responseRoot('SyncFolderHierarchyResponse', `<m:ResponseMessages>${inner}</m:ResponseMessages>`);
}
