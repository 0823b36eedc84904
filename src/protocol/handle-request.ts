import { fromDatabaseValue } from '../db/field-values.js';
import { errors, isExhError } from '../errors.js';
import { findField, itemType } from '../items/index.js';
import type { ExhLogger } from '../logging/logger.js';
import type { Connections } from '../mailbox/connections.js';
import type { ControlPort } from '../ports/control.port.js';
import type { DatabasePort, FieldValue, OutboxOutcome } from '../ports/database.port.js';
import { applyItemChange, type ConflictSettings, type LeaseCheck } from '../sync/executors/outbox.js';
import type { RequestContext, RequestHandler } from './listener.js';
import { type ItemRequest, type SyncItemsRequest, toSyncItemsRequest } from './messages.js';
import { exitCodes, failure, ok, type Reply, replyForError } from './replies.js';

export interface RequestHandlerDeps {
  db: DatabasePort;
  connections: Connections;
  /** exh_sync_users and exh_sync_item go through it. */
  control: ControlPort;
  /** Whether exh_get_users returned the user (case-insensitively): an unknown user is an error, not "try later". */
  isRegistered: (user: string) => boolean;
  logger: ExhLogger;
  /** Largest attachment a sender may download. */
  maxAttachmentBytes?: number | undefined;
  /** sync.conflicts and the sync's lock, for a sender's item changes (src/sync/executors/outbox.ts). */
  conflicts?: ConflictSettings | undefined;
  /**
   * Several instances: asked right before a sender's change is written to Exchange (docs/scale-out.md, "The fence"):
   * a lease that ended while the request was handled is answered 522 (try again: the request goes to the new holder).
   */
  lease?: LeaseCheck | undefined;
}

/** While a syncItems request with progress runs, a line at least this often (the sender's time-out restarts). */
export const progressHeartbeatMs = 10_000;
/** Progress lines come at most this often while the resync moves. */
const progressIntervalMs = 1_000;

/**
 * What the database listener does with each valid request (docs/protocol.md): answered at once with the protocol's
 * exit codes. Item changes and attachments go straight to the mailbox's writer; syncUsers and syncItems go through
 * the ControlPort. A mailbox that is not connected gets 522 (try again later), an unknown user an error.
 */
export function createRequestHandler(deps: RequestHandlerDeps): RequestHandler {
  return async (request, context) => {
    switch (request.type) {
      case 'ping':
        return ok('pong');
      case 'syncUsers':
        deps.control.syncUsers();
        return ok();
      case 'syncItems':
        return syncItems(deps, request, context);
      case 'item':
        return changeItem(deps, request, context);
      case 'addAttachment': {
        const writer = deps.connections.writer(request.user);
        if (!writer) return notConnected(deps, request.user);
        const content = Buffer.from(request.contentBase64, 'base64');
        return answer(async () => {
          const attachment = { name: request.name, contentType: request.contentType, content };
          return (
            await writer.addAttachment(request.itemId, attachment, {
              ...live(),
              mayStart: leaseCheck(deps, request.user),
            })
          ).attachmentId;
        });
      }
      case 'getAttachment': {
        const writer = deps.connections.writer(request.user);
        if (!writer) return notConnected(deps, request.user);
        const maxBytes = deps.maxAttachmentBytes ?? 10 * 1024 * 1024;
        return answer(async () => {
          const attachment = await writer.getAttachment(request.itemId, request.attachmentId, { ...live(), maxBytes });
          return attachment.content.toString('base64');
        });
      }
    }
  };
}

/**
 * A resync, reporting progress: at most one line a second, and the last one again every 10 s while nothing moves
 * (waiting for the live sync's lock, reading Exchange), so that the sender's time-out restarts with each line.
 */
async function syncItems(deps: RequestHandlerDeps, request: SyncItemsRequest, context: RequestContext) {
  const sync = toSyncItemsRequest(request);
  let last = { user: sync.user ?? '', itemType: sync.itemType ?? '', done: 0, total: null as number | null };
  let sentAt = 0;
  const send = () => {
    sentAt = Date.now();
    context.progress({ ...last });
  };
  const heartbeat = setInterval(() => {
    if (Date.now() - sentAt >= progressHeartbeatMs) send();
  }, progressHeartbeatMs);
  try {
    const outcome = await deps.control.syncItems(sync, (progress) => {
      last = progress;
      if (Date.now() - sentAt >= progressIntervalMs || progress.done === progress.total) send();
    });
    return ok(JSON.stringify(outcome));
  } catch (error) {
    return replyForError(error);
  } finally {
    clearInterval(heartbeat);
  }
}

/** A sender's item change, applied as an outbox row would be (src/sync/executors/outbox.ts), but answered at once. */
async function changeItem(deps: RequestHandlerDeps, request: ItemRequest, context: RequestContext): Promise<Reply> {
  const writer = deps.connections.writer(request.user);
  if (!writer) return notConnected(deps, request.user);
  const definition = itemType(request.itemType);
  const fields: Record<string, FieldValue> = {};
  for (const [name, value] of Object.entries(request.fields)) {
    const field = findField(definition, name);
    if (field) fields[name] = fromDatabaseValue(field.kind, value);
  }
  let outcome: OutboxOutcome;
  try {
    outcome = await applyItemChange(
      deps,
      writer,
      {
        id: `Request from ${context.remoteAddress}`,
        user: request.user,
        itemType: request.itemType,
        action: request.action,
        fields,
        attempts: 0,
      },
      live(),
    );
  } catch (error) {
    // The lease ended before the write (EXH_CLUSTER_LEASE_LOST): nothing was written; the sender tries again.
    if (isExhError(error, 'EXH_CLUSTER_LEASE_LOST')) return replyForError(error);
    throw error;
  }
  return outcome.exitCode === 0
    ? ok(outcome.outputValue)
    : failure(
        outcome.errorMessage ?? 'the change failed',
        outcome.exitCode === 522 ? exitCodes.exchangeFailed : exitCodes.error,
      );
}

/** Several instances: the write is sent only while this instance holds the user's lease (RequestHandlerDeps.lease). */
function leaseCheck(deps: RequestHandlerDeps, user: string): (() => void) | undefined {
  const { lease } = deps;
  if (!lease) return undefined;
  return () => {
    if (!lease.owns(user)) throw errors.leaseLost(user, lease.instanceId, 'an attachment added by a sender');
  };
}

/** A sender waits for its answer: its Exchange requests go with the live sync's priority. */
function live() {
  return { signal: new AbortController().signal, priority: 'live' as const };
}

async function answer(work: () => Promise<string>): Promise<Reply> {
  try {
    return ok(await work());
  } catch (error) {
    return replyForError(error);
  }
}

function notConnected(deps: Pick<RequestHandlerDeps, 'isRegistered'>, user: string): Reply {
  if (!deps.isRegistered(user)) return replyForError(errors.mailboxUnknown(user));
  return failure(
    `The mailbox of ${user} is not connected to Exchange (yet): try again later`,
    exitCodes.exchangeFailed,
  );
}
