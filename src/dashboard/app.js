import { h, markActive, renderChart } from './statechart.js';

/**
 * The dashboard: an overview (/) and a page per mailbox (/mailboxes/<address>). It reads /api/status,
 * /api/mailboxes/<address> and /api/machines, and follows /api/events (server-sent events) to move the highlighted
 * states as the machines change. Admin actions send the token entered on the page (kept for this browser tab only).
 */
const app = document.getElementById('app');
const tokenKey = 'exh.adminToken';
const refreshMs = 5000;

const api = async (path, init) => {
  const response = await fetch(path, init);
  const body = await response.json().catch(() => ({}));
  if (!response.ok) throw Object.assign(new Error(body.error?.message ?? response.statusText), { body, response });
  return body;
};

// Coloured by the outermost state (`ready` for `ready.idle`).
const badge = (state) => h('span', { className: `badge ${state.split('.')[0]}` }, state);
const progress = (done, total) =>
  h(
    'div',
    {
      className: 'progress',
      title: `${done} of ${total} item types caught up`,
      role: 'progressbar',
      'aria-valuenow': done,
      'aria-valuemax': total,
    },
    h('span', { style: `width: ${total === 0 ? 100 : Math.round((done / total) * 100)}%` }),
  );
const time = (iso) => new Date(iso).toLocaleTimeString();
const mailboxLink = (user) => h('a', { href: `/mailboxes/${encodeURIComponent(user)}` }, user);

function header(status) {
  document.getElementById('version').textContent = `v${status.version}`;
  const database = document.getElementById('database');
  database.textContent = `database ${status.database.paths.at(-1) ?? status.database.state}`;
  database.className = `badge ${status.database.paths[0] ?? 'unknown'}`;
}

// ---- live updates -------------------------------------------------------------------------------------------------

const transitionListeners = new Set();
const resyncListeners = new Set();
function connectEvents() {
  const indicator = document.getElementById('live-indicator');
  const source = new EventSource('/api/events');
  source.addEventListener('open', () => {
    indicator.textContent = '● live';
  });
  source.addEventListener('error', () => {
    indicator.textContent = '○ reconnecting';
  });
  source.addEventListener('transition', (message) => {
    const transition = JSON.parse(message.data);
    for (const listener of transitionListeners) listener(transition);
  });
  source.addEventListener('resync', (message) => {
    const progress = JSON.parse(message.data);
    for (const listener of resyncListeners) listener(progress);
  });
}

// ---- overview -----------------------------------------------------------------------------------------------------

async function overview() {
  const render = async () => {
    const status = await api('/api/status');
    header(status);
    app.replaceChildren(
      h('h1', {}, 'Overview'),
      h(
        'div',
        { className: 'grid' },
        h(
          'section',
          { className: 'card', id: 'database-card' },
          h('h2', {}, 'Database'),
          h('div', { className: 'big' }, badge(status.database.paths.at(-1) ?? status.database.state)),
          h('div', { className: 'muted mono' }, status.database.target),
          status.database.lastError ? h('div', { className: 'error' }, status.database.lastError.message) : null,
        ),
        h(
          'section',
          { className: 'card', id: 'mailbox-states' },
          h('h2', {}, 'Mailboxes by state'),
          h('div', { className: 'big' }, `${status.mailboxes.live} / ${status.mailboxes.total} live`),
          h(
            'div',
            { className: 'chips' },
            Object.entries(status.mailboxes.byState).map(([state, n]) => h('span', {}, badge(state), ` ${n}`)),
          ),
        ),
        h(
          'section',
          { className: 'card', id: 'queue' },
          h('h2', {}, 'Exchange queue'),
          h('div', { className: 'big' }, `${status.pool.queued} waiting`),
          h('div', { className: 'muted' }, `${status.pool.running} running of ${status.pool.concurrency} allowed`),
        ),
        h(
          'section',
          { className: 'card', id: 'items-per-minute' },
          h('h2', {}, 'Items in the last minute'),
          status.items.perMinute.length === 0
            ? h('div', { className: 'muted' }, 'none')
            : h(
                'table',
                {},
                h('tr', {}, h('th', {}, 'type'), h('th', {}, 'direction'), h('th', {}, 'items')),
                status.items.perMinute.map((row) =>
                  h(
                    'tr',
                    {},
                    h('td', {}, row.itemType),
                    h('td', {}, row.direction.replaceAll('_', ' ')),
                    h('td', {}, row.count),
                  ),
                ),
              ),
        ),
      ),
      h(
        'section',
        { className: 'card' },
        h('h2', {}, 'Mailboxes'),
        h(
          'table',
          { id: 'mailboxes' },
          h(
            'tr',
            {},
            h('th', {}, 'address'),
            h('th', {}, 'state'),
            h('th', {}, 'catch-up'),
            h('th', {}, 'item types'),
            h('th', {}, 'last error'),
          ),
          status.mailboxes.list.map((mailbox) =>
            h(
              'tr',
              { 'data-user': mailbox.user },
              h('td', {}, mailboxLink(mailbox.user)),
              h('td', {}, badge(mailbox.state)),
              h('td', {}, progress(mailbox.catchUp.done, mailbox.catchUp.total)),
              h(
                'td',
                {},
                mailbox.children.map((child) =>
                  h('span', {}, `${child.itemType ?? child.actor} `, badge(child.state), ' '),
                ),
              ),
              h('td', { className: 'error' }, mailbox.lastError?.message ?? ''),
            ),
          ),
        ),
      ),
      h(
        'section',
        { className: 'card', id: 'recent-errors' },
        h('h2', {}, 'Recent errors and warnings'),
        errorList(status.recentErrors),
      ),
    );
  };
  await render();
  // At most one read every two seconds however many machines move: with thousands of mailboxes something always does.
  let scheduled = false;
  let last = 0;
  const soon = () => {
    if (scheduled) return;
    scheduled = true;
    setTimeout(
      () => {
        scheduled = false;
        last = Date.now();
        render().catch(showFailure);
      },
      Math.max(300, last + 2000 - Date.now()),
    );
  };
  transitionListeners.add(soon);
  setInterval(soon, refreshMs);
}

function errorList(errors) {
  if (errors.length === 0) return h('div', { className: 'muted' }, 'none');
  return h(
    'ul',
    { className: 'plain' },
    [...errors]
      .reverse()
      .map((error) =>
        h(
          'li',
          { className: error.category === 'E' ? 'error' : 'warn' },
          h('span', { className: 'muted' }, `${time(error.at)} `),
          error.code ? h('code', {}, `${error.code} `) : null,
          error.user ? h('span', {}, `${error.user}: `) : null,
          error.message,
        ),
      ),
  );
}

// ---- one mailbox --------------------------------------------------------------------------------------------------

async function mailboxPage(user) {
  const [charts, status] = await Promise.all([api('/api/machines'), api('/api/status')]);
  header(status);
  const chartOf = new Map(charts.map((chart) => [chart.id, chart]));
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
      if (!element) {
        element = renderChart(chart, actor.actor, actor.title);
        drawn.set(actor.actor, element);
        chartsSection.append(element);
      }
      markActive(element, actor.paths);
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
        h('td', {}, `${transition.from.at(-1) ?? '—'} → `, h('strong', {}, transition.to.at(-1) ?? '')),
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
      h('h2', {}, 'Statecharts (drawn from the machine definitions; current states marked)'),
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
    if (element) markActive(element, transition.to);
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
      result.textContent = `${label}: ${answer.accepted ? 'accepted' : 'done'}${answer.retried === undefined ? '' : ` (${answer.retried} set pending again)`}`;
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

function showFailure(error) {
  const note = document.getElementById('failure') ?? h('p', { id: 'failure', className: 'error' });
  note.textContent = `Cannot reach the connector: ${error.message}`;
  if (!note.isConnected) app.prepend(note);
}

connectEvents();
const match = /^\/mailboxes\/(.+)$/.exec(location.pathname);
(match ? mailboxPage(decodeURIComponent(match[1])) : overview()).catch((error) => {
  app.replaceChildren(h('p', { className: 'error' }, error.message));
});
