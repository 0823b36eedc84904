import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { freePort } from '../support/net.js';

/** The README's first command: npm start runs src/demo.ts. */
describe('the demo (npm start)', () => {
  it('carries changes made in the emulator into the embedded database, and stops on SIGINT', async () => {
    const demo = spawn(
      process.execPath,
      ['--import', 'tsx', fileURLToPath(new URL('../../src/demo.ts', import.meta.url))],
      {
        env: {
          ...process.env,
          EXH_LOG_FORMAT: 'json',
          EXH_LISTENERS_LOG_PORT: String(await freePort()),
          EXH_DEMO_EMULATOR_PORT: '0',
          EXH_LISTENERS_DATABASE_PORT: '0',
          EXH_LISTENERS_HTTP_PORT: '0',
          EXH_DEMO_INTERVAL_MS: '500',
        },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let output = '';
    const rowsSeen = new Promise<number>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no rows reached the database:\n${output}`)), 25_000);
      demo.stdout.setEncoding('utf8').on('data', (chunk: string) => {
        output += chunk;
        for (const line of output.split('\n')) {
          const rows = line.includes('"rows"') ? (JSON.parse(line) as { rows: number }).rows : 0;
          if (rows > 0) {
            clearTimeout(timer);
            resolve(rows);
          }
        }
      });
    });
    try {
      expect(await rowsSeen).toBeGreaterThan(0);
      const exited = new Promise<number | null>((resolve) => demo.on('exit', resolve));
      demo.kill('SIGINT');
      expect(await exited).toBe(0);
    } finally {
      demo.kill('SIGKILL');
    }
  });
});
