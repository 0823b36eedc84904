import { type Command, InvalidArgumentError, Option } from 'commander';
import { itemType, itemTypeNames } from '../items/index.js';
import type { SyncItemsProgress } from '../ports/control.port.js';
import type { Reply } from '../protocol/replies.js';
import { type ClientOptions, checkedRequest, clientCommand, printReply, sendAndExit } from './send.js';

const ranges = ['created', 'modified', 'received', 'start'] as const;

interface SyncItemsFlags extends ClientOptions {
  user?: string;
  type?: string;
  direction: '0' | '1';
  from?: string;
  until?: string;
  add: boolean;
  chg: boolean;
  del?: boolean;
  progress: boolean;
  [range: string]: unknown;
}

/** `exh sync-users` (exh_sync_users) and `exh sync-items` (exh_sync_item) on a running connector. */
export function registerSync(program: Command): void {
  clientCommand(
    program
      .command('sync-users')
      .description(
        'register every user again (exh_sync_users): new users start, removed ones stop, disabled ones retry',
      ),
  ).action(async (flags: ClientOptions, command: Command) => {
    await sendAndExit(flags, await checkedRequest(command, { type: 'syncUsers' }));
  });

  const syncItems = program
    .command('sync-items')
    .description("synchronise a user's items again (exh_sync_item), printing progress on a terminal")
    .option('--user <address>', 'the mailbox (default: every user)')
    .addOption(new Option('--type <type>', 'item type (default: every type)').choices(itemTypeNames()))
    .addOption(
      new Option('--direction <n>', '0: Exchange → database, 1: database → Exchange').choices(['0', '1']).default('0'),
    )
    .option('--from <date>', 'items modified from this date or time (same as --modified-from)', isoDate)
    .option('--until <date>', 'items modified before this date or time (same as --modified-until)', isoDate);
  for (const range of ranges) {
    syncItems
      .option(`--${range}-from <date>`, `items whose ${range} date is on or after this`, isoDate)
      .option(`--${range}-until <date>`, `items whose ${range} date is before this`, isoDate);
  }
  clientCommand(
    syncItems
      .option('--no-add', 'leave out items the other side lacks')
      .option('--no-chg', 'leave out items both sides have')
      .option('--del', 'delete what is gone from the other side (the default for direction 0 only)')
      .option('--no-del', 'leave out items gone from the other side')
      .option('--no-progress', 'no progress bar, even on a terminal'),
  ).action(async (flags: SyncItemsFlags, command: Command) => {
    const value = (name: string) => (typeof flags[name] === 'string' ? (flags[name] as string) : null);
    const body: Record<string, unknown> = {
      type: 'syncItems',
      direction: Number(flags.direction),
      user: flags.user ?? null,
      // exh_sync_item's @exh_item: the type's number (docs/protocol.md).
      item: flags.type === undefined ? null : itemType(flags.type).code,
      add: flags.add,
      chg: flags.chg,
      // Not given: the connector's default, deletions for direction 0 only (direction 1 deletes only on request).
      ...(flags.del === undefined ? {} : { del: flags.del }),
      createdFrom: value('createdFrom'),
      createdUntil: value('createdUntil'),
      modifiedFrom: value('modifiedFrom') ?? flags.from ?? null,
      modifiedUntil: value('modifiedUntil') ?? flags.until ?? null,
      receivedFrom: value('receivedFrom'),
      receivedUntil: value('receivedUntil'),
      startFrom: value('startFrom'),
      startUntil: value('startUntil'),
    };
    const bar = flags.progress && process.stderr.isTTY ? progressBar(process.stderr) : undefined;
    // Always asked for: the connector's progress lines (and its heartbeat while it waits) keep the time-out from
    // ending a long resync; they are drawn only on a terminal.
    body.progress = true;
    await sendAndExit(
      flags,
      await checkedRequest(command, body),
      (reply: Reply) => {
        bar?.end();
        printReply(reply);
      },
      { onProgress: bar ? bar.update : () => {} },
    );
  });
}

function isoDate(value: string): string {
  if (!/^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?)?$/.test(value)) {
    throw new InvalidArgumentError('expected a date YYYY-MM-DD or an ISO 8601 time (2026-01-05T09:00:00Z)');
  }
  return value.replace(' ', 'T');
}

/**
 * A line per user and type on the terminal: the current one is rewritten in place as progress comes, and when the
 * next user or type starts (or at the end) it is left standing with its last count, so every one stays visible.
 */
export function progressBar(stream: { write(text: string): unknown; columns?: number }) {
  let current: string | undefined;
  return {
    update(progress: SyncItemsProgress): void {
      const key = `${progress.user}\u0000${progress.itemType}`;
      if (current !== undefined && current !== key) stream.write('\n');
      current = key;
      stream.write(`\r\x1b[2K${progressLine(progress, stream.columns ?? 80)}`);
    },
    end(): void {
      if (current !== undefined) stream.write('\n');
      current = undefined;
    },
  };
}

/** done/total as a bar when the total is known (direction 1), else a count (Exchange is read page by page). */
export function progressLine(progress: SyncItemsProgress, columns: number): string {
  const label = `${progress.user} ${progress.itemType}`;
  if (progress.total === null || progress.total === 0) return `${label}: ${progress.done} items`;
  const width = Math.max(10, Math.min(40, columns - label.length - 20));
  const share = Math.min(1, progress.done / progress.total);
  const filled = Math.round(share * width);
  return `${label} [${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${progress.done}/${progress.total}`;
}
