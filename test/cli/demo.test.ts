import { spawn } from 'node:child_process';
import { createServer, type Server } from 'node:net';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { type LogRecord, runExh } from '../support/exh-process.js';

const demoScript = fileURLToPath(new URL('../../src/demo.ts', import.meta.url));

/** Ports the demo would otherwise take (8888, 8080, 9988, 8200): 0 lets the system pick, as a test must. */
const freePorts = {
  EXH_LOG_FORMAT: 'json',
  EXH_LISTENERS_LOG_PORT: '0',
  EXH_DEMO_EMULATOR_PORT: '0',
  EXH_LISTENERS_DATABASE_PORT: '0',
  EXH_LISTENERS_HTTP_PORT: '0',
};

const taken: Server[] = [];
afterEach(async () => {
  for (const server of taken.splice(0)) await new Promise((resolve) => server.close(resolve));
});

async function takePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  taken.push(server);
  return (server.address() as { port: number }).port;
}

const rowsOf = (record: LogRecord) => (typeof record.rows === 'number' ? record.rows : 0);

/** The README's first command: `npm start` runs src/demo.ts, and `exh demo` runs the same. */
describe('the demo (exh demo, npm start)', () => {
  it('carries changes made in the emulator into the embedded database, prints real ports, and stops on SIGINT', async () => {
    const demo = runExh(['demo'], { ...freePorts, EXH_DEMO_INTERVAL_MS: '500' });
    try {
      const dashboard = await demo.waitForRecord((r) => r.msg.startsWith('Demo: dashboard at'), 30_000);
      const url = /http:\/\/localhost:(\d+)\//.exec(dashboard.msg);
      expect(Number(url?.[1])).toBeGreaterThan(0);
      const rows = await demo.waitForRecord((r) => rowsOf(r) > 0, 30_000);
      expect(rowsOf(rows)).toBeGreaterThan(0);
      // The port printed is the one the dashboard listens on.
      const health = await fetch(`http://127.0.0.1:${url?.[1]}/healthz`);
      expect(health.status).toBe(200);
      demo.child.kill('SIGINT');
      expect((await demo.exited).code).toBe(0);
      const messages = demo.records.map((r) => r.msg);
      expect(messages.some((m) => m.startsWith('SIGINT received: the demo is stopping'))).toBe(true);
      expect(messages).toContain('Demo stopped');
    } finally {
      demo.child.kill('SIGKILL');
    }
  });

  it('makes no simulated changes with EXH_DEMO_INTERVAL_MS=0', async () => {
    const demo = runExh(['demo'], { ...freePorts, EXH_DEMO_INTERVAL_MS: '0' });
    try {
      await demo.waitForRecord((r) => r.msg.startsWith('Demo: simulated user activity is off'), 30_000);
      // Three mailboxes live: time enough for an interval of 0 (before: an item every millisecond) to make thousands.
      const live = () => demo.records.filter((r) => r.event === 'mailbox.live').length;
      await demo.waitForRecord(() => live() >= 3, 30_000);
      expect(demo.records.filter((r) => r.msg.startsWith('Demo: a user made'))).toEqual([]);
      demo.child.kill('SIGTERM');
      expect((await demo.exited).code).toBe(0);
    } finally {
      demo.child.kill('SIGKILL');
    }
  });

  it('names EXH_DEMO_EMULATOR_PORT when the emulator port is taken (npm start)', async () => {
    const port = await takePort();
    const demo = spawn(process.execPath, ['--import', 'tsx', demoScript], {
      env: { ...process.env, ...freePorts, EXH_DEMO_EMULATOR_PORT: String(port) },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    demo.stderr.setEncoding('utf8').on('data', (chunk: string) => {
      stderr += chunk;
    });
    const code = await new Promise<number | null>((resolve) => demo.on('exit', resolve));
    expect(code).toBe(1);
    expect(stderr).toContain(`Exchange emulator port 127.0.0.1:${port} is taken by another program`);
    expect(stderr).toContain('set EXH_DEMO_EMULATOR_PORT to a free port');
    expect(stderr).not.toMatch(/^\s+at /m);
  });

  it('names EXH_LISTENERS_HTTP_PORT when the dashboard port is taken (exh demo)', async () => {
    const port = await takePort();
    const demo = runExh(['demo'], { ...freePorts, EXH_LISTENERS_HTTP_PORT: String(port) });
    expect((await demo.exited).code).toBe(1);
    expect(demo.stderr()).toContain(`dashboard port 127.0.0.1:${port} is taken by another program`);
    expect(demo.stderr()).toContain('set EXH_LISTENERS_HTTP_PORT to a free port');
  });
});
