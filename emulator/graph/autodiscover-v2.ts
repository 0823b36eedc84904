import type { FastifyInstance, FastifyReply } from 'fastify';
import type { Core } from '../context.js';
import { graphTenant } from './token.js';

/**
 * Autodiscover v2 (the JSON one Exchange Online serves at `autodiscover-s.outlook.com` and `outlook.office365.com`):
 * `GET /autodiscover/autodiscover.json?Email=…&Protocol=EWS`, or `/autodiscover/autodiscover.json/v1.0/{email}?Protocol=EWS`,
 * anonymous, answering `{"Protocol": "EWS", "Url": …}`. A mailbox in Exchange Online gets Exchange Online's EWS URL
 * (the connector reads that as "use Graph"); a mailbox the admin API marked on premises gets the emulator's own EWS
 * URL, as a hybrid organisation's on-premises server would be named. Errors are `{"ErrorCode", "ErrorMessage"}`:
 * 400 InvalidProtocol for a protocol it does not serve, 400 InvalidRequest without an address, 404 UserNotFound for
 * an address without a mailbox here.
 */

export const autodiscoverV2Path = '/autodiscover/autodiscover.json';
export const exchangeOnlineEwsUrl = 'https://outlook.office365.com/EWS/Exchange.asmx';
const exchangeOnline = {
  ews: exchangeOnlineEwsUrl,
  rest: 'https://outlook.office.com/api',
  autodiscoverv1: 'https://outlook.office365.com/autodiscover/autodiscover.xml',
  activesync: 'https://outlook.office365.com/Microsoft-Server-ActiveSync',
} as const;
type Protocol = keyof typeof exchangeOnline;
/** The protocols' names as Exchange Online writes them back. */
const protocolNames: Record<Protocol, string> = {
  ews: 'EWS',
  rest: 'Rest',
  autodiscoverv1: 'AutodiscoverV1',
  activesync: 'ActiveSync',
};

function failure(reply: FastifyReply, status: 400 | 404, code: string, message: string) {
  return reply.code(status).type('application/json; charset=utf-8').send({ ErrorCode: code, ErrorMessage: message });
}

/** A query parameter whatever its case (`Email`, `email`, `Protocol`, `protocol`). */
function param(query: Record<string, string | string[] | undefined>, name: string): string | undefined {
  for (const [key, value] of Object.entries(query)) {
    if (key.toLowerCase() === name) return Array.isArray(value) ? value[0] : value;
  }
  return undefined;
}

export function registerAutodiscoverV2(app: FastifyInstance, core: Core): void {
  const answer = (email: string | undefined, protocol: string | undefined, reply: FastifyReply) => {
    const key = protocol?.toLowerCase() as Protocol | undefined;
    if (!key || !(key in exchangeOnline))
      return failure(
        reply,
        400,
        'InvalidProtocol',
        `The given protocol value '${protocol ?? ''}' is invalid. Supported values are '${Object.values(protocolNames).join(',')}'`,
      );
    if (!email?.includes('@'))
      return failure(reply, 400, 'InvalidRequest', `The given email address '${email ?? ''}' is not valid.`);
    const mailbox = core.store.get(email);
    if (!mailbox) return failure(reply, 404, 'UserNotFound', `The given user '${email}' was not found.`);
    const onPremises = graphTenant(core).isOnPremises(mailbox.address);
    const ewsUrl = core.ewsUrl();
    const url = onPremises
      ? key === 'ews'
        ? ewsUrl
        : key === 'autodiscoverv1'
          ? ewsUrl.replace(/\/EWS\/Exchange\.asmx$/i, '/autodiscover/autodiscover.xml')
          : undefined
      : exchangeOnline[key];
    if (!url)
      return failure(
        reply,
        400,
        'InvalidProtocol',
        `The protocol '${protocolNames[key]}' is not served for '${email}'.`,
      );
    return reply.type('application/json; charset=utf-8').send({ Protocol: protocolNames[key], Url: url });
  };

  app.get<{ Querystring: Record<string, string> }>(autodiscoverV2Path, async (request, reply) =>
    answer(param(request.query, 'email'), param(request.query, 'protocol'), reply),
  );
  app.get<{ Params: { email: string }; Querystring: Record<string, string> }>(
    `${autodiscoverV2Path}/v1.0/:email`,
    async (request, reply) => answer(request.params.email, param(request.query, 'protocol'), reply),
  );
}
