import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import type { EmulatorAdmin } from './admin/api.js';
import { registerAdminRoutes } from './admin/http.js';
import { authenticate, logOn } from './auth.js';
import { autodiscover, probeHeaders } from './autodiscover.js';
import type { Core } from './context.js';
import { handleEws } from './ews.js';
import { cookieOf } from './notifications/affinity.js';

/**
 * The HTTP face of the emulator: EWS at /EWS/Exchange.asmx (paths are case-insensitive, as on IIS), Autodiscover at
 * /autodiscover/, the admin API at /emulator/admin. Unauthenticated EWS and Autodiscover requests get 401 offering
 * Basic and NTLM (auth.ts) before their body is read (an `onRequest` hook, as for the admin routes); oversized bodies
 * 413; bodies that are not XML 415.
 */

export const paths = {
  ews: '/EWS/Exchange.asmx',
  autodiscoverSvc: '/autodiscover/autodiscover.svc',
  autodiscoverXml: '/autodiscover/autodiscover.xml',
  admin: '/emulator/admin',
} as const;

declare module 'fastify' {
  interface FastifyRequest {
    /** The account Basic or NTLM authentication proved (set by the `onRequest` hook of EWS and Autodiscover). */
    exhAccount?: string;
  }
}

export function buildServer(core: Core, admin: EmulatorAdmin): FastifyInstance {
  const app = Fastify({
    logger: false,
    bodyLimit: core.settings.bodyLimit,
    routerOptions: { caseSensitive: false },
    forceCloseConnections: true,
  });
  app.addContentTypeParser(
    ['text/xml', 'application/soap+xml', 'application/xml'],
    { parseAs: 'string' },
    (_request, body, done) => done(null, body),
  );

  // Credentials are checked before the body is read: an anonymous 17 MB POST gets 401, not 413.
  const requireAccount = async (request: FastifyRequest, reply: FastifyReply) => {
    const result = logOn(core, request.raw);
    if (!('account' in result)) return reply.code(401).header('www-authenticate', result.wwwAuthenticate).send();
    request.exhAccount = result.account;
    return undefined;
  };

  app.post(paths.ews, { onRequest: requireAccount }, async (request, reply) => {
    const account = request.exhAccount as string;
    if (typeof request.body !== 'string')
      return reply.code(415).type('text/plain').send('EWS takes SOAP: send text/xml.');
    const anchor = request.headers['x-anchormailbox'];
    const answer = await handleEws(core, {
      account,
      body: request.body,
      anchorHeader: Array.isArray(anchor) ? anchor[0] : anchor,
      affinity: {
        preferServerAffinity: String(request.headers['x-preferserveraffinity'] ?? '').toLowerCase() === 'true',
        backEndCookie: cookieOf(request.headers.cookie),
      },
    });
    core.log.debug({ operation: answer.operation, account, status: answer.status }, 'EWS request');
    if ('stream' in answer) {
      reply.hijack();
      const raw = reply.raw;
      // A client that goes away mid-stream is normal; 'close' ends the connection's timers.
      raw.on('error', (error) => core.log.debug({ err: error }, 'Streaming connection error'));
      raw.writeHead(200, answer.headers);
      raw.flushHeaders();
      answer.stream(
        (chunk) => raw.write(chunk),
        () => raw.end(),
        (fn) => raw.on('close', fn),
      );
      return reply;
    }
    return reply.code(answer.status).headers(answer.headers).send(answer.body);
  });

  app.get(paths.ews, { onRequest: requireAccount }, async (_request, reply) => {
    return reply
      .type('text/html')
      .send('<html><body>exh Exchange emulator: EWS answers SOAP POSTs at this address.</body></html>');
  });

  app.get(paths.autodiscoverXml, async (request, reply) => {
    reply.headers(probeHeaders);
    if (!authenticate(core, request.headers.authorization)) return reply.code(401).send();
    return reply
      .type('text/xml')
      .send(
        '<?xml version="1.0" encoding="utf-8"?><Autodiscover xmlns="http://schemas.microsoft.com/exchange/autodiscover/responseschema/2006"><Response><Error><ErrorCode>600</ErrorCode><Message>Invalid Request</Message></Error></Response></Autodiscover>',
      );
  });

  app.post(paths.autodiscoverSvc, { onRequest: requireAccount }, async (request, reply) => {
    if (typeof request.body !== 'string')
      return reply.code(415).type('text/plain').send('Autodiscover takes SOAP: send text/xml.');
    const answer = autodiscover(core, request.body);
    return reply.code(answer.status).type('text/xml; charset=utf-8').send(answer.body);
  });

  registerAdminRoutes(app, core, admin);
  return app;
}
