import type { AnyActorRef } from 'xstate';
import { supervisorMachine } from '../../machines/supervisor.machine.js';
import type { LogHub } from '../logging/log-hub.js';
import type { Metrics } from '../metrics/metrics.js';
import type { ExchangePool } from '../pool/exchange-pool.js';
import type { ControlPort } from '../ports/control.port.js';
import type { ClusterView } from '../ports/database.port.js';
import { statecharts } from '../statecharts/graph.js';
import type { InspectionHub } from '../statecharts/inspection.js';
import { version } from '../version.js';
import { readCluster } from './cluster.js';
import type { HttpDeps } from './server.js';
import { readReadiness, readStatus } from './status.js';

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
  /** With a `cluster` configuration: this instance's membership (src/cluster/membership.ts), for /api/cluster. */
  cluster?: {
    self: { instanceId: string; leaseSeconds: number; heartbeatSeconds: number };
    view: () => Promise<ClusterView>;
  };
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
  const readiness = () => readReadiness(runtime.root());
  runtime.metrics.observeMailboxes(() => readiness().mailboxes.byState);
  runtime.metrics.observeLog(runtime.hub);
  const membership = runtime.cluster;
  // The supervisor's context: the live members at the last heartbeat and exh_get_users' users.
  const supervisor = () =>
    (runtime.root().getSnapshot() as { context?: { members?: string[]; users?: Array<{ user: string }> } }).context;
  return {
    adminToken: runtime.adminToken,
    status,
    readiness,
    charts: statecharts(supervisorMachine),
    metrics: runtime.metrics,
    inspection: runtime.inspection,
    inspect: runtime.inspect,
    control: runtime.control,
    ...(membership
      ? {
          cluster: () =>
            readCluster({
              self: membership.self,
              view: () => membership.view(),
              liveMembers: () => supervisor()?.members ?? [],
              users: () => (supervisor()?.users ?? []).map((registration) => registration.user),
            }),
        }
      : {}),
  };
}
