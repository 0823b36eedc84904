import type { PGlite } from '@electric-sql/pglite';
import { describe, expect, it } from 'vitest';
import { errors } from '../../src/errors.js';
import { createLogging } from '../../src/logging/logger.js';
import { instrumentDatabase } from '../../src/metrics/instrument-database.js';
import { Metrics } from '../../src/metrics/metrics.js';
import { recordConflict } from '../../src/sync/executors/record-conflict.js';
import { type ExampleDatabase, useExampleDatabase } from '../support/example-database.js';

const alice = 'alice@contoso.test';

/** The metric families and the overview's memory, fed through the decorators by a real database. */
describe('Metrics', () => {
  let instance: PGlite;
  let raw: ExampleDatabase['db'];
  useExampleDatabase([alice], (database) => {
    ({ instance, db: raw } = database);
  });

  const scrape = async (metrics: Metrics) => (await metrics.scrape()).body;

  it('counts logged errors by code and keeps the latest for the overview', async () => {
    const metrics = new Metrics();
    const logging = createLogging({ format: 'json', stdout: { write: () => {} } });
    metrics.observeLog(logging.hub);
    const error = errors.mailboxMoving(alice);
    logging.logger.child({ actor: 'mailbox', user: alice }).warn({ error: error.toJSON() }, error.message);
    logging.logger.error({ err: errors.poolAborted() }, 'cancelled');
    logging.logger.info('nothing wrong');
    const text = await scrape(metrics);
    expect(text).toContain('exh_errors_total{code="EXH_EXCHANGE_MAILBOX_MOVING"} 1');
    expect(text).toContain('exh_errors_total{code="EXH_POOL_ABORTED"} 1');
    expect(metrics.recentErrors({ user: alice })).toEqual([
      expect.objectContaining({ category: 'W', code: 'EXH_EXCHANGE_MAILBOX_MOVING', user: alice }),
    ]);
    expect(metrics.recentErrors()).toHaveLength(2);
  });

  it('counts conflicts by item type and winner from their records, and not as errors', async () => {
    const metrics = new Metrics();
    const logging = createLogging({ format: 'json', stdout: { write: () => {} } });
    metrics.observeLog(logging.hub);
    const db = instrumentDatabase(raw, metrics);
    const conflict = {
      user: 'conflicts@contoso.test',
      itemId: 'AAMk-1',
      by: 'rule' as const,
      rule: 'exchange-wins' as const,
    };
    await recordConflict({ db, logger: logging.logger }, { ...conflict, itemType: 'task', winner: 'exchange' });
    await recordConflict({ db, logger: logging.logger }, { ...conflict, itemType: 'task', winner: 'exchange' });
    await recordConflict({ db, logger: logging.logger }, { ...conflict, itemType: 'calendar', winner: 'database' });
    const text = await scrape(metrics);
    expect(text).toContain('exh_conflicts_total{item_type="task",winner="exchange"} 2');
    expect(text).toContain('exh_conflicts_total{item_type="calendar",winner="database"} 1');
    expect(text).not.toContain('exh_errors_total{');
    const { rows } = await instance.query<{ exh_item_type: string; exh_code: string }>(
      "SELECT exh_item_type, exh_code FROM exh_log WHERE exh_user = 'conflicts@contoso.test' ORDER BY exh_log_id",
    );
    expect(rows.map((r) => `${r.exh_item_type} ${r.exh_code}`)).toEqual([
      'task EXH_SYNC_CONFLICT',
      'task EXH_SYNC_CONFLICT',
      'calendar EXH_SYNC_CONFLICT',
    ]);
    expect(metrics.recentErrors()[0]).toMatchObject({
      category: 'W',
      itemType: 'task',
      message: expect.stringContaining('AAMk-1'),
    });
  });

  it('forgets items older than a minute, measures notification lag and subscription age on its clock', async () => {
    let now = 1_000_000;
    const metrics = new Metrics(() => now);
    metrics.itemsApplied('calendar', 'exchange_to_db', 'add', 2);
    metrics.subscribed(alice);
    metrics.notified(alice, ['calendar']);
    now += 1_500;
    metrics.notified(alice, ['calendar']); // the lag runs from the first notification not yet committed
    now += 500;
    metrics.committed(alice, 'calendar');
    now += 61_000;
    metrics.itemsApplied('email', 'exchange_to_db', 'chg');
    expect(metrics.itemsPerMinute()).toEqual([{ itemType: 'email', direction: 'exchange_to_db', count: 1 }]);
    const text = await scrape(metrics);
    expect(text).toContain('exh_notification_to_database_lag_seconds_sum{item_type="calendar"} 2');
    expect(text).toContain('exh_subscription_age_seconds{user="alice@contoso.test"} 63');
    metrics.unsubscribed(alice);
    expect(await scrape(metrics)).not.toContain('exh_subscription_age_seconds{user=');
  });

  it('reads the pool and the mailboxes at scrape time', async () => {
    const metrics = new Metrics();
    metrics.observePool(() => ({ concurrency: 4, running: 3, queued: 7 }));
    metrics.observeMailboxes(() => ({ live: 2, backingOff: 1 }));
    const text = await scrape(metrics);
    expect(text).toContain('exh_exchange_pool_size 4');
    expect(text).toContain('exh_exchange_pool_running 3');
    expect(text).toContain('exh_exchange_pool_pending 7');
    expect(text).toContain('exh_mailboxes{state="live"} 2');
    expect(text).toContain('exh_mailboxes{state="backingOff"} 1');
    // States no mailbox is in are there with 0, so that an alert on them has a series to look at.
    for (const state of ['discovering', 'subscribing', 'catchingUp', 'disabled', 'stopped']) {
      expect(text).toContain(`exh_mailboxes{state="${state}"} 0`);
    }
    expect(text).not.toMatch(/^exh_graph_notifications_total\{/m);
    metrics.observeGraphNotifications(() => ({ accepted: 5, client_state_mismatch: 2 }));
    const graph = await scrape(metrics);
    expect(graph).toContain('exh_graph_notifications_total{outcome="accepted"} 5');
    expect(graph).toContain('exh_graph_notifications_total{outcome="client_state_mismatch"} 2');
    const names = [...text.matchAll(/^# TYPE (\S+)/gm)].map((match) => match[1]);
    expect(names.filter((name) => !name?.startsWith('exh_'))).toEqual([]);
  });
});
