import { EventType, FolderId } from 'ews-javascript-api';
import type { CallOptions, FolderName, Subscription, SubscriptionEvent } from '../../../ports/exchange.port.js';
import type { EwsMailbox } from '../connection.js';
import { wellKnownFolders } from '../sync.js';

/**
 * A streaming subscription: Subscribe, then GetStreamingEvents over the project's transport, which hands over every
 * envelope however the bytes were chunked. Mailboxes share streaming connections, up to 200 subscriptions each, in
 * groups kept on one Mailbox server (groups.ts; docs/exchange-on-premises.md, "Streaming at scale"). Exchange ends a
 * stream after ConnectionTimeout minutes with ConnectionStatus Closed; the stream is then opened again at once
 * (events in between wait on the server). An error that names the subscription (ErrorSubscriptionNotFound) is one
 * `lost` event for its mailbox; anything that ends the connection (an HTTP error, a broken or silent connection) is
 * one `lost` event for each mailbox on it, after which those subscriptions are over.
 *
 * The hanging request holds its pool slot only until the answer's headers arrive: a slot held for 30 minutes per
 * connection would starve every other request. The caller's signal ends the subscription as close() does, silently
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

export function subscribeStreaming(
  mailbox: EwsMailbox,
  folders: FolderName[],
  onEvent: (event: SubscriptionEvent) => void,
  options: CallOptions,
): Promise<Subscription> {
  return mailbox.streams.subscribe(mailbox, folders, onEvent, options);
}
