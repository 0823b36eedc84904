import type { OperationContext } from '../context.js';
import { errorMessage, responseRoot, successMessage } from '../soap/envelope.js';
import { EwsError } from '../soap/response-codes.js';
import { changeKeyOf, isWellFormedId } from '../store/ids.js';
import type { StoredFolder } from '../store/model.js';
import { child, text, type XmlNode } from '../xml/node.js';
import { el } from '../xml/write.js';

/** What an operation handler returns: the response element, or a streaming response it writes itself. */
export type OperationResult = string | { stream: StreamingHandler };
export type StreamingHandler = (
  write: (chunk: string) => boolean,
  end: () => void,
  onClose: (fn: () => void) => void,
) => void;

export type Operation = (request: XmlNode, ctx: OperationContext) => OperationResult | Promise<OperationResult>;

/**
 * An operation answers with one response message per input (per item id, per folder): a failure of one is an error
 * message in its place, the others still succeed, as on Exchange.
 */
export function responseMessages<T>(
  operation: string,
  inputs: T[],
  handle: (input: T) => string,
  onError: (error: EwsError) => string = () => '',
): string {
  const messageName = `${operation}ResponseMessage`;
  let inner = '';
  for (const input of inputs) {
    try {
      inner += successMessage(messageName, handle(input));
    } catch (error) {
      if (!(error instanceof EwsError)) throw error;
      inner += errorMessage(messageName, error, onError(error));
    }
  }
  return responseRoot(`${operation}Response`, `<m:ResponseMessages>${inner}</m:ResponseMessages>`);
}

/** Resolves FolderId / DistinguishedFolderId in the request's mailbox. */
export function resolveFolder(ctx: OperationContext, node: XmlNode): StoredFolder {
  if (node.n === 'DistinguishedFolderId') {
    const owner = text(child(node, 'Mailbox'), 'EmailAddress');
    if (owner && owner.toLowerCase() !== ctx.mailbox.address) {
      if (!ctx.core.store.get(owner)) throw new EwsError('ErrorNonExistentMailbox');
      // No delegate access in the emulator: another mailbox is reached by impersonating its owner.
      throw new EwsError('ErrorAccessDenied', `${ctx.mailbox.address} has no delegate access to ${owner}.`);
    }
    const folder = ctx.mailbox.byDistinguished.get(node.a?.Id ?? '');
    if (!folder) throw new EwsError('ErrorFolderNotFound');
    return folder;
  }
  if (node.n === 'FolderId') {
    const id = node.a?.Id ?? '';
    if (!id) throw new EwsError('ErrorInvalidIdEmpty');
    if (!isWellFormedId(id)) throw new EwsError('ErrorInvalidIdMalformed');
    const folder = ctx.mailbox.folders.get(id);
    if (!folder) throw new EwsError('ErrorFolderNotFound');
    return folder;
  }
  throw new EwsError('ErrorInvalidRequest', `${node.n} is not a folder id.`);
}

export function folderIdXml(name: string, folder: StoredFolder): string {
  return el(`t:${name}`, { Id: folder.id, ChangeKey: changeKeyOf(folder.id, folder.version) });
}

/** A folder in a FolderShape, with its AdditionalProperties (ops/folder-shape.ts). */
export { renderFolder } from './folder-shape.js';

export function intAttr(node: XmlNode | undefined, name: string, fallback: number): number {
  const raw = node?.a?.[name];
  if (raw === undefined) return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < 0)
    throw new EwsError('ErrorInvalidRequest', `${name} must be a whole number.`);
  return value;
}
