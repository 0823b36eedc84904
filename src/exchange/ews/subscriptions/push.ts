import { type PushSubscription, Uri } from 'ews-javascript-api';
import { errors } from '../../../errors.js';
import type { CallOptions, FolderName, Subscription, SubscriptionEvent } from '../../../ports/exchange.port.js';
import type { EwsMailbox } from '../connection.js';
import { changedFolders } from './events.js';
import { notifySafely, toLost } from './lifecycle.js';
import { folderIdsOf, subscribedEvents } from './streaming.js';

/**
 * A push subscription: Exchange posts SendNotification to the push receiver (src/exchange/push-receiver.ts), with a
 * StatusEvent every StatusFrequency minutes when nothing happened. A subscription that hears nothing for twice that
 * long is `lost` (Exchange gave up delivering, or the receiver is unreachable for it). Push subscriptions have no
 * Unsubscribe call: closing unregisters the id, and the receiver answers Exchange's next post with Unsubscribe.
 */
export async function subscribePush(
  mailbox: EwsMailbox,
  folders: FolderName[],
  onEvent: (event: SubscriptionEvent) => void,
  options: CallOptions,
): Promise<Subscription> {
  const receiver = mailbox.push;
  if (!receiver) throw errors.pushUnavailable();
  const frequency = Math.min(1440, Math.max(1, Math.round(mailbox.tuning.pushStatusFrequencyMinutes)));
  const library: PushSubscription = await mailbox.request(options, {}, () =>
    mailbox.service.SubscribeToPushNotifications(
      folderIdsOf(folders),
      new Uri(receiver.url),
      frequency,
      null as never,
      ...subscribedEvents,
    ),
  );
  const id = library.Id;
  const log = mailbox.logger;
  const silenceMs = 2 * frequency * mailbox.tuning.minuteMs;
  let over = false;
  let watchdog: NodeJS.Timeout | undefined;

  const end = () => {
    over = true;
    clearTimeout(watchdog);
    receiver.unregister(id);
    options.signal.removeEventListener('abort', end);
  };
  const watch = () => {
    clearTimeout(watchdog);
    watchdog = setTimeout(() => {
      if (over) return;
      end();
      const error = errors.subscriptionLost(
        mailbox.user,
        `no push notification and no status event for ${silenceMs} ms (twice StatusFrequency)`,
      );
      log.warn({ subscription: id, code: error.code }, `Push subscription lost: ${error.message}`);
      notifySafely(log, id, onEvent, { type: 'lost', error: toLost(error) });
    }, silenceMs);
  };

  receiver.register(id, (notification) => {
    if (over) return;
    watch();
    if (notification.changes > 0) {
      const changed = changedFolders(notification.folderIds, folders, mailbox.folderNames);
      notifySafely(log, id, onEvent, { type: 'changed', folders: changed });
    }
  });
  options.signal.addEventListener('abort', end, { once: true });
  watch();
  log.action({ subscription: id, folders, url: receiver.url }, `Push subscription for ${folders.join(', ')}`);
  return { id, close: async () => end() };
}
