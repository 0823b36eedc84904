import { readFileSync } from 'node:fs';
import Fastify from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { registerDashboardRoutes } from '../../../src/http/routes/dashboard.js';

const dashboard = (file: string) => readFileSync(new URL(`../../../src/dashboard/${file}`, import.meta.url));

/** The dashboard's files, served from the package (src/dashboard/) by a fixed list. */
describe('dashboard routes', () => {
  const app = Fastify();
  beforeAll(async () => {
    registerDashboardRoutes(app);
    await app.ready();
  });
  afterAll(() => app.close());

  it('serves the one page for the overview and for every mailbox', async () => {
    const page = dashboard('index.html').toString('utf8');
    for (const url of ['/', '/mailboxes/alice%40contoso.test']) {
      const response = await app.inject({ method: 'GET', url });
      expect(response.statusCode, url).toBe(200);
      expect(response.headers['content-type']).toBe('text/html; charset=utf-8');
      expect(response.body).toBe(page);
    }
  });

  it('serves each script and the style sheet with its type, unchanged and never from a stale cache', async () => {
    for (const [file, type] of [
      ['app.js', 'text/javascript; charset=utf-8'],
      ['statechart.js', 'text/javascript; charset=utf-8'],
      ['style.css', 'text/css; charset=utf-8'],
    ] as const) {
      const response = await app.inject({ method: 'GET', url: `/dashboard/${file}` });
      expect(response.statusCode, file).toBe(200);
      expect(response.headers['content-type']).toBe(type);
      expect(response.headers['cache-control']).toBe('no-cache');
      expect(response.rawPayload.equals(dashboard(file))).toBe(true);
    }
  });

  it('serves nothing outside its list, however the path is written', async () => {
    for (const url of [
      '/dashboard/index.html',
      '/dashboard/..%2F..%2Fpackage.json',
      '/dashboard/%2e%2e%2fpackage.json',
      '/dashboard/../../package.json',
      '/dashboard/APP.JS',
    ]) {
      const response = await app.inject({ method: 'GET', url });
      expect(response.statusCode, url).toBe(404);
      expect(response.body).not.toContain('"name": "exh"');
    }
  });
});
