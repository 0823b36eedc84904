import type { Mailbox } from '../../store/mailbox.js';
import type { StoredItem } from '../../store/model.js';
import { badRequest, type GraphResponse, jsonBody, type MailboxRequest, ok } from '../http.js';
import { ewsIdOf, immutableIdOf, resolveGraphId, restIdOf } from '../ids.js';

/**
 * POST /users/{u}/translateExchangeIds (https://learn.microsoft.com/graph/api/user-translateexchangeids): ids between
 * ewsId, entryId, immutableEntryId, restId and restImmutableEntryId, at most 1,000 a call. The emulator's entry ids
 * are its own binary form (base64), readable back by it; an id it cannot find comes back with errorDetails.
 */

const idTypes = ['entryId', 'ewsId', 'immutableEntryId', 'restId', 'restImmutableEntryId'] as const;
type IdType = (typeof idTypes)[number];
const maxIds = 1000;

function entryIdOf(prefix: string, id: string): string {
  return Buffer.from(`\u0000\u0000\u0000\u0000${prefix}${id}`, 'utf8').toString('base64');
}

function fromEntryId(prefix: string, entryId: string): string | undefined {
  const decoded = Buffer.from(entryId.replaceAll('-', '+').replaceAll('_', '/'), 'base64').toString('utf8');
  const head = `\u0000\u0000\u0000\u0000${prefix}`;
  return decoded.startsWith(head) ? decoded.slice(head.length) : undefined;
}

function find(mailbox: Mailbox, id: string, type: IdType): StoredItem | undefined {
  switch (type) {
    case 'ewsId':
      return mailbox.items.get(id);
    case 'restId':
      return mailbox.items.get(ewsIdOf(id));
    case 'restImmutableEntryId':
      return resolveGraphId(mailbox, id)?.item;
    case 'entryId': {
      const ews = fromEntryId('EXHE', id);
      return ews ? mailbox.items.get(ews) : undefined;
    }
    case 'immutableEntryId': {
      const immutable = fromEntryId('EXHI', id);
      return immutable ? resolveGraphId(mailbox, immutable)?.item : undefined;
    }
  }
}

function format(item: StoredItem, type: IdType): string {
  switch (type) {
    case 'ewsId':
      return item.id;
    case 'restId':
      return restIdOf(item.id);
    case 'restImmutableEntryId':
      return immutableIdOf(item);
    case 'entryId':
      return entryIdOf('EXHE', item.id);
    case 'immutableEntryId':
      return entryIdOf('EXHI', immutableIdOf(item));
  }
}

function idType(value: unknown, what: string): IdType {
  const found = idTypes.find((t) => t.toLowerCase() === String(value ?? '').toLowerCase());
  if (!found) throw badRequest(`${what} must be one of ${idTypes.join(', ')}.`);
  return found;
}

export function translateExchangeIds(request: MailboxRequest): GraphResponse {
  const body = jsonBody(request);
  const inputIds = body.inputIds;
  if (!Array.isArray(inputIds) || inputIds.some((id) => typeof id !== 'string'))
    throw badRequest('inputIds must be an array of strings.');
  if (inputIds.length > maxIds)
    throw badRequest(`At most ${maxIds} ids can be translated in one call (${inputIds.length} given).`);
  const source = idType(body.sourceIdType, 'sourceIdType');
  const target = idType(body.targetIdType, 'targetIdType');
  const value = (inputIds as string[]).map((sourceId) => {
    const item = find(request.mailbox, sourceId, source);
    if (!item)
      return {
        sourceId,
        errorDetails: { code: 'ErrorItemNotFound', message: 'The specified object was not found in the store.' },
      };
    return { sourceId, targetId: format(item, target) };
  });
  return ok({
    '@odata.context': `${request.origin}/graph/v1.0/$metadata#Collection(microsoft.graph.convertIdResult)`,
    value,
  });
}
