import { fromCallback } from 'xstate';
import { serializeError } from '../machines/report.js';
import type { SupervisorEvent } from '../machines/supervisor.machine.js';
import { errors } from '../src/errors.js';
import { keepServing } from '../src/http/keep-serving.js';
import { buildHttpApp, type HttpDeps } from '../src/http/server.js';
import type { ExhLogger } from '../src/logging/logger.js';

export interface HttpListenerDeps {
  enabled: boolean;
  host: string;
  port: number;
  /** listeners.http.requestTimeoutMs (src/http/request-deadline.ts). */
  requestTimeoutMs?: number;
  app: Omit<HttpDeps, 'logger'>;
  logger: ExhLogger;
  /** Told the listener once listening, so that shutdown can await its close (a cleanup function cannot). */
  onListening?: (listener: { close(): Promise<void>; port: number }) => void;
}

/**
 * The HTTP listener (dashboard, API, /metrics) as a long-lived callback actor, like the log feed: it reports a
 * failure to listen and closes on stop.
 */
export function createHttpActor(deps: HttpListenerDeps) {
  return fromCallback<SupervisorEvent>(({ sendBack }) => {
    if (!deps.enabled) return () => {};
    const log = deps.logger.child({ actor: 'http' });
    const app = buildHttpApp({
      ...deps.app,
      logger: deps.logger,
      ...(deps.requestTimeoutMs === undefined ? {} : { requestTimeoutMs: deps.requestTimeoutMs }),
    });
    let stopped = false;
    app.listen({ host: deps.host, port: deps.port }).then(
      () => {
        const address = app.server.address();
        const port = typeof address === 'object' && address ? address.port : deps.port;
        if (stopped) {
          void app.close();
          return;
        }
        keepServing(app.server, log, 'http');
        const url = `http://${deps.host.includes(':') ? `[${deps.host}]` : deps.host}:${port}/`;
        log.action({ event: 'http.listening', host: deps.host, port, url }, `Dashboard and HTTP API on ${url}`);
        deps.onListening?.({ close: () => app.close(), port });
      },
      (cause: unknown) => {
        const error = errors.listenerFailed('http', deps.host, deps.port, cause);
        if (!stopped) sendBack({ type: 'listener.failed', error: serializeError(error) });
      },
    );
    return () => {
      stopped = true;
      void app.close();
    };
  });
}
