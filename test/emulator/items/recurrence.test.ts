import { describe, expect, it } from 'vitest';
import { expand, lastOccurrence, occurrenceAt, parseRecurrence } from '../../../src/emulator/items/recurrence.js';
import { ianaOf } from '../../../src/emulator/items/timezone.js';
import { parseXml } from '../../../src/emulator/xml/node.js';

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
