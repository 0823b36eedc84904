import type { AnyStateMachine, AnyStateNode, AnyTransitionDefinition } from 'xstate';

/**
 * A statechart as plain JSON, read from an xstate v5 machine definition (`machine.root`), never written by hand: the
 * dashboard draws it and `exh machines export` prints it, so a state or an item-type machine added to machines/
 * shows up in both without touching either.
 */
export interface Statechart {
  /** The machine's id (`mailbox`, `itemType`): what a running actor's snapshot names as `machine.id`. */
  id: string;
  description?: string;
  root: ChartState;
  /** Ids of the machines this one runs as children (invoked or spawned), in the order its setup names them. */
  children: string[];
}

export interface ChartState {
  /** The state's path below the root, dot-joined (`connected.live`); '' for the root. */
  path: string;
  key: string;
  type: 'atomic' | 'compound' | 'parallel' | 'final' | 'history';
  /** The key of the initial child state of a compound state. */
  initial?: string;
  description?: string;
  /** Actors running while in this state: `id` as the machine names them, `src` the logic's name. */
  invokes: Array<{ id: string; src: string }>;
  transitions: ChartTransition[];
  states: ChartState[];
}

export interface ChartTransition {
  /** The event (`subscription.ready`), `after <delay>` for a delayed one, `always` for an eventless one. */
  event: string;
  /** Target paths; empty for a transition that only runs actions. */
  targets: string[];
  guard?: string;
}

/** Every statechart reachable from `root` through its actors (depth first, each machine once), root first. */
export function statecharts(root: AnyStateMachine): Statechart[] {
  const charts = new Map<string, Statechart>();
  const visit = (machine: AnyStateMachine) => {
    if (charts.has(machine.id)) return;
    const children = childMachines(machine);
    charts.set(machine.id, {
      id: machine.id,
      ...(machine.root.description ? { description: machine.root.description } : {}),
      root: chartState(machine.root),
      children: children.map((child) => child.id),
    });
    for (const child of children) visit(child);
  };
  visit(root);
  return [...charts.values()];
}

/** The machines among the actors a machine's setup names (`actors: { itemType: itemTypeMachine }`). */
function childMachines(machine: AnyStateMachine): AnyStateMachine[] {
  const actors = Object.values((machine.implementations.actors ?? {}) as Record<string, unknown>);
  return actors.filter(isMachine);
}

export function isMachine(logic: unknown): logic is AnyStateMachine {
  return typeof logic === 'object' && logic !== null && 'root' in logic && 'implementations' in logic;
}

function chartState(node: AnyStateNode): ChartState {
  const states = Object.values(node.states) as AnyStateNode[];
  const initialTarget = node.type === 'compound' ? node.initial?.target?.[0] : undefined;
  const state: ChartState = {
    path: node.path.join('.'),
    key: node.key,
    type: node.type,
    invokes: node.invoke.map((invoke) => ({ id: invoke.id, src: srcName(invoke.src) })),
    transitions: transitionsOf(node),
    states: states.map(chartState),
  };
  if (initialTarget) state.initial = initialTarget.key;
  if (node.description) state.description = node.description;
  return state;
}

function transitionsOf(node: AnyStateNode): ChartTransition[] {
  const srcById = new Map(node.invoke.map((invoke) => [invoke.id, srcName(invoke.src)]));
  return definitionsOf(node).map(({ eventType, definition }) =>
    chartTransition(
      eventType === undefined ? 'always' : eventName(eventType, srcById),
      definition.target,
      definition.guard,
    ),
  );
}

/**
 * A transition's id within its machine: its source state's path and its place among that state's transitions
 * (`ChartState.transitions`), e.g. `connected#1`. The dashboard finds the arrow of a transition by it.
 */
export function transitionId(sourcePath: string, index: number): string {
  return `${sourcePath}#${index}`;
}

/**
 * The id (`transitionId`) of a transition xstate took, as an `@xstate.microstep` inspection event names it. The
 * running machine is a copy (`machine.provide`) of the one the chart was read from, so the transition is found by its
 * place in its state, in the order `ChartState.transitions` has.
 */
export function takenTransitionId(definition: AnyTransitionDefinition): string {
  const index = definitionsOf(definition.source).findIndex((candidate) => candidate.definition === definition);
  return transitionId(definition.source.path.join('.'), index);
}

/** A state's transitions in one order: those of its events (`on`, `after`, `onDone`, …), then the eventless ones. */
function definitionsOf(
  node: AnyStateNode,
): Array<{ eventType: string | undefined; definition: AnyTransitionDefinition }> {
  const definitions: Array<{ eventType: string | undefined; definition: AnyTransitionDefinition }> = [];
  for (const [eventType, list] of node.transitions) {
    for (const definition of list) definitions.push({ eventType, definition });
  }
  for (const definition of node.always ?? []) definitions.push({ eventType: undefined, definition });
  return definitions;
}

function chartTransition(event: string, target: readonly AnyStateNode[] | undefined, guard: unknown): ChartTransition {
  const transition: ChartTransition = { event, targets: (target ?? []).map((node) => node.path.join('.')) };
  const name = guardName(guard);
  if (name) transition.guard = name;
  return transition;
}

/**
 * `xstate.after.backoff.mailbox.backingOff` → `after backoff`; `xstate.done.actor.<invoke id>` → `done connect` (the
 * invoked logic's name, since generated invoke ids say nothing); other events as they are.
 */
function eventName(eventType: string, srcById: Map<string, string>): string {
  const delayed = /^xstate\.after\.([^.]+)\./.exec(eventType);
  if (delayed) return `after ${delayed[1]}`;
  const settled = /^xstate\.(done|error)\.actor\.(.+)$/.exec(eventType);
  if (settled?.[1] && settled[2]) return `${settled[1]} ${srcById.get(settled[2]) ?? settled[2]}`;
  return eventType;
}

function guardName(guard: unknown): string | undefined {
  if (guard === undefined || guard === null) return undefined;
  if (typeof guard === 'string') return guard;
  if (typeof guard === 'object' && 'type' in guard) return String((guard as { type: unknown }).type);
  if (typeof guard === 'function') {
    // and([...]) / or([...]) / not(...) keep their operands on the function.
    const operands = (guard as { guards?: unknown[]; guard?: unknown }).guards;
    if (Array.isArray(operands)) return `${guard.name || 'guard'}(${operands.map(guardName).join(', ')})`;
    return guard.name || 'guard';
  }
  return 'guard';
}

function srcName(src: unknown): string {
  if (typeof src === 'string') return src;
  if (isMachine(src)) return src.id;
  return 'inline';
}
