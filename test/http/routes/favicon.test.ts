import Fastify from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { registerDashboardRoutes } from '../../../src/http/routes/dashboard.js';
import { faviconSvg, registerFaviconRoutes } from '../../../src/http/routes/favicon.js';

/** Browsers ask for /favicon.ico by themselves: the dashboard answers with its icon instead of a 404 (issue 11). */
describe('the favicon', () => {
  const app = Fastify();
  beforeAll(async () => {
    registerDashboardRoutes(app);
    registerFaviconRoutes(app);
    await app.ready();
  });
  afterAll(() => app.close());

  it('is an SVG image at /favicon.ico', async () => {
    const reply = await app.inject({ method: 'GET', url: '/favicon.ico' });
    expect(reply.statusCode).toBe(200);
    expect(reply.headers['content-type']).toMatch(/^image\/svg\+xml/);
    expect(reply.body).toBe(faviconSvg);
    expect(reply.body).toMatch(/^<svg xmlns="http:\/\/www\.w3\.org\/2000\/svg"[^>]*viewBox=/);
  });

  it('is linked from the dashboard page, and the link answers with the image', async () => {
    const page = await app.inject({ method: 'GET', url: '/' });
    const link = /<link rel="icon" href="([^"]+)" type="([^"]+)"/.exec(page.body);
    expect(link?.[2]).toBe('image/svg+xml');
    const icon = await app.inject({ method: 'GET', url: link?.[1] ?? '(no link)' });
    expect(icon.statusCode).toBe(200);
    expect(icon.headers['content-type']).toMatch(/^image\/svg\+xml/);
    expect(icon.body).toBe(faviconSvg);
  });
});
