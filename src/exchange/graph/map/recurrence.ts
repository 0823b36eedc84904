import type { PatternedRecurrence } from '@microsoft/microsoft-graph-types';
import { formatRecurrence, type PatternType, type Recurrence } from '../../recurrence-text.js';

/**
 * A Graph recurrence (patternedRecurrence) in the readable form the `recurrence` column holds, worded exactly as the
 * EWS adapter words it (its formatRecurrence is backend-neutral: a pattern and a range), so a series reads the same
 * through either backend.
 */

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

const capital = (value: string) => value.charAt(0).toUpperCase() + value.slice(1);

export function recurrenceText(recurrence: PatternedRecurrence | null | undefined): string | null {
  const pattern = recurrence?.pattern;
  const range = recurrence?.range;
  if (!pattern?.type || !range?.startDate) return null;
  const neutral: Recurrence = {
    pattern: { type: capital(pattern.type) as PatternType, interval: pattern.interval ?? 1 },
    range: { start: range.startDate.slice(0, 10) },
  };
  if (pattern.daysOfWeek && pattern.daysOfWeek.length > 0) neutral.pattern.daysOfWeek = pattern.daysOfWeek.map(capital);
  if (pattern.dayOfMonth) neutral.pattern.dayOfMonth = pattern.dayOfMonth;
  if (pattern.index && pattern.type.startsWith('relative')) neutral.pattern.dayOfWeekIndex = capital(pattern.index);
  if (pattern.month) neutral.pattern.month = months[pattern.month - 1] ?? String(pattern.month);
  if (range.type === 'endDate' && range.endDate) neutral.range.end = range.endDate.slice(0, 10);
  if (range.type === 'numbered' && range.numberOfOccurrences) neutral.range.count = range.numberOfOccurrences;
  return formatRecurrence(neutral);
}
