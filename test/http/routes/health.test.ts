import Fastify from 'fastify';
import { describe, expect, it } from 'vitest';
import { registerHealthRoutes } from '../../../src/http/routes/health.js';
import type { Status } from '../../../src/http/status.js';
import { httpDeps, mailboxStatus, statusWith } from '../deps.js';

async function app(status: () => Status) {
  const { deps } = httpDeps({ status });
  const built = Fastify();
  registerHealthRoutes(built, deps);
  await built.ready();
  return { app: built, deps };
}

describe('health routes', () => {
  it('is alive with its version whatever the database does', async () => {
    const { app: built } = await app(() => statusWith({ ready: false }));
    const response = await built.inject({ method: 'GET', url: '/healthz' });
    expect([response.statusCode, response.json()]).toEqual([200, { status: 'alive', version: '1.2.3' }]);
    await built.close();
  });

  it('is ready only with the database, telling the share of live mailboxes without requiring it', async () => {
    let status = statusWith({
      ready: true,
      mailboxes: [mailboxStatus('a@x.test', 'live'), mailboxStatus('b@x.test', 'backingOff')],
    });
    const { app: built } = await app(() => status);
    const ready = await built.inject({ method: 'GET', url: '/readyz' });
    expect([ready.statusCode, ready.json()]).toEqual([
      200,
      { ready: true, database: 'ready.idle', mailboxes: { total: 2, live: 1, liveShare: 0.5 } },
    ]);
    status = statusWith({ ready: false });
    const waiting = await built.inject({ method: 'GET', url: '/readyz' });
    expect([waiting.statusCode, waiting.json()]).toEqual([
      503,
      { ready: false, database: 'connecting.waiting', mailboxes: { total: 0, live: 0, liveShare: 1 } },
    ]);
    await built.close();
  });

  it('serves the metrics in the Prometheus text format', async () => {
    const { app: built, deps } = await app(() => statusWith());
    deps.metrics.itemsApplied('task', 'exchange_to_db', 'add', 2);
    const response = await built.inject({ method: 'GET', url: '/metrics' });
    expect(response.statusCode).toBe(200);
    expect(response.headers['content-type']).toMatch(/^text\/plain; version=0\.0\.4/);
    expect(response.body).toContain(
      'exh_items_synchronised_total{item_type="task",direction="exchange_to_db",action="add"} 2',
    );
    await built.close();
  });
});
