import type { Command } from 'commander';
import { Option } from 'commander';
import type { ClusterStatus } from '../http/cluster.js';
import type { Status } from '../http/status.js';

/** /api/cluster as `exh status` got it, or why it could not. */
export type ClusterAnswer = ClusterStatus | { error: string };

/** `exh status`: asks a running instance (GET /api/status on listeners.http) and prints a readable summary. */
export function registerStatusCommand(program: Command): void {
  program
    .command('status')
    .description('ask a running connector (listeners.http of the configuration) how it is doing')
    .addOption(
      new Option('-c, --config <file>', 'configuration file, JSON or YAML (default: exh.config.json, or $EXH_CONFIG)'),
    )
    .option('--url <url>', 'the instance to ask, e.g. http://host:8080 (default: from listeners.http)')
    .option('--json', 'print /api/status as it comes, with /api/cluster as `cluster`')
    .action(async (options: { config?: string; url?: string; json?: boolean }) => {
      const base = options.url ?? (await urlFromConfig(options.config));
      let status: Status;
      try {
        const response = await fetch(new URL('/api/status', base), { signal: AbortSignal.timeout(10_000) });
        if (!response.ok) throw new Error(`HTTP ${response.status}`);
        status = (await response.json()) as Status;
      } catch (error) {
        process.stderr.write(
          `No running connector answers at ${base}: ${(error as Error).message}. Start it (exh start), or name ` +
            'the instance with --url or its configuration with --config (listeners.http).\n',
        );
        process.exit(1);
      }
      const cluster = await readCluster(base);
      process.stdout.write(
        options.json ? `${JSON.stringify({ ...status, cluster }, null, 2)}\n` : formatStatus(status, base, cluster),
      );
    });
}

/** The members and who runs which mailbox; the status is printed even when this cannot be read (the database away). */
async function readCluster(base: string): Promise<ClusterAnswer> {
  try {
    const response = await fetch(new URL('/api/cluster', base), { signal: AbortSignal.timeout(10_000) });
    const body = (await response.json().catch(() => ({}))) as ClusterStatus | { error?: { message?: string } };
    if (response.ok) return body as ClusterStatus;
    const message = 'error' in body ? body.error?.message : undefined;
    return { error: message ?? `HTTP ${response.status}` };
  } catch (error) {
    return { error: (error as Error).message };
  }
}

async function urlFromConfig(file: string | undefined): Promise<string> {
  const { loadConfig } = await import('../config/load.js');
  try {
    const { config } = loadConfig({ file });
    const { host, port, enabled } = config.listeners.http;
    if (!enabled) {
      process.stderr.write('listeners.http.enabled is false in this configuration: the instance has no HTTP API.\n');
      process.exit(2);
    }
    // A listener on every interface is reached on this host's loopback.
    const reachable = host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host;
    return `http://${reachable.includes(':') ? `[${reachable}]` : reachable}:${port}`;
  } catch (error) {
    process.stderr.write(`${(error as Error).message}\n`);
    process.exit(2);
  }
}

/** The summary `exh status` prints: one line per fact, then one per mailbox, then the cluster's members and owners. */
export function formatStatus(status: Status, url: string, cluster?: ClusterAnswer): string {
  const lines = [
    `exh ${status.version} at ${url}, running since ${status.startedAt}`,
    `database   ${status.database.paths.at(-1) ?? status.database.state} (${status.database.target})` +
      (status.database.lastError ? ` — ${status.database.lastError.message}` : ''),
    `exchange   ${status.pool.running} running, ${status.pool.queued} waiting (concurrency ${status.pool.concurrency})`,
    `mailboxes  ${status.mailboxes.live} of ${status.mailboxes.total} live` +
      (Object.keys(status.mailboxes.byState).length > 0
        ? ` (${Object.entries(status.mailboxes.byState)
            .map(([state, count]) => `${count} ${state}`)
            .join(', ')})`
        : ''),
  ];
  const perMinute = status.items.perMinute.map((row) => `${row.count} ${row.itemType} ${row.direction}`);
  lines.push(`last min   ${perMinute.length > 0 ? perMinute.join(', ') : 'no items synchronised'}`);
  const width = Math.max(0, ...status.mailboxes.list.map((mailbox) => mailbox.user.length));
  for (const mailbox of status.mailboxes.list) {
    const types = mailbox.children.map((child) => `${child.itemType ?? child.actor}:${child.state}`).join(' ');
    const error = mailbox.lastError ? `  ${mailbox.lastError.code}: ${mailbox.lastError.message}` : '';
    lines.push(
      `  ${mailbox.user.padEnd(width)}  ${mailbox.state.padEnd(11)} ${mailbox.catchUp.done}/${mailbox.catchUp.total} caught up  ${types}${error}`,
    );
  }
  if (cluster) lines.push(...formatCluster(cluster));
  if (status.recentErrors.length > 0) {
    lines.push('recent errors:');
    for (const error of status.recentErrors.slice(-5)) {
      lines.push(
        `  ${error.at} ${error.category} ${error.code ?? ''} ${error.user ? `${error.user}: ` : ''}${error.message}`,
      );
    }
  }
  return `${lines.join('\n')}\n`;
}

/** One line for the cluster; in a cluster, then one per member (this one marked) and one per mailbox with its owner. */
export function formatCluster(cluster: ClusterAnswer): string[] {
  if ('error' in cluster) return [`cluster    could not be read: ${cluster.error}`];
  if (!cluster.clustered) return ['cluster    single instance'];
  const live = cluster.members.filter((member) => member.live).length;
  const lines = [
    `cluster    ${live} of ${cluster.members.length} members live; this is ${cluster.instanceId}, commands without a ` +
      `user on ${cluster.coordinator ?? 'nobody yet'} (lease ${cluster.leaseSeconds} s, heartbeat ${cluster.heartbeatSeconds} s)`,
  ];
  const idWidth = Math.max(0, ...cluster.members.map((member) => member.instanceId.length));
  const addressWidth = Math.max(0, ...cluster.members.map((member) => `${member.address}:${member.port}`.length));
  for (const member of cluster.members) {
    lines.push(
      `  ${member.instanceId.padEnd(idWidth)}  ${`${member.address}:${member.port}`.padEnd(addressWidth)}  ` +
        `${(member.live ? 'live' : 'not live').padEnd(8)}  ${member.mailboxes} mailbox${member.mailboxes === 1 ? '' : 'es'}  ` +
        `started ${member.startedAt}  heartbeat ${member.heartbeatAt}${member.self ? '  (this instance)' : ''}`,
    );
  }
  const owners = [
    ...cluster.leases.map((lease) => ({
      user: lease.user,
      text: `${lease.instanceId}  fence ${lease.fence}  until ${lease.expiresAt}`,
    })),
    ...cluster.unowned.map((user) => ({ user, text: 'none (no lease yet)' })),
  ];
  if (owners.length > 0) lines.push('owners');
  const userWidth = Math.max(0, ...owners.map((owner) => owner.user.length));
  for (const owner of owners) lines.push(`  ${owner.user.padEnd(userWidth)}  ${owner.text}`);
  return lines;
}
