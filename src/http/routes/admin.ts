import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { describe, errors } from '../../errors.js';
import { isItemTypeName, itemTypeNames } from '../../items/index.js';
import type { SyncItemsOutcome, SyncItemsProgress, SyncItemsRequest } from '../../ports/control.port.js';
import type { ItemTypeName } from '../../ports/database.port.js';
import { checkAdmin } from '../auth.js';
import { sendError } from '../replies.js';
import type { HttpDeps } from '../server.js';
import { unknownUser } from './api.js';

/**
 * The admin actions, each through the runtime's ControlPort and only with the admin token. A resync and a
 * re-registration can take long, so they answer 202 at once and their outcome is logged (and so shown in the
 * dashboard's errors and transitions); retrying failed items answers with how many were set pending again.
 */
export function registerAdminRoutes(
  app: FastifyInstance,
  deps: HttpDeps,
  announce: (event: 'resync', data: ResyncProgress) => void,
): void {
  const log = deps.logger.child({ actor: 'http' });
  const authorized = (request: FastifyRequest, reply: FastifyReply): boolean => {
    const refused = checkAdmin(request.headers.authorization, deps.adminToken);
    if (!refused) return true;
    log.warn({ url: request.url, code: refused.code }, `Admin action refused: ${refused.message}`);
    sendError(reply, refused);
    return false;
  };

  app.post<{ Params: { user: string }; Body: unknown }>('/api/mailboxes/:user/resync', async (request, reply) => {
    if (!authorized(request, reply)) return reply;
    const user = registeredUser(deps, request.params.user);
    if (!user) return sendError(reply, errors.httpNotFound(unknownUser(request.params.user)));
    const body = objectBody(request.body);
    if (body === undefined) return sendError(reply, errors.httpBadRequest('the body must be a JSON object'));
    if (body.itemType !== undefined && body.itemType !== null && !isItemTypeName(body.itemType)) {
      return sendError(
        reply,
        errors.httpBadRequest(`itemType must be one of ${itemTypeNames().join(', ')}, or absent`),
      );
    }
    const itemType = (body.itemType as ItemTypeName | undefined) ?? null;
    log.action({ user, itemType }, `Resync of ${user} (${itemType ?? 'every type'}) asked for over HTTP`);
    // Exchange → database, every action: what is in Exchange is read again and the database brought in line with it.
    const resync: SyncItemsRequest = {
      direction: 0,
      user,
      itemType,
      add: true,
      chg: true,
      del: true,
    };
    const progress = (update: SyncItemsProgress) => announce('resync', { ...update, finished: false });
    deps.control.syncItems(resync, progress).then(
      (outcome) => {
        announce('resync', { user, itemType, finished: true, outcome });
        log.action(
          { user, ...outcome },
          `Resync of ${user} done: ${outcome.added} added, ${outcome.changed} changed, ${outcome.deleted} deleted, ${outcome.failed} failed`,
        );
      },
      (error: unknown) => {
        announce('resync', { user, itemType, finished: true, error: { message: describe(error) } });
        log.error({ user, err: error }, `Resync of ${user} failed: ${describe(error)}`);
      },
    );
    return reply.code(202).send({ accepted: true, action: 'resync', user, itemType });
  });

  app.post('/api/users/sync', async (request, reply) => {
    if (!authorized(request, reply)) return reply;
    log.action('Re-registering users (exh_get_users) asked for over HTTP');
    deps.control.syncUsers();
    return reply.code(202).send({ accepted: true, action: 'syncUsers' });
  });

  app.post<{ Body: unknown }>('/api/outbox/retry', async (request, reply) => {
    if (!authorized(request, reply)) return reply;
    const body = objectBody(request.body);
    if (body === undefined) return sendError(reply, errors.httpBadRequest('the body must be a JSON object'));
    if (body.user !== undefined && typeof body.user !== 'string') {
      return sendError(reply, errors.httpBadRequest('user must be a string (an SMTP address), or absent'));
    }
    const user = body.user === undefined ? undefined : registeredUser(deps, body.user);
    if (body.user !== undefined && !user) return sendError(reply, errors.httpNotFound(unknownUser(String(body.user))));
    const { retried, rereading } = await deps.control.retryFailed(user ? { user } : {});
    log.action(
      { user, retried, rereading },
      `Retry asked for over HTTP: ${retried} failed outbox row${retried === 1 ? '' : 's'} set pending again, ` +
        `${rereading.length} mailbox${rereading.length === 1 ? '' : 'es'} being read again`,
    );
    return { action: 'retryFailed', retried, rereading, ...(user ? { user } : {}) };
  });
}

/** What `/api/events` says about a resync asked for over HTTP: its progress per item type, then its end. */
export type ResyncProgress =
  | (SyncItemsProgress & { finished: false })
  | {
      user: string;
      itemType: string | null;
      finished: true;
      outcome?: SyncItemsOutcome;
      error?: { message: string };
    };

/** The registered spelling of a user, matched case-insensitively like exh_get_users' addresses. */
function registeredUser(deps: HttpDeps, user: string): string | undefined {
  const wanted = user.toLowerCase();
  return deps.status().mailboxes.list.find((mailbox) => mailbox.user.toLowerCase() === wanted)?.user;
}

/** An absent body counts as `{}`; anything but a JSON object is refused. */
function objectBody(body: unknown): Record<string, unknown> | undefined {
  if (body === undefined || body === null) return {};
  if (typeof body !== 'object' || Array.isArray(body)) return undefined;
  return body as Record<string, unknown>;
}
