import { afterEach, describe, expect, it } from 'vitest';
import { buildHttpApp } from '../../src/http/server.js';
import { httpDeps, statusWith } from './deps.js';

/**
 * The app as a whole (src/http/server.ts): what it answers before and besides the routes. Through fastify's inject,
 * a request without a socket; the running connector's API: test/http/api.test.ts.
 */
describe('buildHttpApp', () => {
  let close: (() => Promise<unknown>) | undefined;
  afterEach(async () => {
    await close?.();
    close = undefined;
  });

  function app(overrides: Parameters<typeof httpDeps>[0] = {}) {
    const { deps, records } = httpDeps(overrides);
    const built = buildHttpApp(deps);
    close = () => built.close();
    return { app: built, records };
  }

  it('answers an unknown path with 404 JSON naming the method and the path, without its query', async () => {
    const response = await app().app.inject({ method: 'DELETE', url: '/api/nothing?token=secret' });
    expect(response.statusCode).toBe(404);
    expect(response.json()).toEqual({
      error: {
        code: 'EXH_HTTP_NOT_FOUND',
        message: expect.stringContaining('DELETE /api/nothing is no endpoint of exh'),
      },
    });
    expect(response.body).not.toContain('secret');
  });

  it('refuses a foreign Host before any route runs, and serves IP addresses, localhost and allowed names', async () => {
    let read = 0;
    const { app: built } = app({
      allowedHosts: ['exh.contoso.test'],
      status: () => {
        read++;
        return statusWith();
      },
    });
    const foreign = await built.inject({ method: 'GET', url: '/api/status', headers: { host: 'evil.test' } });
    expect(foreign.statusCode).toBe(403);
    expect(foreign.json().error.code).toBe('EXH_HTTP_HOST_NOT_ALLOWED');
    expect(read).toBe(0);
    for (const host of ['127.0.0.1:8080', 'localhost', 'exh.contoso.test:8080']) {
      const allowed = await built.inject({ method: 'GET', url: '/api/status', headers: { host } });
      expect(allowed.statusCode, host).toBe(200);
    }
    expect(read).toBe(3);
  });

  it('says in its own words what a client got wrong in a body: not JSON, not application/json, too large', async () => {
    const { app: built } = app();
    const post = (payload: string, contentType = 'application/json') =>
      built.inject({ method: 'POST', url: '/api/outbox/retry', payload, headers: { 'content-type': contentType } });
    const notJson = await post('{"user": ');
    expect([notJson.statusCode, notJson.json().error.code]).toEqual([400, 'EXH_HTTP_BAD_REQUEST']);
    expect(notJson.json().error.message).toContain('the body is not valid JSON');
    const form = await post('user=alice', 'application/x-www-form-urlencoded');
    expect(form.statusCode).toBe(415);
    expect(form.json().error.message).toContain('send the body as application/json');
    const large = await post(JSON.stringify({ user: 'x'.repeat(17 * 1024) }));
    expect(large.statusCode).toBe(413);
    expect(large.json().error.message).toContain('the body is larger than 16384 bytes');
  });

  it('answers a failure of its own with 500 EXH_INTERNAL and logs it as an error', async () => {
    const { app: built, records } = app({
      status: () => {
        throw new Error('the actor tree is gone');
      },
    });
    const response = await built.inject({ method: 'GET', url: '/api/status' });
    expect(response.statusCode).toBe(500);
    expect(response.json()).toEqual({ error: { code: 'EXH_INTERNAL', message: 'the actor tree is gone' } });
    expect(records).toContainEqual(
      expect.objectContaining({ cat: 'E', msg: 'HTTP request failed: the actor tree is gone' }),
    );
  });
});
