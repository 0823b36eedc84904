/**
 * The limit of Graph's live latency: the Graph emulator served alone to a plain client that, right after each change
 * is made, reads that folder with its delta link — at most 4 requests in flight per mailbox, Graph's limit
 * (docs/exchange-online.md) — so that the latency is the emulator's answer and nothing else. Run in a process of its
 * own by bench/scenarios/live.ts, on mailboxes of its own:
 *
 *   node --import tsx bench/support/graph-delta-client.ts '<GraphDeltaRequest as JSON>'
 *
 * The changes are made as in the connector's run (./live-changes.ts, the same rate, types and spread); each change's
 * latency runs from when it was asked to the first delta answer that carries its marker. Prints one JSON line:
 * { latencies (ms, sorted), made, missing }.
 */
import { markerPattern } from './arrivals.js';
import { ChangeMaker, type LiveType } from './live-changes.js';

export interface GraphDeltaRequest {
  graphUrl: string;
  tenant: string;
  clientId: string;
  clientSecret: string;
  adminUrl: string;
  serviceAccount: string;
  password: string;
  mailboxes: string[];
  types: LiveType[];
  rate: number;
  seconds: number;
}

const perMailbox = 4;
const request = JSON.parse(process.argv[2] ?? '{}') as GraphDeltaRequest;
const origin = new URL(request.graphUrl).origin;

async function token(): Promise<string> {
  const response = await fetch(`${origin}/graph-login/${request.tenant}/oauth2/v2.0/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({
      grant_type: 'client_credentials',
      client_id: request.clientId,
      client_secret: request.clientSecret,
      scope: 'https://graph.microsoft.com/.default',
    }),
  });
  const body = (await response.json()) as { access_token?: string };
  if (!body.access_token) throw new Error(`No token from the emulator: ${JSON.stringify(body)}`);
  return body.access_token;
}

const headers = { authorization: `Bearer ${await token()}`, prefer: 'IdType="ImmutableId"' };

function initialLink(user: string, type: LiveType): string {
  const base = `${request.graphUrl}/users/${encodeURIComponent(user)}`;
  const day = 86_400_000;
  if (type === 'calendar') {
    const from = new Date(Date.now() - 60 * day).toISOString();
    const to = new Date(Date.now() + 60 * day).toISOString();
    return `${base}/calendarView/delta?startDateTime=${from}&endDateTime=${to}`;
  }
  if (type === 'email') return `${base}/mailFolders/inbox/messages/delta`;
  if (type === 'contact') return `${base}/contactFolders/contacts/contacts/delta`;
  throw new Error(`No delta for ${type} here: tasks are polled by the connector, not notified.`);
}

/** One delta round from `link` to its deltaLink; the text of each page goes to `onPage`. */
async function deltaRound(link: string, onPage: (text: string, ids: string[]) => void): Promise<string> {
  let next = link;
  for (;;) {
    const response = await fetch(next, { headers });
    const text = await response.text();
    if (response.status !== 200) throw new Error(`GET ${next}: ${response.status} ${text.slice(0, 300)}`);
    const page = JSON.parse(text) as {
      value: { id: string }[];
      '@odata.nextLink'?: string;
      '@odata.deltaLink'?: string;
    };
    onPage(
      text,
      page.value.map((v) => v.id),
    );
    if (page['@odata.deltaLink']) return page['@odata.deltaLink'];
    if (!page['@odata.nextLink']) throw new Error(`A delta page without a next or delta link: ${next}`);
    next = page['@odata.nextLink'];
  }
}

const maker = new ChangeMaker(
  { adminUrl: request.adminUrl, serviceAccount: request.serviceAccount, password: request.password },
  request.types,
);
const links = new Map<string, string>();
for (const user of request.mailboxes) {
  for (const type of request.types) {
    const ids: string[] = [];
    links.set(`${user} ${type}`, await deltaRound(initialLink(user, type), (_text, page) => ids.push(...page)));
    maker.addItems(user, type, ids);
  }
}

/** A slot of the mailbox's 4 concurrent requests. */
const busy = new Map<string, number>();
const waiting = new Map<string, (() => void)[]>();
async function slot(user: string): Promise<() => void> {
  while ((busy.get(user) ?? 0) >= perMailbox)
    await new Promise<void>((resolve) => waiting.set(user, [...(waiting.get(user) ?? []), resolve]));
  busy.set(user, (busy.get(user) ?? 0) + 1);
  return () => {
    busy.set(user, (busy.get(user) ?? 1) - 1);
    waiting.get(user)?.shift()?.();
  };
}

const arrived = new Map<number, number>();
function seen(text: string): void {
  const now = Date.now();
  for (const match of text.matchAll(markerPattern)) {
    const seq = Number(match[1]);
    if (!arrived.has(seq)) arrived.set(seq, now - Number(match[2]));
  }
}

const reads: Promise<void>[] = [];
async function readAfter(user: string, type: LiveType): Promise<void> {
  const release = await slot(user);
  try {
    const key = `${user} ${type}`;
    links.set(key, await deltaRound(links.get(key) as string, seen));
  } finally {
    release();
  }
}

const run = await maker.run({
  rate: request.rate,
  seconds: request.seconds,
  mailboxes: request.mailboxes,
  onMade: (change) => reads.push(readAfter(change.user, change.type)),
});
await Promise.all(reads);
const latencies = run.changes.map((c) => arrived.get(c.seq) ?? Number.POSITIVE_INFINITY).sort((a, b) => a - b);
const missing = latencies.filter((l) => !Number.isFinite(l)).length;
process.stdout.write(
  `${JSON.stringify({ latencies: latencies.filter(Number.isFinite), made: run.changes.length - run.failed, missing })}\n`,
);
