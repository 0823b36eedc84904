import type { CallOptions } from '../ports/exchange.port.js';
import type { GraphClient } from './graph/client.js';

/**
 * The Exchange side of switching a user between EWS and Graph (docs/exchange-online.md, "Migrating users"): which
 * backend wrote a continuation, and the new backend's ids of the items the old one named. The rows are moved to the
 * new ids by the core (src/mailbox/switch-backend.ts) before the new backend reads the folders from the beginning.
 */

export type BackendName = 'ews' | 'graph';

/**
 * Which backend wrote a folder continuation. The Graph adapter's are JSON tagged `"backend": "graph"`; the EWS
 * adapter's are a bare sync state (base64) or its JSON `{"state": …, "series": …}` (src/exchange/ews/continuation.ts),
 * never tagged.
 */
export function continuationBackend(continuation: string): BackendName {
  if (!continuation.startsWith('{')) return 'ews';
  try {
    const parsed: unknown = JSON.parse(continuation);
    return (parsed as { backend?: unknown } | null)?.backend === 'graph' ? 'graph' : 'ews';
  } catch {
    return 'ews';
  }
}

/** Graph's translateExchangeIds takes at most this many ids per call. */
export const translateBatchSize = 1000;

/** The id types on either side: EWS ids, and the immutable REST ids the Graph adapter asks for (Prefer: IdType). */
const idTypes: Record<BackendName, string> = { ews: 'ewsId', graph: 'restImmutableEntryId' };

interface TranslateAnswer {
  value?: Array<{ sourceId?: string; targetId?: string | null }>;
}

/**
 * The ids `to` gives the items `from` named, by Graph's POST /users/{user}/translateExchangeIds (1,000 at a time;
 * needs User.Read.All). Ids Graph could not translate (an item deleted meanwhile, an id of another mailbox) are
 * left out of the map; errors are the Graph client's (the catalogue's).
 */
export async function translateItemIds(
  client: GraphClient,
  request: { user: string; ids: readonly string[]; from: BackendName; to: BackendName },
  options: CallOptions,
): Promise<Map<string, string>> {
  const translated = new Map<string, string>();
  if (request.from === request.to) {
    for (const id of request.ids) translated.set(id, id);
    return translated;
  }
  const unique = [...new Set(request.ids)];
  for (let i = 0; i < unique.length; i += translateBatchSize) {
    const inputIds = unique.slice(i, i + translateBatchSize);
    const response = await client.request<TranslateAnswer>(
      {
        method: 'POST',
        url: `/users/${encodeURIComponent(request.user)}/translateExchangeIds`,
        body: { inputIds, sourceIdType: idTypes[request.from], targetIdType: idTypes[request.to] },
      },
      options,
    );
    for (const entry of response.body?.value ?? []) {
      if (typeof entry.sourceId === 'string' && typeof entry.targetId === 'string' && entry.targetId !== '') {
        translated.set(entry.sourceId, entry.targetId);
      }
    }
  }
  return translated;
}
