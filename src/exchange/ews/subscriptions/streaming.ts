import { EventType, FolderId, type StreamingSubscription } from 'ews-javascript-api';
import { type ExhError, errors, isExhError } from '../../../errors.js';
import type { CallOptions, FolderName, Subscription, SubscriptionEvent } from '../../../ports/exchange.port.js';
import type { EwsMailbox } from '../connection.js';
import { fromResponseCode, responseMessageFault } from '../errors.js';
import { errorContext, soapEnvelope, soapHeaders } from '../soap.js';
import { wellKnownFolders } from '../sync.js';
import type { OpenStream } from '../transport.js';
import { all, at, escapeXml, parseXml, textOf } from '../xml.js';
import { changedFolders, summarize } from './events.js';
import { fingerprint, notifySafely, toLost, unsubscribeQuietly } from './lifecycle.js';

/**
 * A streaming subscription: Subscribe (through the library), then GetStreamingEvents over the project's transport,
 * which hands over every envelope however the bytes were chunked. Exchange ends a stream after ConnectionTimeout
 * minutes with ConnectionStatus Closed; the stream is then opened again at once (events in between wait on the
 * server). Anything else that ends it — an HTTP error, a broken or silent connection, an error message such as
 * ErrorSubscriptionNotFound — is one `lost` event, after which the subscription is over.
 *
 * The hanging request holds its pool slot only until the answer's headers arrive: a slot held for 30 minutes per
 * mailbox would starve every other request. The caller's signal ends the subscription as close() does, silently
 * (this holds for pull and push subscriptions too); no event follows close().
 */

export const subscribedEvents = [
  EventType.NewMail,
  EventType.Created,
  EventType.Deleted,
  EventType.Modified,
  EventType.Moved,
  EventType.Copied,
];

export function folderIdsOf(folders: readonly FolderName[]): FolderId[] {
  return folders.map((folder) => new FolderId(wellKnownFolders[folder]));
}

/** Streams that end by themselves this often in a row, well before ConnectionTimeout, are a server that will not hold them. */
const maxQuickEnds = 3;

export async function subscribeStreaming(
  mailbox: EwsMailbox,
  folders: FolderName[],
  onEvent: (event: SubscriptionEvent) => void,
  options: CallOptions,
): Promise<Subscription> {
  const library: StreamingSubscription = await mailbox.request(options, {}, () =>
    mailbox.service.SubscribeToStreamingNotifications(folderIdsOf(folders), ...subscribedEvents),
  );
  const id = library.Id;
  const log = mailbox.logger;
  const stop = new AbortController();
  const signal = AbortSignal.any([stop.signal, options.signal]);
  const minutes = Math.min(30, Math.max(1, Math.round(mailbox.tuning.streamingConnectionMinutes)));
  const body = soapEnvelope(
    mailbox.target,
    `<m:GetStreamingEvents><m:SubscriptionIds><t:SubscriptionId>${escapeXml(id)}</t:SubscriptionId>` +
      `</m:SubscriptionIds><m:ConnectionTimeout>${minutes}</m:ConnectionTimeout></m:GetStreamingEvents>`,
  );
  const quickEndMs = Math.min(1_000, (minutes * mailbox.tuning.minuteMs) / 2);
  let stream: OpenStream | undefined;
  let over = false;
  let quickEnds = 0;

  const lose = (error: ExhError) => {
    if (over) return;
    over = true;
    stream?.close();
    stop.abort();
    log.warn({ subscription: fingerprint(id), code: error.code }, `Streaming subscription lost: ${error.message}`);
    notifySafely(log, id, onEvent, { type: 'lost', error: toLost(error) });
  };

  const onEnvelope = (envelope: string) => {
    let messages: ReturnType<typeof all>;
    try {
      messages = all(
        at(parseXml(envelope), 'Envelope', 'Body', 'GetStreamingEventsResponse', 'ResponseMessages'),
        'GetStreamingEventsResponseMessage',
      );
    } catch (error) {
      lose(errors.subscriptionLost(mailbox.user, `an unreadable notification: ${(error as Error).message}`));
      return;
    }
    const folderIds: string[] = [];
    let changes = 0;
    for (const message of messages) {
      const fault = responseMessageFault(message);
      if (fault) {
        lose(fromResponseCode(fault, errorContext(mailbox.target)));
        return;
      }
      for (const notification of all(at(message, 'Notifications'), 'Notification')) {
        const summary = summarize(notification);
        changes += summary.changes;
        folderIds.push(...summary.folderIds);
      }
      if (textOf(message, 'ConnectionStatus')?.trim() === 'Closed')
        log.debug({ subscription: fingerprint(id) }, 'Exchange closes the stream');
    }
    if (changes > 0) {
      notifySafely(log, id, onEvent, {
        type: 'changed',
        folders: changedFolders(folderIds, folders, mailbox.folderNames),
      });
    }
  };

  const open = async (): Promise<void> => {
    const openedAt = Date.now();
    stream = await mailbox.request({ priority: 'live', signal }, {}, (requestSignal) =>
      mailbox.transport.openStream(
        mailbox.target.url,
        body,
        soapHeaders(mailbox.target),
        requestSignal,
        { user: mailbox.user, account: mailbox.target.account },
        {
          silenceMs: mailbox.tuning.streamSilenceMs,
          onEnvelope,
          onEnd: (error) => {
            if (over || signal.aborted) return;
            if (error) {
              lose(error);
              return;
            }
            quickEnds = Date.now() - openedAt < quickEndMs ? quickEnds + 1 : 0;
            if (quickEnds >= maxQuickEnds) {
              lose(errors.subscriptionLost(mailbox.user, 'Exchange ends every notification stream at once'));
              return;
            }
            reopen();
          },
        },
      ),
    );
    if (over || signal.aborted) stream.close();
  };

  const reopen = () => {
    open().catch((error: unknown) => {
      if (signal.aborted) return;
      lose(isExhError(error) ? error : errors.subscriptionLost(mailbox.user, String(error), error));
    });
  };

  try {
    await open();
  } catch (error) {
    stop.abort();
    void unsubscribeQuietly(mailbox, () => library.Unsubscribe());
    throw error;
  }
  log.action({ subscription: fingerprint(id), folders }, `Streaming subscription for ${folders.join(', ')}`);
  return {
    id,
    close: async () => {
      if (!over) over = true;
      stop.abort();
      stream?.close();
      await unsubscribeQuietly(mailbox, () => library.Unsubscribe());
    },
  };
}
