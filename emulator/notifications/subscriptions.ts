import type { EmulatorLogger, EmulatorSettings } from '../context.js';
import { EwsError } from '../soap/response-codes.js';
import { newToken } from '../store/ids.js';
import type { Mailbox } from '../store/mailbox.js';
import type { EventType, MailboxEvent } from '../store/model.js';
import type { Store } from '../store/store.js';

/**
 * Every subscription (pull, push, streaming) with its folders, event types and position in its mailbox's event log.
 * Pull subscriptions read the log from a watermark; push and streaming ones queue matching events until they are
 * delivered. Subscriptions expire as on Exchange: pull after Timeout minutes without GetEvents, streaming after 30
 * minutes without a connection, push when delivery gives up; an expired one is ErrorSubscriptionNotFound.
 */

export type SubscriptionKind = 'pull' | 'push' | 'streaming';

export interface Subscription {
  id: string;
  kind: SubscriptionKind;
  mailbox: Mailbox;
  /** The account that created it: only that account, acting on the same mailbox, may use it. */
  account: string;
  /** Undefined: all folders (SubscribeToAllFolders). */
  folders: Set<string> | undefined;
  eventTypes: Set<EventType>;
  /** Everything up to this sequence number is delivered (push/streaming) or was read (pull). */
  position: number;
  lastActivity: number;
  /** Pull: the Timeout; streaming: how long it lives without a connection. */
  idleLimitMs: number;
  pending: MailboxEvent[];
  /** Wakes whoever delivers this subscription's events (a streaming connection, the push sender). */
  wake: (() => void) | undefined;
  /** Streaming: whether a connection currently carries it. */
  attached: boolean;
  push?: { url: string; statusFrequencyMs: number; callerData?: string };
  onRemoved?: () => void;
  /** Streaming: takes the subscription off the connection that carries it (a newer connection takes it over). */
  detach?: () => void;
}

/**
 * An open streaming connection, so that the emulator can count them per budget and end them on close. The budget is
 * whose HangingConnectionLimit it counts against, as on Exchange: the account's own when it acts on its own mailbox,
 * else the copy of the impersonated mailbox's budget that every account impersonating that mailbox shares.
 */
export interface HangingConnection {
  budget: string;
  /** The subscriptions it carries (for admin.streamingConnections()). */
  subscriptions(): string[];
  close(): void;
}

/** The budget a hanging connection counts against (see HangingConnection). */
export function budgetOf(account: string, mailbox: Mailbox): string {
  return account === mailbox.address ? account : `${mailbox.address} (impersonated)`;
}

export interface NewSubscription {
  kind: SubscriptionKind;
  mailbox: Mailbox;
  account: string;
  folders: Set<string> | undefined;
  eventTypes: Set<EventType>;
  position: number;
  idleLimitMs: number;
  push?: Subscription['push'];
}

export class Subscriptions {
  private readonly byId = new Map<string, Subscription>();
  private readonly unsubscribe: () => void;
  readonly connections = new Set<HangingConnection>();

  constructor(
    store: Store,
    private readonly settings: EmulatorSettings,
    private readonly now: () => number,
    private readonly log: EmulatorLogger,
  ) {
    this.unsubscribe = store.onEvent((mailbox, event) => this.dispatch(mailbox, event));
  }

  matches(subscription: Subscription, event: MailboxEvent): boolean {
    if (!subscription.eventTypes.has(event.type)) return false;
    if (!subscription.folders) return true;
    // A subscribed folder's own change (its unread count after new mail) is the subscription's too, as in
    // Microsoft's GetStreamingEvents example: a ModifiedEvent whose FolderId is the subscribed Inbox.
    return (
      subscription.folders.has(event.parentFolderId) ||
      (event.folderId !== undefined && subscription.folders.has(event.folderId)) ||
      (event.oldParentFolderId !== undefined && subscription.folders.has(event.oldParentFolderId))
    );
  }

  private dispatch(mailbox: Mailbox, event: MailboxEvent): void {
    for (const subscription of this.byId.values()) {
      if (subscription.mailbox !== mailbox || subscription.kind === 'pull') continue;
      if (!this.matches(subscription, event)) continue;
      subscription.pending.push(event);
      subscription.wake?.();
    }
  }

  create(input: NewSubscription): Subscription {
    this.sweep();
    const subscription: Subscription = {
      ...input,
      id: newToken(24),
      lastActivity: this.now(),
      pending: [],
      wake: undefined,
      attached: false,
    };
    this.byId.set(subscription.id, subscription);
    this.log.info({ subscription: subscription.id, kind: input.kind, mailbox: input.mailbox.address }, 'Subscribed');
    return subscription;
  }

  private expired(subscription: Subscription): boolean {
    if (subscription.kind === 'push' || subscription.attached) return false;
    return this.now() - subscription.lastActivity > subscription.idleLimitMs;
  }

  /** Drops expired subscriptions (they would answer ErrorSubscriptionNotFound anyway). */
  sweep(): void {
    for (const subscription of this.byId.values()) if (this.expired(subscription)) this.remove(subscription.id);
  }

  /**
   * A live subscription of this account in this mailbox, or the EWS error a client gets for it. A subscription
   * belongs to the logged-on account and to the mailbox it was made in: the service account impersonating bob cannot
   * read the subscription it made as alice (ErrorSubscriptionAccessDenied), as on Exchange.
   */
  get(id: string, account: string, mailbox: Mailbox): Subscription {
    const subscription = this.byId.get(id);
    if (!subscription || this.expired(subscription)) {
      if (subscription) this.remove(id);
      throw new EwsError('ErrorSubscriptionNotFound');
    }
    if (subscription.account !== account || subscription.mailbox !== mailbox)
      throw new EwsError('ErrorSubscriptionAccessDenied');
    return subscription;
  }

  /**
   * A live streaming subscription this account made, for GetStreamingEvents: one connection may carry the
   * subscriptions of many mailboxes (Microsoft's grouped subscriptions), so only the account that made each one is
   * checked, whichever mailbox the request impersonates.
   */
  streamable(id: string, account: string): Subscription {
    const subscription = this.byId.get(id);
    if (!subscription || this.expired(subscription)) {
      if (subscription) this.remove(id);
      throw new EwsError('ErrorSubscriptionNotFound');
    }
    if (subscription.account !== account) throw new EwsError('ErrorSubscriptionAccessDenied');
    if (subscription.kind !== 'streaming')
      throw new EwsError('ErrorInvalidSubscription', 'Not a streaming subscription.');
    return subscription;
  }

  remove(id: string): boolean {
    const subscription = this.byId.get(id);
    if (!subscription) return false;
    this.byId.delete(id);
    subscription.onRemoved?.();
    this.log.info({ subscription: id, mailbox: subscription.mailbox.address }, 'Subscription ended');
    return true;
  }

  /** Ends subscriptions, as when Exchange loses them (admin fault "expire"); returns how many. */
  expire(filter: { mailbox?: string; kind?: SubscriptionKind } = {}): number {
    let count = 0;
    for (const subscription of [...this.byId.values()]) {
      if (filter.mailbox && subscription.mailbox.address !== filter.mailbox.toLowerCase()) continue;
      if (filter.kind && subscription.kind !== filter.kind) continue;
      if (this.remove(subscription.id)) count++;
    }
    return count;
  }

  list(): Subscription[] {
    this.sweep();
    return [...this.byId.values()];
  }

  /** Streaming subscriptions live this long without a connection. */
  get streamingIdleMs(): number {
    return 30 * this.settings.minuteMs;
  }

  hangingConnections(budget: string): number {
    let count = 0;
    for (const connection of this.connections) if (connection.budget === budget) count++;
    return count;
  }

  close(): void {
    for (const connection of [...this.connections]) connection.close();
    this.unsubscribe();
    for (const id of [...this.byId.keys()]) this.remove(id);
  }
}
