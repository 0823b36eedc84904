import type { CallOptions, FolderName } from '../../../ports/exchange.port.js';
import { detached, type EwsMailbox } from '../connection.js';
import { fromHttpStatus, fromResponseCode, responseMessageFault } from '../errors.js';
import { errorContext, type SoapTarget, soapEnvelope, soapHeaders } from '../soap.js';
import { at, escapeXml, parseXml, textOf } from '../xml.js';

/**
 * The requests of a group of streaming subscriptions, with the headers that keep them on one Mailbox server
 * (docs/exchange-on-premises.md, "Streaming at scale"): X-AnchorMailbox names the group's anchor mailbox,
 * X-PreferServerAffinity asks for affinity, and the X-BackEndOverrideCookie Exchange set on the group's first answer
 * goes back on every later request. Subscribe and Unsubscribe are written here rather than through the library,
 * whose ExchangeService carries one mailbox's headers and keeps no cookie the adapter could read.
 */

export interface Affinity {
  /** The group's anchor mailbox (the first one to join it). */
  anchor: string;
  /** X-BackEndOverrideCookie's value, once Exchange gave it. */
  cookie: string | undefined;
}

export const eventTypeNames = [
  'NewMailEvent',
  'CreatedEvent',
  'DeletedEvent',
  'ModifiedEvent',
  'MovedEvent',
  'CopiedEvent',
];

export function affinityHeaders(target: SoapTarget, affinity: Affinity): Record<string, string> {
  const headers: Record<string, string> = {
    ...soapHeaders(target),
    'x-anchormailbox': affinity.anchor,
    'x-preferserveraffinity': 'true',
  };
  if (affinity.cookie) headers.cookie = `X-BackEndOverrideCookie=${affinity.cookie}`;
  return headers;
}

/** X-BackEndOverrideCookie's value among an answer's Set-Cookie headers. */
export function backEndCookie(setCookie: string | string[] | undefined): string | undefined {
  for (const line of Array.isArray(setCookie) ? setCookie : setCookie ? [setCookie] : []) {
    const match = /^\s*X-BackEndOverrideCookie=([^;]*)/i.exec(line);
    if (match?.[1]) return match[1];
  }
  return undefined;
}

async function call(
  mailbox: EwsMailbox,
  affinity: Affinity,
  operation: 'Subscribe' | 'Unsubscribe',
  body: string,
  options: CallOptions,
) {
  const target = mailbox.target;
  return mailbox.request(options, {}, async (signal) => {
    const context = errorContext(target);
    const answer = await mailbox.transport.send(
      target.url,
      soapEnvelope(target, body),
      affinityHeaders(target, affinity),
      signal,
      context,
    );
    if (answer.status !== 200) throw fromHttpStatus(answer.status, answer.body, answer.headers, context);
    const message = at(
      parseXml(answer.body),
      'Envelope',
      'Body',
      `${operation}Response`,
      'ResponseMessages',
      `${operation}ResponseMessage`,
    );
    const fault = responseMessageFault(message);
    if (fault) throw fromResponseCode(fault, context);
    const cookie = backEndCookie(answer.headers['set-cookie']);
    if (cookie && !affinity.cookie) affinity.cookie = cookie;
    return message;
  });
}

/** Subscribe for streaming notifications of `folders`, as the mailbox's user, on the group's server. */
export async function subscribeInGroup(
  mailbox: EwsMailbox,
  affinity: Affinity,
  folders: readonly FolderName[],
  options: CallOptions,
): Promise<string> {
  const body =
    '<m:Subscribe><m:StreamingSubscriptionRequest><t:FolderIds>' +
    folders.map((folder) => `<t:DistinguishedFolderId Id="${folder}"/>`).join('') +
    '</t:FolderIds><t:EventTypes>' +
    eventTypeNames.map((type) => `<t:EventType>${type}</t:EventType>`).join('') +
    '</t:EventTypes></m:StreamingSubscriptionRequest></m:Subscribe>';
  const message = await call(mailbox, affinity, 'Subscribe', body, options);
  const text = textOf(message, 'SubscriptionId')?.trim();
  const id = text ? detached(text) : undefined;
  if (!id)
    throw fromResponseCode(
      { responseCode: 'ErrorInvalidSubscription', message: 'no SubscriptionId' },
      errorContext(mailbox.target),
    );
  return id;
}

/** Unsubscribe, best effort: Exchange drops a subscription without a connection after 30 minutes anyway. */
export async function unsubscribeInGroup(mailbox: EwsMailbox, affinity: Affinity, id: string): Promise<void> {
  try {
    const signal = AbortSignal.timeout(mailbox.transport.timeoutMs);
    const body = `<m:Unsubscribe><m:SubscriptionId>${escapeXml(id)}</m:SubscriptionId></m:Unsubscribe>`;
    await call(mailbox, affinity, 'Unsubscribe', body, { priority: 'live', signal });
  } catch (error) {
    mailbox.logger.debug({ err: error }, 'Unsubscribe failed (the subscription expires by itself)');
  }
}
