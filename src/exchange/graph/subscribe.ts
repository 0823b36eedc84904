import { randomBytes } from 'node:crypto';
import { z } from 'zod';
import type { Config } from '../../config/schema.js';
import { type ExhError, errors, isExhError } from '../../errors.js';
import type { ExhLogger } from '../../logging/logger.js';
import type { CallOptions, FolderName, Subscription, SubscriptionEvent } from '../../ports/exchange.port.js';
import { fingerprint, notifySafely, toLost } from '../subscription-events.js';
import type { GraphClient } from './client.js';
import type { WebhookSubscriber } from './connection.js';
import { type GraphNotification, type GraphWebhookReceiver, lifecycleUrlOf } from './webhook-receiver.js';

/**
 * A mailbox's Microsoft Graph change notifications (exchange.graph.notifications "webhook"; docs/exchange-online.md,
 * "Notifications"): one Graph subscription per subscribed resource — `mailFolders('inbox')/messages`,
 * `mailFolders('sentitems')/messages`, `events`, `contacts` of `users/{user}`, those of the folders asked for —
 * `created,updated,deleted`, each with a clientState of its own (256 random bits, 43 characters), posting to
 * exchange.graph.notificationUrl and its lifecycle events to that URL + `/lifecycle` (lifecycleUrlOf), lasting
 * exchange.graph.subscriptionMinutes and renewed (PATCH) at two thirds of the life Graph granted.
 *
 * A notification only wakes the delta read of its folder (`changed`); lifecycle events: reauthorizationRequired →
 * `POST subscriptions/{id}/reauthorize`; subscriptionRemoved → created again, then `changed` for its folder (delta
 * catches up on the gap); missed → `changed`. To-do tasks have no app-only subscriptions (Graph documents todoTask
 * subscriptions for /me only), so tasks — and any folder without a resource here — are polled every pollIntervalMs;
 * every folder is also polled every pollIntervalMs × 10, a safety net for notifications Graph never delivered.
 *
 * Graph validates notificationUrl while it creates a subscription; a failure (or any other refused create) becomes
 * EXH_EXCHANGE_WEBHOOK_FAILED naming exchange.graph.notificationUrl and listeners.graph (retryable: the mailbox backs
 * off and subscribes again), and what was created is deleted. Throttling, permissions and the like keep the
 * catalogue's error the client gave. Later failures (a renewal refused for good, a subscription that cannot be
 * created again) are reported once as `lost`, after which the subscription does nothing more until close(), which
 * deletes its Graph subscriptions (best effort) and unregisters them from the receiver.
 */

/** Time and timers; tests pass a simulated clock (the emulator's EmulatorClock has the same shape). */
export interface WebhookClock {
  now(): number;
  setTimeout(run: () => void, ms: number): object;
  clearTimeout(handle: object | undefined): void;
}

export const systemWebhookClock: WebhookClock = {
  now: () => Date.now(),
  setTimeout(run, ms) {
    const timer = setTimeout(run, ms);
    timer.unref();
    return timer;
  },
  clearTimeout(handle) {
    if (handle) clearTimeout(handle as NodeJS.Timeout);
  },
};

export interface WebhookDeps {
  /** The Graph client; the adapter passes its mailbox's `send`, so that these requests count against the mailbox. */
  client: Pick<GraphClient, 'request'>;
  receiver: Pick<GraphWebhookReceiver, 'register' | 'unregister'>;
  /** exchange.graph.notificationUrl: the public HTTPS URL in front of listeners.graph. */
  notificationUrl: string;
  /** listeners.graph as `host:port`, for messages. */
  listener: string;
  /** exchange.graph.subscriptionMinutes. */
  subscriptionMinutes: number;
  /** exchange.graph.pollIntervalMs: tasks are polled this often, every folder ten times less often. */
  pollIntervalMs: number;
  logger: ExhLogger;
  clock?: WebhookClock;
}

/**
 * The adapter's webhook subscriptions (GraphExchangeDeps.webhook) over a running receiver, as configured:
 * exchange.graph.notificationUrl, subscriptionMinutes, pollIntervalMs and listeners.graph for messages.
 */
export function createWebhookSubscriber(
  config: Pick<Config, 'exchange' | 'listeners'>,
  receiver: Pick<GraphWebhookReceiver, 'register' | 'unregister'>,
  options: { clock?: WebhookClock } = {},
): WebhookSubscriber {
  const graph = config.exchange.graph;
  const listener = config.listeners.graph;
  if (!graph.notificationUrl) {
    throw errors.configInvalid('configuration', [
      'exchange.graph.notificationUrl: required when exchange.graph.notifications is "webhook"',
    ]);
  }
  const notificationUrl = graph.notificationUrl;
  /** Before this process's first subscription: what an earlier run left behind at this URL is deleted. */
  let swept: Promise<void> | undefined;
  return async (mailbox, folders, onEvent, call) => {
    swept ??= sweepStale(
      { request: (request, requestOptions) => mailbox.send(request, requestOptions) },
      notificationUrl,
      mailbox.logger,
    );
    await swept;
    return subscribeWebhook(
      {
        client: { request: (request, requestOptions) => mailbox.send(request, requestOptions) },
        receiver,
        notificationUrl,
        listener: `${listener.host}:${listener.port}`,
        subscriptionMinutes: graph.subscriptionMinutes,
        pollIntervalMs: graph.pollIntervalMs,
        logger: mailbox.logger,
        ...(options.clock ? { clock: options.clock } : {}),
      },
      mailbox.user,
      folders,
      onEvent,
      call,
    );
  };
}

/**
 * Deletes the Graph subscriptions of this application that post to `notificationUrl`, best effort: called before a
 * process makes its first one, every such subscription is an earlier run's (one that ended without close(): a crash,
 * a kill). Left alone they would post to the receiver until they expire — dropped there as unknown, logged and
 * counted — and count against Graph's 1,000 subscriptions per mailbox. So two running connectors must never share a
 * notificationUrl (neither could check the other's clientStates anyway).
 */
export async function sweepStale(
  client: Pick<GraphClient, 'request'>,
  notificationUrl: string,
  logger: ExhLogger,
): Promise<void> {
  const log = logger.child({ actor: 'graph-webhook' });
  const call: CallOptions = { signal: AbortSignal.timeout(120_000), priority: 'catchUp' };
  try {
    const stale: string[] = [];
    let url: string | undefined = '/subscriptions';
    while (url) {
      const answer: { body: unknown } = await client.request({ method: 'GET', url }, call);
      const page = listSchema.parse(answer.body);
      for (const subscription of page.value)
        if (subscription.notificationUrl === notificationUrl) stale.push(subscription.id);
      url = page['@odata.nextLink'];
    }
    for (const id of stale) {
      await client.request({ method: 'DELETE', url: `/subscriptions/${encodeURIComponent(id)}`, accept: [404] }, call);
    }
    if (stale.length > 0) {
      log.info(
        { deleted: stale.length, url: notificationUrl },
        `Deleted ${stale.length} Graph subscriptions an earlier run left at ${notificationUrl}`,
      );
    }
  } catch (error) {
    log.warn(
      { err: error },
      'Could not delete the Graph subscriptions an earlier run may have left; they expire by themselves',
    );
  }
}

const listSchema = z.looseObject({
  value: z.array(z.looseObject({ id: z.string(), notificationUrl: z.string().nullish() })),
  '@odata.nextLink': z.string().optional(),
});

/** The resource of each folder that has Graph subscriptions, under `users/{user}/`. */
const resources: Partial<Record<FolderName, string>> = {
  inbox: "mailFolders('inbox')/messages",
  sentitems: "mailFolders('sentitems')/messages",
  calendar: 'events',
  contacts: 'contacts',
};

/** The subscription resource of a user's folder; undefined for folders that are polled (tasks). */
export function resourceOf(user: string, folder: FolderName): string | undefined {
  const resource = resources[folder];
  return resource === undefined ? undefined : `users/${user}/${resource}`;
}

const createdSchema = z.looseObject({ id: z.string().min(1), expirationDateTime: z.string().optional() });

/** The retries of a renewal that Graph refused for a while stop this long before the subscription expires. */
const renewalMarginMs = 60_000;

/** One Graph subscription: the folder it watches and what Graph granted. */
interface Leg {
  readonly folder: FolderName;
  readonly resource: string;
  id: string;
  /** Since when the current life runs (created, renewed). */
  since: number;
  expiresAt: number;
  timer?: object;
  /** Lifecycle work on this subscription, one step at a time (a renewal and a reauthorization do not cross). */
  work: Promise<void>;
}

export async function subscribeWebhook(
  deps: WebhookDeps,
  user: string,
  folders: FolderName[],
  onEvent: (event: SubscriptionEvent) => void,
  options: CallOptions,
): Promise<Subscription> {
  const clock = deps.clock ?? systemWebhookClock;
  const log = deps.logger.child({ actor: 'graph-webhook', user });
  const lifeMs = deps.subscriptionMinutes * 60_000;
  const lifecycleUrl = lifecycleUrlOf(deps.notificationUrl);
  const wanted = [...new Set(folders)];
  const subscribed = wanted.filter((folder) => resourceOf(user, folder) !== undefined);
  const polled = wanted.filter((folder) => resourceOf(user, folder) === undefined);
  /** Aborted by close(): background requests stop; close's own deletions use a signal of their own. */
  const lifetime = new AbortController();
  const call: CallOptions = { signal: lifetime.signal, priority: 'live' };
  const legs: Leg[] = [];
  const timers = new Set<object>();
  let over = false;

  const expiry = () => new Date(clock.now() + lifeMs).toISOString();
  const granted = (text: string | undefined, fallback: number) => {
    const at = text === undefined ? Number.NaN : Date.parse(text);
    return Number.isFinite(at) ? at : fallback;
  };
  const emit = (event: SubscriptionEvent) => {
    if (!over) notifySafely(log, legs[0]?.id ?? user, onEvent, event);
  };
  /** Folders woken since the last event: a batch of notifications (one POST) becomes one event. */
  const woken = new Set<FolderName>();
  const changed = (folder: FolderName) => {
    if (woken.size === 0) {
      queueMicrotask(() => {
        const folders = wanted.filter((f) => woken.has(f));
        woken.clear();
        emit({ type: 'changed', folders });
      });
    }
    woken.add(folder);
  };

  /** Creates the Graph subscription of `leg` with a new clientState and registers it with the receiver. */
  const create = async (
    leg: Omit<Leg, 'id' | 'since' | 'expiresAt' | 'work'> & Partial<Leg>,
    on: CallOptions = call,
  ): Promise<void> => {
    const clientState = randomBytes(32).toString('base64url');
    const since = clock.now();
    const response = await deps.client.request(
      {
        method: 'POST',
        url: '/subscriptions',
        mailbox: user,
        body: {
          changeType: 'created,updated,deleted',
          notificationUrl: deps.notificationUrl,
          lifecycleNotificationUrl: lifecycleUrl,
          resource: leg.resource,
          expirationDateTime: expiry(),
          clientState,
        },
      },
      on,
    );
    const created = createdSchema.safeParse(response.body);
    if (!created.success) {
      throw errors.exchangeRequestFailed('/subscriptions', 'unexpected answer', 'a subscription without an id');
    }
    leg.id = created.data.id;
    leg.since = since;
    leg.expiresAt = granted(created.data.expirationDateTime, since + lifeMs);
    deps.receiver.register(leg.id, clientState, (notification) => onNotification(leg as Leg, notification));
  };

  const remove = async (id: string, signal: AbortSignal) => {
    deps.receiver.unregister(id);
    await deps.client.request(
      { method: 'DELETE', url: `/subscriptions/${encodeURIComponent(id)}`, mailbox: user, accept: [404] },
      { signal, priority: 'live' },
    );
  };

  /** The next renewal at two thirds of the current life (or `atMs` from now: a renewal tried again). */
  const schedule = (leg: Leg, atMs?: number) => {
    if (leg.timer) {
      clock.clearTimeout(leg.timer);
      timers.delete(leg.timer);
    }
    const renewAt = leg.since + ((leg.expiresAt - leg.since) * 2) / 3;
    const timer = clock.setTimeout(
      () => {
        timers.delete(timer);
        step(leg, 'renewal', () => renew(leg));
      },
      atMs ?? Math.max(0, renewAt - clock.now()),
    );
    leg.timer = timer;
    timers.add(timer);
  };

  /** Runs lifecycle work on `leg` after what is already running on it; a failure is `lost`, reported once. */
  const step = (leg: Leg, what: string, work: () => Promise<void>) => {
    leg.work = leg.work.then(async () => {
      if (over) return;
      try {
        await work();
      } catch (error) {
        if (over) return;
        lose(error, `${what} of the subscription on ${leg.folder} failed`);
      }
    });
  };

  const lose = (error: unknown, what: string) => {
    const exh: ExhError = isExhError(error) ? error : errors.subscriptionLost(user, what, error);
    log.warn({ err: exh, code: exh.code }, `Graph webhook subscription of ${user} lost: ${what}: ${exh.message}`);
    emit({ type: 'lost', error: toLost(exh) });
    stop();
  };

  /** PATCH to a new expiry; gone (404): created again and caught up; refused for a while: tried again in time. */
  const renew = async (leg: Leg) => {
    const since = clock.now();
    try {
      const response = await deps.client.request<unknown>(
        {
          method: 'PATCH',
          url: `/subscriptions/${encodeURIComponent(leg.id)}`,
          mailbox: user,
          body: { expirationDateTime: expiry() },
          accept: [404],
        },
        call,
      );
      if (response.status === 404) return await recreate(leg, 'it was gone when it was renewed');
      const body = response.body as { expirationDateTime?: string } | undefined;
      leg.since = since;
      leg.expiresAt = granted(body?.expirationDateTime, since + lifeMs);
      log.info({ subscription: fingerprint(leg.id), folder: leg.folder }, `Renewed the subscription on ${leg.folder}`);
      schedule(leg);
    } catch (error) {
      const retryInMs = isExhError(error) && error.retryable ? Math.max(60_000, backOffOf(error)) : undefined;
      if (retryInMs === undefined || clock.now() + retryInMs > leg.expiresAt - renewalMarginMs) throw error;
      log.warn(
        { err: error, subscription: fingerprint(leg.id), retryInMs },
        `Renewing the subscription on ${leg.folder} failed; trying again in ${Math.round(retryInMs / 1000)} s`,
      );
      schedule(leg, retryInMs);
    }
  };

  const recreate = async (leg: Leg, why: string) => {
    const old = leg.id;
    deps.receiver.unregister(old);
    log.info(
      { subscription: fingerprint(old), folder: leg.folder },
      `Creating the subscription on ${leg.folder} again: ${why}`,
    );
    await create(leg).catch((error: unknown) => {
      throw asWebhookError(deps, user, error);
    });
    schedule(leg);
    // What changed while there was no subscription is read by delta.
    changed(leg.folder);
  };

  const reauthorize = async (leg: Leg) => {
    const response = await deps.client.request(
      {
        method: 'POST',
        url: `/subscriptions/${encodeURIComponent(leg.id)}/reauthorize`,
        mailbox: user,
        accept: [404],
      },
      call,
    );
    if (response.status === 404) return recreate(leg, 'it was gone when it was reauthorized');
    log.info({ subscription: fingerprint(leg.id) }, `Reauthorized the subscription on ${leg.folder}`);
  };

  const onNotification = (leg: Leg, notification: GraphNotification) => {
    if (over || notification.subscriptionId !== leg.id) return;
    if (notification.kind === 'change') return changed(leg.folder);
    switch (notification.lifecycleEvent) {
      case 'reauthorizationRequired':
        return step(leg, 'reauthorization', () => reauthorize(leg));
      case 'subscriptionRemoved':
        return step(leg, 'recreation', () => recreate(leg, 'Graph removed it'));
      case 'missed':
        return changed(leg.folder);
      default:
        log.info({ event: notification.lifecycleEvent }, 'An unknown lifecycle event from Graph: the folder is read');
        return changed(leg.folder);
    }
  };

  const every = (ms: number, which: FolderName[]) => {
    if (which.length === 0) return;
    const tick = () => {
      timers.delete(timer);
      emit({ type: 'changed', folders: which });
      if (!over) {
        timer = clock.setTimeout(tick, ms);
        timers.add(timer);
      }
    };
    let timer = clock.setTimeout(tick, ms);
    timers.add(timer);
  };

  const stop = () => {
    over = true;
    lifetime.abort();
    for (const timer of timers) clock.clearTimeout(timer);
    timers.clear();
    options.signal.removeEventListener('abort', stop);
  };

  // Created in parallel (each waits for Graph's handshake with the listener), cancelled with the caller.
  const first: CallOptions = { signal: AbortSignal.any([options.signal, lifetime.signal]), priority: options.priority };
  const made = await Promise.allSettled(
    subscribed.map(async (folder) => {
      const leg = { folder, resource: resourceOf(user, folder) as string, work: Promise.resolve() } as Leg;
      await create(leg, first);
      legs.push(leg);
    }),
  );
  const failed = made.find((result) => result.status === 'rejected');
  if (failed || options.signal.aborted) {
    stop();
    const cleanup = AbortSignal.timeout(30_000);
    await Promise.allSettled(legs.map((leg) => remove(leg.id, cleanup)));
    if (!failed) throw errors.poolAborted();
    throw asWebhookError(deps, user, (failed as PromiseRejectedResult).reason);
  }
  for (const leg of legs) schedule(leg);
  every(deps.pollIntervalMs, polled);
  every(deps.pollIntervalMs * 10, wanted);
  options.signal.addEventListener('abort', stop, { once: true });
  log.action(
    {
      subscriptions: legs.map((leg) => ({ folder: leg.folder, subscription: fingerprint(leg.id) })),
      polled,
      url: deps.notificationUrl,
    },
    `Graph webhook subscriptions for ${subscribed.join(', ') || 'no folder'}` +
      (polled.length > 0 ? `; ${polled.join(', ')} polled every ${deps.pollIntervalMs} ms` : ''),
  );
  return {
    id: legs.map((leg) => leg.id).join(' ') || `poll:${user}`,
    close: async () => {
      const open = legs.map((leg) => leg.id);
      stop();
      const cleanup = AbortSignal.timeout(30_000);
      await Promise.allSettled(open.map((id) => remove(id, cleanup)));
    },
  };
}

function backOffOf(error: ExhError): number {
  return typeof error.details.backOffMs === 'number' ? error.details.backOffMs : 0;
}

/**
 * A create Graph refused: throttling, permissions, a mailbox not found and the like stay what the client made them;
 * a request Graph refused otherwise (its handshake failed: notificationUrl unreachable, answered wrongly or late) and
 * anything unexpected become EXH_EXCHANGE_WEBHOOK_FAILED, which names what to check.
 */
function asWebhookError(deps: WebhookDeps, user: string, error: unknown): ExhError {
  if (isExhError(error) && error.code !== 'EXH_EXCHANGE_REQUEST_FAILED') return error;
  return errors.webhookFailed(user, deps.notificationUrl, deps.listener, error);
}
