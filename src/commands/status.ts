import type { Command } from 'commander';
import { Option } from 'commander';
import type { Status } from '../http/status.js';

/** `exh status`: asks a running instance (GET /api/status on listeners.http) and prints a readable summary. */
export function registerStatusCommand(program: Command): void {
  program
    .command('status')
    .description('ask a running connector (listeners.http of the configuration) how it is doing')
    .addOption(
      new Option('-c, --config <file>', 'configuration file, JSON or YAML (default: exh.config.json, or $EXH_CONFIG)'),
    )
    .option('--url <url>', 'the instance to ask, e.g. http://host:8080 (default: from listeners.http)')
    .option('--json', 'print /api/status as it comes')
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
      process.stdout.write(options.json ? `${JSON.stringify(status, null, 2)}\n` : formatStatus(status, base));
    });
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

/** The summary `exh status` prints: one line per fact, then one per mailbox. */
export function formatStatus(status: Status, url: string): string {
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
