/**
 * A series' recurrence as every backend reads it (EWS's Recurrence element, Graph's patternedRecurrence), and its
 * readable form for the `recurrence` column, the same whichever backend read it.
 *
 * A recurrence pattern in readable form for the `recurrence` column, e.g. "Weekly every 1 week on Monday, Wednesday
 * from 2026-01-05 until 2026-06-30". Written by hand: rrule's toText() speaks RRULE, not EWS patterns (relative
 * monthly "the last weekday", regeneration of tasks), and Outlook's own wording is not available outside Outlook.
 */

export type PatternType =
  | 'Daily'
  | 'Weekly'
  | 'AbsoluteMonthly'
  | 'RelativeMonthly'
  | 'AbsoluteYearly'
  | 'RelativeYearly'
  | 'DailyRegeneration'
  | 'WeeklyRegeneration'
  | 'MonthlyRegeneration'
  | 'YearlyRegeneration';

export interface RecurrencePattern {
  type: PatternType;
  interval?: number;
  /** Monday … Sunday, or Day, Weekday, WeekendDay. */
  daysOfWeek?: string[];
  dayOfMonth?: number;
  /** First, Second, Third, Fourth, Last. */
  dayOfWeekIndex?: string;
  /** January … December. */
  month?: string;
}

export interface RecurrenceRange {
  /** YYYY-MM-DD */
  start: string;
  /** YYYY-MM-DD, inclusive. */
  end?: string;
  count?: number;
}

export interface Recurrence {
  pattern: RecurrencePattern;
  range: RecurrenceRange;
}

const ordinals: Record<string, string> = {
  First: 'first',
  Second: 'second',
  Third: 'third',
  Fourth: 'fourth',
  Last: 'last',
};

const dayWords: Record<string, string> = { Day: 'day', Weekday: 'weekday', WeekendDay: 'weekend day' };

function plural(count: number, unit: string): string {
  return `${count} ${unit}${count === 1 ? '' : 's'}`;
}

function days(pattern: RecurrencePattern): string {
  return (pattern.daysOfWeek ?? []).map((d) => dayWords[d] ?? d).join(', ');
}

function relative(pattern: RecurrencePattern): string {
  const index = ordinals[pattern.dayOfWeekIndex ?? ''] ?? (pattern.dayOfWeekIndex ?? '').toLowerCase();
  return `the ${index} ${days(pattern)}`;
}

function describePattern(pattern: RecurrencePattern): string {
  const interval = pattern.interval ?? 1;
  switch (pattern.type) {
    case 'Daily':
      return `Daily every ${plural(interval, 'day')}`;
    case 'Weekly':
      return `Weekly every ${plural(interval, 'week')} on ${days(pattern)}`;
    case 'AbsoluteMonthly':
      return `Monthly every ${plural(interval, 'month')} on day ${pattern.dayOfMonth ?? '?'}`;
    case 'RelativeMonthly':
      return `Monthly every ${plural(interval, 'month')} on ${relative(pattern)}`;
    case 'AbsoluteYearly':
      return `Yearly on ${pattern.month ?? '?'} ${pattern.dayOfMonth ?? '?'}`;
    case 'RelativeYearly':
      return `Yearly on ${relative(pattern)} of ${pattern.month ?? '?'}`;
    case 'DailyRegeneration':
      return `Daily, ${plural(interval, 'day')} after completion`;
    case 'WeeklyRegeneration':
      return `Weekly, ${plural(interval, 'week')} after completion`;
    case 'MonthlyRegeneration':
      return `Monthly, ${plural(interval, 'month')} after completion`;
    case 'YearlyRegeneration':
      return `Yearly, ${plural(interval, 'year')} after completion`;
  }
}

export function formatRecurrence(recurrence: Recurrence): string {
  const { range } = recurrence;
  let text = `${describePattern(recurrence.pattern)} from ${range.start}`;
  if (range.end) text += ` until ${range.end}`;
  else if (range.count !== undefined) text += ` for ${plural(range.count, 'occurrence')}`;
  return text;
}
