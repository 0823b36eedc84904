import { randomUUID } from 'node:crypto';
import type { AnyActorRef, InspectionEvent, StateValue } from 'xstate';
import { isMachine, takenTransitionId } from './graph.js';
import { activePaths } from './state-paths.js';

/** One state change of one machine actor, as the dashboard shows it. */
export interface Transition {
  at: string;
  /** The actor's id: `database`, `mailbox:alice@contoso.test`, `itemType:calendar`. */
  actor: string;
  /** Which statechart it runs (`Statechart.id`). */
  machine: string;
  /** The mailbox it belongs to, when it does (read from its context). */
  user?: string;
  itemType?: string;
  event: string;
  from: string[];
  /** Empty when the actor stopped. */
  to: string[];
  /** The actor stopped (its mailbox was removed or restarted, the connector is stopping) in the state `from`. */
  stopped?: true;
  /**
   * The transitions taken, in order, by their ids in the statechart (`transitionId`: `connected#1`): the event's own,
   * then any eventless ones it led to. The dashboard animates their arrows.
   */
  transitions?: string[];
}

/**
 * An inspection event in the format of @statelyai/inspect (protocol 1.0.0): what `exh start --inspect` streams, so
 * that a client written for the Stately inspector can read it. Snapshots are reduced to their JSON-safe parts.
 */
export interface StatelyInspectionEvent {
  type: '@xstate.actor' | '@xstate.event' | '@xstate.snapshot';
  rootId: string | undefined;
  sessionId: string;
  createdAt: string;
  id: string;
  _version: '1.0.0';
  [key: string]: unknown;
}

const recentLimit = 200;
/**
 * Per mailbox as well: with many mailboxes, the overall list would hold none of a quiet one's. A small ring, since
 * every mailbox keeps one (docs/operations.md, "Memory"): a mailbox's registration takes about 20 transitions (its own
 * and its item types'), a notification two.
 */
export const recentPerUserLimit = 24;

/**
 * A transition as kept: its strings and path lists shared between all mailboxes (state paths, transition ids and event
 * types come from a handful of statecharts), its time a number. Made into a `Transition` when read.
 */
interface Kept {
  at: number;
  actor: string;
  machine: string;
  user: string | undefined;
  itemType: string | undefined;
  event: string;
  from: readonly string[];
  to: readonly string[];
  stopped: boolean;
  transitions: readonly string[] | undefined;
}

/** Shares equal strings and lists; bounded, so that an unforeseen source of distinct values cannot grow it forever. */
class Interner {
  readonly #strings = new Map<string, string>();
  readonly #lists = new Map<string, readonly string[]>();
  static readonly limit = 5_000;

  string(value: string): string {
    const known = this.#strings.get(value);
    if (known !== undefined) return known;
    if (this.#strings.size < Interner.limit) this.#strings.set(value, value);
    return value;
  }

  list(values: readonly string[]): readonly string[] {
    const key = values.join('\n');
    const known = this.#lists.get(key);
    if (known !== undefined) return known;
    const list = Object.freeze(values.map((value) => this.string(value)));
    if (this.#lists.size < Interner.limit) this.#lists.set(key, list);
    return list;
  }
}

const none: readonly string[] = Object.freeze([]);

function transitionOf(kept: Kept): Transition {
  const transition: Transition = {
    at: new Date(kept.at).toISOString(),
    actor: kept.actor,
    machine: kept.machine,
    event: kept.event,
    from: [...kept.from],
    to: [...kept.to],
  };
  if (kept.stopped) transition.stopped = true;
  else if (kept.transitions) transition.transitions = [...kept.transitions];
  if (kept.user !== undefined) transition.user = kept.user;
  if (kept.itemType !== undefined) transition.itemType = kept.itemType;
  return transition;
}

/**
 * Receives xstate's inspection events for the whole actor system (createActor's `inspect` option) and turns them into
 * what the dashboard and an attached inspector need: the state changes of machine actors (kept for the latest ones,
 * pushed to subscribers) and, only while somebody listens, the events in the Stately format.
 */
export class InspectionHub {
  /** Per machine actor, its state value as JSON (interned: a few distinct ones across all mailboxes). */
  readonly #values = new Map<string, string>();
  readonly #recent: Kept[] = [];
  readonly #recentByUser = new Map<string, Kept[]>();
  readonly #interner = new Interner();
  readonly #actors = new Map<string, AnyActorRef>();
  /** Per actor, the transitions taken since its last snapshot (xstate reports them before the snapshot). */
  readonly #taken = new Map<string, string[]>();
  #transitionListeners: ReadonlyArray<(transition: Transition) => void> = [];
  #statelyListeners: ReadonlyArray<(event: StatelyInspectionEvent) => void> = [];

  /** Pass as createActor(machine, { inspect: hub.inspect }). */
  readonly inspect = (event: InspectionEvent): void => {
    // xstate calls this synchronously inside the actors' own steps: whatever goes wrong here must stay here.
    try {
      if (event.type === '@xstate.actor') this.#actors.set(event.actorRef.sessionId, event.actorRef as AnyActorRef);
      if (event.type === '@xstate.microstep') this.#microstep(event);
      if (event.type === '@xstate.snapshot') this.#snapshot(event);
      if (this.#statelyListeners.length > 0) {
        const stately = toStately(event);
        if (stately) for (const listener of this.#statelyListeners) listener(stately);
      }
    } catch {
      // Nowhere to report it without re-entering the actor system; a missed inspection event harms nothing.
    }
  };

  /** The latest transitions, oldest first; `user` keeps those of one mailbox and its children. */
  recent(filter: { user?: string } = {}): Transition[] {
    const kept = filter.user === undefined ? this.#recent : (this.#recentByUser.get(filter.user) ?? []);
    return kept.map(transitionOf);
  }

  onTransition(listener: (transition: Transition) => void): () => void {
    this.#transitionListeners = [...this.#transitionListeners, listener];
    return () => {
      this.#transitionListeners = this.#transitionListeners.filter((candidate) => candidate !== listener);
    };
  }

  /** Stately-format events from now on, after one `@xstate.actor` event for every actor still running. */
  onStately(listener: (event: StatelyInspectionEvent) => void): () => void {
    for (const [sessionId, actorRef] of this.#actors) {
      if (actorRef.getSnapshot()?.status !== 'active') {
        this.#actors.delete(sessionId);
        continue;
      }
      listener(actorEvent(actorRef, rootIdOf(actorRef)));
    }
    this.#statelyListeners = [...this.#statelyListeners, listener];
    return () => {
      this.#statelyListeners = this.#statelyListeners.filter((candidate) => candidate !== listener);
    };
  }

  #microstep(event: InspectionEvent & { type: '@xstate.microstep' }): void {
    if (event._transitions.length === 0) return;
    const taken = this.#taken.get(event.actorRef.sessionId) ?? [];
    taken.push(...event._transitions.map(takenTransitionId));
    this.#taken.set(event.actorRef.sessionId, taken);
  }

  #snapshot(event: InspectionEvent & { type: '@xstate.snapshot' }): void {
    const snapshot = event.snapshot as { value?: StateValue; status?: string; context?: unknown; machine?: unknown };
    const actorRef = event.actorRef as AnyActorRef;
    const before = this.#values.get(actorRef.sessionId);
    const taken = this.#taken.get(actorRef.sessionId);
    this.#taken.delete(actorRef.sessionId);
    if (snapshot.status !== 'active') {
      this.#values.delete(actorRef.sessionId);
      this.#actors.delete(actorRef.sessionId);
    }
    if (snapshot.value === undefined || !isMachine(snapshot.machine)) return;
    const key = this.#interner.string(JSON.stringify(snapshot.value));
    // Stopped (or failed) where it was: a transition out of that state into none, marked as such; a machine that
    // reached a final state ('done') moved into it and is shown as any other transition.
    const stopped = snapshot.status === 'stopped' || snapshot.status === 'error';
    if (before === key && !stopped) return;
    if (snapshot.status === 'active') this.#values.set(actorRef.sessionId, key);
    const context = (snapshot.context ?? {}) as { user?: unknown; itemType?: unknown };
    const intern = this.#interner;
    const kept: Kept = {
      at: Date.now(),
      // The root's id is generated (x:0); its machine's id says more.
      actor: intern.string(actorRef._parent ? actorRef.id : snapshot.machine.id),
      machine: intern.string(snapshot.machine.id),
      user: typeof context.user === 'string' ? context.user : undefined,
      itemType: typeof context.itemType === 'string' ? intern.string(context.itemType) : undefined,
      event: intern.string(event.event.type),
      from: before === undefined ? none : intern.list(activePaths(JSON.parse(before) as StateValue)),
      to: stopped ? none : intern.list(activePaths(snapshot.value)),
      stopped,
      transitions: stopped || !taken ? undefined : intern.list(taken),
    };
    this.#recent.push(kept);
    if (this.#recent.length > recentLimit) this.#recent.shift();
    if (kept.user !== undefined) {
      const own = this.#recentByUser.get(kept.user) ?? [];
      own.push(kept);
      if (own.length > recentPerUserLimit) own.shift();
      this.#recentByUser.set(kept.user, own);
    }
    if (this.#transitionListeners.length === 0) return;
    const transition = transitionOf(kept);
    for (const listener of this.#transitionListeners) listener(transition);
  }
}

function base(sessionId: string, rootId: string | undefined) {
  return { rootId, sessionId, createdAt: Date.now().toString(), id: randomUUID(), _version: '1.0.0' as const };
}

function toStately(event: InspectionEvent): StatelyInspectionEvent | undefined {
  switch (event.type) {
    case '@xstate.actor':
      return actorEvent(event.actorRef as AnyActorRef, event.rootId);
    case '@xstate.event':
      return {
        type: '@xstate.event',
        ...base(event.actorRef.sessionId, event.rootId),
        event: jsonSafe(event.event),
        sourceId: event.sourceRef?.sessionId,
      };
    case '@xstate.snapshot':
      return {
        type: '@xstate.snapshot',
        ...base(event.actorRef.sessionId, event.rootId),
        event: jsonSafe(event.event),
        snapshot: snapshotOf(event.snapshot),
      };
    default:
      return undefined;
  }
}

function actorEvent(actorRef: AnyActorRef, rootId: string | undefined): StatelyInspectionEvent {
  const logic = (actorRef as { logic?: unknown }).logic;
  return {
    type: '@xstate.actor',
    ...base(actorRef.sessionId, rootId),
    name: actorRef.id,
    parentId: actorRef._parent?.sessionId,
    definition: isMachine(logic) ? JSON.stringify(logic.toJSON()) : undefined,
    snapshot: snapshotOf(actorRef.getSnapshot()),
  };
}

function rootIdOf(actorRef: AnyActorRef): string {
  let root = actorRef;
  while (root._parent) root = root._parent;
  return root.sessionId;
}

function snapshotOf(snapshot: unknown): unknown {
  // An actor is announced before its first snapshot exists.
  if (snapshot === undefined || snapshot === null) return undefined;
  const { status, value, context, output, error } = snapshot as Record<string, unknown>;
  return jsonSafe({ status, value, context, output, error });
}

/** Context is JSON-safe by convention; events may carry errors or refs, which become plain data or disappear. */
function jsonSafe(value: unknown): unknown {
  try {
    return serialize(value);
  } catch {
    return { unserializable: true };
  }
}

function serialize(value: unknown): unknown {
  return JSON.parse(
    JSON.stringify(value ?? null, (_key, item: unknown) => {
      if (typeof item === 'function') return undefined;
      if (item instanceof Error) return { name: item.name, message: item.message };
      if (item !== null && typeof item === 'object' && 'sessionId' in item && 'send' in item) {
        return { sessionId: (item as AnyActorRef).sessionId, id: (item as AnyActorRef).id };
      }
      return item;
    }),
  );
}
