import type { HttpDeps } from '../../src/http/server.js';
import type { MachineState, MailboxStatus, Status } from '../../src/http/status.js';
import { createLogging } from '../../src/logging/logger.js';
import { Metrics } from '../../src/metrics/metrics.js';
import type { ControlPort } from '../../src/ports/control.port.js';
import { InspectionHub } from '../../src/statecharts/inspection.js';

/** A machine state as the dashboard shows it, from its active paths. */
export function machineState(actor: string, paths: string[]): MachineState {
  return { actor, machine: actor.split(':')[0] ?? actor, paths, state: paths.at(-1)?.split('.').at(-1) ?? 'unknown' };
}

export function mailboxStatus(user: string, state: string): MailboxStatus {
  return {
    user,
    state,
    machine: machineState(`mailbox:${user}`, [state]),
    endpoint: null,
    lastError: null,
    attempt: 0,
    catchUp: { done: 0, total: 4 },
    children: [],
  };
}

/** A status with the database ready (or not) and these mailboxes; the rest empty. */
export function statusWith(options: { ready?: boolean; mailboxes?: MailboxStatus[] } = {}): Status {
  const mailboxes = options.mailboxes ?? [];
  const byState: Record<string, number> = {};
  for (const mailbox of mailboxes) byState[mailbox.state] = (byState[mailbox.state] ?? 0) + 1;
  const ready = options.ready ?? true;
  return {
    version: '1.2.3',
    startedAt: '2026-03-01T08:00:00.000Z',
    service: machineState('supervisor', ['running']),
    machines: [],
    database: {
      ...machineState('database', ready ? ['ready', 'ready.idle'] : ['connecting', 'connecting.waiting']),
      ready,
      target: 'postgres://db:5432/app',
      lastError: null,
    },
    pool: { concurrency: 8, running: 0, queued: 0 },
    mailboxes: { total: mailboxes.length, live: byState.live ?? 0, byState, list: mailboxes },
    items: { perMinute: [] },
    recentErrors: [],
    inspect: false,
  };
}

/** What the HTTP listener needs, with a ControlPort that keeps its calls and a log the test reads. */
export function httpDeps(overrides: Partial<HttpDeps> = {}) {
  const records: Array<Record<string, unknown>> = [];
  const logging = createLogging({
    format: 'json',
    level: 'debug',
    stdout: { write: (line: string) => void records.push(JSON.parse(line)) },
  });
  const deps: HttpDeps = {
    status: () => statusWith(),
    charts: [],
    metrics: new Metrics(),
    inspection: new InspectionHub(),
    inspect: false,
    control: {} as ControlPort,
    logger: logging.logger,
    ...overrides,
  };
  return { deps, records };
}
