import type { StoredFolder } from '../../store/model.js';
import { type DeltaState, deltaPage, sealState, startState, urlToken } from '../delta.js';
import { GraphError, type GraphResponse, linkTo, type MailboxRequest, ok } from '../http.js';
import type { ItemType } from '../item-types.js';
import { preferencesOf } from '../prefer.js';
import { parseQuery, shape } from '../query.js';
import { preferenceHeaders, renderContext } from './items.js';

/**
 * GET …/delta for a folder: a page of changes with @odata.nextLink or @odata.deltaLink (delta.ts). A token that is
 * not this mailbox's (reset since, forged) and the admin faults deltaGone / syncStateNotFound answer 410 Gone with a
 * `Location` holding a fresh initial link, as Graph does; deltaReplay serves the round from the start again.
 */

const defaultPageSize = 100;

function initialLink(request: MailboxRequest): string {
  const query = new URLSearchParams(request.query);
  query.delete('$deltatoken');
  query.delete('$skiptoken');
  return linkTo(request, query);
}

function gone(request: MailboxRequest, code: string, message: string): GraphError {
  return new GraphError(410, code, message, { location: initialLink(request) });
}

export function deltaResponse(
  request: MailboxRequest,
  type: ItemType,
  folder: StoredFolder,
  window?: { from: number; to: number },
): GraphResponse {
  const { core, mailbox } = request;
  const target = { operation: request.operation ?? 'delta', mailbox };
  const token = request.query.get('$deltatoken') ?? request.query.get('$skiptoken');
  if (token !== null && core.faults.take('graphDeltaGone', target))
    throw gone(
      request,
      'resyncRequired',
      'Resync required: replace any local data with the server version and start again from the new link.',
    );
  if (token !== null && core.faults.take('graphSyncStateNotFound', target))
    throw gone(request, 'SyncStateNotFound', 'The sync state was not found; start again from the link in Location.');
  const scope = `${type.graphType}:${folder.id}`;
  let state: DeltaState | undefined = startState(mailbox, scope, token, window);
  if (!state)
    throw gone(
      request,
      'SyncStateNotFound',
      'The sync state is not found or expired; start again from the link in Location.',
    );
  if (token !== null && core.faults.take('graphDeltaReplay', target))
    state = { ...state, seen: 0, cursorSeq: 0, cursorIndex: -1, initial: true };
  const prefs = preferencesOf(request);
  const options = parseQuery(request.query);
  const page = deltaPage(mailbox, folder.id, state, {
    pageSize: prefs.maxPageSize ?? defaultPageSize,
    immutable: prefs.immutableIds,
    kinds: type.kinds,
    calendar: window !== undefined,
  });
  const rctx = renderContext(request);
  const value = page.entries.map((entry) =>
    'view' in entry
      ? shape(type.render(entry.view, rctx, options), entry.view.item, options)
      : {
          '@odata.type': `#microsoft.graph.${type.graphType}`,
          id: entry.removed.id,
          '@removed': { reason: entry.removed.reason },
        },
  );
  const query = new URLSearchParams(request.query);
  query.delete('$deltatoken');
  query.delete('$skiptoken');
  query.set(page.done ? '$deltatoken' : '$skiptoken', urlToken(sealState(mailbox, page.next)));
  return ok(
    {
      '@odata.context': `${request.origin}/graph/v1.0/$metadata#Collection(${type.graphType})`,
      value,
      [page.done ? '@odata.deltaLink' : '@odata.nextLink']: linkTo(request, query),
    },
    200,
    preferenceHeaders(request),
  );
}
