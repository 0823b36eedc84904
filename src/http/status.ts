import type { AnyActorRef, StateValue } from 'xstate';
import type { ItemsPerMinute, RecentError } from '../metrics/metrics.js';
import type { ExchangePoolStats } from '../pool/exchange-pool.js';
import { isMachine } from '../statecharts/graph.js';
import { activePaths, leafState } from '../statecharts/state-paths.js';

/** A machine actor as the dashboard shows it: which statechart, which states are active. */
export interface MachineState {
  /** The actor's id (`itemType:calendar`). */
  actor: string;
  /** The statechart it runs (`Statechart.id`). */
  machine: string;
  /** Active state paths, outermost first (`connected`, `connected.live`). */
  paths: string[];
  /** The innermost active state (`live`). */
  state: string;
}

export interface SerializedErrorView {
  code: string;
  message: string;
}

/** A child machine of a mailbox: one per enabled item type today, whatever the mailbox machine spawns tomorrow. */
export interface ChildStatus extends MachineState {
  itemType?: string;
  caughtUp?: boolean;
  applied?: number;
  failed?: number;
  pending?: boolean;
  lastError: SerializedErrorView | null;
}

export interface MailboxStatus {
  user: string;
  /** `stopped` when the mailbox crashed too often and was left stopped, else the mailbox machine's innermost state. */
  state: string;
  machine: MachineState | null;
  endpoint: string | null;
  lastError: SerializedErrorView | null;
  /** Failed attempts since last live (drives the back-off). */
  attempt: number;
  /** Item types caught up of those enabled. */
  catchUp: { done: number; total: number };
  children: ChildStatus[];
}

export interface Status {
  version: string;
  startedAt: string;
  service: MachineState;
  /** The service's own machines, drawn on the overview: the supervisor, the database machine, the mailboxes' supervisor. */
  machines: MachineState[];
  database: MachineState & { ready: boolean; target: string; lastError: SerializedErrorView | null };
  pool: ExchangePoolStats;
  mailboxes: { total: number; live: number; byState: Record<string, number>; list: MailboxStatus[] };
  items: { perMinute: ItemsPerMinute[] };
  recentErrors: RecentError[];
  /** Whether `/api/inspect` streams xstate's inspection events (exh start --inspect). */
  inspect: boolean;
}

export interface StatusSources {
  version: string;
  startedAt: string;
  root: () => AnyActorRef;
  databaseTarget: string;
  pool: () => ExchangePoolStats;
  itemsPerMinute: () => ItemsPerMinute[];
  recentErrors: () => RecentError[];
  inspect: boolean;
}

/** Reads the actor tree as it is now: supervisor → database, mailboxes → mailbox:<user> → its children. */
export function readStatus(sources: StatusSources): Status {
  const root = sources.root();
  const rootSnapshot = root.getSnapshot() as MachineSnapshotLike;
  const databaseRef = rootSnapshot.children?.database;
  const databaseSnapshot = databaseRef?.getSnapshot() as MachineSnapshotLike | undefined;
  const databaseContext = (databaseSnapshot?.context ?? {}) as { lastError?: SerializedErrorView | null };
  const database = databaseRef ? machineState(databaseRef) : unknownState('database', 'database');
  const mailboxes = readMailboxes(rootSnapshot);
  const mailboxesRef = rootSnapshot.children?.mailboxes;
  const machines = [machineState(root), database, ...(mailboxesRef ? [machineState(mailboxesRef)] : [])];
  const byState: Record<string, number> = {};
  for (const mailbox of mailboxes) byState[mailbox.state] = (byState[mailbox.state] ?? 0) + 1;
  return {
    version: sources.version,
    startedAt: sources.startedAt,
    service: machineState(root),
    machines,
    database: {
      ...database,
      ready: database.paths[0] === 'ready',
      target: sources.databaseTarget,
      lastError: errorView(databaseContext.lastError),
    },
    pool: sources.pool(),
    mailboxes: { total: mailboxes.length, live: byState.live ?? 0, byState, list: mailboxes },
    items: { perMinute: sources.itemsPerMinute() },
    recentErrors: sources.recentErrors(),
    inspect: sources.inspect,
  };
}

/**
 * What /readyz and the mailbox gauges need: the database's state and the mailboxes counted by state, read without
 * building the status of every mailbox and its children (with 10,000 mailboxes that took most of the CPU of a
 * registration polled twice a second: bench/scenarios/scale.ts, docs/operations.md "Memory").
 */
export interface Readiness {
  ready: boolean;
  /** The database machine's innermost active path (`ready.idle`). */
  database: string;
  mailboxes: { total: number; live: number; byState: Record<string, number> };
}

export function readReadiness(root: AnyActorRef): Readiness {
  const rootSnapshot = root.getSnapshot() as MachineSnapshotLike;
  const databaseRef = rootSnapshot.children?.database;
  const database = databaseRef ? machineState(databaseRef) : unknownState('database', 'database');
  const byState: Record<string, number> = {};
  let total = 0;
  const supervisor = rootSnapshot.children?.mailboxes;
  if (supervisor) {
    const snapshot = supervisor.getSnapshot() as MachineSnapshotLike;
    for (const registration of (snapshot.context as MailboxesContextLike | undefined)?.users ?? []) {
      const mailbox = snapshot.children?.[`mailbox:${registration.user}`]?.getSnapshot() as
        | MachineSnapshotLike
        | undefined;
      // As readStatus names them: a mailbox not running is stopped, one without a state value yet unknown.
      const state =
        mailbox?.status !== 'active' ? 'stopped' : mailbox.value === undefined ? 'unknown' : leafState(mailbox.value);
      byState[state] = (byState[state] ?? 0) + 1;
      total += 1;
    }
  }
  return {
    ready: database.paths[0] === 'ready',
    database: database.paths.at(-1) ?? database.state,
    mailboxes: { total, live: byState.live ?? 0, byState },
  };
}

/** The same read from a whole status. */
export function readinessOf(status: Status): Readiness {
  const { total, live, byState } = status.mailboxes;
  return {
    ready: status.database.ready,
    database: status.database.paths.at(-1) ?? status.database.state,
    mailboxes: { total, live, byState },
  };
}

interface MachineSnapshotLike {
  status: string;
  value?: StateValue;
  context?: Record<string, unknown>;
  children?: Record<string, AnyActorRef | undefined>;
  machine?: unknown;
}

interface MailboxesContextLike {
  users?: Array<{ user: string; sync: Record<string, boolean> }>;
  givenUp?: string[];
}

function readMailboxes(rootSnapshot: MachineSnapshotLike): MailboxStatus[] {
  const supervisor = rootSnapshot.children?.mailboxes;
  if (!supervisor) return [];
  const snapshot = supervisor.getSnapshot() as MachineSnapshotLike;
  const context = (snapshot.context ?? {}) as MailboxesContextLike;
  return (context.users ?? []).map((registration) => {
    const ref = snapshot.children?.[`mailbox:${registration.user}`];
    const enabled = Object.values(registration.sync).filter(Boolean).length;
    if (!ref || (ref.getSnapshot() as MachineSnapshotLike).status !== 'active') {
      return {
        user: registration.user,
        state: 'stopped',
        machine: null,
        endpoint: null,
        lastError: null,
        attempt: 0,
        catchUp: { done: 0, total: enabled },
        children: [],
      };
    }
    const mailbox = ref.getSnapshot() as MachineSnapshotLike;
    const mailboxContext = (mailbox.context ?? {}) as {
      endpoint?: string | null;
      lastError?: SerializedErrorView | null;
      attempt?: number;
      caughtUp?: string[];
    };
    const machine = machineState(ref);
    return {
      user: registration.user,
      state: machine.state,
      machine,
      endpoint: mailboxContext.endpoint ?? null,
      lastError: errorView(mailboxContext.lastError),
      attempt: mailboxContext.attempt ?? 0,
      catchUp: { done: machine.state === 'live' ? enabled : (mailboxContext.caughtUp ?? []).length, total: enabled },
      children: childMachines(mailbox),
    };
  });
}

function childMachines(snapshot: MachineSnapshotLike): ChildStatus[] {
  const children: ChildStatus[] = [];
  for (const ref of Object.values(snapshot.children ?? {})) {
    if (!ref) continue;
    const child = ref.getSnapshot() as MachineSnapshotLike;
    if (!isMachine(child.machine) || child.status !== 'active') continue;
    const context = (child.context ?? {}) as Record<string, unknown>;
    const status: ChildStatus = { ...machineState(ref), lastError: errorView(context.lastError) };
    if (typeof context.itemType === 'string') status.itemType = context.itemType;
    if (typeof context.caughtUp === 'boolean') status.caughtUp = context.caughtUp;
    if (typeof context.applied === 'number') status.applied = context.applied;
    if (typeof context.failed === 'number') status.failed = context.failed;
    if (typeof context.pending === 'boolean') status.pending = context.pending;
    children.push(status);
  }
  return children.sort((a, b) => a.actor.localeCompare(b.actor));
}

function machineState(ref: AnyActorRef): MachineState {
  const snapshot = ref.getSnapshot() as MachineSnapshotLike;
  const machine = isMachine(snapshot.machine) ? snapshot.machine.id : ref.id;
  if (snapshot.value === undefined) return unknownState(ref.id, machine);
  const actor = ref._parent ? ref.id : machine;
  return { actor, machine, paths: activePaths(snapshot.value), state: leafState(snapshot.value) };
}

function unknownState(actor: string, machine: string): MachineState {
  return { actor, machine, paths: [], state: 'unknown' };
}

function errorView(error: unknown): SerializedErrorView | null {
  if (!error || typeof error !== 'object') return null;
  const { code, message } = error as { code?: unknown; message?: unknown };
  return { code: String(code ?? 'EXH_INTERNAL'), message: String(message ?? '') };
}
