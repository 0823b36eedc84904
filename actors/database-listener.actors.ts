import { fromCallback } from 'xstate';
import { serializeError } from '../machines/report.js';
import type { SupervisorEvent } from '../machines/supervisor.machine.js';
import { createRequestHandler, type RequestHandlerDeps } from '../src/protocol/handle-request.js';
import type { DatabaseListener, RequestHandler } from '../src/protocol/listener.js';
import { openDatabaseListener } from '../src/protocol/open-listener.js';

export interface DatabaseListenerDeps extends RequestHandlerDeps {
  enabled: boolean;
  host: string;
  port: number;
  token: string;
  /** Told the real address once listening (port 0 picks one), so that exh_set_up gets the right port. */
  onListening: (address: { host: string; port: number }) => void;
  /** Told the listener once it listens, so that shutdown can await its close (a cleanup function cannot). */
  track: (listener: DatabaseListener) => void;
  /** PEM files: speak TLS (listeners.database.tls). */
  tls?: { certFile: string; keyFile: string } | undefined;
  /** listeners.database.authTimeoutMs, maxUnauthenticated, maxConnections (docs/protocol.md); the module's defaults. */
  authTimeoutMs?: number;
  maxUnauthenticated?: number;
  maxConnections?: number;
  /**
   * Several instances: wraps this instance's handler so that a request for a user whose lease another instance holds
   * is handed on to it (src/protocol/forwarding.ts, docs/senders.md "Several instances"). Absent: one instance.
   */
  route?: ((local: RequestHandler) => RequestHandler) | undefined;
}

/**
 * The database listener (docs/protocol.md) as a long-lived callback actor: src/protocol/handle-request.ts answers each
 * request. It sends back only a listener that cannot listen, which stops the service.
 */
export function createDatabaseListenerActor(deps: DatabaseListenerDeps) {
  return fromCallback<SupervisorEvent>(({ sendBack }) => {
    if (!deps.enabled) return () => {};
    let listener: DatabaseListener | undefined;
    let stopped = false;
    openDatabaseListener({
      host: deps.host,
      port: deps.port,
      token: deps.token,
      handle: deps.route ? deps.route(createRequestHandler(deps)) : createRequestHandler(deps),
      logger: deps.logger,
      tls: deps.tls,
      ...(deps.authTimeoutMs === undefined ? {} : { authTimeoutMs: deps.authTimeoutMs }),
      ...(deps.maxUnauthenticated === undefined ? {} : { maxUnauthenticated: deps.maxUnauthenticated }),
      ...(deps.maxConnections === undefined ? {} : { maxConnections: deps.maxConnections }),
    }).then(
      (started) => {
        if (stopped) {
          void started.close();
          return;
        }
        listener = started;
        deps.onListening(started.address);
        deps.track(started);
        deps.logger
          .child({ actor: 'database-listener' })
          .action(started.address, `Database listener on ${started.address.host}:${started.address.port}`);
      },
      (error: unknown) => {
        if (!stopped) sendBack({ type: 'listener.failed', error: serializeError(error) });
      },
    );
    return () => {
      stopped = true;
      void listener?.close();
    };
  });
}
