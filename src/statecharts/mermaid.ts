import type { ChartState, Statechart } from './graph.js';

/**
 * A statechart as Mermaid `stateDiagram-v2`, for documentation (`exh machines export --format mermaid`). State ids are
 * the dot-joined paths with dots replaced, since Mermaid ids may not contain them; the label is the state's key.
 */
export function toMermaid(chart: Statechart): string {
  const lines = ['stateDiagram-v2', `  %% ${chart.id}${chart.description ? `: ${chart.description}` : ''}`];
  const root = chart.root;
  if (root.initial) lines.push(`  [*] --> ${mermaidId(chart, childPath(root, root.initial))}`);
  for (const state of root.states) writeState(chart, state, lines, '  ');
  writeTransitions(chart, root, lines, '  ');
  if (chart.children.length > 0) lines.push(`  %% children: ${chart.children.join(', ')}`);
  return `${lines.join('\n')}\n`;
}

function writeState(chart: Statechart, state: ChartState, lines: string[], indent: string): void {
  const id = mermaidId(chart, state.path);
  if (state.states.length === 0) {
    lines.push(`${indent}state "${state.key}" as ${id}`);
  } else {
    lines.push(`${indent}state "${state.key}" as ${id} {`);
    if (state.initial) lines.push(`${indent}  [*] --> ${mermaidId(chart, childPath(state, state.initial))}`);
    for (const child of state.states) writeState(chart, child, lines, `${indent}  `);
    lines.push(`${indent}}`);
  }
  if (state.type === 'final') lines.push(`${indent}${id} --> [*]`);
}

/** Transitions are written at the top level, after every state: Mermaid then resolves targets in other branches. */
function writeTransitions(chart: Statechart, state: ChartState, lines: string[], indent: string): void {
  for (const transition of state.transitions) {
    const label = transition.guard ? `${transition.event} [${transition.guard}]` : transition.event;
    const source = state.path === '' ? undefined : mermaidId(chart, state.path);
    for (const target of transition.targets) {
      // A transition of the machine itself leaves whatever state it is in; Mermaid has no arrow for that.
      if (source) lines.push(`${indent}${source} --> ${mermaidId(chart, target)}: ${escapeLabel(label)}`);
      else lines.push(`${indent}%% from any state --> ${target}: ${label}`);
    }
  }
  for (const child of state.states) writeTransitions(chart, child, lines, indent);
}

function childPath(parent: ChartState, key: string): string {
  return parent.path === '' ? key : `${parent.path}.${key}`;
}

function mermaidId(chart: Statechart, path: string): string {
  return `${chart.id}_${path.replace(/[^A-Za-z0-9]/g, '_')}`;
}

/** Mermaid ends a label at a colon or a semicolon. */
function escapeLabel(label: string): string {
  return label.replace(/[:;]/g, ' ');
}
