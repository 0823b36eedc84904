import type { PatternedRecurrence, RecurrencePattern, RecurrenceRange } from '@microsoft/microsoft-graph-types';
import type { PropValue } from '../../store/model.js';
import { child, text as textIn, type XmlNode } from '../../xml/node.js';
import { badRequest } from '../http.js';

/**
 * Graph's patternedRecurrence (https://learn.microsoft.com/graph/api/resources/patternedrecurrence) to and from EWS's
 * RecurrenceType, element order as types.xsd has it (the store keeps the EWS element).
 */

const patternElements: Record<string, string> = {
  daily: 'DailyRecurrence',
  weekly: 'WeeklyRecurrence',
  absoluteMonthly: 'AbsoluteMonthlyRecurrence',
  relativeMonthly: 'RelativeMonthlyRecurrence',
  absoluteYearly: 'AbsoluteYearlyRecurrence',
  relativeYearly: 'RelativeYearlyRecurrence',
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
const indexes: Record<string, string> = {
  first: 'First',
  second: 'Second',
  third: 'Third',
  fourth: 'Fourth',
  last: 'Last',
};

const cap = (s: string) => s.charAt(0).toUpperCase() + s.slice(1).toLowerCase();
const low = (s: string) => s.charAt(0).toLowerCase() + s.slice(1);

function days(pattern: RecurrencePattern): XmlNode {
  const list = pattern.daysOfWeek ?? [];
  if (list.length === 0) throw badRequest(`recurrence.pattern.daysOfWeek is required for a ${pattern.type} pattern.`);
  return { n: 'DaysOfWeek', t: list.map((d) => cap(String(d))).join(' ') };
}

function int(value: unknown, what: string, fallback?: number): string {
  const n = value ?? fallback;
  if (typeof n !== 'number' || !Number.isInteger(n) || n < 1)
    throw badRequest(`recurrence.${what} must be a positive integer.`);
  return String(n);
}

function patternElement(pattern: RecurrencePattern): XmlNode {
  const type = String(pattern.type ?? '');
  const name = patternElements[type];
  if (!name) throw badRequest(`recurrence.pattern.type must be one of ${Object.keys(patternElements).join(', ')}.`);
  const interval = { n: 'Interval', t: int(pattern.interval, 'pattern.interval', 1) };
  const dayOfMonth = () => ({ n: 'DayOfMonth', t: int(pattern.dayOfMonth, 'pattern.dayOfMonth') });
  const month = () => ({ n: 'Month', t: months[Number(int(pattern.month, 'pattern.month')) - 1] ?? 'January' });
  const index = () => ({ n: 'DayOfWeekIndex', t: indexes[String(pattern.index ?? 'first')] ?? 'First' });
  switch (type) {
    case 'daily':
      return { n: name, c: [interval] };
    case 'weekly':
      return {
        n: name,
        c: [interval, days(pattern), { n: 'FirstDayOfWeek', t: cap(String(pattern.firstDayOfWeek ?? 'sunday')) }],
      };
    case 'absoluteMonthly':
      return { n: name, c: [interval, dayOfMonth()] };
    case 'relativeMonthly':
      return { n: name, c: [interval, days(pattern), index()] };
    case 'absoluteYearly':
      return { n: name, c: [dayOfMonth(), month()] };
    default:
      return { n: name, c: [days(pattern), index(), month()] };
  }
}

function rangeElement(range: RecurrenceRange): XmlNode {
  const start = { n: 'StartDate', t: String(range.startDate ?? '') };
  if (!/^\d{4}-\d{2}-\d{2}$/.test(start.t)) throw badRequest('recurrence.range.startDate must be a date (YYYY-MM-DD).');
  switch (range.type) {
    case 'endDate':
      if (!/^\d{4}-\d{2}-\d{2}$/.test(String(range.endDate ?? '')))
        throw badRequest('recurrence.range.endDate must be a date (YYYY-MM-DD).');
      return { n: 'EndDateRecurrence', c: [start, { n: 'EndDate', t: String(range.endDate) }] };
    case 'numbered':
      return {
        n: 'NumberedRecurrence',
        c: [start, { n: 'NumberOfOccurrences', t: int(range.numberOfOccurrences, 'range.numberOfOccurrences') }],
      };
    case 'noEnd':
      return { n: 'NoEndRecurrence', c: [start] };
    default:
      throw badRequest('recurrence.range.type must be endDate, noEnd or numbered.');
  }
}

export function recurrenceElement(value: unknown): XmlNode | null {
  if (value === null) return null;
  const given = value as PatternedRecurrence;
  if (!given?.pattern || !given.range) throw badRequest('recurrence needs a pattern and a range.');
  return { n: 'Recurrence', c: [patternElement(given.pattern), rangeElement(given.range)] };
}

export function recurrenceOf(value: PropValue | undefined, zone: string): PatternedRecurrence | null {
  if (typeof value !== 'object' || !value.c?.length) return null;
  const [patternNode, rangeNode] = value.c;
  if (!patternNode || !rangeNode) return null;
  const type = Object.entries(patternElements).find(([, el]) => el === patternNode.n)?.[0] ?? 'daily';
  const monthName = textIn(patternNode, 'Month');
  const indexName = textIn(patternNode, 'DayOfWeekIndex');
  const pattern: RecurrencePattern = {
    type: type as RecurrencePattern['type'],
    interval: Number(textIn(patternNode, 'Interval') ?? 1),
    month: monthName ? months.indexOf(monthName) + 1 : 0,
    dayOfMonth: Number(textIn(patternNode, 'DayOfMonth') ?? 0),
    daysOfWeek: (textIn(patternNode, 'DaysOfWeek') ?? '')
      .split(/\s+/)
      .filter(Boolean)
      .map((d) => low(d)) as RecurrencePattern['daysOfWeek'],
    firstDayOfWeek: low(textIn(patternNode, 'FirstDayOfWeek') ?? 'Sunday') as RecurrencePattern['firstDayOfWeek'],
    index: (indexName ? indexName.toLowerCase() : 'first') as RecurrencePattern['index'],
  };
  const end = child(rangeNode, 'EndDate');
  const range: RecurrenceRange = {
    type: rangeNode.n === 'EndDateRecurrence' ? 'endDate' : rangeNode.n === 'NumberedRecurrence' ? 'numbered' : 'noEnd',
    startDate: (textIn(rangeNode, 'StartDate') ?? '').slice(0, 10),
    endDate: end ? (end.t ?? '').slice(0, 10) : '0001-01-01',
    recurrenceTimeZone: zone,
    numberOfOccurrences: Number(textIn(rangeNode, 'NumberOfOccurrences') ?? 0),
  };
  return { pattern, range };
}
