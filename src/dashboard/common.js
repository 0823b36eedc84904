import { h } from './statechart.js';

/** What the dashboard's pages share: reading the API, small pieces of page, and the live event stream. */
export const app = document.getElementById('app');
export const refreshMs = 5000;

export const api = async (path, init) => {
  const response = await fetch(path, init);
  const body = await response.json().catch(() => ({}));
  if (!response.ok) throw Object.assign(new Error(body.error?.message ?? response.statusText), { body, response });
  return body;
};

// Coloured by the outermost state (`ready` for `ready.idle`).
export const badge = (state) => h('span', { className: `badge ${state.split('.')[0]}` }, state);
export const progress = (done, total) =>
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
export const time = (iso) => new Date(iso).toLocaleTimeString();
export const mailboxLink = (user) => h('a', { href: `/mailboxes/${encodeURIComponent(user)}` }, user);

export function header(status) {
  document.getElementById('version').textContent = `v${status.version}`;
  const database = document.getElementById('database');
  database.textContent = `database ${status.database.paths.at(-1) ?? status.database.state}`;
  database.className = `badge ${status.database.paths[0] ?? 'unknown'}`;
}

// ---- live updates -------------------------------------------------------------------------------------------------

export const transitionListeners = new Set();
export const resyncListeners = new Set();
export function connectEvents() {
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

export function errorList(errors) {
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

export function showFailure(error) {
  const note = document.getElementById('failure') ?? h('p', { id: 'failure', className: 'error' });
  note.textContent = `Cannot reach the connector: ${error.message}`;
  if (!note.isConnected) app.prepend(note);
}
