import type { FastifyReply } from 'fastify';
import type { ErrorCode, ExhError } from '../errors.js';

const statusOfCode: Partial<Record<ErrorCode, number>> = {
  EXH_HTTP_BAD_REQUEST: 400,
  EXH_HTTP_UNAUTHORIZED: 401,
  EXH_HTTP_FORBIDDEN: 403,
  EXH_HTTP_HOST_NOT_ALLOWED: 403,
  EXH_HTTP_ADMIN_DISABLED: 403,
  EXH_HTTP_NOT_FOUND: 404,
  EXH_CONNECTOR_OFFLINE: 503,
  EXH_HTTP_TOO_MANY_STREAMS: 503,
};

/** Every error the API answers has one shape: `{ error: { code, message } }`, with the status its code implies. */
export function sendError(
  reply: FastifyReply,
  error: ExhError,
  status = statusOfCode[error.code] ?? 500,
): FastifyReply {
  if (error.code === 'EXH_HTTP_UNAUTHORIZED') reply.header('www-authenticate', 'Bearer realm="exh"');
  return reply
    .code(status)
    .type('application/json')
    .send({ error: { code: error.code, message: error.message } });
}
