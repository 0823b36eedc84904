import {
  api,
  app,
  badge,
  errorList,
  header,
  progress,
  refreshMs,
  resyncListeners,
  showFailure,
  time,
  transitionListeners,
} from './common.js';
import { h, markActive, markTransition, renderChart } from './statechart.js';

const tokenKey = 'exh.adminToken';

// ---- one mailbox --------------------------------------------------------------------------------------------------

export async function mailboxPage(user) {
  const [charts, layouts, status] = await Promise.all([
    api('/api/machines'),
    // Without a layout a chart is shown as its text view.
    api('/api/machines/layout').catch(() => []),
    api('/api/status'),
  ]);
  header(status);
  const chartOf = new Map(charts.map((chart) => [chart.id, chart]));
  const layoutOf = new Map(layouts.map((layout) => [layout.id, layout]));
  let details = await api(`/api/mailboxes/${encodeURIComponent(user)}`);
  const drawn = new Map();
  const chartsSection = h('div', { className: 'charts', id: 'statecharts' });
  const summary = h('div', {});
  const transitionsList = h('tbody', {});
  const errorsSection = h('div', {});

  const drawCharts = () => {
    // The mailbox's own machine, then whatever machines it runs as children (today one per item type).
    const actors = [];
    if (details.machine) actors.push({ ...details.machine, title: `mailbox ${details.user}` });
    for (const child of details.children)
      actors.push({ ...child, title: child.itemType ? `item type ${child.itemType}` : child.actor });
    const wanted = new Set(actors.map((actor) => actor.actor));
    for (const [actor, element] of drawn) {
      if (!wanted.has(actor)) {
        element.remove();
        drawn.delete(actor);
      }
    }
    for (const actor of actors) {
      let element = drawn.get(actor.actor);
      const chart = chartOf.get(actor.machine);
      if (!chart) continue;
      const fresh = !element;
      if (!element) {
        element = renderChart(chart, layoutOf.get(actor.machine), actor.actor, actor.title);
        drawn.set(actor.actor, element);
        chartsSection.append(element);
      }
      markActive(element, actor.paths);
      if (fresh) {
        // The latest transition this actor took, marked but not animated: it happened before the page was open.
        const latest = details.transitions.findLast((transition) => transition.actor === actor.actor);
        if (latest?.transitions) markTransition(element, latest.transitions, false);
      }
    }
  };

  const drawSummary = () => {
    const total = details.catchUp.total;
    summary.replaceChildren(
      h(
        'div',
        { className: 'grid' },
        h(
          'section',
          { className: 'card' },
          h('h2', {}, 'State'),
          h('div', { className: 'big', id: 'mailbox-state' }, badge(details.state)),
          h('div', { className: 'muted mono' }, details.endpoint ?? 'no endpoint yet'),
          details.attempt > 0
            ? h('div', { className: 'warn' }, `${details.attempt} failed attempt(s) since last live`)
            : null,
        ),
        h(
          'section',
          { className: 'card', id: 'catch-up' },
          h('h2', {}, 'Catch-up'),
          h('div', {}, `${details.catchUp.done} of ${total} item types caught up`),
          progress(details.catchUp.done, total),
          h(
            'table',
            {},
            details.children.map((child) =>
              h(
                'tr',
                {},
                h('td', {}, child.itemType ?? child.actor),
                h('td', {}, badge(child.state)),
                h('td', {}, progress(child.caughtUp ? 1 : 0, 1)),
                h(
                  'td',
                  { className: 'muted' },
                  child.applied === undefined ? '' : `${child.applied} applied, ${child.failed ?? 0} failed`,
                ),
              ),
            ),
          ),
        ),
      ),
    );
    const errors = [];
    if (details.lastError)
      errors.push(
        h('li', { className: 'error' }, h('code', {}, `${details.lastError.code} `), details.lastError.message),
      );
    for (const child of details.children) {
      if (child.lastError)
        errors.push(
          h(
            'li',
            { className: 'error' },
            `${child.itemType ?? child.actor}: `,
            h('code', {}, `${child.lastError.code} `),
            child.lastError.message,
          ),
        );
    }
    errorsSection.replaceChildren(
      errors.length > 0
        ? h('ul', { className: 'plain' }, errors)
        : h('div', { className: 'muted' }, 'No current error.'),
      h('h2', { style: 'margin-top: 0.8rem' }, 'Recent errors and warnings'),
      errorList(details.recentErrors),
    );
  };

  const addTransition = (transition) => {
    transitionsList.prepend(
      h(
        'tr',
        {},
        h('td', { className: 'muted' }, time(transition.at)),
        h('td', { className: 'mono' }, transition.actor),
        h('td', { className: 'mono' }, transition.event),
        h(
          'td',
          {},
          `${transition.from.at(-1) ?? '—'} → `,
          h('strong', {}, transition.stopped ? 'stopped' : (transition.to.at(-1) ?? '')),
        ),
      ),
    );
    while (transitionsList.children.length > 50) transitionsList.lastElementChild.remove();
  };

  app.replaceChildren(
    h('p', {}, h('a', { href: '/' }, '← all mailboxes')),
    h('h1', {}, `Mailbox ${details.user}`),
    summary,
    h(
      'section',
      { className: 'card' },
      h(
        'h2',
        {},
        'Statecharts (drawn from the machine definitions; current states lit, the latest transition in blue)',
      ),
      chartsSection,
    ),
    h(
      'section',
      { className: 'card' },
      h('h2', {}, 'Latest transitions'),
      h(
        'table',
        { id: 'transitions' },
        h(
          'thead',
          {},
          h('tr', {}, h('th', {}, 'time'), h('th', {}, 'actor'), h('th', {}, 'event'), h('th', {}, 'change')),
        ),
        transitionsList,
      ),
    ),
    h('section', { className: 'card', id: 'errors' }, h('h2', {}, 'Last errors'), errorsSection),
    adminActions(details),
  );
  for (const transition of details.transitions) addTransition(transition);
  drawSummary();
  drawCharts();

  const refresh = async () => {
    details = await api(`/api/mailboxes/${encodeURIComponent(user)}`);
    drawSummary();
    drawCharts();
  };
  let pending;
  transitionListeners.add((transition) => {
    if (transition.user !== details.user) return;
    addTransition(transition);
    // Move the highlight at once; the rest follows with the next read.
    const element = drawn.get(transition.actor);
    if (element) {
      markActive(element, transition.to);
      markTransition(element, transition.transitions ?? [], true);
    }
    clearTimeout(pending);
    pending = setTimeout(() => refresh().catch(showFailure), 300);
  });
  setInterval(() => refresh().catch(showFailure), refreshMs);
}

function adminActions(details) {
  const result = h('div', { id: 'action-result' });
  // A resync's progress, per item type, as the connector reports it (a bar once the total is known).
  const resync = h('div', { id: 'resync-progress' });
  const rows = new Map();
  resyncListeners.add((update) => {
    if (update.user !== details.user) return;
    if (update.finished) {
      const { outcome, error } = update;
      resync.append(
        h(
          'div',
          { className: error ? 'error' : '' },
          error
            ? `Resync failed: ${error.message}`
            : `Resync done: ${outcome.added} added, ${outcome.changed} changed, ${outcome.deleted} deleted, ${outcome.failed} failed`,
        ),
      );
      rows.clear();
      return;
    }
    const label = `${update.itemType}: ${update.done}${update.total === null ? '' : ` of ${update.total}`} items`;
    const row = rows.get(update.itemType) ?? h('div', {});
    row.replaceChildren(label, update.total === null ? '' : progress(update.done, update.total));
    if (!rows.has(update.itemType)) {
      rows.set(update.itemType, row);
      resync.append(row);
    }
  });
  const token = h('input', {
    type: 'password',
    id: 'admin-token',
    placeholder: 'admin token',
    autocomplete: 'off',
    value: sessionStorage.getItem(tokenKey) ?? '',
  });
  const itemType = h(
    'select',
    { id: 'resync-type' },
    h('option', { value: '' }, 'every item type'),
    details.children
      .filter((child) => child.itemType)
      .map((child) => h('option', { value: child.itemType }, child.itemType)),
  );
  const run = (label, path, body) => async (event) => {
    event.preventDefault();
    sessionStorage.setItem(tokenKey, token.value);
    result.className = 'muted';
    result.textContent = `${label}…`;
    try {
      const answer = await api(path, {
        method: 'POST',
        headers: { authorization: `Bearer ${token.value}`, 'content-type': 'application/json' },
        body: JSON.stringify(body()),
      });
      result.className = '';
      result.textContent = `${label}: ${answer.accepted ? 'accepted' : 'done'}${answer.retried === undefined ? '' : ` (${answer.retried} failed outbox rows set pending again; ${answer.rereading?.length ?? 0} mailboxes being read again)`}`;
    } catch (error) {
      result.className = 'error';
      result.textContent = `${label} refused: ${error.message}`;
    }
  };
  return h(
    'section',
    { className: 'card', id: 'admin' },
    h('h2', {}, 'Actions (need listeners.http.adminToken)'),
    h(
      'form',
      { className: 'actions', onsubmit: (event) => event.preventDefault() },
      token,
      itemType,
      h(
        'button',
        {
          type: 'button',
          id: 'resync',
          onclick: run('Resync', `/api/mailboxes/${encodeURIComponent(details.user)}/resync`, () =>
            itemType.value ? { itemType: itemType.value } : {},
          ),
        },
        'Resync mailbox',
      ),
      h(
        'button',
        {
          type: 'button',
          className: 'secondary',
          id: 'retry-failed',
          onclick: run('Retry failed items', '/api/outbox/retry', () => ({ user: details.user })),
        },
        'Retry failed items',
      ),
      h(
        'button',
        {
          type: 'button',
          className: 'secondary',
          id: 'sync-users',
          onclick: run('Re-register users', '/api/users/sync', () => ({})),
        },
        'Re-register users',
      ),
    ),
    result,
    resync,
  );
}
