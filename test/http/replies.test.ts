import Fastify from 'fastify';
import { describe, expect, it } from 'vitest';
import { type ExhError, errors } from '../../src/errors.js';
import { sendError } from '../../src/http/replies.js';

/** Answers `error` from a real fastify app (inject: no socket) and gives back what a client sees. */
async function answered(error: ExhError, status?: number) {
  const app = Fastify();
  app.get('/', (_request, reply) => sendError(reply, error, status));
  const response = await app.inject({ method: 'GET', url: '/' });
  await app.close();
  return { status: response.statusCode, headers: response.headers, body: response.json() };
}

describe('sendError', () => {
  it.each([
    [errors.httpBadRequest('the body is not valid JSON'), 400],
    [errors.httpUnauthorized(), 401],
    [errors.httpForbidden(), 403],
    [errors.httpHostNotAllowed('evil.test'), 403],
    [errors.httpAdminDisabled(), 403],
    [errors.httpNotFound('GET /nothing is no endpoint of exh'), 404],
    [errors.connectorOffline('stopping'), 503],
    [errors.httpTooManyStreams(64), 503],
    [errors.poolAborted(), 500],
  ])('%s answers %i with its code and message as JSON', async (error, status) => {
    const response = await answered(error);
    expect(response.status).toBe(status);
    expect(response.headers['content-type']).toMatch(/^application\/json/);
    expect(response.body).toEqual({ error: { code: error.code, message: error.message } });
  });

  it('tells a client without a token how to authenticate, and only then', async () => {
    expect((await answered(errors.httpUnauthorized())).headers['www-authenticate']).toBe('Bearer realm="exh"');
    expect((await answered(errors.httpForbidden())).headers['www-authenticate']).toBeUndefined();
  });

  it('answers with the status the caller names (413 for a body too large)', async () => {
    const response = await answered(errors.httpBadRequest('the body is larger than 16384 bytes'), 413);
    expect(response.status).toBe(413);
    expect(response.body.error.code).toBe('EXH_HTTP_BAD_REQUEST');
  });
});
