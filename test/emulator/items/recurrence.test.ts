import {
  Appointment,
  CalendarView,
  DateTime,
  DayOfTheWeek,
  DayOfTheWeekIndex,
  Month,
  Recurrence,
  SendInvitationsMode,
  TimeZoneInfo,
  WellKnownFolderName,
} from 'ews-javascript-api';
import { describe, expect, it } from 'vitest';
import { expand, lastOccurrence, occurrenceAt, parseRecurrence } from '../../../emulator/items/recurrence.js';
import { ianaOf } from '../../../emulator/items/timezone.js';
import { parseXml } from '../../../emulator/xml/node.js';
import { ewsService, startTestEmulator } from '../support/harness.js';

function rule(pattern: string, range: string) {
  return parseRecurrence(parseXml(`<Recurrence>${pattern}${range}</Recurrence>`));
}

/** Occurrence starts (UTC, minutes precision) of a series starting at `start` in `zone`. */
function starts(pattern: string, range: string, start: string, zone = 'UTC', to = '2030-01-01T00:00:00Z'): string[] {
  return expand(
    rule(pattern, range),
    Date.parse(start),
    ianaOf(zone),
    Date.parse('2000-01-01T00:00:00Z'),
    Date.parse(to),
  ).map((o) => new Date(o.start).toISOString().slice(0, 16));
}

describe('recurrence patterns', () => {
  it('daily every second day, numbered', () => {
    expect(
      starts(
        '<DailyRecurrence><Interval>2</Interval></DailyRecurrence>',
        '<NumberedRecurrence><StartDate>2024-01-01</StartDate><NumberOfOccurrences>3</NumberOfOccurrences></NumberedRecurrence>',
        '2024-01-01T09:00:00Z',
      ),
    ).toEqual(['2024-01-01T09:00', '2024-01-03T09:00', '2024-01-05T09:00']);
  });

  it('weekly on two days until an end date (inclusive)', () => {
    expect(
      starts(
        '<WeeklyRecurrence><Interval>1</Interval><DaysOfWeek>Monday Wednesday</DaysOfWeek></WeeklyRecurrence>',
        '<EndDateRecurrence><StartDate>2024-01-01</StartDate><EndDate>2024-01-10</EndDate></EndDateRecurrence>',
        '2024-01-01T14:30:00Z',
      ),
    ).toEqual(['2024-01-01T14:30', '2024-01-03T14:30', '2024-01-08T14:30', '2024-01-10T14:30']);
  });

  it('absolute monthly on day 31 falls on the last day of shorter months', () => {
    expect(
      starts(
        '<AbsoluteMonthlyRecurrence><Interval>1</Interval><DayOfMonth>31</DayOfMonth></AbsoluteMonthlyRecurrence>',
        '<NumberedRecurrence><StartDate>2024-01-31</StartDate><NumberOfOccurrences>4</NumberOfOccurrences></NumberedRecurrence>',
        '2024-01-31T08:00:00Z',
      ),
    ).toEqual(['2024-01-31T08:00', '2024-02-29T08:00', '2024-03-31T08:00', '2024-04-30T08:00']);
  });

  it('relative monthly: second Tuesday, last Friday, first weekday', () => {
    const range =
      '<NumberedRecurrence><StartDate>2024-01-01</StartDate><NumberOfOccurrences>3</NumberOfOccurrences></NumberedRecurrence>';
    const relative = (days: string, index: string) =>
      starts(
        `<RelativeMonthlyRecurrence><Interval>1</Interval><DaysOfWeek>${days}</DaysOfWeek><DayOfWeekIndex>${index}</DayOfWeekIndex></RelativeMonthlyRecurrence>`,
        range,
        '2024-01-01T10:00:00Z',
      ).map((s) => s.slice(0, 10));
    expect(relative('Tuesday', 'Second')).toEqual(['2024-01-09', '2024-02-13', '2024-03-12']);
    expect(relative('Friday', 'Last')).toEqual(['2024-01-26', '2024-02-23', '2024-03-29']);
    expect(relative('Weekday', 'First')).toEqual(['2024-01-01', '2024-02-01', '2024-03-01']);
  });

  it('absolute and relative yearly', () => {
    const range =
      '<NumberedRecurrence><StartDate>2024-01-01</StartDate><NumberOfOccurrences>2</NumberOfOccurrences></NumberedRecurrence>';
    expect(
      starts(
        '<AbsoluteYearlyRecurrence><DayOfMonth>15</DayOfMonth><Month>March</Month></AbsoluteYearlyRecurrence>',
        range,
        '2024-03-15T12:00:00Z',
      ),
    ).toEqual(['2024-03-15T12:00', '2025-03-15T12:00']);
    expect(
      starts(
        '<RelativeYearlyRecurrence><DaysOfWeek>Sunday</DaysOfWeek><DayOfWeekIndex>Last</DayOfWeekIndex><Month>October</Month></RelativeYearlyRecurrence>',
        range,
        '2024-10-27T12:00:00Z',
      ),
    ).toEqual(['2024-10-27T12:00', '2025-10-26T12:00']);
  });

  it('a series without end goes on, and has no last occurrence', () => {
    const series = rule(
      '<WeeklyRecurrence><Interval>2</Interval><DaysOfWeek>Friday</DaysOfWeek></WeeklyRecurrence>',
      '<NoEndRecurrence><StartDate>2024-01-05</StartDate></NoEndRecurrence>',
    );
    const start = Date.parse('2024-01-05T16:00:00Z');
    expect(
      expand(series, start, 'UTC', Date.parse('2029-12-01T00:00:00Z'), Date.parse('2030-01-01T00:00:00Z')).length,
    ).toBe(2);
    expect(lastOccurrence(series, start, 'UTC')).toBeUndefined();
    expect(new Date(occurrenceAt(series, start, 'UTC', 3)?.start ?? 0).toISOString()).toBe('2024-02-02T16:00:00.000Z');
  });

  it("keeps the wall-clock time across daylight saving in the series' time zone", () => {
    expect(
      starts(
        '<WeeklyRecurrence><Interval>1</Interval><DaysOfWeek>Monday</DaysOfWeek></WeeklyRecurrence>',
        '<NumberedRecurrence><StartDate>2024-03-25</StartDate><NumberOfOccurrences>2</NumberOfOccurrences></NumberedRecurrence>',
        '2024-03-18T08:00:00Z',
        'W. Europe Standard Time',
      ),
    ).toEqual(['2024-03-25T08:00', '2024-04-01T07:00']);
    expect(
      starts(
        '<DailyRecurrence><Interval>1</Interval></DailyRecurrence>',
        '<NumberedRecurrence><StartDate>2024-03-30</StartDate><NumberOfOccurrences>2</NumberOfOccurrences></NumberedRecurrence>',
        '2024-03-30T08:00:00Z',
        'W. Europe Standard Time',
      ),
    ).toEqual(['2024-03-30T08:00', '2024-03-31T07:00']);
  });

  it('refuses what Exchange refuses, with ErrorCalendarInvalidRecurrence', () => {
    const bad = [
      [
        '<DailyRecurrence><Interval>0</Interval></DailyRecurrence>',
        '<NoEndRecurrence><StartDate>2024-01-01</StartDate></NoEndRecurrence>',
      ],
      [
        '<WeeklyRecurrence><Interval>1</Interval><DaysOfWeek>Funday</DaysOfWeek></WeeklyRecurrence>',
        '<NoEndRecurrence><StartDate>2024-01-01</StartDate></NoEndRecurrence>',
      ],
      [
        '<DailyRecurrence><Interval>1</Interval></DailyRecurrence>',
        '<EndDateRecurrence><StartDate>2024-02-01</StartDate><EndDate>2024-01-01</EndDate></EndDateRecurrence>',
      ],
      ['<DailyRecurrence><Interval>1</Interval></DailyRecurrence>', ''],
    ];
    for (const [pattern, range] of bad) {
      expect(() => rule(pattern ?? '', range ?? '')).toThrow(
        expect.objectContaining({ code: 'ErrorCalendarInvalidRecurrence' }),
      );
    }
  });
});

// The library's typings declare only the empty constructors; the ones with arguments exist at run time.
type Pattern<A extends unknown[]> = new (start: DateTime, ...args: A) => Recurrence;
const patterns = {
  daily: Recurrence.DailyPattern as unknown as Pattern<[interval: number]>,
  weekly: Recurrence.WeeklyPattern as unknown as Pattern<[interval: number, days: DayOfTheWeek[]]>,
  monthly: Recurrence.MonthlyPattern as unknown as Pattern<[interval: number, dayOfMonth: number]>,
  relativeMonthly: Recurrence.RelativeMonthlyPattern as unknown as Pattern<
    [interval: number, day: DayOfTheWeek, index: DayOfTheWeekIndex]
  >,
  yearly: Recurrence.YearlyPattern as unknown as Pattern<[month: Month, dayOfMonth: number]>,
  relativeYearly: Recurrence.RelativeYearlyPattern as unknown as Pattern<
    [month: Month, day: DayOfTheWeek, index: DayOfTheWeekIndex]
  >,
};

describe('recurrence written by ews-javascript-api', async () => {
  const emulator = await startTestEmulator({ mailboxes: ['rita@contoso.test'] });
  const service = ewsService(emulator, 'rita@contoso.test');
  let made = 0;

  /** Saves a 9:00-9:30 (UTC) series starting on `first` through the library; returns the starts a CalendarView lists. */
  async function series(
    first: number,
    recurrence: (start: DateTime) => Recurrence,
    range: (r: Recurrence) => void,
    until = Date.UTC(2027, 0, 1),
  ): Promise<string[]> {
    const subject = `Series ${++made}`;
    const appointment = new Appointment(service);
    appointment.Subject = subject;
    appointment.Start = new DateTime(first);
    appointment.End = new DateTime(first + 30 * 60_000);
    appointment.StartTimeZone = TimeZoneInfo.Utc;
    appointment.Recurrence = recurrence(appointment.Start.Date);
    range(appointment.Recurrence);
    await appointment.Save(SendInvitationsMode.SendToNone);
    const found = await service.FindAppointments(
      WellKnownFolderName.Calendar,
      new CalendarView(new DateTime(first), new DateTime(until), 200),
    );
    const starts = found.Items.filter((a) => a.Subject === subject).map((a) =>
      new Date(a.Start.TotalMilliSeconds).toISOString().slice(0, 16),
    );
    return starts;
  }
  const numbered = (count: number) => (r: Recurrence) => {
    r.NumberOfOccurrences = count;
  };
  const endsOn = (ms: number) => (r: Recurrence) => {
    r.EndDate = new DateTime(ms);
  };
  const never = (r: Recurrence) => r.NeverEnds();

  it('daily, every third day, numbered', async () => {
    expect(await series(Date.UTC(2025, 0, 1, 9), (s) => new patterns.daily(s, 3), numbered(3))).toEqual([
      '2025-01-01T09:00',
      '2025-01-04T09:00',
      '2025-01-07T09:00',
    ]);
  });

  it('weekly on Tuesday and Thursday, until an end date', async () => {
    const weekly = (s: DateTime) => new patterns.weekly(s, 1, [DayOfTheWeek.Tuesday, DayOfTheWeek.Thursday]);
    expect(await series(Date.UTC(2025, 1, 4, 9), weekly, endsOn(Date.UTC(2025, 1, 13)))).toEqual([
      '2025-02-04T09:00',
      '2025-02-06T09:00',
      '2025-02-11T09:00',
      '2025-02-13T09:00',
    ]);
  });

  it('monthly on day 31 without end: the last day of shorter months', async () => {
    const starts = await series(
      Date.UTC(2025, 0, 31, 9),
      (s) => new patterns.monthly(s, 1, 31),
      never,
      Date.UTC(2025, 4, 1),
    );
    expect(starts).toEqual(['2025-01-31T09:00', '2025-02-28T09:00', '2025-03-31T09:00', '2025-04-30T09:00']);
  });

  it('relative monthly on the last Friday, numbered', async () => {
    const lastFriday = (s: DateTime) => new patterns.relativeMonthly(s, 1, DayOfTheWeek.Friday, DayOfTheWeekIndex.Last);
    expect(await series(Date.UTC(2025, 0, 31, 9), lastFriday, numbered(3))).toEqual([
      '2025-01-31T09:00',
      '2025-02-28T09:00',
      '2025-03-28T09:00',
    ]);
  });

  it('yearly on 15 March until an end date, and relative yearly on the second Monday of June without end', async () => {
    const march = (s: DateTime) => new patterns.yearly(s, Month.March, 15);
    expect(await series(Date.UTC(2025, 2, 15, 9), march, endsOn(Date.UTC(2026, 11, 31)))).toEqual([
      '2025-03-15T09:00',
      '2026-03-15T09:00',
    ]);
    const june = (s: DateTime) =>
      new patterns.relativeYearly(s, Month.June, DayOfTheWeek.Monday, DayOfTheWeekIndex.Second);
    expect(await series(Date.UTC(2025, 5, 9, 9), june, never, Date.UTC(2028, 0, 1))).toEqual([
      '2025-06-09T09:00',
      '2026-06-08T09:00',
      '2027-06-14T09:00',
    ]);
  });
});
