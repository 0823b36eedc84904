import { execFile } from 'node:child_process';
import { exhBin } from '../support/exh-process.js';

/** `exh …` run to its end; stdout kept as bytes (an attachment may be anything). */
export function exh(args: string[]): Promise<{ code: number; stdout: Buffer; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [exhBin, ...args],
      { encoding: 'buffer', maxBuffer: 64 * 1024 * 1024 },
      (error, stdout, stderr) => {
        const code = error ? Number((error as { code?: unknown }).code ?? 1) : 0;
        resolve({ code, stdout, stderr: stderr.toString('utf8') });
      },
    );
  });
}

/** The reply a client prints on stdout, one JSON line. */
export const reply = (stdout: Buffer) => JSON.parse(stdout.toString('utf8'));
