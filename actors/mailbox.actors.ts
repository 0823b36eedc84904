import { fromCallback, fromPromise } from 'xstate';
import type { ConnectOutput, MailboxEvent } from '../machines/mailbox.machine.js';
import { type SerializedError, serializeError } from '../machines/report.js';
import type { ExhLogger } from '../src/logging/logger.js';
import type { Connections } from '../src/mailbox/connections.js';
import type { DatabasePort } from '../src/ports/database.port.js';
import type {
  ExchangePort,
  FolderName,
  MailboxConnection,
  NotificationKind,
  Subscription,
} from '../src/ports/exchange.port.js';

export interface MailboxDeps {
  exchange: ExchangePort;
  db: DatabasePort;
  connections: Connections;
  /**
   * The configured notification kinds, preferred first (exchange.notifications, exchange.graph.notifications): each
   * mailbox subscribes with the first its connection's backend offers (MailboxConnection.capabilities).
   */
  notifications: readonly NotificationKind[];
  logger: ExhLogger;
}

/** The kind a mailbox subscribes with: the first configured one its backend offers; undefined: none. */
export function notificationKindOf(
  connection: Pick<MailboxConnection, 'capabilities'>,
  configured: readonly NotificationKind[],
): NotificationKind | undefined {
  return configured.find((kind) => connection.capabilities.notifications.includes(kind));
}

export function createMailboxActors(deps: MailboxDeps) {
  return {
    connect: fromPromise<ConnectOutput, { user: string; backend?: string }>(async ({ input, signal }) => {
      const connection = await deps.exchange.connect(input.user, {
        signal,
        priority: 'catchUp',
        ...(input.backend === undefined ? {} : { backend: input.backend }),
      });
      // A mailbox stopped while this ran must not overwrite the connection of the mailbox that replaced it.
      if (signal.aborted) throw signal.reason;
      deps.connections.set(input.user, connection);
      return { endpoint: connection.endpoint, folders: connection.capabilities.folders };
    }),

    // Started on entering connected, right after `connect` put the connection there: what it finds is this mailbox's.
    holdConnection: fromCallback<MailboxEvent, { user: string }>(({ input }) => {
      const connection = deps.connections.find(input.user);
      return () => {
        if (connection) deps.connections.release(input.user, connection);
      };
    }),

    subscription: fromCallback<MailboxEvent, { user: string; folders: FolderName[] }>(({ input, sendBack }) => {
      const connection = deps.connections.get(input.user);
      const controller = new AbortController();
      let subscription: Subscription | undefined;
      let stopped = false;
      const lost = (error: SerializedError) => {
        if (!stopped) sendBack({ type: 'subscription.lost', error });
      };
      const kind = notificationKindOf(connection, deps.notifications);
      if (kind === undefined) {
        // The composition root checks the configuration against the backends; a backend offering none is a bug.
        throw new Error(
          `The Exchange backend of ${input.user} offers none of the configured notification kinds (${deps.notifications.join(', ')})`,
        );
      }
      connection
        .subscribe(
          input.folders,
          kind,
          (event) => {
            if (stopped) return;
            if (event.type === 'changed') sendBack({ type: 'subscription.changed', folders: event.folders });
            else lost(event.error);
          },
          { signal: controller.signal, priority: 'live' },
        )
        .then(
          (opened) => {
            if (stopped) {
              void opened.close().catch(() => {});
              return;
            }
            subscription = opened;
            deps.logger
              .child({ actor: 'mailbox', user: input.user })
              .action({ folders: input.folders, kind }, `Subscribed (${kind}) to ${input.folders.join(', ')}`);
            sendBack({ type: 'subscription.ready' });
          },
          (error: unknown) => lost(serializeError(error)),
        );
      return () => {
        stopped = true;
        controller.abort();
        if (subscription) deps.connections.closing(subscription.close());
      };
    }),

    recordDisabled: fromPromise<void, { user: string; error: SerializedError | null }>(async ({ input }) => {
      await deps.db.logError({
        user: input.user,
        code: input.error?.code ?? 'EXH_MAILBOX_DISABLED',
        message: `Mailbox disabled until users are registered again: ${input.error?.message ?? 'repeated permanent errors'}`,
      });
    }),
  };
}
