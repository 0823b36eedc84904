import type { AnyActorRef } from 'xstate';
import { supervisorMachine } from '../../machines/supervisor.machine.js';
import type { LogHub } from '../logging/log-hub.js';
import type { Metrics } from '../metrics/metrics.js';
import type { ExchangePool } from '../pool/exchange-pool.js';
import type { ControlPort } from '../ports/control.port.js';
import { statecharts } from '../statecharts/graph.js';
import type { InspectionHub } from '../statecharts/inspection.js';
import { version } from '../version.js';
import type { HttpDeps } from './server.js';
import { readStatus } from './status.js';

export interface ObservedRuntime {
  root: () => AnyActorRef;
  databaseTarget: string;
  pool: ExchangePool;
  hub: LogHub;
  metrics: Metrics;
  inspection: InspectionHub;
  control: ControlPort;
  adminToken: string | undefined;
  inspect: boolean;
}

/**
 * What the HTTP listener needs of a running connector, for the composition root: the status read from the actor
 * tree, the statecharts of the machines it runs, and the metrics fed from the pool, the log and the mailboxes.
 */
export function observeRuntime(runtime: ObservedRuntime): Omit<HttpDeps, 'logger'> {
  const startedAt = new Date().toISOString();
  const status = () =>
    readStatus({
      version,
      startedAt,
      root: runtime.root,
      databaseTarget: runtime.databaseTarget,
      pool: () => runtime.pool.stats(),
      itemsPerMinute: () => runtime.metrics.itemsPerMinute(),
      recentErrors: () => runtime.metrics.recentErrors().slice(-20),
      inspect: runtime.inspect,
    });
  runtime.metrics.observePool(() => runtime.pool.stats());
  runtime.metrics.observeMailboxes(() => status().mailboxes.byState);
  runtime.metrics.observeLog(runtime.hub);
  return {
    adminToken: runtime.adminToken,
    status,
    charts: statecharts(supervisorMachine),
    metrics: runtime.metrics,
    inspection: runtime.inspection,
    inspect: runtime.inspect,
    control: runtime.control,
  };
}
