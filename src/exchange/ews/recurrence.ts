import {
  formatRecurrence,
  type PatternType,
  type Recurrence,
  type RecurrencePattern,
  type RecurrenceRange,
} from '../recurrence-text.js';
import { all, entries, textOf, type XmlValue } from './xml.js';

export { formatRecurrence, type PatternType, type Recurrence, type RecurrencePattern, type RecurrenceRange };

const patternTypes = new Set<string>([
  'Daily',
  'Weekly',
  'AbsoluteMonthly',
  'RelativeMonthly',
  'AbsoluteYearly',
  'RelativeYearly',
  'DailyRegeneration',
  'WeeklyRegeneration',
  'MonthlyRegeneration',
  'YearlyRegeneration',
]);

function integer(text: string | undefined): number | undefined {
  const value = Number(text);
  return text !== undefined && Number.isInteger(value) ? value : undefined;
}

/** An EWS date (2026-01-05, 2026-01-05Z, 2026-01-05+01:00) as YYYY-MM-DD. */
function day(text: string | undefined): string | undefined {
  return text === undefined ? undefined : text.trim().slice(0, 10);
}

/** The EWS `Recurrence` element (pattern and range) as a Recurrence, or undefined when it has neither. */
export function parseRecurrence(node: XmlValue | undefined): Recurrence | undefined {
  let pattern: RecurrencePattern | undefined;
  let range: RecurrenceRange | undefined;
  for (const [name, value] of entries(node)) {
    const type = name.replace(/Recurrence$|Pattern$/, '');
    if (patternTypes.has(type)) {
      pattern = { type: type as PatternType };
      const interval = integer(textOf(value, 'Interval'));
      if (interval !== undefined) pattern.interval = interval;
      const daysOfWeek = all(value, 'DaysOfWeek')
        .map((d) => textOf(d) ?? '')
        .join(' ')
        .split(/\s+/)
        .filter(Boolean);
      if (daysOfWeek.length > 0) pattern.daysOfWeek = daysOfWeek;
      const dayOfMonth = integer(textOf(value, 'DayOfMonth'));
      if (dayOfMonth !== undefined) pattern.dayOfMonth = dayOfMonth;
      const index = textOf(value, 'DayOfWeekIndex');
      if (index) pattern.dayOfWeekIndex = index.trim();
      const month = textOf(value, 'Month');
      if (month) pattern.month = month.trim();
    } else if (name === 'NoEndRecurrence' || name === 'EndDateRecurrence' || name === 'NumberedRecurrence') {
      range = { start: day(textOf(value, 'StartDate')) ?? '?' };
      const end = day(textOf(value, 'EndDate'));
      if (name === 'EndDateRecurrence' && end) range.end = end;
      const count = integer(textOf(value, 'NumberOfOccurrences'));
      if (name === 'NumberedRecurrence' && count !== undefined) range.count = count;
    }
  }
  return pattern && range ? { pattern, range } : undefined;
}
