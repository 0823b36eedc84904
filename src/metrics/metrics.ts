import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';
import type { LogHub } from '../logging/log-hub.js';
import type { ExchangePoolStats } from '../pool/exchange-pool.js';

export type Direction = 'exchange_to_db' | 'db_to_exchange';

/** One error or warning the overview lists. */
export interface RecentError {
  at: string;
  category: 'E' | 'W';
  code: string | null;
  message: string;
  user?: string;
  itemType?: string;
}

export interface ItemsPerMinute {
  itemType: string;
  direction: Direction;
  count: number;
}

const recentErrorLimit = 50;
const minuteMs = 60_000;

/**
 * The connector's Prometheus metrics (prom-client, every name `exh_…`) and the short memory the dashboard's overview
 * needs (items in the last minute, the latest errors). Filled from the outside by decorators at the composition root
 * (src/metrics/instrument-*.ts) and from the log records; the sync core knows nothing of it.
 */
/** The states a mailbox is reported in (machines/mailbox.machine.ts, and 'stopped'); docs/dashboard.md lists them. */
export const mailboxStateNames = [
  'discovering',
  'subscribing',
  'catchingUp',
  'live',
  'backingOff',
  'disabled',
  'stopped',
] as const;

export class Metrics {
  readonly registry = new Registry();
  readonly itemsSynchronised: Counter<'item_type' | 'direction' | 'action'>;
  readonly errors: Counter<'code'>;
  readonly conflicts: Counter<'item_type' | 'winner'>;
  readonly exchangeRequestSeconds: Histogram<'operation' | 'outcome'>;
  readonly databaseCallSeconds: Histogram<'operation' | 'outcome'>;
  readonly notificationLagSeconds: Histogram<'item_type'>;
  readonly #recentItems: Array<{ at: number; itemType: string; direction: Direction; count: number }> = [];
  readonly #recentErrors: RecentError[] = [];
  /** When each mailbox's current subscription was made, by user. */
  readonly #subscriptions = new Map<string, number>();
  /** The first notification not yet in the database, by user and item type. */
  readonly #notified = new Map<string, number>();
  #pool: () => ExchangePoolStats = () => ({ concurrency: 0, running: 0, queued: 0 });
  #mailboxStates: () => Record<string, number> = () => ({});
  #graphNotifications: () => Readonly<Record<string, number>> = () => ({});

  constructor(private readonly now: () => number = Date.now) {
    const registers = [this.registry];
    collectDefaultMetrics({ register: this.registry, prefix: 'exh_' });
    this.itemsSynchronised = new Counter({
      name: 'exh_items_synchronised_total',
      help: 'Items synchronised, by item type, direction (exchange_to_db, db_to_exchange) and action (add, chg, del)',
      labelNames: ['item_type', 'direction', 'action'],
      registers,
    });
    this.errors = new Counter({
      name: 'exh_errors_total',
      help: 'Errors and warnings logged with an error code, by code',
      labelNames: ['code'],
      registers,
    });
    this.conflicts = new Counter({
      name: 'exh_conflicts_total',
      help: 'Items changed in Exchange and in the application between two syncs, by item type and the side whose change was kept (exchange, database)',
      labelNames: ['item_type', 'winner'],
      registers,
    });
    this.exchangeRequestSeconds = new Histogram({
      name: 'exh_exchange_request_duration_seconds',
      help: 'Duration of Exchange requests (queue wait included), by operation and outcome',
      labelNames: ['operation', 'outcome'],
      buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 100],
      registers,
    });
    this.databaseCallSeconds = new Histogram({
      name: 'exh_database_call_duration_seconds',
      help: 'Duration of database calls, by DatabasePort operation and outcome',
      labelNames: ['operation', 'outcome'],
      buckets: [0.001, 0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10],
      registers,
    });
    this.notificationLagSeconds = new Histogram({
      name: 'exh_notification_to_database_lag_seconds',
      help: 'From an Exchange notification to its changes committed in the database, by item type',
      labelNames: ['item_type'],
      buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300],
      registers,
    });
    const metrics = this;
    new Gauge({
      name: 'exh_mailboxes',
      help: 'Mailboxes by state (live, catchingUp, backingOff, disabled, stopped, ...)',
      labelNames: ['state'],
      registers,
      collect() {
        this.reset();
        const counts = metrics.#mailboxStates();
        // Every state, 0 when no mailbox is in it: an alert on exh_mailboxes{state="disabled"} > 0 needs the series.
        for (const state of mailboxStateNames) this.set({ state }, counts[state] ?? 0);
        for (const [state, count] of Object.entries(counts)) {
          if (!(mailboxStateNames as readonly string[]).includes(state)) this.set({ state }, count);
        }
      },
    });
    const poolGauge = (name: string, help: string, read: (stats: ExchangePoolStats) => number) =>
      new Gauge({
        name,
        help,
        registers,
        collect() {
          this.set(read(metrics.#pool()));
        },
      });
    poolGauge(
      'exh_exchange_pool_size',
      'Exchange requests allowed in flight (exchange.concurrency)',
      (s) => s.concurrency,
    );
    poolGauge('exh_exchange_pool_running', 'Exchange requests running now', (s) => s.running);
    poolGauge('exh_exchange_pool_pending', 'Exchange requests waiting for a slot in the pool', (s) => s.queued);
    new Counter({
      name: 'exh_graph_notifications_total',
      help: 'Microsoft Graph change notifications received (listeners.graph), by outcome: accepted, unknown_subscription, client_state_mismatch, refused (a request refused whole)',
      labelNames: ['outcome'],
      registers,
      collect() {
        // The receiver counts; the scrape reads its totals (src/exchange/graph/webhook-receiver.ts).
        this.reset();
        for (const [outcome, count] of Object.entries(metrics.#graphNotifications())) this.inc({ outcome }, count);
      },
    });
    new Gauge({
      name: 'exh_subscription_age_seconds',
      help: "Age of each mailbox's Exchange subscription, by user",
      labelNames: ['user'],
      registers,
      collect() {
        this.reset();
        const now = metrics.now();
        for (const [user, since] of metrics.#subscriptions) this.set({ user }, (now - since) / 1000);
      },
    });
  }

  /** Read at each scrape. */
  observePool(stats: () => ExchangePoolStats): void {
    this.#pool = stats;
  }

  /** Read at each scrape: the Graph webhook receiver's notifications by outcome (GraphWebhookReceiver.counts). */
  observeGraphNotifications(counts: () => Readonly<Record<string, number>>): void {
    this.#graphNotifications = counts;
  }

  /** Read at each scrape: how many mailboxes are in each state. */
  observeMailboxes(states: () => Record<string, number>): void {
    this.#mailboxStates = states;
  }

  /** Errors by code, and the latest ones, from the log records (E and W records that carry an error code). */
  observeLog(hub: LogHub): () => void {
    return hub.subscribe((record) => {
      // A decided conflict's record (src/sync/executors/record-conflict.ts) says which type and which side.
      const conflict = record.conflict as { itemType?: unknown; winner?: unknown } | null | undefined;
      if (conflict && typeof conflict.itemType === 'string' && typeof conflict.winner === 'string') {
        this.conflicts.inc({ item_type: conflict.itemType, winner: conflict.winner });
      }
      const category = record.cat;
      if (category !== 'E' && category !== 'W') return;
      const code = errorCode(record);
      if (code) this.errors.inc({ code });
      this.#recentErrors.push({
        at: typeof record.time === 'string' ? record.time : new Date(this.now()).toISOString(),
        category,
        code,
        message: String(record.msg ?? ''),
        ...(typeof record.user === 'string' ? { user: record.user } : {}),
        ...(typeof record.itemType === 'string' ? { itemType: record.itemType } : {}),
      });
      if (this.#recentErrors.length > recentErrorLimit) this.#recentErrors.shift();
    });
  }

  itemsApplied(itemType: string, direction: Direction, action: string, count = 1): void {
    if (count <= 0) return;
    this.itemsSynchronised.inc({ item_type: itemType, direction, action }, count);
    const now = this.now();
    this.#recentItems.push({ at: now, itemType, direction, count });
    while ((this.#recentItems[0]?.at ?? now) < now - minuteMs) this.#recentItems.shift();
  }

  /** Items synchronised within the last minute, by item type and direction. */
  itemsPerMinute(): ItemsPerMinute[] {
    const since = this.now() - minuteMs;
    const counts = new Map<string, ItemsPerMinute>();
    for (const entry of this.#recentItems) {
      if (entry.at < since) continue;
      const key = `${entry.itemType}|${entry.direction}`;
      const found = counts.get(key) ?? { itemType: entry.itemType, direction: entry.direction, count: 0 };
      found.count += entry.count;
      counts.set(key, found);
    }
    return [...counts.values()];
  }

  recentErrors(filter: { user?: string } = {}): RecentError[] {
    return this.#recentErrors.filter((error) => filter.user === undefined || error.user === filter.user);
  }

  subscribed(user: string): void {
    this.#subscriptions.set(user, this.now());
  }

  unsubscribed(user: string): void {
    this.#subscriptions.delete(user);
  }

  /** A notification for these item types: the lag runs from the first one not yet in the database. */
  notified(user: string, itemTypes: Iterable<string>): void {
    for (const itemType of itemTypes) {
      const key = `${user}|${itemType}`;
      if (!this.#notified.has(key)) this.#notified.set(key, this.now());
    }
  }

  /** A page of this user's item type committed: what was notified before is in the database now. */
  committed(user: string, itemType: string): void {
    const key = `${user}|${itemType}`;
    const since = this.#notified.get(key);
    if (since === undefined) return;
    this.#notified.delete(key);
    this.notificationLagSeconds.observe({ item_type: itemType }, (this.now() - since) / 1000);
  }

  async scrape(): Promise<{ contentType: string; body: string }> {
    return { contentType: this.registry.contentType, body: await this.registry.metrics() };
  }
}

function errorCode(record: Record<string, unknown>): string | null {
  for (const key of ['error', 'err']) {
    const value = record[key] as { code?: unknown } | null | undefined;
    if (value && typeof value === 'object' && typeof value.code === 'string' && value.code.startsWith('EXH_')) {
      return value.code;
    }
  }
  return null;
}
