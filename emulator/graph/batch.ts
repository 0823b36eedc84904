import { badRequest, type GraphRequest, type GraphResponse, jsonBody, ok } from './http.js';

/**
 * JSON batching (https://learn.microsoft.com/graph/json-batching): POST /$batch with at most 20 requests, each run
 * through the same handlers as over HTTP (its own faults, throttling and log entry) and answered with its own status;
 * `dependsOn` orders them, and a request whose dependency failed gets 424 Failed Dependency. The emulator runs them one
 * at a time, in order.
 */

const maxRequests = 20;

interface BatchItem {
  id: string;
  method: string;
  url: string;
  headers?: Record<string, string>;
  body?: unknown;
  dependsOn?: string[];
}

function parseItems(request: GraphRequest): BatchItem[] {
  const requests = jsonBody(request).requests;
  if (!Array.isArray(requests) || requests.length === 0) throw badRequest('$batch needs a non-empty requests array.');
  if (requests.length > maxRequests)
    throw badRequest(`The number of batch requests must not exceed ${maxRequests} (${requests.length} given).`);
  const seen = new Set<string>();
  return requests.map((raw, index) => {
    const item = (raw ?? {}) as Partial<BatchItem>;
    if (typeof item.id !== 'string' || !item.id) throw badRequest(`requests[${index}] needs an id.`);
    if (seen.has(item.id)) throw badRequest(`The batch request id '${item.id}' is used more than once.`);
    if (typeof item.method !== 'string' || typeof item.url !== 'string')
      throw badRequest(`requests[${index}] needs a method and a url.`);
    for (const dependency of item.dependsOn ?? [])
      if (!seen.has(dependency))
        throw badRequest(`requests[${index}] depends on '${dependency}', which does not come before it.`);
    seen.add(item.id);
    return item as BatchItem;
  });
}

export async function runBatch(
  request: GraphRequest,
  handle: (sub: GraphRequest) => Promise<GraphResponse>,
): Promise<GraphResponse> {
  const items = parseItems(request);
  const statuses = new Map<string, number>();
  const responses: Record<string, unknown>[] = [];
  for (const item of items) {
    const failed = (item.dependsOn ?? []).find((d) => (statuses.get(d) ?? 500) >= 400);
    if (failed !== undefined) {
      statuses.set(item.id, 424);
      responses.push({
        id: item.id,
        status: 424,
        body: { error: { code: 'FailedDependency', message: `The request it depends on (${failed}) failed.` } },
      });
      continue;
    }
    const url = new URL(item.url.replace(/^\/?(v1\.0\/)?/, '/'), 'http://batch');
    const headers: Record<string, string | undefined> = {};
    for (const [name, value] of Object.entries(item.headers ?? {})) headers[name.toLowerCase()] = String(value);
    const answer = await handle({
      ...request,
      method: item.method.toUpperCase(),
      path: url.pathname,
      query: url.searchParams,
      headers,
      body: item.body,
    });
    statuses.set(item.id, answer.status);
    const body = Buffer.isBuffer(answer.body) ? answer.body.toString('base64') : answer.body;
    responses.push({
      id: item.id,
      status: answer.status,
      headers: { ...(answer.body !== undefined ? { 'content-type': 'application/json' } : {}), ...answer.headers },
      ...(body !== undefined ? { body } : {}),
    });
  }
  return ok({ responses });
}
