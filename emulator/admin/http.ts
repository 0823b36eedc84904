import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { authenticate } from '../auth.js';
import type { Core } from '../context.js';
import type { FaultInput } from '../faults.js';
import { AdminError, type EmulatorAdmin, type EmulatorSettingsInput, type ItemInput } from './api.js';

/**
 * The admin API as JSON over HTTP under /emulator/admin. Guarded: only the service account (Basic authentication with
 * the emulator's password) may use it, and only with JSON bodies, so a web page cannot forge calls to it.
 */

const base = '/emulator/admin';

type Params = { address: string; id: string; faultId: string };

export function registerAdminRoutes(app: FastifyInstance, core: Core, admin: EmulatorAdmin): void {
  app.register(async (scope) => {
    scope.addHook('onRequest', async (request: FastifyRequest, reply: FastifyReply) => {
      const account = authenticate(core, request.headers.authorization);
      if (account !== core.settings.serviceAccount.toLowerCase()) {
        reply.header('www-authenticate', 'Basic realm="exh emulator admin"');
        return reply
          .code(401)
          .send({ error: 'Unauthorized', message: 'The admin API needs the service account (Basic authentication).' });
      }
      if (
        request.method !== 'GET' &&
        request.method !== 'DELETE' &&
        !request.headers['content-type']?.startsWith('application/json')
      ) {
        return reply
          .code(415)
          .send({ error: 'UnsupportedMediaType', message: 'Send JSON (Content-Type: application/json).' });
      }
      return undefined;
    });
    scope.setErrorHandler((error, _request, reply) => {
      if (error instanceof AdminError)
        return reply
          .code(error.status)
          .send({ error: error.status === 404 ? 'NotFound' : 'BadRequest', message: error.message });
      if (error instanceof z.ZodError)
        return reply.code(400).send({
          error: 'BadRequest',
          message: error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; '),
        });
      const status = (error as { statusCode?: number }).statusCode;
      if (status && status < 500)
        return reply.code(status).send({ error: 'BadRequest', message: (error as Error).message });
      core.log.error({ err: error }, 'Admin request failed');
      return reply.code(500).send({ error: 'InternalError', message: (error as Error).message });
    });

    scope.get(base, async () => ({
      mailboxes: admin.mailboxes(),
      faults: admin.faults.list(),
      subscriptions: admin.subscriptions(),
      settings: admin.settings(),
    }));
    scope.get(`${base}/settings`, async () => admin.settings());
    scope.patch(`${base}/settings`, async (request) =>
      admin.updateSettings((request.body ?? {}) as EmulatorSettingsInput),
    );
    scope.get(`${base}/mailboxes`, async () => admin.mailboxes());
    scope.post(`${base}/mailboxes`, async (request, reply) => {
      const body = z.object({ address: z.string(), displayName: z.string().optional() }).parse(request.body);
      admin.addMailbox(body.address, body.displayName);
      return reply.code(201).send({ address: body.address.toLowerCase() });
    });
    scope.delete<{ Params: Params }>(`${base}/mailboxes/:address`, async (request) => {
      admin.removeMailbox(request.params.address);
      return { removed: request.params.address };
    });
    scope.post(`${base}/reset`, async (request) => {
      const body = z.object({ mailbox: z.string().optional() }).parse(request.body ?? {});
      admin.reset(body.mailbox);
      return { reset: body.mailbox ?? 'all' };
    });
    scope.get<{ Params: Params; Querystring: { folder?: string } }>(
      `${base}/mailboxes/:address/items`,
      async (request) => admin.items(request.params.address, request.query.folder),
    );
    scope.get<{ Params: Params }>(`${base}/mailboxes/:address/items/:id`, async (request) =>
      admin.item(request.params.address, request.params.id),
    );
    scope.get<{ Params: Params; Querystring: { from?: string; to?: string } }>(
      `${base}/mailboxes/:address/items/:id/occurrences`,
      async (request) => {
        const { from, to } = z.object({ from: z.string(), to: z.string() }).parse(request.query);
        return admin.occurrences(request.params.address, request.params.id, from, to);
      },
    );
    scope.post<{ Params: Params }>(`${base}/mailboxes/:address/items`, async (request, reply) => {
      const input = z
        .object({ kind: z.enum(['CalendarItem', 'Message', 'Contact', 'Task']) })
        .passthrough()
        .parse(request.body);
      const item = admin.createItem(request.params.address, input as ItemInput);
      return reply.code(201).send(item ?? { sent: true });
    });
    scope.patch<{ Params: Params }>(`${base}/mailboxes/:address/items/:id`, async (request) => {
      const changes = z.record(z.string(), z.any()).parse(request.body);
      return admin.updateItem(request.params.address, request.params.id, changes);
    });
    scope.delete<{ Params: Params; Querystring: { hard?: string } }>(
      `${base}/mailboxes/:address/items/:id`,
      async (request) => {
        admin.deleteItem(request.params.address, request.params.id, { hard: request.query.hard === 'true' });
        return { deleted: request.params.id };
      },
    );
    scope.post<{ Params: Params }>(`${base}/mailboxes/:address/items/:id/attachments`, async (request, reply) => {
      const body = z
        .object({ Name: z.string(), Content: z.string(), ContentType: z.string().optional() })
        .parse(request.body);
      return reply.code(201).send(admin.addAttachment(request.params.address, request.params.id, body));
    });
    scope.get(`${base}/faults`, async () => admin.faults.list());
    scope.post(`${base}/faults`, async (request, reply) =>
      reply.code(201).send(admin.faults.add(request.body as FaultInput)),
    );
    scope.delete(`${base}/faults`, async () => {
      admin.faults.clear();
      return { cleared: true };
    });
    scope.delete<{ Params: Params }>(`${base}/faults/:faultId`, async (request, reply) => {
      if (!admin.faults.remove(request.params.faultId))
        return reply.code(404).send({ error: 'NotFound', message: 'No such fault.' });
      return { removed: request.params.faultId };
    });
    scope.get(`${base}/requests`, async (request) => {
      const filter = z
        .object({
          mailbox: z.string().optional(),
          operation: z.string().optional(),
          since: z.coerce.number().optional(),
        })
        .parse(request.query ?? {});
      return admin.requests(filter);
    });
    scope.get(`${base}/subscriptions`, async () => admin.subscriptions());
    scope.post(`${base}/subscriptions/expire`, async (request) => {
      const filter = z
        .object({ mailbox: z.string().optional(), kind: z.enum(['pull', 'push', 'streaming']).optional() })
        .parse(request.body ?? {});
      return { expired: admin.expireSubscriptions(filter) };
    });
    scope.get(`${base}/graph/app`, async () => admin.graphApp());
    scope.patch(`${base}/graph/app`, async (request) => admin.updateGraphApp((request.body ?? {}) as object));
    scope.post(`${base}/graph/app/certificates`, async (request, reply) => {
      const body = z.object({ certificate: z.string() }).parse(request.body);
      return reply.code(201).send(admin.addGraphCertificate(body.certificate));
    });
    scope.delete<{ Params: { thumbprint: string } }>(`${base}/graph/app/certificates/:thumbprint`, async (request) => {
      admin.removeGraphCertificate(request.params.thumbprint);
      return { removed: request.params.thumbprint };
    });
    scope.post(`${base}/graph/tokens/expire`, async () => ({ expired: admin.expireGraphTokens() }));
    scope.get(`${base}/graph/subscriptions`, async () => admin.graphSubscriptions());
    scope.post(`${base}/graph/subscriptions/lifecycle`, async (request) => {
      const body = z
        .object({
          event: z.enum(['reauthorizationRequired', 'subscriptionRemoved', 'missed']),
          subscriptionId: z.string().optional(),
          mailbox: z.string().optional(),
        })
        .parse(request.body);
      return admin.graphLifecycle(body);
    });
    scope.post(`${base}/graph/subscriptions/expire`, async (request) => {
      const body = z
        .object({ subscriptionId: z.string().optional(), mailbox: z.string().optional() })
        .parse(request.body ?? {});
      return { expired: admin.expireGraphSubscriptions(body) };
    });
    scope.put<{ Params: Params }>(`${base}/mailboxes/:address/on-premises`, async (request) => {
      const body = z.object({ onPremises: z.boolean() }).parse(request.body);
      return admin.markOnPremises(request.params.address, body.onPremises);
    });
    scope.post(`${base}/save`, async () => {
      await admin.save();
      return { saved: true };
    });
  });
}
