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
import { h } from './statechart.js';

// ---- overview -----------------------------------------------------------------------------------------------------

export async function overview() {
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
