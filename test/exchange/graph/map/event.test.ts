import { describe, expect, it } from 'vitest';
import { eventFromGraph, eventToGraph, invitesAnyone } from '../../../../src/exchange/graph/map/event.js';

const base = {
  id: 'E1',
  '@odata.etag': 'W/"K"',
  subject: 'Review',
  start: { dateTime: '2026-01-05T09:00:00.0000000', timeZone: 'UTC' },
  end: { dateTime: '2026-01-05T10:00:00.0000000', timeZone: 'UTC' },
  originalStartTimeZone: 'W. Europe Standard Time',
  iCalUId: 'UID-1',
};

describe('eventFromGraph', () => {
  it('reads times as UTC, attendees by type, showAs as the free/busy code, and the uid', () => {
    const item = eventFromGraph({
      ...base,
      type: 'singleInstance',
      isAllDay: false,
      showAs: 'workingElsewhere',
      sensitivity: 'confidential',
      location: { displayName: 'Room 1' },
      organizer: { emailAddress: { address: 'o@x.test' } },
      attendees: [
        { type: 'required', emailAddress: { address: 'r@x.test' } },
        { type: 'optional', emailAddress: { address: 'p@x.test' } },
        { type: 'resource', emailAddress: { address: 'room@x.test' } },
      ],
      isReminderOn: true,
      reminderMinutesBeforeStart: 15,
      isCancelled: false,
    });
    expect(item).toMatchObject({ id: 'E1', changeKey: 'W/"K"', itemClass: 'IPM.Appointment', uid: 'UID-1' });
    expect(item.properties).toMatchObject({
      start: '2026-01-05T09:00:00.000Z',
      end: '2026-01-05T10:00:00.000Z',
      timeZone: 'W. Europe Standard Time',
      location: 'Room 1',
      organizer: 'o@x.test',
      requiredAttendees: ['r@x.test'],
      optionalAttendees: ['p@x.test'],
      resources: ['room@x.test'],
      freeBusy: 'WorkingElsewhere',
      sensitivity: 'Confidential',
      reminderSet: true,
      reminderMinutes: 15,
      isRecurring: false,
      recurrence: null,
      originalStart: null,
      isMeeting: true,
    });
    expect(eventFromGraph({ ...base, showAs: 'unknown' }).properties.freeBusy).toBe('NoData');
  });

  it('gives an all-day event its local dates as midnight UTC, whichever way Graph wrote them', () => {
    const allDay = eventFromGraph({
      ...base,
      isAllDay: true,
      start: { dateTime: '2026-03-09T23:00:00.0000000', timeZone: 'UTC' },
      end: { dateTime: '2026-03-10T23:00:00.0000000', timeZone: 'UTC' },
    });
    expect(allDay.properties).toMatchObject({ start: '2026-03-10T00:00:00.000Z', end: '2026-03-11T00:00:00.000Z' });
    const atMidnight = eventFromGraph({
      ...base,
      isAllDay: true,
      start: { dateTime: '2026-03-10T00:00:00.0000000', timeZone: 'UTC' },
      end: { dateTime: '2026-03-11T00:00:00.0000000', timeZone: 'UTC' },
    });
    expect(atMidnight.properties).toMatchObject({ start: '2026-03-10T00:00:00.000Z', end: '2026-03-11T00:00:00.000Z' });
  });

  it('marks masters, occurrences and exceptions recurring; an occurrence has its originalStart', () => {
    const master = eventFromGraph({
      ...base,
      type: 'seriesMaster',
      recurrence: {
        pattern: { type: 'relativeMonthly', interval: 2, daysOfWeek: ['friday'], index: 'last' },
        range: { type: 'numbered', startDate: '2026-01-30', numberOfOccurrences: 6 },
      },
    });
    expect(master.properties).toMatchObject({
      isRecurring: true,
      recurrence: 'Monthly every 2 months on the last Friday from 2026-01-30 for 6 occurrences',
      originalStart: null,
    });
    const exception = eventFromGraph({ ...base, type: 'exception', originalStart: '2026-01-05T08:00:00Z' });
    expect(exception.properties).toMatchObject({ isRecurring: true, originalStart: '2026-01-05T08:00:00.000Z' });
    const occurrence = eventFromGraph({ ...base, type: 'occurrence' });
    expect(occurrence.properties.originalStart).toBe('2026-01-05T09:00:00.000Z');
  });
});

describe('eventToGraph', () => {
  it('writes start and end in the zone given (else UTC), all-day at midnight of their dates', () => {
    expect(eventToGraph({ start: '2026-07-01T07:00:00Z', end: '2026-07-01T08:00:00Z' })).toEqual({
      start: { dateTime: '2026-07-01T07:00:00.000', timeZone: 'UTC' },
      end: { dateTime: '2026-07-01T08:00:00.000', timeZone: 'UTC' },
    });
    expect(
      eventToGraph({ start: '2026-07-01T07:00:00Z', end: '2026-07-01T08:00:00Z', timeZone: 'W. Europe Standard Time' }),
    ).toEqual({
      start: { dateTime: '2026-07-01T09:00:00', timeZone: 'W. Europe Standard Time' },
      end: { dateTime: '2026-07-01T10:00:00', timeZone: 'W. Europe Standard Time' },
    });
    expect(eventToGraph({ isAllDay: true, start: '2026-03-10T00:00:00Z', end: '2026-03-11T00:00:00Z' })).toEqual({
      isAllDay: true,
      start: { dateTime: '2026-03-10T00:00:00', timeZone: 'UTC' },
      end: { dateTime: '2026-03-11T00:00:00', timeZone: 'UTC' },
    });
  });

  it("keeps the attendees a write leaves alone; '' clears a kind; start and end are never cleared", () => {
    const current = {
      attendees: [
        { type: 'required' as const, emailAddress: { address: 'r@x.test' } },
        { type: 'optional' as const, emailAddress: { address: 'p@x.test' } },
      ],
    };
    expect(eventToGraph({ optionalAttendees: 'q@x.test', resources: '', start: '' }, {}, current)).toEqual({
      attendees: [
        { type: 'required', emailAddress: { address: 'r@x.test' } },
        { type: 'optional', emailAddress: { address: 'q@x.test' } },
      ],
    });
    expect(eventToGraph({ freeBusy: 'oof', location: '', reminderMinutes: '15' })).toEqual({
      showAs: 'oof',
      location: { displayName: '' },
      reminderMinutesBeforeStart: 15,
    });
  });

  it('adds the stamp and transactionId on create, and refuses what Graph cannot take by label', () => {
    const json = eventToGraph({ subject: 'S' }, {}, undefined, {
      transactionId: 'T',
      singleValueExtendedProperties: [{ id: 'P', value: 'V' }],
    });
    expect(json).toEqual({
      subject: 'S',
      transactionId: 'T',
      singleValueExtendedProperties: [{ id: 'P', value: 'V' }],
    });
    expect(() => eventToGraph({ timeZone: 'Mars/Olympus' }, { timeZone: 'exh_time_zone' })).toThrow(
      /exh_time_zone: "Mars\/Olympus" is not a Windows time zone id/,
    );
    expect(() => eventToGraph({ freeBusy: 'away' })).toThrow(/freeBusy/);
    expect(invitesAnyone({ requiredAttendees: 'a@x.test' })).toBe(true);
    expect(invitesAnyone({ requiredAttendees: '', optionalAttendees: null })).toBe(false);
  });
});
