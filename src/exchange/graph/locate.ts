import { errors, isExhError } from '../../errors.js';
import type { CallOptions } from '../../ports/exchange.port.js';
import type { GraphMailbox } from './connection.js';
import { itemPath, type ResourceKind } from './ids.js';

/**
 * Which kind of resource an item id is. Graph keeps messages, events, contacts and To Do tasks under paths of their
 * own, while the port names an item by its id alone (readItem, deleteItem, attachments): the kind is remembered for
 * every item the connection read or wrote, else asked once with one $batch of the four GETs (the one that is not
 * 404 wins). Undefined: no such item.
 */
const probeOrder: ResourceKind[] = ['event', 'message', 'contact', 'task'];

/** How many ids a connection remembers the kind of before it starts over. */
const rememberedKinds = 50_000;

export function rememberKind(mailbox: GraphMailbox, id: string, kind: ResourceKind): void {
  if (mailbox.kinds.size >= rememberedKinds) mailbox.kinds.clear();
  mailbox.kinds.set(id, kind);
}

export async function locate(
  mailbox: GraphMailbox,
  itemId: string,
  options: CallOptions,
): Promise<ResourceKind | undefined> {
  const known = mailbox.kinds.get(itemId);
  if (known) return known;
  const kinds = probeOrder.filter((kind) => kind !== 'task' || mailbox.todoListId !== undefined);
  const results = await mailbox.batch(
    kinds.map((kind) => ({
      id: kind,
      method: 'GET' as const,
      url: `${itemPath(mailbox.path, kind, itemId, mailbox.todoListId)}?$select=id`,
    })),
    options,
  );
  let failure: Error | undefined;
  for (const result of results) {
    if (result.ok) {
      rememberKind(mailbox, itemId, result.id as ResourceKind);
      return result.id as ResourceKind;
    }
    // Another kind's path refuses a foreign id as malformed (400) or unknown (404): only other errors count.
    const notThere =
      isExhError(result.error, 'EXH_EXCHANGE_ITEM_NOT_FOUND') ||
      isExhError(result.error, 'EXH_EXCHANGE_REQUEST_FAILED');
    if (!notThere) failure ??= result.error;
  }
  if (failure) throw failure;
  return undefined;
}

/** The item's path, or EXH_EXCHANGE_ITEM_NOT_FOUND when there is no such item. */
export async function located(
  mailbox: GraphMailbox,
  itemId: string,
  options: CallOptions,
): Promise<{ kind: ResourceKind; path: string }> {
  const kind = await locate(mailbox, itemId, options);
  if (!kind) throw errors.itemNotFound(mailbox.user, itemId);
  return { kind, path: itemPath(mailbox.path, kind, itemId, mailbox.todoListId) };
}
