import { api, mailboxLink, refreshMs, time } from './common.js';
import { h } from './statechart.js';

/**
 * The overview's Cluster panel (docs/dashboard.md, "Cluster"): from /api/cluster, the members with this instance
 * marked, and for each mailbox the instance that runs it; one instance says "single instance". The view is a query
 * of the database, so it is read at most once per refreshMs however often the overview renders.
 */
export function clusterReader() {
  let last;
  let readAt = Number.NEGATIVE_INFINITY;
  return async () => {
    if (last && Date.now() - readAt < refreshMs) return last;
    last = await api('/api/cluster').catch((error) => ({ error: error.message }));
    readAt = Date.now();
    return last;
  };
}

/** Whether the panel takes the page's width (a cluster's tables) or one card of the grid (one instance, an error). */
export const wideCluster = (cluster) => cluster.clustered === true;

export function clusterPanel(cluster) {
  if (cluster.error !== undefined) {
    return h(
      'section',
      { className: 'card', id: 'cluster' },
      h('h2', {}, 'Cluster'),
      h('div', { className: 'error' }, `Cannot read the cluster: ${cluster.error}`),
    );
  }
  if (!cluster.clustered) {
    return h(
      'section',
      { className: 'card', id: 'cluster' },
      h('h2', {}, 'Cluster'),
      h('div', { className: 'big' }, 'single instance'),
      h('div', { className: 'muted' }, 'no cluster configuration: every mailbox runs here'),
    );
  }
  const live = cluster.members.filter((member) => member.live).length;
  return h(
    'section',
    { className: 'card', id: 'cluster', 'data-instance': cluster.instanceId },
    h('h2', {}, 'Cluster'),
    h('div', { className: 'big' }, `${live} of ${cluster.members.length} members live`),
    h(
      'div',
      { className: 'muted' },
      `this instance: ${cluster.instanceId} · commands without a user: ${cluster.coordinator ?? 'nobody yet'} · ` +
        `lease ${cluster.leaseSeconds} s, heartbeat every ${cluster.heartbeatSeconds} s`,
    ),
    h('h3', {}, 'Members'),
    membersTable(cluster),
    h('h3', {}, 'Mailboxes by instance'),
    ownersTable(cluster),
  );
}

function membersTable(cluster) {
  return h(
    'table',
    { id: 'cluster-members' },
    h(
      'tr',
      {},
      h('th', {}, 'instance'),
      h('th', {}, 'database listener'),
      h('th', {}, 'started'),
      h('th', {}, 'last heartbeat'),
      h('th', {}, 'state'),
      h('th', {}, 'mailboxes'),
    ),
    cluster.members.map((member) =>
      h(
        'tr',
        { 'data-instance': member.instanceId, className: member.self ? 'self' : undefined },
        h(
          'td',
          {},
          member.instanceId,
          member.self
            ? h('span', { className: 'self-mark', title: 'the instance serving this page' }, 'this instance')
            : null,
        ),
        h('td', { className: 'mono' }, `${member.address}:${member.port}`),
        h('td', {}, new Date(member.startedAt).toLocaleString()),
        h('td', {}, time(member.heartbeatAt)),
        h(
          'td',
          {},
          h('span', { className: `badge ${member.live ? 'live' : 'lost'}` }, member.live ? 'live' : 'not live'),
        ),
        h('td', {}, String(member.mailboxes)),
      ),
    ),
  );
}

function ownersTable(cluster) {
  const self = cluster.instanceId;
  return h(
    'table',
    { id: 'cluster-owners' },
    h('tr', {}, h('th', {}, 'address'), h('th', {}, 'instance'), h('th', {}, 'fence'), h('th', {}, 'lease until')),
    cluster.leases.map((lease) =>
      h(
        'tr',
        { 'data-user': lease.user, 'data-instance': lease.instanceId },
        // A mailbox's own page is served by the instance that runs it.
        h('td', {}, lease.instanceId === self ? mailboxLink(lease.user) : lease.user),
        h('td', { className: lease.instanceId === self ? 'self' : undefined }, lease.instanceId),
        h('td', { className: 'mono' }, lease.fence),
        h('td', {}, time(lease.expiresAt)),
      ),
    ),
    cluster.unowned.map((user) =>
      h(
        'tr',
        { 'data-user': user, 'data-instance': '' },
        h('td', {}, user),
        h('td', { className: 'warn' }, 'none (no lease yet)'),
        h('td', {}, ''),
        h('td', {}, ''),
      ),
    ),
  );
}
