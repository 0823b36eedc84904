import { fromCallback } from 'xstate';
import { serializeError } from '../machines/report.js';
import type { SupervisorEvent } from '../machines/supervisor.machine.js';
import { errors } from '../src/errors.js';
import { type LogFeed, startLogFeed } from '../src/logging/log-feed.js';
import type { LogHub } from '../src/logging/log-hub.js';
import type { ExhLogger } from '../src/logging/logger.js';

export interface LogFeedDeps {
  enabled: boolean;
  host: string;
  port: number;
  hub: LogHub;
  banner: string;
  logger: ExhLogger;
  /** Told the feed once listening, so that shutdown can await its close (a cleanup function cannot). */
  onListening?: (feed: LogFeed) => void;
}

/** The telnet log feed as a long-lived callback actor: it reports a failure to listen and closes on stop. */
export function createLogFeedActor(deps: LogFeedDeps) {
  return fromCallback<SupervisorEvent>(({ sendBack }) => {
    if (!deps.enabled) return () => {};
    const log = deps.logger.child({ actor: 'log-feed' });
    let feed: LogFeed | undefined;
    let stopped = false;
    startLogFeed({ host: deps.host, port: deps.port, hub: deps.hub, banner: deps.banner }).then(
      (started) => {
        if (stopped) {
          void started.close();
          return;
        }
        feed = started;
        log.action(started.address, `Log feed listening on ${started.address.host}:${started.address.port}`);
        deps.onListening?.(started);
      },
      (cause: unknown) => {
        const error = errors.listenerFailed('log', deps.host, deps.port, cause);
        if (!stopped) sendBack({ type: 'listener.failed', error: serializeError(error) });
      },
    );
    return () => {
      stopped = true;
      void feed?.close();
    };
  });
}
