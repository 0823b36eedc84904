import { describe, expect, it } from 'vitest';
import { startGraph } from './support.js';

/** Events over Graph: invitations through the emulator's meeting logic, transactionId, organizer-only changes, cancellations, series in calendarView. */

const graph = await startGraph();
const alice = '/users/alice@contoso.test';
const bob = '/users/bob@contoso.test';
type List = { value: Record<string, unknown>[] };

const meeting = {
  subject: 'Planning',
  body: { contentType: 'html', content: '<p>Agenda</p>' },
  start: { dateTime: '2030-03-04T09:00:00', timeZone: 'W. Europe Standard Time' },
  end: { dateTime: '2030-03-04T10:00:00', timeZone: 'W. Europe Standard Time' },
  location: { displayName: 'Room 1' },
  attendees: [{ type: 'required', emailAddress: { address: 'bob@contoso.test', name: 'Bob' } }],
};

async function bobsCopy(subject: string): Promise<Record<string, unknown> | undefined> {
  const events = await graph.call<List>('GET', `${bob}/events`, { headers: { prefer: 'odata.maxpagesize=50' } });
  return events.body.value.find((e) => e.subject === subject);
}

describe('events', () => {
  it('creates a meeting whose attendee gets the invitation, in UTC unless another zone is preferred', async () => {
    const created = await graph.call('POST', `${alice}/events`, { body: meeting });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({
      subject: 'Planning',
      start: { dateTime: '2030-03-04T08:00:00.0000000', timeZone: 'UTC' },
      originalStartTimeZone: 'W. Europe Standard Time',
      isOrganizer: true,
      type: 'singleInstance',
      location: { displayName: 'Room 1' },
      attendees: [{ type: 'required', emailAddress: { address: 'bob@contoso.test' } }],
    });
    const zoned = await graph.call('GET', `${alice}/events/${created.body.id}`, {
      headers: { prefer: 'outlook.timezone="W. Europe Standard Time"' },
    });
    expect(zoned.body.start).toEqual({ dateTime: '2030-03-04T09:00:00.0000000', timeZone: 'W. Europe Standard Time' });
    expect(zoned.headers.get('preference-applied')).toContain('outlook.timezone');
    const copy = await bobsCopy('Planning');
    expect(copy).toMatchObject({
      isOrganizer: false,
      iCalUId: created.body.iCalUId,
      organizer: { emailAddress: { address: 'alice@contoso.test' } },
    });
    const inbox = await graph.call<List>('GET', `${bob}/mailFolders/inbox/messages`);
    expect(
      inbox.body.value.some((m) => m['@odata.type'] === '#microsoft.graph.eventMessage' && m.subject === 'Planning'),
    ).toBe(true);
  });

  it('returns the first event for a repeated POST with the same transactionId', async () => {
    const body = { ...meeting, subject: 'Once', attendees: [], transactionId: '0f1e2d3c-0000-4000-8000-000000000001' };
    const first = await graph.call('POST', `${alice}/events`, { body });
    const second = await graph.call('POST', `${alice}/events`, { body });
    expect(second.body.id).toBe(first.body.id);
    expect(second.body.transactionId).toBe(body.transactionId);
    const all = await graph.call<List>('GET', `${alice}/events?$top=100`);
    expect(all.body.value.filter((e) => e.subject === 'Once')).toHaveLength(1);
  });

  it('lets the organizer change a meeting (the attendee gets the update) and refuses an attendee', async () => {
    const created = await graph.call('POST', `${alice}/events`, { body: { ...meeting, subject: 'Review' } });
    const patched = await graph.call('PATCH', `${alice}/events/${created.body.id}`, {
      body: {
        subject: 'Review moved',
        start: { dateTime: '2030-03-05T09:00:00', timeZone: 'UTC' },
        end: { dateTime: '2030-03-05T10:00:00', timeZone: 'UTC' },
      },
    });
    expect(patched.status).toBe(200);
    expect(patched.body.start).toEqual({ dateTime: '2030-03-05T09:00:00.0000000', timeZone: 'UTC' });
    const copy = await bobsCopy('Review moved');
    expect(copy?.start).toEqual({ dateTime: '2030-03-05T09:00:00.0000000', timeZone: 'UTC' });
    const refused = await graph.call('PATCH', `${bob}/events/${copy?.id}`, { body: { subject: 'Mine now' } });
    expect(refused.status).toBe(403);
    const allowed = await graph.call('PATCH', `${bob}/events/${copy?.id}`, { body: { categories: ['Blue'] } });
    expect(allowed.status).toBe(200);
    const backwards = await graph.call('PATCH', `${alice}/events/${created.body.id}`, {
      body: { end: { dateTime: '2030-03-01T09:00:00', timeZone: 'UTC' } },
    });
    expect(backwards.status).toBe(400);
  });

  it('cancels the attendee copy when the organizer deletes a meeting', async () => {
    const created = await graph.call('POST', `${alice}/events`, { body: { ...meeting, subject: 'Doomed' } });
    expect((await graph.call('DELETE', `${alice}/events/${created.body.id}`)).status).toBe(204);
    const copy = await bobsCopy('Canceled: Doomed');
    expect(copy).toMatchObject({ isCancelled: true });
  });

  it('expands a series in calendarView with an exception and without a deleted occurrence', async () => {
    const series = await graph.call('POST', `${alice}/events`, {
      body: {
        subject: 'Standup',
        start: { dateTime: '2031-01-06T09:00:00', timeZone: 'UTC' },
        end: { dateTime: '2031-01-06T09:15:00', timeZone: 'UTC' },
        recurrence: {
          pattern: { type: 'daily', interval: 1 },
          range: { type: 'numbered', startDate: '2031-01-06', numberOfOccurrences: 5 },
        },
      },
    });
    expect(series.body).toMatchObject({
      type: 'seriesMaster',
      recurrence: { pattern: { type: 'daily' }, range: { type: 'numbered', numberOfOccurrences: 5 } },
    });
    const window = 'startDateTime=2031-01-01T00:00:00Z&endDateTime=2031-02-01T00:00:00Z';
    const view = await graph.call<List>('GET', `${alice}/calendarView?${window}&$top=50`);
    const standups = view.body.value.filter((e) => e.subject === 'Standup');
    expect(standups).toHaveLength(5);
    expect(standups.every((e) => e.type === 'occurrence' && e.seriesMasterId === series.body.id)).toBe(true);
    const [, second, third] = standups;
    expect(
      (await graph.call('PATCH', `${alice}/events/${second?.id}`, { body: { subject: 'Standup (moved)' } })).status,
    ).toBe(200);
    expect((await graph.call('DELETE', `${alice}/events/${third?.id}`)).status).toBe(204);
    const after = await graph.call<List>('GET', `${alice}/calendarView?${window}&$top=50`);
    const mine = after.body.value.filter((e) => e.seriesMasterId === series.body.id);
    expect(mine).toHaveLength(4);
    expect(mine.find((e) => e.type === 'exception')).toMatchObject({ subject: 'Standup (moved)' });
    const listed = await graph.call<List>('GET', `${alice}/events/${series.body.id}/instances?${window}`);
    expect(listed.body.value.map((e) => e.id)).toEqual(mine.map((e) => e.id));
    const missing = await graph.call('GET', `${alice}/calendarView`);
    expect(missing.status).toBe(400);
  });

  it('keeps every recurrence pattern and range as given, and EWS expands the same series', async () => {
    const patterns = [
      { type: 'daily', interval: 2 },
      { type: 'weekly', interval: 1, daysOfWeek: ['monday', 'thursday'], firstDayOfWeek: 'monday' },
      { type: 'absoluteMonthly', interval: 1, dayOfMonth: 15 },
      { type: 'relativeMonthly', interval: 1, daysOfWeek: ['friday'], index: 'last' },
      { type: 'absoluteYearly', interval: 1, dayOfMonth: 15, month: 3 },
      { type: 'relativeYearly', interval: 1, daysOfWeek: ['monday'], index: 'first', month: 3 },
    ];
    for (const pattern of patterns) {
      const range = { type: 'numbered', startDate: '2034-03-01', numberOfOccurrences: 3 };
      const created = await graph.call('POST', `${alice}/events`, {
        body: {
          subject: `Every ${pattern.type}`,
          start: { dateTime: '2034-03-01T08:00:00', timeZone: 'UTC' },
          end: { dateTime: '2034-03-01T09:00:00', timeZone: 'UTC' },
          recurrence: { pattern, range },
        },
      });
      expect(created.status).toBe(201);
      expect(created.body.recurrence).toMatchObject({ pattern, range });
      const ewsId = graph.emulator.admin
        .items('alice@contoso.test', 'calendar')
        .find((i) => i.properties.Subject === `Every ${pattern.type}`)?.id;
      const occurrences = graph.emulator.admin.occurrences(
        'alice@contoso.test',
        ewsId ?? '',
        '2034-01-01T00:00:00Z',
        '2038-01-01T00:00:00Z',
      );
      expect(occurrences).toHaveLength(3);
      const view = await graph.call<List>(
        'GET',
        `${alice}/calendarView?startDateTime=2034-01-01T00:00:00Z&endDateTime=2038-01-01T00:00:00Z&$top=100`,
      );
      const starts = view.body.value
        .filter((e) => e.seriesMasterId === created.body.id)
        .map((e) => (e.start as { dateTime: string }).dateTime.slice(0, 19));
      expect(starts).toEqual(occurrences.map((o) => String(o.properties.Start).slice(0, 19)));
    }
  });
});
