import { describe, expect, it } from 'vitest';
import { immutable, startGraph } from './support.js';

/** Delta rounds: paging with odata.maxpagesize, sealed tokens, @removed, replays, calendarView delta in a window. */

const graph = await startGraph();
const alice = '/users/alice@contoso.test';
type Page = { value: Record<string, unknown>[]; '@odata.nextLink'?: string; '@odata.deltaLink'?: string };

/** Follows nextLinks to the end of a round; returns every entry and the deltaLink. */
async function round(
  url: string,
  headers: Record<string, string> = {},
): Promise<{ entries: Record<string, unknown>[]; deltaLink: string; pages: number }> {
  const entries: Record<string, unknown>[] = [];
  let next: string | undefined = url;
  let pages = 0;
  while (next) {
    const page: { status: number; body: Page } = await graph.get<Page>(next, headers);
    expect(page.status).toBe(200);
    pages++;
    entries.push(...page.body.value);
    if (page.body['@odata.deltaLink']) return { entries, deltaLink: page.body['@odata.deltaLink'], pages };
    next = page.body['@odata.nextLink'];
  }
  throw new Error('a round without a deltaLink');
}

function seed(kind: 'Message' | 'Contact' | 'Task', subject: string) {
  const props = kind === 'Contact' ? { DisplayName: subject, GivenName: subject } : { Subject: subject };
  return graph.emulator.admin.createItem('alice@contoso.test', {
    kind,
    ...(kind === 'Message' ? { folder: 'inbox' } : {}),
    ...props,
  });
}

describe('messages/delta', () => {
  it('pages a round by odata.maxpagesize and then reports changes, moves and deletions once', async () => {
    for (let i = 1; i <= 5; i++) seed('Message', `Inbox ${i}`);
    const base = `${graph.emulator.graphUrl}${alice}/mailFolders/inbox/messages/delta?$select=subject,isRead`;
    const headers = { prefer: 'odata.maxpagesize=2, IdType="ImmutableId"' };
    const first = await round(base, headers);
    expect(first.pages).toBe(3);
    expect(first.entries.map((e) => e.subject)).toEqual(['Inbox 1', 'Inbox 2', 'Inbox 3', 'Inbox 4', 'Inbox 5']);
    expect(first.entries[0]?.body).toBeUndefined();
    const nothing = await round(first.deltaLink, headers);
    expect(nothing.entries).toEqual([]);

    const [one, two, three, four] = first.entries;
    await graph.call('PATCH', `${alice}/messages/${one?.id}`, { body: { isRead: true } });
    await graph.call('DELETE', `${alice}/messages/${two?.id}`);
    graph.emulator.admin.deleteItem(
      'alice@contoso.test',
      graph.emulator.admin.items('alice@contoso.test', 'inbox').find((i) => i.properties.Subject === 'Inbox 3')?.id ??
        '',
      { hard: true },
    );
    const moved = await graph.call('POST', `${alice}/messages/${four?.id}/move`, {
      body: { destinationId: 'junkemail' },
      headers,
    });
    expect(moved.status).toBe(201);
    expect(moved.body.id).toBe(four?.id);
    seed('Message', 'Inbox 6');
    const changes = await round(first.deltaLink, headers);
    expect(changes.entries).toEqual([
      expect.objectContaining({ id: one?.id, isRead: true }),
      { '@odata.type': '#microsoft.graph.message', id: two?.id, '@removed': { reason: 'deleted' } },
      { '@odata.type': '#microsoft.graph.message', id: three?.id, '@removed': { reason: 'deleted' } },
      { '@odata.type': '#microsoft.graph.message', id: four?.id, '@removed': { reason: 'changed' } },
      expect.objectContaining({ subject: 'Inbox 6' }),
    ]);
    const junk = await graph.call<Page>('GET', `${alice}/mailFolders/junkemail/messages/delta`, { headers });
    expect(junk.body.value.map((m) => m.id)).toEqual([four?.id]);
    // The same link again gives the same changes: replays are harmless.
    const again = await round(first.deltaLink, headers);
    expect(again.entries).toEqual(changes.entries);
  });

  it('refuses a forged token with 410 and a fresh initial link, and a reset mailbox likewise', async () => {
    const start = `${graph.emulator.graphUrl}${alice}/mailFolders/sentitems/messages/delta`;
    const { deltaLink } = await round(start);
    const forged = await graph.get(`${start}?$deltatoken=AAAA${'x'.repeat(20)}`);
    expect(forged.status).toBe(410);
    expect(forged.body).toMatchObject({ error: { code: 'SyncStateNotFound' } });
    expect(forged.headers.get('location')).toBe(start);
    graph.emulator.admin.reset('alice@contoso.test');
    expect((await graph.get(deltaLink)).status).toBe(410);
  });
});

describe('contacts/delta and todo tasks/delta', () => {
  it('reports contacts created and changed in the default folder, by either path', async () => {
    seed('Contact', 'Ann');
    const first = await round(`${graph.emulator.graphUrl}${alice}/contacts/delta`);
    expect(first.entries.map((c) => c.displayName)).toEqual(['Ann']);
    const folder = await graph.call('GET', `${alice}/contactFolders/contacts`);
    const same = await round(`${graph.emulator.graphUrl}${alice}/contactFolders/${folder.body.id}/contacts/delta`);
    expect(same.entries.map((c) => c.displayName)).toEqual(['Ann']);
    await graph.call('PATCH', `${alice}/contacts/${first.entries[0]?.id}`, { body: { jobTitle: 'Pilot' } });
    const changes = await round(first.deltaLink);
    expect(changes.entries).toEqual([expect.objectContaining({ displayName: 'Ann', jobTitle: 'Pilot' })]);
  });

  it('reports tasks of the default list', async () => {
    seed('Task', 'Water plants');
    const lists = await graph.call<Page>('GET', `${alice}/todo/lists?$filter=wellknownListName eq 'defaultList'`);
    const list = lists.body.value[0]?.id as string;
    const first = await round(`${graph.emulator.graphUrl}${alice}/todo/lists/${list}/tasks/delta`, immutable);
    expect(first.entries.map((t) => t.title)).toEqual(['Water plants']);
    await graph.call('DELETE', `${alice}/todo/lists/${list}/tasks/${first.entries[0]?.id}`);
    const changes = await round(first.deltaLink, immutable);
    expect(changes.entries).toEqual([
      expect.objectContaining({ id: first.entries[0]?.id, '@removed': { reason: 'deleted' } }),
    ]);
    expect((await graph.call('GET', `${alice}/todo/lists/${list}/tasks/${first.entries[0]?.id}`)).status).toBe(404);
  });
});

describe('calendarView/delta', () => {
  const window = 'startDateTime=2032-01-01T00:00:00Z&endDateTime=2032-02-01T00:00:00Z';

  it('expands series within the window, reports an event that left it as changed and a deleted occurrence as deleted', async () => {
    const single = await graph.call('POST', `${alice}/events`, {
      body: {
        subject: 'Single',
        start: { dateTime: '2032-01-10T10:00:00', timeZone: 'UTC' },
        end: { dateTime: '2032-01-10T11:00:00', timeZone: 'UTC' },
      },
    });
    await graph.call('POST', `${alice}/events`, {
      body: {
        subject: 'Outside',
        start: { dateTime: '2033-01-10T10:00:00', timeZone: 'UTC' },
        end: { dateTime: '2033-01-10T11:00:00', timeZone: 'UTC' },
      },
    });
    const series = await graph.call('POST', `${alice}/events`, {
      body: {
        subject: 'Weekly',
        start: { dateTime: '2032-01-05T09:00:00', timeZone: 'UTC' },
        end: { dateTime: '2032-01-05T09:30:00', timeZone: 'UTC' },
        recurrence: {
          pattern: { type: 'weekly', interval: 1, daysOfWeek: ['monday'] },
          range: { type: 'noEnd', startDate: '2032-01-05' },
        },
      },
    });
    const start = `${graph.emulator.graphUrl}${alice}/calendarView/delta?${window}`;
    const first = await round(start, { prefer: 'odata.maxpagesize=3' });
    expect(first.entries.map((e) => `${e.subject} ${e.type}`).sort()).toEqual([
      'Single singleInstance',
      ...Array(4).fill('Weekly occurrence'),
    ]);
    const weekly = first.entries.filter((e) => e.seriesMasterId === series.body.id);
    await graph.call('DELETE', `${alice}/events/${weekly[1]?.id}`);
    await graph.call('PATCH', `${alice}/events/${single.body.id}`, {
      body: {
        start: { dateTime: '2032-06-10T10:00:00', timeZone: 'UTC' },
        end: { dateTime: '2032-06-10T11:00:00', timeZone: 'UTC' },
      },
    });
    const changes = await round(first.deltaLink);
    expect(changes.entries).toContainEqual({
      '@odata.type': '#microsoft.graph.event',
      id: single.body.id,
      '@removed': { reason: 'changed' },
    });
    expect(changes.entries).toContainEqual({
      '@odata.type': '#microsoft.graph.event',
      id: weekly[1]?.id,
      '@removed': { reason: 'deleted' },
    });
    expect(changes.entries.filter((e) => e.type === 'occurrence')).toHaveLength(3);

    expect((await graph.call('DELETE', `${alice}/events/${series.body.id}`)).status).toBe(204);
    expect((await graph.call('GET', `${alice}/events/${series.body.id}`)).status).toBe(404);
    const gone = await round(changes.deltaLink);
    const removed = gone.entries.filter((e) => e['@removed']).map((e) => e.id);
    for (const occurrence of [weekly[0], weekly[2], weekly[3]]) expect(removed).toContain(occurrence?.id);
    expect(gone.entries.every((e) => (e['@removed'] as { reason?: string } | undefined)?.reason === 'deleted')).toBe(
      true,
    );
  });

  it('requires the window and refuses $select and $expand, as v1.0 does', async () => {
    expect((await graph.call('GET', `${alice}/calendarView/delta`)).status).toBe(400);
    expect((await graph.call('GET', `${alice}/calendarView/delta?${window}&$select=subject`)).status).toBe(400);
  });
});
