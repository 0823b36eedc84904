import type { FastifyInstance } from 'fastify';
import { errors, isExhError } from '../../errors.js';
import { layoutStatechart } from '../../statecharts/layout.js';
import { singleInstance } from '../cluster.js';
import { sendError } from '../replies.js';
import type { HttpDeps } from '../server.js';
import { maxSseClients, openSse, type SseOptions, type SseStream } from '../sse.js';

/** What the dashboard and `exh status` read; nothing here changes anything. */
export function registerApiRoutes(
  app: FastifyInstance,
  deps: HttpDeps,
  streams: { all: Set<SseStream>; events: Set<SseStream> },
): void {
  app.get('/api/status', async () => deps.status());

  const log = deps.logger.child({ actor: 'http' });
  const sseOptions = (path: string): SseOptions => ({
    onStalled: (bufferedBytes) =>
      log.warn(
        { path, bufferedBytes },
        `Dropped a ${path} client that stopped reading (${bufferedBytes} bytes unread)`,
      ),
  });
  const full = () => streams.all.size >= maxSseClients;

  // Several instances on one database (docs/dashboard.md, "Cluster"): members and who runs which mailbox, read from
  // the database at each request; one instance says so. The database unreachable: 503 with its error.
  app.get('/api/cluster', async (_request, reply) => {
    if (!deps.cluster) return singleInstance;
    try {
      return await deps.cluster();
    } catch (error) {
      if (isExhError(error)) return sendError(reply, error, 503);
      throw error;
    }
  });

  app.get('/api/machines', async () => deps.charts);
  // The same charts laid out as diagrams for the dashboard; computed on the first request, then kept.
  app.get('/api/machines/layout', async () => Promise.all(deps.charts.map(layoutStatechart)));

  app.get<{ Params: { user: string } }>('/api/mailboxes/:user', async (request, reply) => {
    const status = deps.status();
    const wanted = request.params.user.toLowerCase();
    const mailbox = status.mailboxes.list.find((candidate) => candidate.user.toLowerCase() === wanted);
    if (!mailbox) return sendError(reply, errors.httpNotFound(unknownUser(request.params.user)));
    return {
      ...mailbox,
      transitions: deps.inspection.recent({ user: mailbox.user }).slice(-50),
      recentErrors: deps.metrics.recentErrors({ user: mailbox.user }).slice(-20),
    };
  });

  // The dashboard's live feed: every state change of every machine actor as it happens (`transition`), and the
  // progress of resyncs asked for over HTTP (`resync`).
  app.get('/api/events', (request, reply) => {
    if (full()) return sendError(reply, errors.httpTooManyStreams(maxSseClients));
    let unsubscribe = () => {};
    const stream = openSse(
      request,
      reply,
      () => {
        unsubscribe();
        streams.all.delete(stream);
        streams.events.delete(stream);
      },
      sseOptions('/api/events'),
    );
    streams.all.add(stream);
    streams.events.add(stream);
    unsubscribe = deps.inspection.onTransition((transition) => stream.send('transition', transition));
  });

  // exh start --inspect: xstate's inspection events in the @statelyai/inspect format (docs/dashboard.md).
  app.get('/api/inspect', (request, reply) => {
    if (!deps.inspect) {
      return sendError(
        reply,
        errors.httpNotFound('inspection is off; start the connector with "exh start --inspect" to stream it here'),
      );
    }
    if (full()) return sendError(reply, errors.httpTooManyStreams(maxSseClients));
    let unsubscribe = () => {};
    const stream = openSse(
      request,
      reply,
      () => {
        unsubscribe();
        streams.all.delete(stream);
      },
      sseOptions('/api/inspect'),
    );
    streams.all.add(stream);
    unsubscribe = deps.inspection.onStately((event) => stream.send('inspect', event));
  });
}

export function unknownUser(user: string): string {
  return `${user} is not a registered user (exh_get_users does not return it); the list is at /api/status`;
}
