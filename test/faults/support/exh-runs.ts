import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { RunningEmulator } from '../../../emulator/index.js';
import { testConfig } from '../../support/config.js';
import { type LogRecord, runExh } from '../../support/exh-process.js';

export type ExhRun = ReturnType<typeof runExh>;

/**
 * A configuration file for real `exh start` processes against the emulator and a PostgreSQL `database`
 * (connectionString and any other database keys): every listener on a free port or off, JSON records on stdout,
 * debug level (the records say where a run was when it was killed); `overrides` are merged over the rest.
 */
export function writeExhConfig(
  emulator: RunningEmulator,
  database: { connectionString: string; [key: string]: unknown },
  overrides: Record<string, unknown> = {},
): string {
  const file = join(mkdtempSync(join(tmpdir(), 'exh-faults-')), 'exh.config.json');
  const config = testConfig(
    emulator,
    { type: 'postgres', ...database },
    { retry: { permanentFailures: 1 }, ...overrides },
  );
  writeFileSync(file, JSON.stringify(config));
  return file;
}

/** `exh start` as a real process. */
export const startExh = (configFile: string): ExhRun => runExh(['start', '--config', configFile]);

/** SIGKILL: no handler runs, nothing is flushed or closed; waits until the process is gone. */
export async function sigkill(run: ExhRun): Promise<void> {
  if (run.child.exitCode === null && run.child.signalCode === null) run.child.kill('SIGKILL');
  await run.exited;
}

/** Users whose mailbox logged mailbox.live in this run. */
export const liveUsers = (run: ExhRun) =>
  new Set(run.records.filter((r: LogRecord) => r.event === 'mailbox.live').map((r) => r.user));

/** Where a run was when it ended: the last event it logged (`-` if none). */
export const lastEvent = (run: ExhRun) => run.records.findLast((r) => r.event !== undefined)?.event ?? '-';
