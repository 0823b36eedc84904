/**
 * Scale benchmark of the Exchange emulator (issue 4, "Scale"): memory for N mailboxes of M items each, paging a
 * 10,000-item folder with SyncFolderItems (raw SOAP and through ews-javascript-api), and requests per second.
 *
 *   node --expose-gc --max-old-space-size=16384 --import tsx bench/emulator.ts [mailboxes] [itemsPerMailbox] [realistic]
 *
 * Defaults: 10000 mailboxes × 1000 items, seeded bare (a numbered Subject, and Start/End/UID for appointments), then
 * `realistic` (default 100) more mailboxes × 1000 items with what real items carry: HTML bodies, attendees and
 * recipients, contact details, an extended property. Prints a Markdown table for BENCHMARKS.md.
 */
import {
  type ChangeCollection,
  FolderId,
  type ItemChange,
  type ItemId,
  PropertySet,
  SyncFolderItemsScope,
  WellKnownFolderName,
} from 'ews-javascript-api';
import { type ItemInput, startEmulator } from '../emulator/index.js';
import { basic, envelopeOf, ewsService } from '../test/emulator/support/harness.js';

const mailboxCount = Number(process.argv[2] ?? 10_000);
const itemsPerMailbox = Number(process.argv[3] ?? 1_000);
const realisticMailboxes = Number(process.argv[4] ?? 100);
const rows: [string, string][] = [];
const mib = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(0)} MiB`;

function gc(): void {
  const collect = (globalThis as { gc?: () => void }).gc;
  if (!collect) throw new Error('Run with node --expose-gc');
  collect();
  collect();
}

gc();
const baseline = process.memoryUsage();
const emulator = await startEmulator({ port: 0, mailboxes: ['bench@contoso.test'] });
const loadStarted = performance.now();
for (let m = 0; m < mailboxCount; m++) {
  const address = `user${m}@contoso.test`;
  emulator.admin.addMailbox(address);
  // A realistic mix: 40% appointments, 30% mail, 20% contacts, 10% tasks.
  emulator.admin.seed(address, 'CalendarItem', Math.round(itemsPerMailbox * 0.4));
  emulator.admin.seed(address, 'Message', Math.round(itemsPerMailbox * 0.3));
  emulator.admin.seed(address, 'Contact', Math.round(itemsPerMailbox * 0.2));
  emulator.admin.seed(address, 'Task', Math.round(itemsPerMailbox * 0.1));
}
const loadSeconds = (performance.now() - loadStarted) / 1000;
gc();
const loaded = process.memoryUsage();
const totalItems = mailboxCount * itemsPerMailbox;
const heap = loaded.heapUsed - baseline.heapUsed;
rows.push([
  `Load ${mailboxCount.toLocaleString('en')} mailboxes × ${itemsPerMailbox.toLocaleString('en')} items`,
  `${loadSeconds.toFixed(1)} s`,
]);
rows.push([
  'Heap used by them (after GC), bare seeded items',
  `${mib(heap)} (${Math.round(heap / totalItems)} bytes per item)`,
]);
rows.push(['Process RSS', mib(loaded.rss)]);

// Items as users make them: bodies, attendees and recipients, contact details, the connector's extended property.
const paragraph =
  '<p>Agenda: review of the sprint, the open incidents and the release plan for next month. Please bring your notes and the figures from the last report, so that we can decide on the priorities.</p>';
const appItemId = {
  PropertySetId: 'c11ff724-aa03-4555-9952-8fa248a11c3e',
  PropertyName: 'exh_app_item_id',
  Value: 'APP-000123',
};
const templates: Record<'CalendarItem' | 'Message' | 'Contact' | 'Task', Omit<ItemInput, 'kind'>> = {
  CalendarItem: {
    Subject: 'Sprint review',
    Body: { BodyType: 'HTML', value: `<html><body>${paragraph.repeat(3)}</body></html>` },
    Location: 'Room 4.12, second floor',
    StartTimeZone: 'W. Europe Standard Time',
    RequiredAttendees: ['ann.smith@fabrikam.test', 'bo.jansen@fabrikam.test', 'carla.de.vries@fabrikam.test'],
    OptionalAttendees: ['dirk.bakker@fabrikam.test'],
    Categories: ['Blue category'],
    ExtendedProperties: [appItemId],
  },
  Message: {
    Subject: 'Re: figures for the quarterly report',
    Body: { BodyType: 'HTML', value: `<html><body>${paragraph.repeat(8)}</body></html>` },
    ToRecipients: ['ann.smith@fabrikam.test', 'bo.jansen@fabrikam.test'],
    CcRecipients: ['carla.de.vries@fabrikam.test'],
    From: 'erik.visser@fabrikam.test',
    IsRead: 'true',
  },
  Contact: {
    GivenName: 'Annemarie',
    Surname: 'van den Berg',
    CompanyName: 'Fabrikam Consulting',
    JobTitle: 'Project manager',
    EmailAddresses: { EmailAddress1: 'annemarie.vandenberg@fabrikam.test' },
    PhoneNumbers: { BusinessPhone: '+31 20 555 0123', MobilePhone: '+31 6 5555 0123' },
    PhysicalAddresses: {
      Business: {
        Street: 'Keizersgracht 123',
        City: 'Amsterdam',
        PostalCode: '1015 CJ',
        CountryOrRegion: 'Netherlands',
      },
    },
    ExtendedProperties: [appItemId],
  },
  Task: {
    Subject: 'Prepare the release notes',
    Body: `Collect the changes since the last release and write them up for the customers. ${'Check each item. '.repeat(10)}`,
    DueDate: '2024-06-01T00:00:00Z',
    Status: 'InProgress',
    ExtendedProperties: [appItemId],
  },
};
if (realisticMailboxes > 0) {
  gc();
  const before = process.memoryUsage().heapUsed;
  for (let m = 0; m < realisticMailboxes; m++) {
    const address = `real${m}@contoso.test`;
    emulator.admin.addMailbox(address);
    const share = (part: number) => Math.round(itemsPerMailbox * part);
    emulator.admin.seed(address, 'CalendarItem', share(0.4), undefined, templates.CalendarItem);
    emulator.admin.seed(address, 'Message', share(0.3), undefined, templates.Message);
    emulator.admin.seed(address, 'Contact', share(0.2), undefined, templates.Contact);
    emulator.admin.seed(address, 'Task', share(0.1), undefined, templates.Task);
  }
  gc();
  const realistic = process.memoryUsage().heapUsed - before;
  const count = realisticMailboxes * itemsPerMailbox;
  rows.push([
    `Heap used by ${count.toLocaleString('en')} realistic items (bodies, attendees, recipients, contact details)`,
    `${mib(realistic)} (${Math.round(realistic / count)} bytes per item)`,
  ]);
}

// A 10,000-item folder, paged with MaxChangesReturned 512.
const big = 'big@contoso.test';
emulator.admin.addMailbox(big);
emulator.admin.seed(big, 'CalendarItem', 10_000);
const auth = basic(emulator.serviceAccount, emulator.password);
const header = (user: string) =>
  `<t:RequestServerVersion Version="Exchange2013_SP1"/><t:ExchangeImpersonation><t:ConnectingSID><t:SmtpAddress>${user}</t:SmtpAddress></t:ConnectingSID></t:ExchangeImpersonation>`;
async function post(user: string, body: string): Promise<string> {
  const response = await fetch(emulator.url, {
    method: 'POST',
    headers: { 'content-type': 'text/xml; charset=utf-8', authorization: auth, 'x-anchormailbox': user },
    body: envelopeOf(header(user), body),
  });
  const text = await response.text();
  if (response.status !== 200 || !text.includes('NoError'))
    throw new Error(`${response.status}: ${text.slice(0, 300)}`);
  return text;
}
const syncBody = (state: string, shape: string) =>
  `<m:SyncFolderItems><m:ItemShape><t:BaseShape>${shape}</t:BaseShape></m:ItemShape><m:SyncFolderId><t:DistinguishedFolderId Id="calendar"/></m:SyncFolderId>${state ? `<m:SyncState>${state}</m:SyncState>` : ''}<m:MaxChangesReturned>512</m:MaxChangesReturned></m:SyncFolderItems>`;

for (const shape of ['IdOnly', 'AllProperties']) {
  let state = '';
  let pages = 0;
  let bytes = 0;
  const started = performance.now();
  for (;;) {
    const text = await post(big, syncBody(state, shape));
    pages++;
    bytes += text.length;
    state = /<m:SyncState>([^<]*)<\/m:SyncState>/.exec(text)?.[1] ?? '';
    if (text.includes('<m:IncludesLastItemInRange>true')) break;
  }
  const ms = performance.now() - started;
  rows.push([
    `SyncFolderItems, 10,000-item folder, ${shape}, raw SOAP`,
    `${pages} pages in ${ms.toFixed(0)} ms (${(ms / pages).toFixed(0)} ms/page, ${(bytes / pages / 1024).toFixed(0)} KiB per page on average)`,
  ]);
}

{
  const service = ewsService(emulator, big);
  let state: string | null = null;
  let pages = 0;
  let count = 0;
  const started = performance.now();
  for (;;) {
    const changes: ChangeCollection<ItemChange> = await service.SyncFolderItems(
      new FolderId(WellKnownFolderName.Calendar),
      PropertySet.FirstClassProperties,
      null as unknown as ItemId[],
      512,
      SyncFolderItemsScope.NormalItems,
      state as string,
    );
    pages++;
    count += changes.Count;
    state = changes.SyncState;
    if (!changes.MoreChangesAvailable) break;
  }
  const ms = performance.now() - started;
  rows.push([
    'SyncFolderItems, 10,000-item folder, FirstClassProperties, ews-javascript-api',
    `${count} items, ${pages} pages in ${ms.toFixed(0)} ms (${(ms / pages).toFixed(0)} ms/page)`,
  ]);
}

/** Requests per second with `concurrency` clients for `seconds`. */
async function throughput(
  label: string,
  body: (i: number) => [string, string],
  concurrency = 16,
  seconds = 5,
): Promise<void> {
  let done = 0;
  const until = performance.now() + seconds * 1000;
  await Promise.all(
    Array.from({ length: concurrency }, async (_, worker) => {
      let i = worker;
      while (performance.now() < until) {
        const [user, xml] = body(i);
        await post(user, xml);
        done++;
        i += concurrency;
      }
    }),
  );
  rows.push([`${label}, ${concurrency} concurrent clients`, `${Math.round(done / seconds)} requests/s`]);
}

const users = (i: number) => `user${i % mailboxCount}@contoso.test`;
await throughput('GetFolder (calendar) across mailboxes', (i) => [
  users(i),
  '<m:GetFolder><m:FolderShape><t:BaseShape>Default</t:BaseShape></m:FolderShape><m:FolderIds><t:DistinguishedFolderId Id="calendar"/></m:FolderIds></m:GetFolder>',
]);
const itemIds = Array.from(
  { length: 64 },
  (_, i) => [users(i), emulator.admin.items(users(i), 'calendar')[0]?.id ?? ''] as const,
);
await throughput('GetItem (AllProperties) across mailboxes', (i) => {
  const [user, id] = itemIds[i % itemIds.length] ?? ['', ''];
  return [
    user,
    `<m:GetItem><m:ItemShape><t:BaseShape>AllProperties</t:BaseShape></m:ItemShape><m:ItemIds><t:ItemId Id="${id}"/></m:ItemIds></m:GetItem>`,
  ];
});
await throughput(
  'SyncFolderItems first page (IdOnly, 400-item calendars)',
  (i) => [users(i), syncBody('', 'IdOnly')],
  8,
);

await emulator.close();

console.log(
  `\nEmulator benchmark (${new Date().toISOString().slice(0, 10)}, Node ${process.version}, ${process.platform} ${process.arch})\n`,
);
console.log('| measure | result |');
console.log('|---|---|');
for (const [measure, result] of rows) console.log(`| ${measure} | ${result} |`);
