import { clusterPanel, clusterReader, wideCluster } from './cluster.js';
import {
  api,
  app,
  badge,
  errorList,
  header,
  mailboxLink,
  progress,
  refreshMs,
  showFailure,
  transitionListeners,
} from './common.js';
import { h, markActive, markTransition, renderChart } from './statechart.js';

// ---- overview -----------------------------------------------------------------------------------------------------

export async function overview() {
  const [charts, layouts] = await Promise.all([
    api('/api/machines'),
    // Without a layout a chart is shown as its text view.
    api('/api/machines/layout').catch(() => []),
  ]);
  const chartOf = new Map(charts.map((chart) => [chart.id, chart]));
  const layoutOf = new Map(layouts.map((layout) => [layout.id, layout]));
  // The service's own machines (supervisor, database, mailboxes), drawn once and kept across renders so that the
  // marks of their latest transitions survive the next read; mailboxes' machines are drawn on their own pages.
  const drawn = new Map();
  const chartsSection = h('div', { className: 'charts', id: 'service-statecharts' });
  const drawCharts = (machines) => {
    for (const machine of machines) {
      const chart = chartOf.get(machine.machine);
      if (!chart) continue;
      let element = drawn.get(machine.actor);
      if (!element) {
        element = renderChart(chart, layoutOf.get(machine.machine), machine.actor, machine.actor);
        drawn.set(machine.actor, element);
        chartsSection.append(element);
      }
      markActive(element, machine.paths);
    }
  };

  const readCluster = clusterReader();
  const render = async () => {
    const [status, cluster] = await Promise.all([api('/api/status'), readCluster()]);
    header(status);
    drawCharts(status.machines);
    // One instance: a card of the grid saying so; a cluster: its members and mailboxes across the page.
    const clusterSection = clusterPanel(cluster);
    const wide = wideCluster(cluster);
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
        wide ? null : clusterSection,
      ),
      // replaceChildren would write a null as text.
      ...(wide ? [clusterSection] : []),
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
      h('section', { className: 'card' }, h('h2', {}, 'Service statecharts'), chartsSection),
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
  transitionListeners.add((transition) => {
    // A service machine's transition is drawn at once; a mailbox's shows with the next read.
    const element = transition.user === undefined ? drawn.get(transition.actor) : undefined;
    if (element) {
      markActive(element, transition.to);
      markTransition(element, transition.transitions ?? [], true);
    }
    soon();
  });
  setInterval(soon, refreshMs);
}
