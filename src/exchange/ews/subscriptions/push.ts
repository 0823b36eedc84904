import { type PushSubscription, Uri } from 'ews-javascript-api';
import { errors } from '../../../errors.js';
import type { CallOptions, FolderName, Subscription, SubscriptionEvent } from '../../../ports/exchange.port.js';
import type { EwsMailbox } from '../connection.js';
import { changedFolders } from './events.js';
import { fingerprint, notifySafely, toLost } from './lifecycle.js';
import { folderIdsOf, subscribedEvents } from './streaming.js';

/**
 * A push subscription: Exchange posts SendNotification to the push receiver (src/exchange/push-receiver.ts), with a
 * StatusEvent every StatusFrequency minutes when nothing happened. Each subscription registers a URL of its own with
 * an unguessable secret (the receiver's `open`), so that only Exchange, which was told the URL, can post to it. A
 * subscription that hears nothing for twice StatusFrequency is `lost` (Exchange gave up delivering, or the receiver
 * is unreachable for it). Push subscriptions have no Unsubscribe call: closing retires the secret, and the receiver
 * answers Exchange's next post to it with Unsubscribe.
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
  const endpoint = receiver.open();
  let library: PushSubscription;
  try {
    library = await mailbox.request(options, {}, () =>
      mailbox.service.SubscribeToPushNotifications(
        folderIdsOf(folders),
        new Uri(endpoint.url),
        frequency,
        null as never,
        ...subscribedEvents,
      ),
    );
  } catch (error) {
    endpoint.close();
    throw error;
  }
  const id = library.Id;
  const log = mailbox.logger;
  const silenceMs = 2 * frequency * mailbox.tuning.minuteMs;
  let over = false;
  let watchdog: NodeJS.Timeout | undefined;

  const end = () => {
    over = true;
    clearTimeout(watchdog);
    endpoint.close();
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
      log.warn({ subscription: fingerprint(id), code: error.code }, `Push subscription lost: ${error.message}`);
      notifySafely(log, id, onEvent, { type: 'lost', error: toLost(error) });
    }, silenceMs);
  };

  endpoint.bind(id, (notification) => {
    if (over) return;
    watch();
    if (notification.changes > 0) {
      const changed = changedFolders(notification.folderIds, folders, mailbox.folderNames);
      notifySafely(log, id, onEvent, { type: 'changed', folders: changed });
    }
  });
  options.signal.addEventListener('abort', end, { once: true });
  watch();
  // The receiver's URL without the secret: whoever reads the log must not be able to post to this subscription.
  log.action(
    { subscription: fingerprint(id), folders, url: receiver.url },
    `Push subscription for ${folders.join(', ')}`,
  );
  return { id, close: async () => end() };
}
