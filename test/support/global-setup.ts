import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ewsSchemaDirectory, schemaChecksHint } from '../../emulator/validation.js';
import { testLogDirVariable } from '../../src/logging/logger.js';
import { describeLeaks, scanLogs } from './log-scan.js';

/**
 * Runs once before the test files: says once (not per file) which checks this run leaves out, and how to run them;
 * gives the run a folder for its logs (EXH_TEST_LOG_DIR, inherited by every test process and every `exh` they start)
 * and, once every file has run, scans those logs for the secrets the tests registered (test/support/log-scan.ts).
 */
export default function setup(): () => Promise<void> {
  if (ewsSchemaDirectory() === undefined) console.log(`\n  notice: ${schemaChecksHint}\n`);
  const given = process.env[testLogDirVariable];
  const folder = given || mkdtempSync(join(tmpdir(), 'exh-test-logs-'));
  process.env[testLogDirVariable] = folder;
  return async () => {
    const result = await scanLogs(folder);
    if (result.leaks.length > 0) {
      // vitest reports an error thrown here but does not fail the run for it.
      process.exitCode = 1;
      throw new Error(describeLeaks(result, folder));
    }
    console.log(
      `\n  log scan: ${result.files} log file(s), ${(result.bytes / 2 ** 20).toFixed(1)} MiB, ` +
        `${result.secrets} registered secret(s): none found\n`,
    );
    if (!given) rmSync(folder, { recursive: true, force: true });
  };
}
