import type { Core } from '../context.js';
import { EwsError, SoapFault } from '../soap/response-codes.js';
import { errorResponse, GraphError, type GraphRequest, type GraphResponse, type MailboxRequest } from './http.js';
import { route, segmentsOf } from './router.js';
import { graphTenant } from './token.js';

/**
 * Every Graph request, over HTTP or inside a `$batch`, passes here: the mailbox of /users/{upn} (404 for an unknown
 * user, MailboxNotEnabledForRESTAPI for one marked on-premises), the admin faults (latency, 429, 503), Outlook's
 * limit of 4 concurrent requests per app and mailbox (a 5th gets 429 ApplicationThrottled, MailboxConcurrency), the
 * route, and the request log (admin.requests(), operations named graph.*).
 * https://learn.microsoft.com/graph/throttling-limits#outlook-service-limits
 */

export const mailboxConcurrency = 4;
const inFlight = new WeakMap<Core, Map<string, number>>();

function counts(core: Core): Map<string, number> {
  let map = inFlight.get(core);
  if (!map) {
    map = new Map();
    inFlight.set(core, map);
  }
  return map;
}

function asGraphError(error: unknown, core: Core): GraphError {
  if (error instanceof GraphError) return error;
  if (error instanceof EwsError) {
    const status = error.code === 'ErrorItemNotFound' || error.code === 'ErrorFolderNotFound' ? 404 : 400;
    return new GraphError(status, error.code, error.message);
  }
  if (error instanceof SoapFault) return new GraphError(400, error.code, error.message);
  core.log.error({ err: error }, 'Graph request failed');
  return new GraphError(500, 'generalException', (error as Error)?.message ?? 'Internal error.');
}

/** A request to /users/{upn}/…: the mailbox's checks, faults, concurrency, then the route. */
async function mailboxRequest(
  request: GraphRequest,
  segments: string[],
  log: { mailbox?: string; operation: string },
): Promise<GraphResponse> {
  const { core } = request;
  const upn = segments[1] ?? '';
  const matched = route(request.method, segments.slice(2));
  if (matched === undefined)
    throw new GraphError(400, 'BadRequest', `Resource not found for the segment '${segments.slice(2).join('/')}'.`);
  if (matched === 'method')
    throw new GraphError(405, 'Request_BadRequest', `The method ${request.method} is not allowed on this resource.`);
  log.operation = matched.operation;
  const mailbox = core.store.get(upn);
  if (!mailbox) {
    if (segments.length === 2)
      throw new GraphError(
        404,
        'Request_ResourceNotFound',
        `Resource '${upn}' does not exist or one of its queried reference-property objects are not present.`,
      );
    throw new GraphError(404, 'ErrorInvalidUser', `The requested user '${upn}' is invalid.`);
  }
  log.mailbox = mailbox.address;
  if (graphTenant(core).isOnPremises(mailbox.address))
    throw new GraphError(
      404,
      'MailboxNotEnabledForRESTAPI',
      'The mailbox is either inactive, soft-deleted, or is hosted on-premise.',
    );
  const target = { operation: matched.operation, mailbox };
  const open = counts(core);
  const current = open.get(mailbox.address) ?? 0;
  if (current >= mailboxConcurrency)
    throw new GraphError(429, 'ApplicationThrottled', 'Application is over its MailboxConcurrency limit.', {
      'retry-after': '1',
    });
  open.set(mailbox.address, current + 1);
  try {
    const latency = core.faults.take('latency', target);
    if (latency) await new Promise<void>((resolve) => core.clock.setTimeout(resolve, latency.ms));
    const throttled = core.faults.take('graphThrottled', target);
    if (throttled)
      throw new GraphError(429, 'ApplicationThrottled', 'Application is over its MailboxConcurrency limit.', {
        'retry-after': String(throttled.retryAfterSeconds),
      });
    const unavailable = core.faults.take('graphUnavailable', target);
    if (unavailable)
      throw new GraphError(
        503,
        'ServiceUnavailable',
        'The service is temporarily unavailable.',
        unavailable.retryAfterSeconds !== undefined ? { 'retry-after': String(unavailable.retryAfterSeconds) } : {},
      );
    const mailboxRequest: MailboxRequest = { ...request, mailbox, operation: matched.operation };
    return matched.run(mailboxRequest);
  } finally {
    const after = (open.get(mailbox.address) ?? 1) - 1;
    if (after <= 0) open.delete(mailbox.address);
    else open.set(mailbox.address, after);
  }
}

export type BatchRunner = (request: GraphRequest) => Promise<GraphResponse>;

/** Answers one Graph request (never throws: errors are Graph's error bodies) and logs it. */
export async function handleGraph(request: GraphRequest, batch: BatchRunner): Promise<GraphResponse> {
  const { core } = request;
  const at = core.now();
  const segments = segmentsOf(request.path);
  const log: { mailbox?: string; operation: string } = { operation: 'graph.unknown' };
  let response: GraphResponse;
  try {
    if (segments.length === 1 && segments[0] === '$batch') {
      log.operation = 'graph.batch';
      if (request.method !== 'POST') throw new GraphError(405, 'Request_BadRequest', '$batch takes POST.');
      response = await batch(request);
    } else if (segments[0]?.toLowerCase() === 'users' && segments[1]) {
      response = await mailboxRequest(request, segments, log);
    } else {
      throw new GraphError(
        400,
        'BadRequest',
        `Resource not found for the segment '${segments[0] ?? ''}'; the emulator serves /users/{upn}/… and /$batch.`,
      );
    }
  } catch (error) {
    response = errorResponse(asGraphError(error, core), core.now());
  }
  const code = (response.body as { error?: { code?: string } } | undefined)?.error?.code;
  core.requests.add({
    at,
    answeredAt: core.now(),
    operation: log.operation,
    account: request.appId,
    ...(log.mailbox ? { mailbox: log.mailbox } : {}),
    status: response.status,
    ...(code ? { fault: code } : {}),
  });
  return response;
}
