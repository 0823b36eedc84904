import type { FastifyInstance } from 'fastify';
import type { HttpDeps } from '../server.js';
import { readinessOf } from '../status.js';

/** For load balancers, orchestrators and Prometheus. */
export function registerHealthRoutes(app: FastifyInstance, deps: HttpDeps): void {
  // Alive: the process answers. Nothing else is checked, so a restart is never triggered by a database outage.
  app.get('/healthz', async () => ({ status: 'alive', version: deps.status().version }));

  // Ready: the database is there. The share of live mailboxes is told, not required (one bad mailbox is no outage).
  app.get('/readyz', async (_request, reply) => {
    const readiness = deps.readiness?.() ?? readinessOf(deps.status());
    const { total, live } = readiness.mailboxes;
    return reply.code(readiness.ready ? 200 : 503).send({
      ready: readiness.ready,
      database: readiness.database,
      mailboxes: { total, live, liveShare: total === 0 ? 1 : live / total },
    });
  });

  app.get('/metrics', async (_request, reply) => {
    const { contentType, body } = await deps.metrics.scrape();
    return reply.type(contentType).send(body);
  });
}
