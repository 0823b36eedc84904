import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, expect, it } from 'vitest';

const containerfile = readFileSync(new URL('../../deploy/Containerfile', import.meta.url), 'utf8');

/** The HEALTHCHECK's command (exec form, a JSON array on the CMD line). */
function healthCheck(): string[] {
  const match = /^HEALTHCHECK[\s\S]*?\bCMD (\[.*\])$/m.exec(containerfile);
  if (!match?.[1]) throw new Error('deploy/Containerfile has no HEALTHCHECK … CMD [ … ]');
  return JSON.parse(match[1]) as string[];
}

function run(command: string[], env: NodeJS.ProcessEnv): Promise<number | null> {
  const [program, ...args] = command;
  const child = spawn(program === 'node' ? process.execPath : (program as string), args, { env, stdio: 'ignore' });
  return new Promise((resolve) => child.on('exit', resolve));
}

describe('deploy/Containerfile', () => {
  it('checks /healthz on the port EXH_LISTENERS_HTTP_PORT names, the one the image gives the dashboard', async () => {
    expect(containerfile).toMatch(/^\s+EXH_LISTENERS_HTTP_PORT=8080 \\$/m);
    const asked: string[] = [];
    const server = createServer((request, response) => {
      asked.push(request.url ?? '');
      response.writeHead(request.url === '/healthz' ? 200 : 404).end();
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    try {
      expect(await run(healthCheck(), { ...process.env, EXH_LISTENERS_HTTP_PORT: String(port) })).toBe(0);
      expect(asked).toEqual(['/healthz']);
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
    // Nothing listens there any more: unhealthy.
    expect(await run(healthCheck(), { ...process.env, EXH_LISTENERS_HTTP_PORT: String(port) })).toBe(1);
  });

  it('publishes the log feed and the dashboard, which ask for no password, on the loopback only', () => {
    const docs = readFileSync(new URL('../../docs/operations.md', import.meta.url), 'utf8');
    for (const text of [containerfile, docs]) {
      expect(text).toContain('-p 127.0.0.1:8888:8888 -p 127.0.0.1:8080:8080');
      expect(text).not.toMatch(/-p (8888|8080):/);
    }
  });
});
