/**
 * The script someone would write in an afternoon instead of exh, the catch-up's second yardstick (issue 15): one
 * mailbox after another, one folder after another, read page by page, then one upsert per item — in a process of
 * its own (bench/scenarios/catch-up.ts starts it):
 *
 *   node --import tsx bench/support/naive.ts '<NaiveRequest as JSON>'
 *
 * - EWS, with ews-javascript-api (what a search for "EWS Node.js" finds): SyncFolderItems (IdOnly, 512 a page), then
 *   LoadPropertiesForItems (one GetItem of the page's items, first-class properties: bodies included).
 * - Graph, with fetch: a client-credentials token, then /events, /mailFolders/{inbox,sentitems}/messages, /contacts
 *   and each To Do list's /tasks, $top=100, following @odata.nextLink.
 * - The upsert: INSERT ... ON CONFLICT into a table of its own (id, user, class, subject, body, modified, the item as
 *   JSON), one statement per item on one connection, autocommit.
 *
 * Prints one JSON line on stdout: { items, seconds }.
 */
import {
  type ChangeCollection,
  ConnectingIdType,
  ExchangeService,
  ExchangeVersion,
  FolderId,
  ImpersonatedUserId,
  type Item,
  type ItemChange,
  type ItemId,
  PropertySet,
  SyncFolderItemsScope,
  Uri,
  WebCredentials,
  WellKnownFolderName,
} from 'ews-javascript-api';
import pg from 'pg';

export interface NaiveRequest {
  backend: 'ews' | 'graph';
  users: string[];
  types: string[];
  /** The emulator's addresses and accounts (bench/support/emulator.ts). */
  emulator: {
    url: string;
    graphUrl: string;
    serviceAccount: string;
    password: string;
    graphApp: { tenant: string; clientId: string; clientSecret: string } | null;
  };
  /** postgres://… of a schema of its own. */
  database: string;
  /**
   * Stop after the page during which this many seconds have passed: its rate, one mailbox after another, does not
   * depend on how many mailboxes are left, and at ~100 items/s a whole 100,000 would take a quarter of an hour.
   */
  budgetSeconds?: number;
}

const request: NaiveRequest = JSON.parse(process.argv[2] ?? '{}');
let started = performance.now();
const overBudget = () =>
  request.budgetSeconds !== undefined && (performance.now() - started) / 1000 > request.budgetSeconds;
const client = new pg.Client({ connectionString: request.database });
await client.connect();
await client.query(`create table naive_item (
  item_id text primary key, exh_user text not null, item_class text, subject text, body text, modified text, data jsonb)`);

let items = 0;
async function upsert(
  user: string,
  row: { id: string; itemClass: string; subject: string; body: string; modified: string; data: unknown },
) {
  await client.query(
    `insert into naive_item (item_id, exh_user, item_class, subject, body, modified, data) values ($1, $2, $3, $4, $5, $6, $7)
     on conflict (item_id) do update set item_class = excluded.item_class, subject = excluded.subject,
       body = excluded.body, modified = excluded.modified, data = excluded.data`,
    [row.id, user, row.itemClass, row.subject, row.body, row.modified, JSON.stringify(row.data)],
  );
  items += 1;
}

const ewsFolders: Record<string, WellKnownFolderName[]> = {
  calendar: [WellKnownFolderName.Calendar],
  email: [WellKnownFolderName.Inbox, WellKnownFolderName.SentItems],
  contact: [WellKnownFolderName.Contacts],
  task: [WellKnownFolderName.Tasks],
};

async function ewsMailbox(user: string): Promise<void> {
  const service = new ExchangeService(ExchangeVersion.Exchange2013_SP1);
  service.Credentials = new WebCredentials(request.emulator.serviceAccount, request.emulator.password);
  service.Url = new Uri(request.emulator.url);
  service.ImpersonatedUserId = new ImpersonatedUserId(ConnectingIdType.SmtpAddress, user);
  for (const type of request.types) {
    for (const folder of ewsFolders[type] ?? []) {
      if (overBudget()) return;
      let state: string | null = null;
      for (;;) {
        const changes: ChangeCollection<ItemChange> = await service.SyncFolderItems(
          new FolderId(folder),
          PropertySet.IdOnly,
          null as unknown as ItemId[],
          512,
          SyncFolderItemsScope.NormalItems,
          state as string,
        );
        const page: Item[] = [];
        for (let i = 0; i < changes.Count; i++) {
          const item = changes._getItem(i).Item;
          if (item) page.push(item);
        }
        if (page.length > 0) await service.LoadPropertiesForItems(page, PropertySet.FirstClassProperties);
        for (const item of page) {
          await upsert(user, {
            id: item.Id.UniqueId,
            itemClass: item.ItemClass,
            subject: item.Subject,
            body: item.Body?.Text ?? '',
            modified: item.LastModifiedTime?.ToISOString?.() ?? '',
            data: { categories: item.Categories?.GetEnumerator?.() ?? [], importance: item.Importance },
          });
        }
        state = changes.SyncState;
        if (!changes.MoreChangesAvailable || overBudget()) break;
      }
    }
  }
}

async function graphToken(): Promise<string> {
  const app = request.emulator.graphApp;
  if (!app) throw new Error('The emulator serves no Graph.');
  const origin = new URL(request.emulator.graphUrl).origin;
  const response = await fetch(`${origin}/graph-login/${app.tenant}/oauth2/v2.0/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({
      grant_type: 'client_credentials',
      client_id: app.clientId,
      client_secret: app.clientSecret,
      scope: 'https://graph.microsoft.com/.default',
    }),
  });
  if (!response.ok) throw new Error(`token: ${response.status} ${await response.text()}`);
  return ((await response.json()) as { access_token: string }).access_token;
}

async function graphMailbox(user: string, token: string): Promise<void> {
  const base = `${request.emulator.graphUrl}/users/${encodeURIComponent(user)}`;
  const get = async (url: string) => {
    const response = await fetch(url, { headers: { authorization: `Bearer ${token}` } });
    if (!response.ok) throw new Error(`GET ${url}: ${response.status} ${await response.text()}`);
    return (await response.json()) as { value: Record<string, unknown>[]; '@odata.nextLink'?: string };
  };
  const lists: Record<string, () => Promise<string[]>> = {
    calendar: async () => [`${base}/events?$top=100`],
    email: async () => [
      `${base}/mailFolders/inbox/messages?$top=100`,
      `${base}/mailFolders/sentitems/messages?$top=100`,
    ],
    contact: async () => [`${base}/contacts?$top=100`],
    task: async () => (await get(`${base}/todo/lists`)).value.map((l) => `${base}/todo/lists/${l.id}/tasks?$top=100`),
  };
  for (const type of request.types) {
    for (let url of (await lists[type]?.()) ?? []) {
      if (overBudget()) return;
      for (;;) {
        const page = await get(url);
        for (const item of page.value) {
          const body = item.body as { content?: string } | undefined;
          await upsert(user, {
            id: String(item.id),
            itemClass: type,
            subject: String(item.subject ?? item.title ?? item.displayName ?? ''),
            body: body?.content ?? '',
            modified: String(item.lastModifiedDateTime ?? ''),
            data: item,
          });
        }
        const next = page['@odata.nextLink'];
        if (!next || overBudget()) break;
        url = next;
      }
    }
  }
}

started = performance.now();
// The token is part of the script's work: the clock started before it, as for exh (which fetches one too).
const token = request.backend === 'graph' ? await graphToken() : '';
for (const user of request.users) {
  if (overBudget()) break;
  if (request.backend === 'graph') await graphMailbox(user, token);
  else await ewsMailbox(user);
}
const seconds = (performance.now() - started) / 1000;
await client.end();
process.stdout.write(`${JSON.stringify({ items, seconds })}\n`);
process.exit(0);
