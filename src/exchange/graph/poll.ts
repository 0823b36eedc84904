import { randomUUID } from 'node:crypto';
import { errors } from '../../errors.js';
import type {
  CallOptions,
  FolderName,
  NotificationKind,
  Subscription,
  SubscriptionEvent,
} from '../../ports/exchange.port.js';
import type { GraphMailbox, WebhookSubscriber } from './connection.js';

/**
 * MailboxConnection.subscribe for Graph. `poll` (exchange.graph.notifications, the default): every
 * exchange.graph.pollIntervalMs the subscriber is told to look again at its folders, and reads their delta — all
 * there is without a public URL. `webhook`: Graph's change notifications (./subscribe.ts), when the adapter was
 * given them. A notification only wakes the delta read either way.
 */
export async function subscribe(
  mailbox: GraphMailbox,
  request: {
    folders: FolderName[];
    kind: NotificationKind;
    onEvent: (event: SubscriptionEvent) => void;
    options: CallOptions;
    webhook: WebhookSubscriber | undefined;
  },
): Promise<Subscription> {
  const { folders, kind, onEvent, options } = request;
  if (options.signal.aborted) throw errors.poolAborted();
  if (kind === 'poll') return subscribePoll(folders, onEvent, mailbox.graph.pollIntervalMs);
  if (kind === 'webhook' && request.webhook) return request.webhook(mailbox, folders, onEvent, options);
  throw errors.exchangeRequestFailed(
    mailbox.endpoint,
    'unsupported',
    kind === 'webhook'
      ? 'webhook notifications are not set up for this adapter: use exchange.graph.notifications "poll"'
      : `Microsoft Graph has no ${kind} notifications: use exchange.graph.notifications "poll" or "webhook"`,
  );
}

export function subscribePoll(
  folders: FolderName[],
  onEvent: (event: SubscriptionEvent) => void,
  intervalMs: number,
): Subscription {
  const timer = setInterval(() => onEvent({ type: 'changed', folders: [...folders] }), intervalMs);
  timer.unref?.();
  return {
    id: `poll-${randomUUID()}`,
    close: async () => {
      clearInterval(timer);
    },
  };
}
