import { execFile, spawnSync } from 'node:child_process';
import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';

/** The repository's senders/ folder. */
export const sendersDir = fileURLToPath(new URL('../../senders/', import.meta.url));

/** Whether a command-line tool runs at all (javac, mcs, mono); a missing one skips its tests with a message. */
export function hasTool(command: string, args: string[], testFile: string, debianPackage: string): boolean {
  const result = spawnSync(command, args, { stdio: 'ignore' });
  const found = !result.error && result.status === 0;
  if (!found) console.warn(`${testFile} skipped: ${command} is missing (Debian package ${debianPackage})`);
  return found;
}

export interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * Runs a tool without blocking the event loop: the connector under test lives in this process and must answer the
 * sender while it runs.
 */
export function run(command: string, args: string[], options: { cwd?: string } = {}): Promise<Run> {
  return new Promise((resolve) => {
    execFile(command, args, { cwd: options.cwd, maxBuffer: 64 * 1024 * 1024 }, (error, stdout, stderr) => {
      const code = error ? (typeof error.code === 'number' ? error.code : -1) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}

/** The one JSON line the senders' command-line harnesses print: the procedure's three OUT values. */
export function replyOf(result: Run): { exitCode: number; outputValue: string | null; errorMessage: string | null } {
  const line = result.stdout.trim().split('\n').pop() ?? '';
  try {
    return JSON.parse(line);
  } catch {
    throw new Error(`no reply line (exit ${result.code}): ${result.stdout}\n${result.stderr}`);
  }
}

/** A port nothing listens on (taken and let go): a connector that is not there. */
export async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}
