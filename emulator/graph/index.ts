import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Core } from '../context.js';
import { registerAutodiscoverV2 } from './autodiscover-v2.js';
import { runBatch } from './batch.js';
import { errorResponse, GraphError, type GraphRequest, type GraphResponse } from './http.js';
import { handleGraph } from './pipeline.js';
import { cancelUpload, uploadChunk, uploadPrefix } from './resources/upload.js';
import { registerGraphSubscriptions } from './subscriptions.js';
import { registerGraphTokens, verifyGraphToken } from './token.js';

/**
 * Microsoft Graph v1.0 for Outlook, served by the emulator's process over the same mailboxes as EWS
 * (docs/emulator.md, "Microsoft Graph"): everything under /graph/v1.0 needs a bearer token from the emulator's token
 * endpoint (token.ts), then goes through pipeline.ts; upload URLs for large attachments live under /graph-upload and,
 * as Graph's, take no token. Registers the token endpoint, Autodiscover v2 and subscriptions too.
 */

export const graphPrefix = '/graph/v1.0';

function originOf(request: FastifyRequest): string {
  return `http://${request.headers.host ?? '127.0.0.1'}`;
}

function send(reply: FastifyReply, response: GraphResponse): FastifyReply {
  reply.code(response.status);
  for (const [name, value] of Object.entries(response.headers ?? {})) reply.header(name, value);
  if (response.body === undefined) return reply.send();
  if (Buffer.isBuffer(response.body)) return reply.send(response.body);
  return reply
    .type('application/json; odata.metadata=minimal; odata.streaming=true')
    .send(JSON.stringify(response.body));
}

function parseBody(request: FastifyRequest): unknown {
  const raw = request.body;
  if (!Buffer.isBuffer(raw) || raw.length === 0) return undefined;
  const type = request.headers['content-type'] ?? '';
  if (!/json/i.test(type)) return raw;
  try {
    return JSON.parse(raw.toString('utf8'));
  } catch {
    throw new GraphError(
      400,
      'BadRequest',
      'Unable to read JSON request payload. Please ensure Content-Type header is set and payload is of valid JSON format.',
    );
  }
}

function headersOf(request: FastifyRequest): Record<string, string | undefined> {
  const out: Record<string, string | undefined> = {};
  for (const [name, value] of Object.entries(request.headers))
    out[name] = Array.isArray(value) ? value.join(', ') : value;
  return out;
}

const noNestedBatch = async (): Promise<GraphResponse> => {
  throw new GraphError(400, 'BadRequest', 'A $batch cannot contain another $batch.');
};

export function registerGraph(app: FastifyInstance, core: Core): void {
  registerGraphTokens(app, core);
  registerAutodiscoverV2(app, core);
  registerGraphSubscriptions(app, core);
  app.register(async (scope) => {
    scope.removeAllContentTypeParsers();
    scope.addContentTypeParser('*', { parseAs: 'buffer' }, (_request, body, done) => done(null, body));

    const graph = async (request: FastifyRequest, reply: FastifyReply) => {
      const token = verifyGraphToken(core, request.headers.authorization);
      if (!token.ok) {
        const answer = errorResponse(new GraphError(token.status, token.code, token.message), core.now());
        core.requests.add({
          at: core.now(),
          answeredAt: core.now(),
          operation: 'graph.unauthenticated',
          account: '',
          status: token.status,
          fault: token.code,
        });
        return send(reply, answer);
      }
      const url = new URL(request.raw.url ?? '/', 'http://graph');
      let body: unknown;
      try {
        body = parseBody(request);
      } catch (error) {
        return send(reply, errorResponse(error as GraphError, core.now()));
      }
      const graphRequest: GraphRequest = {
        core,
        method: request.method,
        path: url.pathname.slice(graphPrefix.length) || '/',
        query: url.searchParams,
        headers: headersOf(request),
        body,
        appId: token.appId,
        origin: originOf(request),
      };
      const response = await handleGraph(graphRequest, (outer) =>
        runBatch(outer, (sub) => handleGraph(sub, noNestedBatch)),
      );
      return send(reply, response);
    };
    scope.all(graphPrefix, graph);
    scope.all(`${graphPrefix}/*`, graph);

    scope.put<{ Params: { token: string } }>(`${uploadPrefix}/:token`, async (request, reply) => {
      const chunk = Buffer.isBuffer(request.body) ? request.body : Buffer.alloc(0);
      try {
        const range = request.headers['content-range'];
        return send(
          reply,
          uploadChunk(core, request.params.token, Array.isArray(range) ? range[0] : range, chunk, originOf(request)),
        );
      } catch (error) {
        return send(
          reply,
          errorResponse(
            error instanceof GraphError ? error : new GraphError(500, 'generalException', String(error)),
            core.now(),
          ),
        );
      }
    });
    scope.delete<{ Params: { token: string } }>(`${uploadPrefix}/:token`, async (request, reply) =>
      send(reply, cancelUpload(core, request.params.token)),
    );
  });
}
