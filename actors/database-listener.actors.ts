import { readFile } from 'node:fs/promises';
import { fromCallback } from 'xstate';
import { serializeError } from '../machines/report.js';
import type { SupervisorEvent } from '../machines/supervisor.machine.js';
import { fromDatabaseValue } from '../src/db/field-values.js';
import { errors } from '../src/errors.js';
import { findField } from '../src/items/definition.js';
import { itemType } from '../src/items/index.js';
import type { ExhLogger } from '../src/logging/logger.js';
import type { Connections } from '../src/mailbox/connections.js';
import type { ControlPort, SyncItemsRequest } from '../src/ports/control.port.js';
import type { DatabasePort, FieldValue, ItemTypeName } from '../src/ports/database.port.js';
import type { RequestContext, RequestHandler } from '../src/protocol/listener.js';
import { type DatabaseListener, startDatabaseListener } from '../src/protocol/listener.js';
import type { DatabaseRequest, SyncItemsRequest as SyncItemsWireRequest } from '../src/protocol/messages.js';
import { exitCodes, failure, ok, type Reply, replyForError } from '../src/protocol/replies.js';
import { applyItemChange, type ConflictSettings } from '../src/sync/outbox.js';

export interface DatabaseListenerDeps {
  enabled: boolean;
  host: string;
  port: number;
  token: string;
  db: DatabasePort;
  connections: Connections;
  /** exh_sync_users and exh_sync_item go through it. */
  control: ControlPort;
  /** Whether exh_get_users returned the user (case-insensitively): an unknown user is an error, not "try later". */
  isRegistered: (user: string) => boolean;
  logger: ExhLogger;
  /** Told the real address once listening (port 0 picks one), so that exh_set_up gets the right port. */
  onListening: (address: { host: string; port: number }) => void;
  /** Told the listener once it listens, so that shutdown can await its close (a cleanup function cannot). */
  track: (listener: DatabaseListener) => void;
  /** PEM files: speak TLS (listeners.database.tls). */
  tls?: { certFile: string; keyFile: string } | undefined;
  /** listeners.database.authTimeoutMs, maxUnauthenticated, maxConnections (docs/protocol.md); the module's defaults. */
  authTimeoutMs?: number;
  maxUnauthenticated?: number;
  maxConnections?: number;
  /** Largest attachment a sender may download. */
  maxAttachmentBytes?: number;
  /** sync.conflicts and the sync's lock, for a sender's item changes (src/sync/outbox.ts). */
  conflicts?: ConflictSettings;
}

/**
 * The database listener (the seed's senders: CLR, Java, PL/Python, exh send) as a long-lived callback actor: each
 * request is answered at once with the seed's exit codes. `syncUsers` asks the supervisor to register users again.
 */
export function createDatabaseListenerActor(deps: DatabaseListenerDeps) {
  return fromCallback<SupervisorEvent>(({ sendBack }) => {
    // sendBack only reports a listener that cannot listen; users.sync goes through the ControlPort.
    if (!deps.enabled) return () => {};
    const log = deps.logger.child({ actor: 'database-listener' });
    let listener: DatabaseListener | undefined;
    let stopped = false;
    const handle: RequestHandler = (request, context) => answer(deps, request, context);
    loadTls(deps.tls)
      .then((tls) =>
        startDatabaseListener({
          host: deps.host,
          port: deps.port,
          token: deps.token,
          handle,
          logger: deps.logger,
          ...(deps.authTimeoutMs === undefined ? {} : { authTimeoutMs: deps.authTimeoutMs }),
          ...(deps.maxUnauthenticated === undefined ? {} : { maxUnauthenticated: deps.maxUnauthenticated }),
          ...(deps.maxConnections === undefined ? {} : { maxConnections: deps.maxConnections }),
          ...(tls ? { tls } : {}),
        }).catch((cause: unknown) => {
          throw errors.listenerFailed('database', deps.host, deps.port, cause);
        }),
      )
      .then(
        (started) => {
          if (stopped) {
            void started.close();
            return;
          }
          listener = started;
          deps.onListening(started.address);
          deps.track(started);
          log.action(started.address, `Database listener on ${started.address.host}:${started.address.port}`);
        },
        // Either listenerFailed (the port) or listenerTlsUnreadable (a PEM file): both stop the service.
        (error: unknown) => {
          if (!stopped) sendBack({ type: 'listener.failed', error: serializeError(error) });
        },
      );
    return () => {
      stopped = true;
      void listener?.close();
    };
  });
}

/** The PEM files of listeners.database.tls; a file that cannot be read names itself and the key to fix. */
async function loadTls(tls: DatabaseListenerDeps['tls']) {
  if (!tls) return undefined;
  const read = (file: string, key: string) =>
    readFile(file).catch((cause: unknown) => {
      throw errors.listenerTlsUnreadable(`listeners.database.tls.${key}`, file, cause);
    });
  return { cert: await read(tls.certFile, 'certFile'), key: await read(tls.keyFile, 'keyFile') };
}

async function answer(deps: DatabaseListenerDeps, request: DatabaseRequest, context: RequestContext): Promise<Reply> {
  const { remoteAddress } = context;
  const call = { signal: new AbortController().signal, priority: 'live' as const };
  switch (request.type) {
    case 'ping':
      return ok('pong');
    case 'syncUsers':
      deps.control.syncUsers();
      return ok();
    case 'syncItems': {
      const syncRequest = syncItemsFromWire(request);
      // At most one progress line a second, and the last one again every 10 s while nothing moves (waiting for the
      // live sync's lock, reading Exchange): the sender's time-out restarts with each line.
      let last = {
        user: syncRequest.user ?? '',
        itemType: syncRequest.itemType ?? '',
        done: 0,
        total: null as number | null,
      };
      let sentAt = 0;
      const send = () => {
        sentAt = Date.now();
        context.progress({ ...last });
      };
      const heartbeat = setInterval(() => {
        if (Date.now() - sentAt >= progressHeartbeatMs) send();
      }, progressHeartbeatMs);
      try {
        const outcome = await deps.control.syncItems(syncRequest, (progress) => {
          last = progress;
          if (Date.now() - sentAt >= 1_000 || progress.done === progress.total) send();
        });
        return ok(JSON.stringify(outcome));
      } catch (error) {
        return replyForError(error);
      } finally {
        clearInterval(heartbeat);
      }
    }
    case 'addAttachment': {
      const writer = deps.connections.writer(request.user);
      if (!writer) return notConnected(deps, request.user);
      try {
        const added = await writer.addAttachment(
          request.itemId,
          {
            name: request.name,
            contentType: request.contentType,
            content: Buffer.from(request.contentBase64, 'base64'),
          },
          call,
        );
        return ok(added.attachmentId);
      } catch (error) {
        return replyForError(error);
      }
    }
    case 'item': {
      const writer = deps.connections.writer(request.user);
      if (!writer) return notConnected(deps, request.user);
      const definition = itemType(request.itemType);
      const fields: Record<string, FieldValue> = {};
      for (const [name, value] of Object.entries(request.fields)) {
        const field = findField(definition, name);
        if (field) fields[name] = fromDatabaseValue(field.kind, value);
      }
      const outcome = await applyItemChange(
        deps,
        writer,
        {
          id: `Request from ${remoteAddress}`,
          user: request.user,
          itemType: request.itemType,
          action: request.action,
          fields,
          attempts: 0,
        },
        call,
      );
      return outcome.exitCode === 0
        ? ok(outcome.outputValue)
        : failure(
            outcome.errorMessage ?? 'the change failed',
            outcome.exitCode === 522 ? exitCodes.exchangeFailed : exitCodes.error,
          );
    }
    case 'getAttachment': {
      const writer = deps.connections.writer(request.user);
      if (!writer) return notConnected(deps, request.user);
      try {
        const attachment = await writer.getAttachment(request.itemId, request.attachmentId, {
          ...call,
          maxBytes: deps.maxAttachmentBytes ?? 10 * 1024 * 1024,
        });
        return ok(attachment.content.toString('base64'));
      } catch (error) {
        return replyForError(error);
      }
    }
  }
}

/** While a syncItems request with progress runs, a line at least this often (the sender's time-out restarts). */
const progressHeartbeatMs = 10_000;

const itemTypeByNumber: readonly ItemTypeName[] = ['calendar', 'contact', 'email', 'task'];

/** A syncItems request as the ControlPort takes it: dates without an offset are UTC, a date alone is its midnight. */
export function syncItemsFromWire(request: SyncItemsWireRequest): SyncItemsRequest {
  const date = (value: string | null) =>
    value === null
      ? undefined
      : new Date(/[zZ]|[+-]\d{2}:?\d{2}$/.test(value) || value.length === 10 ? value : `${value}Z`);
  const range = (from: string | null, until: string | null) => {
    const start = date(from);
    const end = date(until);
    return start || end ? { range: { ...(start ? { from: start } : {}), ...(end ? { until: end } : {}) } } : undefined;
  };
  const created = range(request.createdFrom, request.createdUntil);
  const modified = range(request.modifiedFrom, request.modifiedUntil);
  const received = range(request.receivedFrom, request.receivedUntil);
  const start = range(request.startFrom, request.startUntil);
  return {
    direction: request.direction,
    user: request.user,
    itemType: request.item === null ? null : (itemTypeByNumber[request.item] ?? null),
    add: request.add,
    chg: request.chg,
    del: request.del ?? request.direction === 0,
    ...(created ? { created: created.range } : {}),
    ...(modified ? { modified: modified.range } : {}),
    ...(received ? { received: received.range } : {}),
    ...(start ? { start: start.range } : {}),
  };
}

function notConnected(deps: Pick<DatabaseListenerDeps, 'isRegistered'>, user: string): Reply {
  if (!deps.isRegistered(user)) return replyForError(errors.mailboxUnknown(user));
  return failure(
    `The mailbox of ${user} is not connected to Exchange (yet): try again later`,
    exitCodes.exchangeFailed,
  );
}
