import Fastify, { type FastifyInstance } from 'fastify';
import { errors } from '../errors.js';
import type { ExhLogger } from '../logging/logger.js';
import type { Metrics } from '../metrics/metrics.js';
import type { ControlPort } from '../ports/control.port.js';
import type { Statechart } from '../statecharts/graph.js';
import type { InspectionHub } from '../statecharts/inspection.js';
import type { ClusterStatus } from './cluster.js';
import { hostAllowed } from './host-check.js';
import { sendError } from './replies.js';
import { requestDeadline } from './request-deadline.js';
import { registerAdminRoutes } from './routes/admin.js';
import { registerApiRoutes } from './routes/api.js';
import { registerDashboardRoutes } from './routes/dashboard.js';
import { registerFaviconRoutes } from './routes/favicon.js';
import { registerHealthRoutes } from './routes/health.js';
import type { SseStream } from './sse.js';
import type { Readiness, Status } from './status.js';

export interface HttpDeps {
  /** listeners.http.adminToken; without it the admin actions answer that they are disabled. */
  adminToken?: string | undefined;
  status: () => Status;
  /** /readyz and the mailbox gauges: cheaper than `status` with many mailboxes; absent, read from `status`. */
  readiness?: () => Readiness;
  /** Every statechart, read once from the machines the runtime runs. */
  charts: Statechart[];
  metrics: Metrics;
  inspection: InspectionHub;
  /** exh start --inspect: /api/inspect streams xstate's inspection events. */
  inspect: boolean;
  control: ControlPort;
  /** With a `cluster` configuration: members and leases for /api/cluster; absent, it answers "single instance". */
  cluster?: () => Promise<ClusterStatus>;
  logger: ExhLogger;
  /** listeners.http.allowedHosts: names besides IP addresses and localhost that a request's Host may carry. */
  allowedHosts?: readonly string[];
  /** listeners.http.requestTimeoutMs: a request must arrive whole within this time, or it gets 408. */
  requestTimeoutMs?: number;
}

/** Small bodies only: the admin actions take a user or an item type, nothing more. */
const bodyLimit = 16 * 1024;

/** The dashboard, the HTTP API and /metrics as one fastify app (listening is up to the caller). */
export function buildHttpApp(deps: HttpDeps): FastifyInstance {
  const app = Fastify({
    logger: false,
    bodyLimit,
    forceCloseConnections: true,
    ...requestDeadline(deps.requestTimeoutMs),
  });
  const streams = new Set<SseStream>();
  // The dashboard's streams (/api/events) also hear how an admin action they may have started goes on.
  const eventStreams = new Set<SseStream>();
  const announce = (event: string, data: unknown) => {
    for (const stream of eventStreams) stream.send(event, data);
  };
  // Open event streams would keep close() waiting for ever.
  app.addHook('preClose', async () => {
    for (const stream of streams) stream.close();
  });
  app.setErrorHandler((error: { statusCode?: number; code?: string; message: string }, _request, reply) => {
    const status = error.statusCode ?? 500;
    if (status >= 500) {
      deps.logger.error({ err: error }, `HTTP request failed: ${error.message}`);
      return reply.code(500).send({ error: { code: 'EXH_INTERNAL', message: error.message } });
    }
    return sendError(reply, errors.httpBadRequest(badRequestProblem(error)), status);
  });
  // Before anything is read or routed: a page that rebinds its own name to this address learns nothing here.
  app.addHook('onRequest', async (request, reply) => {
    if (hostAllowed(request.headers.host, deps.allowedHosts ?? [])) return;
    return sendError(reply, errors.httpHostNotAllowed(request.headers.host ?? ''));
  });
  app.setNotFoundHandler((request, reply) =>
    sendError(reply, errors.httpNotFound(`${request.method} ${request.url.split('?')[0]} is no endpoint of exh`)),
  );
  registerHealthRoutes(app, deps);
  registerApiRoutes(app, deps, { all: streams, events: eventStreams });
  registerAdminRoutes(app, deps, announce);
  registerDashboardRoutes(app);
  registerFaviconRoutes(app);
  return app;
}

/** fastify's own messages for what a client got wrong, said in our words. */
function badRequestProblem(error: { code?: string; message: string }): string {
  switch (error.code) {
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return `the body is not valid JSON (${error.message})`;
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return `the body is larger than ${bodyLimit} bytes`;
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return 'send the body as application/json';
    default:
      return error.message;
  }
}
