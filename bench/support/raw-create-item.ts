/**
 * The limit of the database → Exchange benchmark: a plain SOAP client that creates the same appointments with
 * CreateItem and nothing else, one worker per user (each user's items one after another, as the connector keeps
 * each user's order), all users at once. Run in a process of its own by bench/scenarios/outbox.ts:
 *
 *   node --import tsx bench/support/raw-create-item.ts '{"url":…,"account":…,"password":…,"users":[…],"perUser":N,"from":ms}'
 *
 * Prints one JSON line on stdout: { created, seconds } (after one untimed warm-up item per user).
 */
import { randomUUID } from 'node:crypto';
import { appointment, createItemXml } from './appointment.js';

interface RawCreateRequest {
  url: string;
  account: string;
  password: string;
  users: string[];
  perUser: number;
  from: number;
}

const request = JSON.parse(process.argv[2] ?? '{}') as RawCreateRequest;
const authorization = `Basic ${Buffer.from(`${request.account}:${request.password}`).toString('base64')}`;

function envelope(user: string, body: string): string {
  return (
    '<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/" ' +
    'xmlns:m="http://schemas.microsoft.com/exchange/services/2006/messages" ' +
    'xmlns:t="http://schemas.microsoft.com/exchange/services/2006/types"><soap:Header>' +
    '<t:RequestServerVersion Version="Exchange2013_SP1"/><t:ExchangeImpersonation><t:ConnectingSID>' +
    `<t:SmtpAddress>${user}</t:SmtpAddress></t:ConnectingSID></t:ExchangeImpersonation></soap:Header>` +
    `<soap:Body>${body}</soap:Body></soap:Envelope>`
  );
}

async function create(user: string, n: number): Promise<void> {
  const body = createItemXml(appointment(n, request.from), randomUUID(), `exh-${randomUUID()}`);
  const response = await fetch(request.url, {
    method: 'POST',
    headers: { 'content-type': 'text/xml; charset=utf-8', authorization, 'x-anchormailbox': user },
    body: envelope(user, body),
  });
  const text = await response.text();
  if (response.status !== 200 || !text.includes('ResponseClass="Success"'))
    throw new Error(`CreateItem for ${user} answered ${response.status}: ${text.slice(0, 400)}`);
}

// Warm-up, not timed: connections opened, both sides' code compiled (the connector meets a warmed emulator too).
await Promise.all(request.users.map((user) => create(user, request.perUser)));
const started = performance.now();
await Promise.all(
  request.users.map(async (user) => {
    for (let n = 0; n < request.perUser; n++) await create(user, n);
  }),
);
const seconds = (performance.now() - started) / 1000;
process.stdout.write(`${JSON.stringify({ created: request.users.length * request.perUser, seconds })}\n`);
