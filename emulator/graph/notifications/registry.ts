import type { TimerHandle } from '../../clock.js';
import type { Core } from '../../context.js';
import type { Mailbox } from '../../store/mailbox.js';
import type { MailboxEvent } from '../../store/model.js';
import { graphTenant } from '../token.js';
import { type DeliveryTimings, deliveryTimings, NotificationQueue, postLifecycle } from './delivery.js';
import { type ChangeType, changesFor, resourceOf, type Scope } from './resources.js';

/**
 * The Graph subscriptions of the emulator: each watches one Outlook resource of one mailbox, turns the mailbox's event
 * log into change notifications for its queue, expires at its expirationDateTime on the emulator's clock, and carries
 * the lifecycle events (https://learn.microsoft.com/graph/change-notifications-lifecycle-events) the admin API
 * triggers: `reauthorizationRequired` (notifications are held until the app reauthorizes or renews),
 * `subscriptionRemoved` (the subscription is gone), `missed` (what was queued is dropped).
 */

export type LifecycleEvent = 'reauthorizationRequired' | 'subscriptionRemoved' | 'missed';

export interface GraphSubscription {
  id: string;
  /** The resource as the client wrote it (Graph echoes it). */
  resource: string;
  scope: Scope;
  mailbox: Mailbox;
  changeTypes: ChangeType[];
  notificationUrl: string;
  lifecycleNotificationUrl: string | undefined;
  clientState: string | undefined;
  expiresAt: number;
  applicationId: string;
  /** Ids in notifications are immutable ids (the subscription was created with Prefer: IdType="ImmutableId"). */
  immutableIds: boolean;
  latestSupportedTlsVersion: string;
  /** A reauthorizationRequired was sent and the app has not reauthorized yet. */
  needsReauthorization: boolean;
  queue: NotificationQueue;
  expiryTimer: TimerHandle | undefined;
}

export interface NewGraphSubscription {
  resource: string;
  scope: Scope;
  mailbox: Mailbox;
  changeTypes: ChangeType[];
  notificationUrl: string;
  lifecycleNotificationUrl: string | undefined;
  clientState: string | undefined;
  expiresAt: number;
  applicationId: string;
  immutableIds: boolean;
  latestSupportedTlsVersion: string;
}

/** Graph writes times with seven fractional digits; ISO with milliseconds reads the same to clients. */
export function graphTime(ms: number): string {
  return new Date(ms).toISOString().replace(/\.(\d{3})Z$/, '.$10000Z');
}

export class GraphSubscriptions {
  private readonly byId = new Map<string, GraphSubscription>();
  private readonly unsubscribe: () => void;
  /** Lifecycle notifications sent (also those that failed), oldest first, for the admin listing and tests. */
  readonly lifecycleLog: { subscriptionId: string; event: LifecycleEvent; url: string; delivered: boolean }[] = [];

  constructor(private readonly core: Core) {
    this.unsubscribe = core.store.onEvent((mailbox, event) => this.dispatch(mailbox, event));
  }

  timings(): DeliveryTimings {
    return deliveryTimings(this.core.settings.minuteMs);
  }

  create(input: NewGraphSubscription): GraphSubscription {
    const id = crypto.randomUUID();
    const subscription: GraphSubscription = {
      ...input,
      id,
      needsReauthorization: false,
      expiryTimer: undefined,
      queue: new NotificationQueue(
        this.core,
        () => this.timings(),
        () => subscription.notificationUrl,
        () => void this.lifecycle(subscription, 'missed'),
        id,
      ),
    };
    this.byId.set(id, subscription);
    this.armExpiry(subscription);
    this.core.log.info(
      { subscription: id, resource: input.resource, mailbox: input.mailbox.address },
      'Graph subscription created',
    );
    return subscription;
  }

  get(id: string): GraphSubscription | undefined {
    const subscription = this.byId.get(id);
    if (subscription && subscription.expiresAt <= this.core.now()) {
      this.remove(id, 'expired');
      return undefined;
    }
    // A mailbox removed through the admin API takes its subscriptions with it.
    if (subscription && this.core.store.get(subscription.mailbox.address) !== subscription.mailbox) {
      this.remove(id, 'mailbox removed');
      return undefined;
    }
    return subscription;
  }

  list(): GraphSubscription[] {
    return [...this.byId.keys()].map((id) => this.get(id)).filter((s): s is GraphSubscription => s !== undefined);
  }

  countFor(mailbox: Mailbox): number {
    return this.list().filter((s) => s.mailbox === mailbox).length;
  }

  /** Renews (PATCH): a new expiry, and a renewal also reauthorizes. */
  renew(subscription: GraphSubscription, expiresAt: number): void {
    subscription.expiresAt = expiresAt;
    this.armExpiry(subscription);
    this.reauthorize(subscription);
  }

  reauthorize(subscription: GraphSubscription): void {
    subscription.needsReauthorization = false;
    if (subscription.queue.held) subscription.queue.release();
  }

  remove(id: string, why: string): boolean {
    const subscription = this.byId.get(id);
    if (!subscription) return false;
    this.byId.delete(id);
    this.core.clock.clearTimeout(subscription.expiryTimer);
    subscription.queue.stop();
    this.core.log.info({ subscription: id, why }, 'Graph subscription ended');
    return true;
  }

  private armExpiry(subscription: GraphSubscription): void {
    this.core.clock.clearTimeout(subscription.expiryTimer);
    subscription.expiryTimer = this.core.clock.setTimeout(
      () => {
        if (this.byId.get(subscription.id) === subscription && subscription.expiresAt <= this.core.now())
          this.remove(subscription.id, 'expired');
      },
      Math.max(0, subscription.expiresAt - this.core.now()),
    );
  }

  private dispatch(mailbox: Mailbox, event: MailboxEvent): void {
    for (const subscription of this.byId.values()) {
      if (subscription.mailbox !== mailbox) continue;
      for (const change of changesFor(mailbox, subscription.scope, event)) {
        if (!subscription.changeTypes.includes(change.changeType)) continue;
        subscription.queue.push(this.notification(subscription, change));
      }
    }
  }

  private notification(
    subscription: GraphSubscription,
    change: ReturnType<typeof changesFor>[number],
  ): Record<string, unknown> {
    const { resource, resourceData } = resourceOf(
      subscription.mailbox,
      subscription.scope,
      change,
      subscription.immutableIds,
    );
    return {
      subscriptionId: subscription.id,
      subscriptionExpirationDateTime: graphTime(subscription.expiresAt),
      changeType: change.changeType,
      resource,
      resourceData,
      ...(subscription.clientState !== undefined ? { clientState: subscription.clientState } : {}),
      tenantId: graphTenant(this.core).app.tenantId,
    };
  }

  /**
   * Raises a lifecycle event on a subscription: posts the lifecycle notification to its lifecycleNotificationUrl
   * (when it has one) and does what the event means here.
   */
  async lifecycle(subscription: GraphSubscription, event: LifecycleEvent): Promise<boolean> {
    if (event === 'reauthorizationRequired') {
      subscription.needsReauthorization = true;
      subscription.queue.held = true;
    } else if (event === 'subscriptionRemoved') {
      this.remove(subscription.id, 'subscriptionRemoved');
    } else {
      subscription.queue.discard();
    }
    const url = subscription.lifecycleNotificationUrl;
    if (!url) return false;
    const delivered = await postLifecycle(
      this.core,
      url,
      {
        subscriptionId: subscription.id,
        subscriptionExpirationDateTime: graphTime(subscription.expiresAt),
        tenantId: graphTenant(this.core).app.tenantId,
        ...(subscription.clientState !== undefined ? { clientState: subscription.clientState } : {}),
        lifecycleEvent: event,
      },
      this.timings(),
    );
    this.lifecycleLog.push({ subscriptionId: subscription.id, event, url, delivered });
    return delivered;
  }

  close(): void {
    this.unsubscribe();
    for (const id of [...this.byId.keys()]) this.remove(id, 'emulator closing');
  }
}

const registries = new WeakMap<Core, GraphSubscriptions>();

/** The Graph subscriptions of this emulator (created on first use). */
export function graphSubscriptions(core: Core): GraphSubscriptions {
  let registry = registries.get(core);
  if (!registry) {
    registry = new GraphSubscriptions(core);
    registries.set(core, registry);
  }
  return registry;
}
