/**
 * Draws a statechart as a diagram: states as boxes (compound states around their children, regions of a parallel
 * state side by side), transitions as labelled arrows, an initial-state dot in every compound state. Where each
 * goes comes from the server (GET /api/machines/layout, laid out with ELK from the machine definitions,
 * docs/dashboard.md); this only draws. Nothing here knows a particular machine. The same chart is also written as a
 * nested list for screen readers (GET /api/machines), which is shown instead when there is no layout.
 */

const svgNs = 'http://www.w3.org/2000/svg';
let charts = 0;

/** Creates an element; children are nodes or strings (always set as text, never as HTML). */
export function h(tag, attributes = {}, ...children) {
  return fill(document.createElement(tag), attributes, children);
}

/** The same for SVG elements. */
function s(tag, attributes = {}, ...children) {
  return fill(document.createElementNS(svgNs, tag), attributes, children);
}

function fill(element, attributes, children) {
  for (const [name, value] of Object.entries(attributes)) {
    if (value === undefined || value === null || value === false) continue;
    if (name === 'className') element.setAttribute('class', value);
    else if (name.startsWith('on')) element.addEventListener(name.slice(2), value);
    else element.setAttribute(name, value === true ? '' : String(value));
  }
  for (const child of children.flat(Number.POSITIVE_INFINITY)) {
    if (child === undefined || child === null || child === false) continue;
    element.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return element;
}

/** One chart; `actor` names the running actor it shows, so live updates find it. `layout` may be missing. */
export function renderChart(chart, layout, actor, title) {
  const text = renderText(chart, layout !== undefined);
  const section = h(
    'section',
    { className: 'chart', 'data-machine': chart.id, 'data-actor': actor },
    h('div', { className: 'chart-title' }, title, ' ', h('span', { className: 'muted' }, `(machine ${chart.id})`)),
    layout
      ? h('div', { className: 'chart-canvas' }, renderDiagram(layout, title))
      : h('p', { className: 'muted' }, 'No diagram (its layout could not be read); the statechart as text:'),
    text,
  );
  return section;
}

// ---- the diagram --------------------------------------------------------------------------------------------------

function renderDiagram(layout, title) {
  const titleId = `chart-title-${++charts}`;
  const svg = s(
    'svg',
    {
      className: 'diagram',
      viewBox: `0 0 ${layout.width} ${layout.height}`,
      width: layout.width,
      height: layout.height,
      role: 'img',
      'aria-labelledby': titleId,
    },
    s('title', { id: titleId }, `Statechart of ${title}`),
    s('g', { className: 'states' }, layout.states.map(renderState)),
    s('g', { className: 'initials' }, layout.initials.map(renderInitial)),
    s('g', { className: 'edges' }, layout.transitions.map(renderEdge)),
    // Labels above every line, so no arrow runs through another's label.
    s('g', { className: 'edge-labels' }, layout.transitions.map(renderLabel)),
  );
  // The server guesses text widths; a text that came out wider than its box is narrowed to fit once drawn.
  requestAnimationFrame(() => fitTexts(svg));
  return svg;
}

function renderState(state) {
  const classes = ['state', state.type];
  if (state.path === '') classes.push('root');
  if (state.region) classes.push('region');
  const inset = 3;
  return s(
    'g',
    { className: classes.join(' '), 'data-path': state.path, 'data-active': 'false' },
    s('rect', { className: 'state-box', x: state.x, y: state.y, width: state.width, height: state.height, rx: 8 }),
    state.type === 'final'
      ? s('rect', {
          className: 'state-box-inner',
          x: state.x + inset,
          y: state.y + inset,
          width: state.width - 2 * inset,
          height: state.height - 2 * inset,
          rx: 6,
        })
      : null,
    s('text', { className: 'state-name', x: state.x + 10, y: state.y + 19, 'data-fit': state.width - 20 }, state.name),
    state.invokes.map((src, index) =>
      s(
        'text',
        { className: 'state-invoke', x: state.x + 10, y: state.y + 35 + index * 15, 'data-fit': state.width - 20 },
        `invoke ${src}`,
      ),
    ),
  );
}

function renderInitial(initial) {
  const { dot } = initial;
  return s(
    'g',
    { className: 'initial', 'data-initial-of': initial.parent },
    s('circle', { cx: dot.x + dot.width / 2, cy: dot.y + dot.height / 2, r: dot.width / 2 - 1 }),
    arrow(initial.points),
  );
}

function renderEdge(transition) {
  return s(
    'g',
    {
      className: 'edge',
      'data-transition': transition.id,
      'data-kind': transition.kind,
      'data-event': transition.event,
    },
    s('title', {}, describeTransition(transition)),
    transition.arrows.map((points) => arrow(points)),
  );
}

function renderLabel(transition) {
  const { label } = transition;
  return s(
    'g',
    { className: `edge-label ${transition.kind}`, 'data-label-of': transition.id },
    s('title', {}, describeTransition(transition)),
    s('rect', { x: label.x, y: label.y, width: label.width, height: label.height, rx: 5 }),
    label.lines.map((line, index) =>
      s(
        'text',
        {
          className: index === 0 ? 'edge-event' : 'edge-guard',
          x: label.x + 5,
          y: label.y + 13 + index * 14,
          'data-fit': label.width - 10,
        },
        line,
      ),
    ),
  );
}

/** A polyline with rounded corners and an arrowhead at its end. */
function arrow(points) {
  if (points.length < 2) return null;
  const head = 7;
  const [before, end] = points.slice(-2);
  const length = Math.hypot(end.x - before.x, end.y - before.y) || 1;
  const [dx, dy] = [(end.x - before.x) / length, (end.y - before.y) / length];
  // The line stops inside the head, so its end does not show through the tip.
  const line = [...points.slice(0, -1), { x: end.x - dx * (head - 1), y: end.y - dy * (head - 1) }];
  const base = { x: end.x - dx * head, y: end.y - dy * head };
  const tip = `M${end.x},${end.y} L${base.x - dy * 4},${base.y + dx * 4} L${base.x + dy * 4},${base.y - dx * 4} Z`;
  return [s('path', { className: 'edge-line', d: roundedPath(line) }), s('path', { className: 'edge-head', d: tip })];
}

function roundedPath(points) {
  const radius = 6;
  let d = `M${points[0].x},${points[0].y}`;
  for (let index = 1; index < points.length - 1; index++) {
    const [previous, corner, next] = [points[index - 1], points[index], points[index + 1]];
    const r = Math.min(
      radius,
      Math.hypot(corner.x - previous.x, corner.y - previous.y) / 2,
      Math.hypot(next.x - corner.x, next.y - corner.y) / 2,
    );
    const towards = (from, to) => {
      const length = Math.hypot(to.x - from.x, to.y - from.y) || 1;
      return { x: corner.x + ((from.x - corner.x) / length) * r, y: corner.y + ((from.y - corner.y) / length) * r };
    };
    const [a, b] = [towards(previous, corner), towards(next, corner)];
    d += ` L${a.x},${a.y} Q${corner.x},${corner.y} ${b.x},${b.y}`;
  }
  const last = points[points.length - 1];
  return `${d} L${last.x},${last.y}`;
}

function fitTexts(svg) {
  for (const text of svg.querySelectorAll('text[data-fit]')) {
    const room = Number(text.getAttribute('data-fit'));
    if (text.getComputedTextLength() > room) {
      text.setAttribute('textLength', String(room));
      text.setAttribute('lengthAdjust', 'spacingAndGlyphs');
    }
  }
}

function describeTransition(transition) {
  const to =
    transition.kind === 'actions'
      ? 'stays, runs actions only'
      : `→ ${transition.targets.map((target) => target || '(machine)').join(', ')}`;
  const guard = transition.guard ? ` [${transition.guard}]` : '';
  return `${transition.source || '(machine)'}: ${transition.event}${guard} ${to}`;
}

// ---- the text view ------------------------------------------------------------------------------------------------

/** The chart as a nested list; for screen readers only when the diagram is drawn. */
function renderText(chart, hidden) {
  return h(
    'div',
    { className: hidden ? 'chart-text visually-hidden' : 'chart-text' },
    h('p', { className: 'chart-current' }, 'Current state: unknown.'),
    h('ul', {}, renderTextState(chart.root, chart.id)),
  );
}

function renderTextState(state, name) {
  const transitions = state.transitions.map((transition) =>
    h(
      'li',
      {},
      `on ${transition.event}`,
      transition.guard ? ` [${transition.guard}]` : '',
      transition.targets.length === 0
        ? ': runs actions, stays'
        : ` → ${transition.targets.map((target) => target || '(machine)').join(', ')}`,
    ),
  );
  return h(
    'li',
    { 'data-text-path': state.path },
    h('span', { className: 'text-state' }, state.path === '' ? `machine ${name}` : state.key),
    state.type === 'final' ? ' (final)' : '',
    state.type === 'parallel' ? ' (parallel regions)' : '',
    state.initial ? `, starts in ${state.initial}` : '',
    state.invokes.length > 0 ? `, runs ${state.invokes.map((invoke) => invoke.src).join(', ')}` : '',
    h('span', { className: 'text-current' }),
    transitions.length > 0 ? h('ul', { 'aria-label': 'transitions' }, transitions) : null,
    state.states.length > 0
      ? h(
          'ul',
          { 'aria-label': 'states' },
          state.states.map((child) => renderTextState(child, child.key)),
        )
      : null,
  );
}

// ---- live ---------------------------------------------------------------------------------------------------------

/** Marks the active states of one drawn chart (paths as the API gives them: outermost first). */
export function markActive(chartElement, paths) {
  const active = new Set(paths);
  for (const box of chartElement.querySelectorAll('.state[data-path]')) {
    const path = box.getAttribute('data-path');
    box.setAttribute('data-active', path !== '' && active.has(path) ? 'true' : 'false');
  }
  for (const item of chartElement.querySelectorAll('li[data-text-path]')) {
    const current = active.has(item.getAttribute('data-text-path'));
    if (current) item.setAttribute('aria-current', 'true');
    else item.removeAttribute('aria-current');
    const note = item.querySelector(':scope > .text-current');
    if (note) note.textContent = current ? ' (current)' : '';
  }
  const current = chartElement.querySelector('.chart-current');
  if (current) current.textContent = `Current state: ${paths.at(-1) ?? 'none (stopped)'}.`;
}

/**
 * Marks the arrows of the latest transition (ids as transition events name them: `connected#1`), in the order taken;
 * `animate` runs them once more, as when the transition arrives live.
 */
export function markTransition(chartElement, ids, animate) {
  if (ids.length === 0) return;
  for (const element of chartElement.querySelectorAll('.edge.last, .edge-label.last')) {
    element.classList.remove('last', 'animate');
    element.removeAttribute('data-last');
  }
  // Style is worked out again before the classes come back, so an animation that ran already runs again.
  chartElement.getBoundingClientRect();
  for (const [step, id] of ids.entries()) {
    for (const element of chartElement.querySelectorAll(
      `.edge[data-transition="${CSS.escape(id)}"], .edge-label[data-label-of="${CSS.escape(id)}"]`,
    )) {
      element.classList.add('last');
      element.setAttribute('data-last', 'true');
      if (!animate) continue;
      // Transitions of one step one after another, as they were taken.
      element.style.setProperty('--step', String(step));
      element.classList.add('animate');
    }
  }
}
