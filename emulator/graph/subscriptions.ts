import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Core } from '../context.js';
import type { Mailbox } from '../store/mailbox.js';
import { errorResponse, GraphError } from './http.js';
import { validateEndpoint } from './notifications/delivery.js';
import { type GraphSubscription, graphSubscriptions, graphTime } from './notifications/registry.js';
import { type ChangeType, parseResource, userIdOf } from './notifications/resources.js';
import { graphTenant, verifyGraphToken } from './token.js';

/**
 * Graph's subscriptions API (https://learn.microsoft.com/graph/api/resources/subscription) for the Outlook resources
 * the connector watches: `POST/GET /graph/v1.0/subscriptions`, `GET/PATCH/DELETE /graph/v1.0/subscriptions/{id}`,
 * `POST /graph/v1.0/subscriptions/{id}/reauthorize`. A new subscription (and a changed notificationUrl) must pass the
 * validation handshake; then the mailbox's changes reach the notificationUrl (notifications/registry.ts,
 * notifications/delivery.ts). Checks as Graph's: changeType created/updated/deleted, an https notificationUrl and
 * lifecycleNotificationUrl (the emulator also takes http on the loopback address, for tests), clientState of at most
 * 128 characters, expirationDateTime in the future and at most 10,080 minutes ahead (Outlook resources), at most 1,000
 * subscriptions per mailbox.
 */

export const graphBase = '/graph/v1.0';
/** The longest subscription Graph grants on Outlook messages, events and contacts without resource data. */
export const maxSubscriptionMinutes = 10_080;
const maxPerMailbox = 1000;
const changeTypes: readonly ChangeType[] = ['created', 'updated', 'deleted'];
const tlsVersions = ['v1_0', 'v1_1', 'v1_2', 'v1_3'];

const invalid = (message: string) => new GraphError(400, 'InvalidRequest', message);

function notFound(id: string): GraphError {
  return new GraphError(
    404,
    'ResourceNotFound',
    `Resource '${id}' does not exist or one of its queried reference-property objects are not present.`,
  );
}

function graphError(reply: FastifyReply, now: number, error: GraphError) {
  const answer = errorResponse(error, now);
  return reply
    .code(answer.status)
    .headers(answer.headers ?? {})
    .send(answer.body);
}

/** https, or http on the loopback address (the emulator's concession to tests; Graph takes https only). */
function checkUrl(name: string, value: unknown): string {
  if (typeof value !== 'string' || value === '') throw invalid(`${name} is required.`);
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw invalid(`${name} '${value}' is not a valid absolute URL.`);
  }
  const loopback = ['127.0.0.1', 'localhost', '[::1]'].includes(url.hostname);
  if (url.protocol !== 'https:' && !(url.protocol === 'http:' && loopback))
    throw invalid(`${name} must be an https URL (the emulator also accepts http on 127.0.0.1): '${value}'.`);
  return value;
}

function checkChangeTypes(value: unknown): ChangeType[] {
  if (typeof value !== 'string' || value.trim() === '') throw invalid('changeType is required.');
  const parts = value.split(',').map((p) => p.trim());
  const wrong = parts.filter((p) => !changeTypes.includes(p as ChangeType));
  if (wrong.length > 0)
    throw invalid(
      `Invalid 'changeType' attribute: '${wrong.join(',')}'. The supported values are ${changeTypes.join(', ')}.`,
    );
  return [...new Set(parts as ChangeType[])];
}

function checkExpiration(core: Core, value: unknown): number {
  const at = typeof value === 'string' ? Date.parse(value) : Number.NaN;
  if (Number.isNaN(at)) throw invalid(`expirationDateTime is required, as an ISO 8601 time: '${String(value)}'.`);
  const now = core.now();
  if (at <= now) throw invalid(`Subscription expiration time must be in the future: '${String(value)}'.`);
  if (at > now + maxSubscriptionMinutes * 60_000)
    throw invalid(`Subscription expiration can only be ${maxSubscriptionMinutes} minutes in the future.`);
  return at;
}

function checkClientState(value: unknown): string | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'string') throw invalid('clientState must be a string.');
  if (value.length > 128) throw invalid(`clientState must be at most 128 characters (it has ${value.length}).`);
  return value;
}

/** The mailbox a resource names, by address or by its user's id. */
function mailboxOf(core: Core, user: string): Mailbox | undefined {
  return core.store.get(user) ?? core.store.list().find((m) => userIdOf(m) === user.toLowerCase());
}

function wantsImmutableIds(request: FastifyRequest): boolean {
  const prefer = request.headers.prefer;
  const text = Array.isArray(prefer) ? prefer.join(',') : (prefer ?? '');
  return /idtype\s*=\s*"?immutableid"?/i.test(text);
}

function bodyOf(request: FastifyRequest): Record<string, unknown> {
  if (typeof request.body !== 'object' || request.body === null || Array.isArray(request.body))
    throw new GraphError(400, 'BadRequest', 'The request body must be a JSON object.');
  return request.body as Record<string, unknown>;
}

/** A subscription as Graph returns it. */
function view(subscription: GraphSubscription): Record<string, unknown> {
  return {
    id: subscription.id,
    resource: subscription.resource,
    applicationId: subscription.applicationId,
    changeType: subscription.changeTypes.join(','),
    clientState: subscription.clientState ?? null,
    notificationUrl: subscription.notificationUrl,
    notificationQueryOptions: null,
    lifecycleNotificationUrl: subscription.lifecycleNotificationUrl ?? null,
    expirationDateTime: graphTime(subscription.expiresAt),
    creatorId: subscription.applicationId,
    includeResourceData: null,
    latestSupportedTlsVersion: subscription.latestSupportedTlsVersion,
    encryptionCertificate: null,
    encryptionCertificateId: null,
    notificationUrlAppId: null,
  };
}

async function handshake(core: Core, url: string): Promise<void> {
  const failure = await validateEndpoint(core, url, graphSubscriptions(core).timings());
  if (failure) throw new GraphError(400, 'ValidationError', failure);
}

export function registerGraphSubscriptions(app: FastifyInstance, core: Core): void {
  const registry = graphSubscriptions(core);
  app.addHook('onClose', async () => registry.close());

  app.register(async (scope) => {
    scope.addHook('onRequest', async (request, reply) => {
      const check = verifyGraphToken(core, request.headers.authorization);
      if (!check.ok) return graphError(reply, core.now(), new GraphError(check.status, check.code, check.message));
      return undefined;
    });
    scope.setErrorHandler((error, _request, reply) => {
      if (error instanceof GraphError) return graphError(reply, core.now(), error);
      const status = (error as { statusCode?: number }).statusCode ?? 500;
      if (status >= 500) core.log.error({ err: error }, 'Graph subscription request failed');
      const code = status >= 500 ? 'InternalServerError' : 'BadRequest';
      return graphError(reply, core.now(), new GraphError(status, code, (error as Error).message));
    });

    const find = (id: string): GraphSubscription => {
      const subscription = registry.get(id);
      if (!subscription) throw notFound(id);
      return subscription;
    };
    const context = (request: FastifyRequest) =>
      `${request.protocol}://${request.headers.host ?? request.hostname}${graphBase}/$metadata#subscriptions`;

    scope.post(`${graphBase}/subscriptions`, async (request, reply) => {
      const body = bodyOf(request);
      const changeType = checkChangeTypes(body.changeType);
      const notificationUrl = checkUrl('notificationUrl', body.notificationUrl);
      const lifecycleNotificationUrl =
        body.lifecycleNotificationUrl === undefined || body.lifecycleNotificationUrl === null
          ? undefined
          : checkUrl('lifecycleNotificationUrl', body.lifecycleNotificationUrl);
      const resource = typeof body.resource === 'string' ? body.resource : '';
      if (/^\/?me\//i.test(resource))
        throw new GraphError(
          400,
          'BadRequest',
          '/me request is only valid with delegated authentication flow: name the mailbox as users/{upn}.',
        );
      const watched = parseResource(resource);
      if (!watched)
        throw invalid(
          `Unsupported resource '${resource}': the emulator serves users/{upn}/mailFolders('inbox')/messages, mailFolders('sentitems')/messages, messages, events and contacts.`,
        );
      const expiresAt = checkExpiration(core, body.expirationDateTime);
      const clientState = checkClientState(body.clientState);
      const tls = body.latestSupportedTlsVersion ?? 'v1_2';
      if (typeof tls !== 'string' || !tlsVersions.includes(tls))
        throw invalid(`latestSupportedTlsVersion must be one of ${tlsVersions.join(', ')}.`);
      if (body.includeResourceData === true)
        throw invalid('includeResourceData is not supported by the emulator (subscribe without resource data).');
      const mailbox = mailboxOf(core, watched.user);
      if (!mailbox)
        throw new GraphError(
          404,
          'ExtensionError',
          `Operation: Create; Exception: [Status Code: NotFound; Reason: The mailbox '${watched.user}' was not found.]`,
        );
      if (graphTenant(core).isOnPremises(mailbox.address))
        throw new GraphError(
          404,
          'MailboxNotEnabledForRESTAPI',
          'The mailbox is either inactive, soft-deleted, or is hosted on-premise.',
        );
      if (registry.countFor(mailbox) >= maxPerMailbox)
        throw new GraphError(
          403,
          'ExtensionError',
          `Operation: Create; Exception: [Status Code: Forbidden; Reason: The mailbox has reached the maximum of ${maxPerMailbox} subscriptions.]`,
        );
      await handshake(core, notificationUrl);
      if (lifecycleNotificationUrl && lifecycleNotificationUrl !== notificationUrl)
        await handshake(core, lifecycleNotificationUrl);
      const check = verifyGraphToken(core, request.headers.authorization);
      const subscription = registry.create({
        resource,
        scope: watched.scope,
        mailbox,
        changeTypes: changeType,
        notificationUrl,
        lifecycleNotificationUrl,
        clientState,
        expiresAt,
        applicationId: check.ok ? check.appId : graphTenant(core).app.clientId,
        immutableIds: wantsImmutableIds(request),
        latestSupportedTlsVersion: tls,
      });
      return reply.code(201).send({ '@odata.context': `${context(request)}/$entity`, ...view(subscription) });
    });

    scope.get(`${graphBase}/subscriptions`, async (request) => ({
      '@odata.context': context(request),
      value: registry.list().map(view),
    }));

    scope.get<{ Params: { id: string } }>(`${graphBase}/subscriptions/:id`, async (request) => ({
      '@odata.context': `${context(request)}/$entity`,
      ...view(find(request.params.id)),
    }));

    scope.patch<{ Params: { id: string } }>(`${graphBase}/subscriptions/:id`, async (request) => {
      const subscription = find(request.params.id);
      const body = bodyOf(request);
      const unknown = Object.keys(body).filter((k) => k !== 'expirationDateTime' && k !== 'notificationUrl');
      if (unknown.length > 0)
        throw invalid(`Only expirationDateTime and notificationUrl can be changed, not ${unknown.join(', ')}.`);
      const expiresAt =
        body.expirationDateTime === undefined ? undefined : checkExpiration(core, body.expirationDateTime);
      if (body.notificationUrl !== undefined) {
        const url = checkUrl('notificationUrl', body.notificationUrl);
        if (url !== subscription.notificationUrl) await handshake(core, url);
        subscription.notificationUrl = url;
      }
      registry.renew(subscription, expiresAt ?? subscription.expiresAt);
      return { '@odata.context': `${context(request)}/$entity`, ...view(subscription) };
    });

    scope.delete<{ Params: { id: string } }>(`${graphBase}/subscriptions/:id`, async (request, reply) => {
      find(request.params.id);
      registry.remove(request.params.id, 'deleted by the app');
      return reply.code(204).send();
    });

    scope.post<{ Params: { id: string } }>(`${graphBase}/subscriptions/:id/reauthorize`, async (request, reply) => {
      registry.reauthorize(find(request.params.id));
      return reply.code(204).send();
    });
  });
}
