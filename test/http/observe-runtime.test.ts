import { afterAll, describe, expect, it } from 'vitest';
import { createActor, setup } from 'xstate';
import { errors } from '../../src/errors.js';
import { observeRuntime } from '../../src/http/observe-runtime.js';
import { createLogging } from '../../src/logging/logger.js';
import { Metrics } from '../../src/metrics/metrics.js';
import { ExchangePool } from '../../src/pool/exchange-pool.js';
import type { ControlPort } from '../../src/ports/control.port.js';
import { InspectionHub } from '../../src/statecharts/inspection.js';
import { version } from '../../src/version.js';

/** What the composition root hands the HTTP listener, from a runtime's real pool, log, metrics and actor root. */
describe('observeRuntime', () => {
  const pool = new ExchangePool(3);
  const logging = createLogging({ format: 'json', stdout: { write: () => {} } });
  const metrics = new Metrics();
  const root = createActor(
    setup({}).createMachine({ id: 'supervisor', initial: 'running', states: { running: {} } }),
  ).start();
  afterAll(async () => {
    root.stop();
    await pool.close();
  });
  const observed = observeRuntime({
    root: () => root,
    databaseTarget: 'pglite:memory',
    pool,
    hub: logging.hub,
    metrics,
    inspection: new InspectionHub(),
    control: {} as ControlPort,
    adminToken: 'a-long-admin-token-for-tests',
    inspect: false,
  });

  it('reads the status from the running tree, with the package version and the time it was wired', () => {
    const first = observed.status();
    expect(first).toMatchObject({
      version,
      service: { actor: 'supervisor', state: 'running' },
      database: { target: 'pglite:memory', ready: false, state: 'unknown' },
      pool: { concurrency: 3, running: 0, queued: 0 },
      mailboxes: { total: 0, live: 0, list: [] },
      inspect: false,
    });
    expect(Date.parse(first.startedAt)).not.toBeNaN();
    expect(observed.status().startedAt).toBe(first.startedAt);
  });

  it('feeds the metrics from the log, the pool and the mailboxes, and keeps the latest twenty errors for the status', async () => {
    const log = logging.logger.child({ actor: 'mailbox', user: 'alice@contoso.test' });
    for (let n = 1; n <= 25; n++) {
      const error = errors.exchangeUnavailable('https://mail/EWS/Exchange.asmx', `outage ${n}`);
      log.error({ error: error.toJSON() }, error.message);
    }
    const recent = observed.status().recentErrors;
    expect(recent).toHaveLength(20);
    expect(recent.at(-1)?.message).toContain('outage 25');
    expect(recent[0]?.message).toContain('outage 6');
    const text = (await metrics.scrape()).body;
    expect(text).toContain('exh_errors_total{code="EXH_EXCHANGE_UNAVAILABLE"} 25');
    expect(text).toContain('exh_exchange_pool_size 3');
    expect(text).toContain('exh_mailboxes{state="live"} 0');
  });

  it('hands over the statecharts of the machines the runtime runs, from the supervisor down', () => {
    expect(observed.charts.map((chart) => chart.id)).toEqual([
      'supervisor',
      'database',
      'mailboxes',
      'mailbox',
      'itemType',
      'membership',
    ]);
    expect(observed.adminToken).toBe('a-long-admin-token-for-tests');
  });
});
