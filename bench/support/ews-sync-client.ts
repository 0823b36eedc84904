/**
 * The limit of EWS live latency: the emulator served alone to a plain SOAP client that, right after each change is
 * made, reads that folder with SyncFolderItems (AllProperties) from its last sync state — at most `concurrency`
 * requests in flight, the connector's exchange.concurrency — so that the latency is the emulator's answer and nothing
 * else. Run in a process of its own by bench/scenarios/live.ts, on mailboxes of its own:
 *
 *   node --import tsx bench/support/ews-sync-client.ts '<EwsSyncRequest as JSON>'
 *
 * The changes are made as in the connector's run (./live-changes.ts); each change's latency runs from when it was
 * asked to the first answer that carries its marker. Prints one JSON line: { latencies (ms, sorted), made, missing }.
 */
import { markerPattern } from './arrivals.js';
import { ChangeMaker, type LiveType } from './live-changes.js';

export interface EwsSyncRequest {
  url: string;
  adminUrl: string;
  serviceAccount: string;
  password: string;
  mailboxes: string[];
  types: LiveType[];
  rate: number;
  seconds: number;
  concurrency: number;
}

const request = JSON.parse(process.argv[2] ?? '{}') as EwsSyncRequest;
const authorization = `Basic ${Buffer.from(`${request.serviceAccount}:${request.password}`).toString('base64')}`;
const folderOf: Record<LiveType, string> = { calendar: 'calendar', contact: 'contacts', email: 'inbox', task: 'tasks' };

let running = 0;
const waiting: (() => void)[] = [];
async function withSlot<T>(work: () => Promise<T>): Promise<T> {
  while (running >= request.concurrency) await new Promise<void>((resolve) => waiting.push(resolve));
  running++;
  try {
    return await work();
  } finally {
    running--;
    waiting.shift()?.();
  }
}

async function syncFolderItems(user: string, type: LiveType, state: string): Promise<string> {
  const body =
    '<m:SyncFolderItems><m:ItemShape><t:BaseShape>AllProperties</t:BaseShape></m:ItemShape>' +
    `<m:SyncFolderId><t:DistinguishedFolderId Id="${folderOf[type]}"/></m:SyncFolderId>` +
    `${state ? `<m:SyncState>${state}</m:SyncState>` : ''}<m:MaxChangesReturned>512</m:MaxChangesReturned>` +
    '</m:SyncFolderItems>';
  const envelope =
    '<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/" ' +
    'xmlns:m="http://schemas.microsoft.com/exchange/services/2006/messages" ' +
    'xmlns:t="http://schemas.microsoft.com/exchange/services/2006/types"><soap:Header>' +
    '<t:RequestServerVersion Version="Exchange2013_SP1"/><t:ExchangeImpersonation><t:ConnectingSID>' +
    `<t:SmtpAddress>${user}</t:SmtpAddress></t:ConnectingSID></t:ExchangeImpersonation></soap:Header>` +
    `<soap:Body>${body}</soap:Body></soap:Envelope>`;
  const response = await fetch(request.url, {
    method: 'POST',
    headers: { 'content-type': 'text/xml; charset=utf-8', authorization, 'x-anchormailbox': user },
    body: envelope,
  });
  const text = await response.text();
  if (response.status !== 200 || !text.includes('NoError'))
    throw new Error(`SyncFolderItems for ${user}: ${response.status} ${text.slice(0, 300)}`);
  return text;
}

/** One round from `state` to the last item in range; each answer's text goes to `onPage`. */
async function syncRound(user: string, type: LiveType, state: string, onPage: (text: string) => void) {
  let current = state;
  for (;;) {
    const text = await syncFolderItems(user, type, current);
    onPage(text);
    current = /<m:SyncState>([^<]*)<\/m:SyncState>/.exec(text)?.[1] ?? current;
    if (text.includes('<m:IncludesLastItemInRange>true')) return current;
  }
}

const maker = new ChangeMaker(
  { adminUrl: request.adminUrl, serviceAccount: request.serviceAccount, password: request.password },
  request.types,
);
const states = new Map<string, string>();
await Promise.all(
  request.mailboxes.flatMap((user) =>
    request.types.map((type) =>
      withSlot(async () => {
        const ids: string[] = [];
        const state = await syncRound(user, type, '', (text) => {
          for (const match of text.matchAll(/<t:ItemId Id="([^"]+)"/g)) if (match[1]) ids.push(match[1]);
        });
        states.set(`${user} ${type}`, state);
        maker.addItems(user, type, ids);
      }),
    ),
  ),
);

const arrived = new Map<number, number>();
function seen(text: string): void {
  const now = Date.now();
  for (const match of text.matchAll(markerPattern)) {
    const seq = Number(match[1]);
    if (!arrived.has(seq)) arrived.set(seq, now - Number(match[2]));
  }
}

const reads: Promise<void>[] = [];
const readAfter = (user: string, type: LiveType) =>
  withSlot(async () => {
    const key = `${user} ${type}`;
    states.set(key, await syncRound(user, type, states.get(key) ?? '', seen));
  });

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
