/**
 * Draws a statechart (the JSON of GET /api/machines, read by the server from the machine definitions) as nested
 * state boxes, each with its invoked actors and its transitions. Nothing here knows a particular machine: a state
 * or a machine added to machines/ is drawn as it comes.
 */

/** Creates an element; children are nodes or strings (always set as text, never as HTML). */
export function h(tag, attributes = {}, ...children) {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value === undefined || value === null || value === false) continue;
    if (name === 'className') element.className = value;
    else if (name.startsWith('on')) element.addEventListener(name.slice(2), value);
    else element.setAttribute(name, value === true ? '' : String(value));
  }
  for (const child of children.flat()) {
    if (child === undefined || child === null || child === false) continue;
    element.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return element;
}

/** One chart; `actor` names the running actor it shows, so live updates find it. */
export function renderChart(chart, actor, title) {
  return h(
    'section',
    { className: 'chart', 'data-machine': chart.id, 'data-actor': actor },
    h('div', { className: 'chart-title' }, title, ' ', h('span', { className: 'muted' }, `(machine ${chart.id})`)),
    renderState(chart.root, true),
  );
}

function renderState(state, isRoot) {
  const classes = ['state', state.type];
  if (isRoot) classes.push('root');
  const box = h('div', { className: classes.join(' '), 'data-path': state.path, 'data-active': 'false' });
  if (!isRoot) {
    box.append(
      h(
        'div',
        { className: 'state-name' },
        state.key,
        state.initial ? h('span', { className: 'initial' }, ` (starts in ${state.initial})`) : null,
      ),
    );
  }
  if (state.description) box.append(h('div', { className: 'muted' }, state.description));
  if (state.invokes.length > 0) {
    box.append(h('div', { className: 'invokes' }, `runs: ${state.invokes.map((invoke) => invoke.src).join(', ')}`));
  }
  const transitions = state.transitions.filter((transition) => transition.targets.length > 0);
  if (transitions.length > 0) {
    box.append(
      h(
        'ul',
        { className: 'transitions' },
        transitions.map((transition) =>
          h(
            'li',
            {},
            `${transition.event} → ${transition.targets.map((target) => target || '(root)').join(', ')}`,
            transition.guard ? h('span', { className: 'guard' }, ` [${transition.guard}]`) : null,
          ),
        ),
      ),
    );
  }
  if (state.states.length > 0) {
    box.append(
      h(
        'div',
        { className: 'state-children' },
        state.states.map((child) => renderState(child, false)),
      ),
    );
  }
  return box;
}

/** Marks the active states of one drawn chart (paths as the API gives them: outermost first). */
export function markActive(chartElement, paths) {
  const active = new Set(paths);
  for (const box of chartElement.querySelectorAll('.state[data-path]')) {
    const path = box.getAttribute('data-path');
    box.setAttribute('data-active', path !== '' && active.has(path) ? 'true' : 'false');
  }
}
