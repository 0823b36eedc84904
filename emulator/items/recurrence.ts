import type { Options, Weekday } from 'rrule';
import rrulePackage from 'rrule';
import { EwsError } from '../soap/response-codes.js';
import { text, type XmlNode } from '../xml/node.js';
import { utcToWall, wallToUtc } from './timezone.js';

/**
 * EWS recurrence (types.xsd RecurrenceType: one pattern and one range) translated to an RFC 5545 rule for `rrule`, and
 * expanded in the series' own time zone. Exchange's quirks kept: a monthly "day 31" falls on the last day of shorter
 * months, DayOfWeekIndex Last is the last matching day, "Weekday"/"WeekendDay"/"Day" pick among several days.
 */

const { RRule } = rrulePackage;

const weekdays: Record<string, Weekday> = {
  Monday: RRule.MO,
  Tuesday: RRule.TU,
  Wednesday: RRule.WE,
  Thursday: RRule.TH,
  Friday: RRule.FR,
  Saturday: RRule.SA,
  Sunday: RRule.SU,
};
const dayGroups: Record<string, Weekday[]> = {
  Day: [RRule.MO, RRule.TU, RRule.WE, RRule.TH, RRule.FR, RRule.SA, RRule.SU],
  Weekday: [RRule.MO, RRule.TU, RRule.WE, RRule.TH, RRule.FR],
  WeekendDay: [RRule.SA, RRule.SU],
};
const months = [
  'January',
  'February',
  'March',
  'April',
  'May',
  'June',
  'July',
  'August',
  'September',
  'October',
  'November',
  'December',
];
const dayIndexes: Record<string, number> = { First: 1, Second: 2, Third: 3, Fourth: 4, Last: -1 };

export interface SeriesRule {
  options: Partial<Options>;
  /** First date of the range, YYYY-MM-DD in the series' zone. */
  startDate: string;
  endDate?: string;
  count?: number;
}

function invalid(why: string): EwsError {
  return new EwsError('ErrorCalendarInvalidRecurrence', `The recurrence pattern is invalid: ${why}`);
}

function int(node: XmlNode, name: string, min: number, max: number): number {
  const raw = text(node, name);
  const value = Number(raw);
  if (raw === undefined || !Number.isInteger(value) || value < min || value > max) {
    throw invalid(`${node.n}/${name} must be an integer from ${min} to ${max}.`);
  }
  return value;
}

function days(node: XmlNode): Weekday[] {
  const raw = (text(node, 'DaysOfWeek') ?? '').trim();
  if (!raw) throw invalid(`${node.n}/DaysOfWeek is required.`);
  const out: Weekday[] = [];
  for (const name of raw.split(/\s+/)) {
    const group = dayGroups[name];
    const day = weekdays[name];
    if (group) out.push(...group);
    else if (day) out.push(day);
    else throw invalid(`unknown day "${name}".`);
  }
  return out;
}

function month(node: XmlNode): number {
  const index = months.indexOf(text(node, 'Month') ?? '');
  if (index < 0) throw invalid(`${node.n}/Month is not a month name.`);
  return index + 1;
}

function dayOfMonth(node: XmlNode): Partial<Options> {
  const day = int(node, 'DayOfMonth', 1, 31);
  // "Day 31 of every month" falls on the last day of shorter months, as in Outlook.
  if (day <= 28) return { bymonthday: [day] };
  const candidates: number[] = [];
  for (let d = 28; d <= day; d++) candidates.push(d);
  return { bymonthday: candidates, bysetpos: [-1] };
}

function dayIndex(node: XmlNode): number {
  const index = dayIndexes[text(node, 'DayOfWeekIndex') ?? ''];
  if (index === undefined) throw invalid(`${node.n}/DayOfWeekIndex must be First, Second, Third, Fourth or Last.`);
  return index;
}

function patternOptions(pattern: XmlNode): Partial<Options> {
  switch (pattern.n) {
    case 'DailyRecurrence':
      return { freq: RRule.DAILY, interval: int(pattern, 'Interval', 1, 999) };
    case 'WeeklyRecurrence': {
      const first = weekdays[text(pattern, 'FirstDayOfWeek') ?? 'Sunday'];
      return {
        freq: RRule.WEEKLY,
        interval: int(pattern, 'Interval', 1, 99),
        byweekday: days(pattern),
        wkst: first ?? RRule.SU,
      };
    }
    case 'AbsoluteMonthlyRecurrence':
      return { freq: RRule.MONTHLY, interval: int(pattern, 'Interval', 1, 99), ...dayOfMonth(pattern) };
    case 'RelativeMonthlyRecurrence':
      return {
        freq: RRule.MONTHLY,
        interval: int(pattern, 'Interval', 1, 99),
        byweekday: days(pattern),
        bysetpos: [dayIndex(pattern)],
      };
    case 'AbsoluteYearlyRecurrence':
      return { freq: RRule.YEARLY, bymonth: [month(pattern)], ...dayOfMonth(pattern) };
    case 'RelativeYearlyRecurrence':
      return { freq: RRule.YEARLY, bymonth: [month(pattern)], byweekday: days(pattern), bysetpos: [dayIndex(pattern)] };
    default:
      throw invalid(`the pattern ${pattern.n} is not supported for calendar items.`);
  }
}

const rangeNames = ['NoEndRecurrence', 'EndDateRecurrence', 'NumberedRecurrence'];

function dateOnly(raw: string | undefined, what: string): string {
  const match = /^(\d{4}-\d{2}-\d{2})/.exec(raw ?? '');
  if (!match?.[1]) throw invalid(`${what} must be a date.`);
  return match[1];
}

/** Reads a calendar item's Recurrence element. Throws ErrorCalendarInvalidRecurrence for what Exchange refuses. */
export function parseRecurrence(recurrence: XmlNode): SeriesRule {
  const parts = recurrence.c ?? [];
  const pattern = parts.find((p) => !rangeNames.includes(p.n));
  const range = parts.find((p) => rangeNames.includes(p.n));
  if (!pattern || !range) throw invalid('a pattern and a range are required.');
  const rule: SeriesRule = {
    options: patternOptions(pattern),
    startDate: dateOnly(text(range, 'StartDate'), 'StartDate'),
  };
  if (range.n === 'EndDateRecurrence') {
    rule.endDate = dateOnly(text(range, 'EndDate'), 'EndDate');
    if (rule.endDate < rule.startDate) throw invalid('EndDate is before StartDate.');
  } else if (range.n === 'NumberedRecurrence') {
    rule.count = int(range, 'NumberOfOccurrences', 1, 999);
  }
  return rule;
}

export interface Occurrence {
  /** 1-based position in the series (EWS InstanceIndex). */
  index: number;
  /** Original start, UTC milliseconds. */
  start: number;
}

const maxSteps = 100_000;

function rruleFor(rule: SeriesRule, seriesStart: number, zone: string): InstanceType<typeof RRule> {
  const wallStart = new Date(utcToWall(zone, seriesStart));
  const [y, m, d] = rule.startDate.split('-').map(Number) as [number, number, number];
  const dtstart = new Date(
    Date.UTC(y, m - 1, d, wallStart.getUTCHours(), wallStart.getUTCMinutes(), wallStart.getUTCSeconds()),
  );
  const options: Partial<Options> = { ...rule.options, dtstart };
  if (rule.count !== undefined) options.count = rule.count;
  if (rule.endDate) {
    const [ey, em, ed] = rule.endDate.split('-').map(Number) as [number, number, number];
    options.until = new Date(Date.UTC(ey, em - 1, ed, 23, 59, 59));
  }
  return new RRule(options);
}

/** Wall-clock times and UTC differ by at most this much (UTC-12 to UTC+14, and a margin). */
const widestOffset = 15 * 3_600_000;

export interface ExpandLimit {
  /** Stop after this many occurrences that start at or after `countFrom`. */
  limit: number;
  countFrom: number;
}

/**
 * Occurrences whose original start lies in [from, to) (UTC ms), for a series whose first instance starts at
 * `seriesStart` (UTC ms; its wall-clock time of day is kept) in `zone`. Expansion walks the series from its start
 * (at most 100,000 occurrences) and converts to UTC only near the window; `bound` stops it early.
 */
export function expand(
  rule: SeriesRule,
  seriesStart: number,
  zone: string,
  from: number,
  to: number,
  bound?: ExpandLimit,
): Occurrence[] {
  const out: Occurrence[] = [];
  let index = 0;
  let counted = 0;
  rruleFor(rule, seriesStart, zone).all((wall) => {
    index++;
    if (index > maxSteps) return false;
    const wallTime = wall.getTime();
    if (wallTime >= to + widestOffset) return false;
    if (wallTime < from - widestOffset) return true;
    const start = wallToUtc(zone, wallTime);
    if (start >= to) return false;
    if (start < from) return true;
    out.push({ index, start });
    if (bound && start >= bound.countFrom && ++counted >= bound.limit) return false;
    return true;
  });
  return out;
}

/** The last occurrence of a bounded series (undefined for a series without end). */
export function lastOccurrence(rule: SeriesRule, seriesStart: number, zone: string): Occurrence | undefined {
  if (rule.count === undefined && rule.endDate === undefined) return undefined;
  const all = expand(rule, seriesStart, zone, Number.NEGATIVE_INFINITY, Number.POSITIVE_INFINITY);
  return all[all.length - 1];
}

/** The occurrence at a 1-based index, if the series has one there. */
export function occurrenceAt(
  rule: SeriesRule,
  seriesStart: number,
  zone: string,
  index: number,
): Occurrence | undefined {
  if (index < 1 || index > maxSteps) return undefined;
  let found: Occurrence | undefined;
  let i = 0;
  rruleFor(rule, seriesStart, zone).all((wall) => {
    i++;
    if (i === index) found = { index, start: wallToUtc(zone, wall.getTime()) };
    return i < index;
  });
  return found;
}

/** Is this Recurrence element a task's (regenerating) pattern rather than a calendar one? */
export function isRegenerating(recurrence: XmlNode): boolean {
  return (recurrence.c ?? []).some((p) => p.n.endsWith('Regeneration'));
}
