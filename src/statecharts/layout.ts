import elkjs from 'elkjs/lib/elk.bundled.js';
import type { ELK, ElkEdgeSection, ElkExtendedEdge, ElkNode, LayoutOptions } from 'elkjs/lib/elk-api.js';
import { type ChartState, type Statechart, transitionId } from './graph.js';

/**
 * A statechart laid out as a diagram (docs/dashboard.md): every state a box (compound states around their children,
 * the regions of a parallel state side by side), every transition an arrow with its label, and where each goes, in
 * pixels. Computed with ELK's layered layout (as Stately's visualizer does) from the chart alone, so the dashboard
 * only draws it. All coordinates are absolute, from the diagram's top left corner.
 */
export interface ChartLayout {
  id: string;
  width: number;
  height: number;
  /** Every state, the machine itself (path '') first, each parent before its children. */
  states: StateLayout[];
  /** Where each compound state starts: a dot and an arrow from it to the initial state. */
  initials: InitialLayout[];
  /** Every transition of the chart, in the order of `ChartState.transitions`, state by state. */
  transitions: TransitionLayout[];
}

export interface Box {
  x: number;
  y: number;
  width: number;
  height: number;
}

export interface Point {
  x: number;
  y: number;
}

export interface StateLayout extends Box {
  path: string;
  /** The name shown: the state's key, or the machine's id for the machine itself. */
  name: string;
  type: ChartState['type'];
  /** One region of a parallel state (drawn dashed). */
  region: boolean;
  /** The actors running while in the state (their logic's name), listed under its name. */
  invokes: string[];
  /** The height of the band at the top that holds the name and the invokes. */
  header: number;
}

export interface InitialLayout {
  /** The compound state whose initial state this marks. */
  parent: string;
  target: string;
  dot: Box;
  points: Point[];
}

export interface TransitionLayout {
  /** `transitionId(source, index)`: what a transition event names (`Transition.transitions`). */
  id: string;
  source: string;
  targets: string[];
  event: string;
  guard?: string;
  /** `self`: leaves its state and enters it again; `actions`: no target, only runs actions (drawn as a loop too). */
  kind: 'external' | 'self' | 'actions';
  /** One polyline per target (one loop for a transition without a target), from the source's border. */
  arrows: Point[][];
  /** The label's box; its lines are the event and, when guarded, `[guard]`. */
  label: Box & { lines: string[] };
}

/** The text sizes the dashboard draws with (src/dashboard/style.css), which the boxes are made to fit. */
const fontSizes = { name: 13, invoke: 11, label: 11 } as const;

const pad = 10;
const nameLine = 18;
const invokeLine = 15;
const labelLine = 14;
const dot = 12;
/** Options of every graph, the machine's and each compound state's: ELK reads them per graph. */
const graphOptions: LayoutOptions = {
  // Cycles broken depth first from the first node, the initial dot: the initial state comes first and the arrows
  // run on from it, as one reads the machine. (ELK 0.12's model-order options fail on nested graphs.)
  'elk.layered.cycleBreaking.strategy': 'DEPTH_FIRST',
  'elk.spacing.nodeNode': '28',
  'elk.layered.spacing.nodeNodeBetweenLayers': '36',
  'elk.spacing.edgeNode': '14',
  'elk.spacing.edgeEdge': '10',
  'elk.layered.spacing.edgeNodeBetweenLayers': '14',
  'elk.layered.spacing.edgeEdgeBetweenLayers': '10',
  'elk.spacing.edgeLabel': '3',
};
const rootOptions: LayoutOptions = {
  'elk.algorithm': 'layered',
  'elk.direction': 'RIGHT',
  // Compound states are laid out with their children in one pass, so arrows may cross their borders.
  'elk.hierarchyHandling': 'INCLUDE_CHILDREN',
  'elk.edgeRouting': 'ORTHOGONAL',
  'elk.json.shapeCoords': 'ROOT',
  'elk.json.edgeCoords': 'ROOT',
  'elk.padding': '[top=14,left=14,bottom=14,right=14]',
  ...graphOptions,
};

const nodeId = (path: string) => `state:${path}`;
const childPath = (parent: string, key: string) => (parent === '' ? key : `${parent}.${key}`);

const cache = new WeakMap<Statechart, Promise<ChartLayout>>();
let elk: ELK | undefined;

/** The chart's layout, computed once per chart (ELK takes a while the first time; every later call is free). */
export function layoutStatechart(chart: Statechart): Promise<ChartLayout> {
  let layout = cache.get(chart);
  if (!layout) {
    layout = computeLayout(chart);
    // A failed layout is not kept: the next request tries again.
    layout.catch(() => cache.delete(chart));
    cache.set(chart, layout);
  }
  return layout;
}

async function computeLayout(chart: Statechart): Promise<ChartLayout> {
  // A CommonJS module: its class is `module.exports`, and `.default` of it as well, which is what the types say.
  elk ??= new elkjs.default();
  const graph = elkGraph(chart);
  const laidOut = await elk.layout(graph);
  return readLayout(chart, laidOut);
}

/** The ELK graph of a chart: the machine as one compound node, its states nested in it, every transition an edge. */
function elkGraph(chart: Statechart): ElkNode {
  const edges: ElkExtendedEdge[] = [];
  const node = (state: ChartState, name: string): ElkNode => {
    const header = headerHeight(state);
    const width = Math.max(
      80,
      Math.ceil(textWidth(name, fontSizes.name, true)) + 2 * pad,
      ...state.invokes.map((invoke) => Math.ceil(textWidth(`invoke ${invoke.src}`, fontSizes.invoke)) + 2 * pad),
    );
    const elkNode: ElkNode = { id: nodeId(state.path) };
    if (state.states.length === 0) {
      elkNode.width = width;
      elkNode.height = Math.max(40, header + pad / 2);
    } else {
      elkNode.layoutOptions = {
        ...graphOptions,
        'elk.padding': `[top=${header + pad},left=${pad + 4},bottom=${pad + 4},right=${pad + 4}]`,
        'elk.nodeSize.constraints': 'MINIMUM_SIZE',
        'elk.nodeSize.minimum': `(${width}, ${header + 2 * pad})`,
      };
      const children = state.states.map((child) => node(child, child.key));
      if (state.initial) {
        const initial = `initial:${state.path}`;
        children.unshift({ id: initial, width: dot, height: dot });
        edges.push({ id: initial, sources: [initial], targets: [nodeId(childPath(state.path, state.initial))] });
      }
      if (state.type === 'parallel') {
        // Regions have no arrows between them; an unseen edge from each to the next puts them side by side.
        for (let index = 1; index < state.states.length; index++) {
          const [before, after] = [state.states[index - 1], state.states[index]];
          if (before && after) {
            edges.push({ id: `order:${after.path}`, sources: [nodeId(before.path)], targets: [nodeId(after.path)] });
          }
        }
      }
      elkNode.children = children;
    }
    for (const [index, transition] of state.transitions.entries()) {
      const id = transitionId(state.path, index);
      const lines = labelLines(transition.event, transition.guard);
      const label = {
        text: lines.join('\n'),
        width: Math.ceil(Math.max(...lines.map((line) => textWidth(line, fontSizes.label)))) + 10,
        height: lines.length * labelLine + 4,
      };
      // A transition without a target is a loop on its state, like one back into it.
      const targets = transition.targets.length > 0 ? transition.targets : [state.path];
      for (const [arrow, target] of targets.entries()) {
        edges.push({
          id: `${id}>${arrow}`,
          sources: [nodeId(state.path)],
          targets: [nodeId(target)],
          ...(arrow === 0 ? { labels: [label] } : {}),
        });
      }
    }
    return elkNode;
  };
  const machine = node(chart.root, chart.id);
  return { id: 'diagram', layoutOptions: rootOptions, children: [machine], edges };
}

function readLayout(chart: Statechart, laidOut: ElkNode): ChartLayout {
  const boxes = new Map<string, ElkNode>();
  const collect = (node: ElkNode) => {
    boxes.set(node.id, node);
    for (const child of node.children ?? []) collect(child);
  };
  collect(laidOut);
  const edges = new Map((laidOut.edges ?? []).map((edge) => [edge.id, edge]));
  const layout: ChartLayout = {
    id: chart.id,
    width: Math.ceil(laidOut.width ?? 0),
    height: Math.ceil(laidOut.height ?? 0),
    states: [],
    initials: [],
    transitions: [],
  };
  const visit = (state: ChartState, name: string, region: boolean) => {
    layout.states.push({
      path: state.path,
      name,
      type: state.type,
      region,
      invokes: state.invokes.map((invoke) => invoke.src),
      header: headerHeight(state),
      ...boxOf(boxes.get(nodeId(state.path))),
    });
    if (state.initial) {
      const initial = `initial:${state.path}`;
      layout.initials.push({
        parent: state.path,
        target: childPath(state.path, state.initial),
        dot: boxOf(boxes.get(initial)),
        points: pointsOf(edges.get(initial)),
      });
    }
    for (const [index, transition] of state.transitions.entries()) {
      const id = transitionId(state.path, index);
      const targets = transition.targets.length > 0 ? transition.targets : [state.path];
      const first = edges.get(`${id}>0`);
      const label = first?.labels?.[0];
      layout.transitions.push({
        id,
        source: state.path,
        targets: transition.targets,
        event: transition.event,
        ...(transition.guard ? { guard: transition.guard } : {}),
        kind:
          transition.targets.length === 0 ? 'actions' : transition.targets.includes(state.path) ? 'self' : 'external',
        arrows: targets.map((_target, arrow) => pointsOf(edges.get(`${id}>${arrow}`))),
        label: { ...boxOf(label), lines: labelLines(transition.event, transition.guard) },
      });
    }
    for (const child of state.states) visit(child, child.key, state.type === 'parallel');
  };
  visit(chart.root, chart.id, false);
  return layout;
}

/** The name line and one line per invoked actor. */
function headerHeight(state: ChartState): number {
  return pad / 2 + nameLine + state.invokes.length * invokeLine + pad / 2;
}

function labelLines(event: string, guard: string | undefined): string[] {
  return guard ? [event, `[${guard}]`] : [event];
}

function boxOf(shape: { x?: number; y?: number; width?: number; height?: number } | undefined): Box {
  return { x: shape?.x ?? 0, y: shape?.y ?? 0, width: shape?.width ?? 0, height: shape?.height ?? 0 };
}

/** An edge's route as one polyline: its sections chained from the one nothing leads into. */
function pointsOf(edge: ElkExtendedEdge | undefined): Point[] {
  const sections = edge?.sections ?? [];
  const byId = new Map(sections.map((section) => [section.id, section]));
  let section: ElkEdgeSection | undefined = sections.find((candidate) => !candidate.incomingSections?.length);
  const points: Point[] = [];
  const seen = new Set<string>();
  while (section && !seen.has(section.id)) {
    seen.add(section.id);
    for (const point of [section.startPoint, ...(section.bendPoints ?? []), section.endPoint]) {
      const last = points.at(-1);
      if (!last || last.x !== point.x || last.y !== point.y) points.push({ x: point.x, y: point.y });
    }
    const next = section.outgoingSections?.[0];
    section = next === undefined ? undefined : byId.get(next);
  }
  return points;
}

/**
 * About how wide a text is in a sans-serif font (the server has no fonts to measure with): proportional widths by
 * kind of character, on the wide side of common sans-serif fonts. The dashboard narrows a text that comes out
 * wider all the same, so nothing spills out of its box.
 */
export function textWidth(text: string, size: number, bold = false): number {
  let ems = 0;
  for (const character of text) {
    if ("il.,:;|!'".includes(character)) ems += 0.3;
    else if ('jtfr()[] -'.includes(character)) ems += 0.38;
    else if ('mwMW'.includes(character)) ems += 0.9;
    else if (character >= 'A' && character <= 'Z') ems += 0.72;
    else ems += 0.6;
  }
  return ems * size * (bold ? 1.08 : 1);
}
