import { EventType, type PullSubscription } from 'ews-javascript-api';
import { type ExhError, errors, isExhError } from '../../../errors.js';
import type { CallOptions, FolderName, Subscription, SubscriptionEvent } from '../../../ports/exchange.port.js';
import type { EwsMailbox } from '../connection.js';
import { changedFolders } from './events.js';
import { fingerprint, notifySafely, toLost, unsubscribeQuietly } from './lifecycle.js';
import { folderIdsOf, subscribedEvents } from './streaming.js';

/**
 * A pull subscription: Subscribe (Exchange answers with the first watermark), then GetEvents every pullIntervalMs,
 * at once again while MoreEvents says so; the library carries each answer's watermark into the next call. Any
 * failure of GetEvents (ErrorSubscriptionNotFound after Exchange dropped it, an invalid watermark, a lost
 * connection) is one `lost` event: what happened meanwhile is read with SyncFolderItems after subscribing again.
 */
export async function subscribePull(
  mailbox: EwsMailbox,
  folders: FolderName[],
  onEvent: (event: SubscriptionEvent) => void,
  options: CallOptions,
): Promise<Subscription> {
  const timeout = Math.min(1440, Math.max(1, Math.round(mailbox.tuning.pullTimeoutMinutes)));
  const library: PullSubscription = await mailbox.request(options, {}, () =>
    // No watermark: the subscription starts now, and SyncFolderItems covers what came before.
    mailbox.service.SubscribeToPullNotifications(folderIdsOf(folders), timeout, null as never, ...subscribedEvents),
  );
  const log = mailbox.logger;
  const subscription = library.Id;
  const stop = new AbortController();
  const signal = AbortSignal.any([stop.signal, options.signal]);
  let timer: NodeJS.Timeout | undefined;
  let over = false;

  const lose = (error: ExhError) => {
    if (over) return;
    over = true;
    stop.abort();
    clearTimeout(timer);
    log.warn({ subscription: fingerprint(subscription), code: error.code }, `Pull subscription lost: ${error.message}`);
    notifySafely(log, subscription, onEvent, { type: 'lost', error: toLost(error) });
  };

  const poll = async () => {
    timer = undefined;
    if (over || signal.aborted) return;
    try {
      const results = await mailbox.request({ priority: 'live', signal }, {}, () => library.GetEvents());
      const folderIds: string[] = [];
      let changes = 0;
      for (const event of results.AllEvents) {
        if (event.EventType === EventType.Status) continue;
        changes++;
        const named = event as typeof event & { FolderId?: { UniqueId?: string }; OldFolderId?: { UniqueId?: string } };
        for (const id of [event.ParentFolderId, event.OldParentFolderId, named.FolderId, named.OldFolderId]) {
          if (id?.UniqueId?.trim()) folderIds.push(id.UniqueId.trim());
        }
      }
      if (over || signal.aborted) return;
      if (changes > 0) {
        notifySafely(log, subscription, onEvent, {
          type: 'changed',
          folders: changedFolders(folderIds, folders, mailbox.folderNames),
        });
      }
      timer = setTimeout(poll, library.MoreEventsAvailable ? 0 : mailbox.tuning.pullIntervalMs);
    } catch (error) {
      if (signal.aborted) return;
      lose(isExhError(error) ? error : errors.subscriptionLost(mailbox.user, String(error), error));
    }
  };

  timer = setTimeout(poll, mailbox.tuning.pullIntervalMs);
  log.action({ subscription: fingerprint(subscription), folders }, `Pull subscription for ${folders.join(', ')}`);
  return {
    id: library.Id,
    close: async () => {
      over = true;
      stop.abort();
      clearTimeout(timer);
      await unsubscribeQuietly(mailbox, () => library.Unsubscribe());
    },
  };
}
