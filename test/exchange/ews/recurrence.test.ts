import { describe, expect, it } from 'vitest';
import { formatRecurrence, parseRecurrence, type Recurrence } from '../../../src/exchange/ews/recurrence.js';
import { at, parseXml } from '../../../src/exchange/ews/xml.js';

function parsed(inner: string): Recurrence | undefined {
  return parseRecurrence(at(parseXml(`<t:Recurrence xmlns:t="urn:t">${inner}</t:Recurrence>`), 'Recurrence'));
}

const from = (start: string) => `<t:NoEndRecurrence><t:StartDate>${start}</t:StartDate></t:NoEndRecurrence>`;

describe('formatRecurrence', () => {
  it.each([
    [
      '<t:WeeklyRecurrence><t:Interval>1</t:Interval><t:DaysOfWeek>Monday Wednesday</t:DaysOfWeek></t:WeeklyRecurrence>' +
        '<t:EndDateRecurrence><t:StartDate>2026-01-05</t:StartDate><t:EndDate>2026-06-30</t:EndDate></t:EndDateRecurrence>',
      'Weekly every 1 week on Monday, Wednesday from 2026-01-05 until 2026-06-30',
    ],
    [
      '<t:DailyRecurrence><t:Interval>2</t:Interval></t:DailyRecurrence>' +
        '<t:NumberedRecurrence><t:StartDate>2026-01-05Z</t:StartDate><t:NumberOfOccurrences>10</t:NumberOfOccurrences></t:NumberedRecurrence>',
      'Daily every 2 days from 2026-01-05 for 10 occurrences',
    ],
    [
      `<t:AbsoluteMonthlyRecurrence><t:Interval>1</t:Interval><t:DayOfMonth>31</t:DayOfMonth></t:AbsoluteMonthlyRecurrence>${from('2026-01-31+01:00')}`,
      'Monthly every 1 month on day 31 from 2026-01-31',
    ],
    [
      `<t:RelativeMonthlyRecurrence><t:Interval>2</t:Interval><t:DaysOfWeek>Weekday</t:DaysOfWeek><t:DayOfWeekIndex>Last</t:DayOfWeekIndex></t:RelativeMonthlyRecurrence>${from('2026-01-01')}`,
      'Monthly every 2 months on the last weekday from 2026-01-01',
    ],
    [
      `<t:AbsoluteYearlyRecurrence><t:DayOfMonth>15</t:DayOfMonth><t:Month>March</t:Month></t:AbsoluteYearlyRecurrence>${from('2026-03-15')}`,
      'Yearly on March 15 from 2026-03-15',
    ],
    [
      `<t:RelativeYearlyRecurrence><t:DaysOfWeek>Sunday</t:DaysOfWeek><t:DayOfWeekIndex>Last</t:DayOfWeekIndex><t:Month>October</t:Month></t:RelativeYearlyRecurrence>${from('2026-10-25')}`,
      'Yearly on the last Sunday of October from 2026-10-25',
    ],
    [
      `<t:DailyRegeneration><t:Interval>3</t:Interval></t:DailyRegeneration>${from('2026-02-01')}`,
      'Daily, 3 days after completion from 2026-02-01',
    ],
    [
      '<t:WeeklyRecurrence><t:Interval>1</t:Interval><t:DaysOfWeek>Friday</t:DaysOfWeek></t:WeeklyRecurrence>' +
        '<t:NumberedRecurrence><t:StartDate>2026-01-02</t:StartDate><t:NumberOfOccurrences>1</t:NumberOfOccurrences></t:NumberedRecurrence>',
      'Weekly every 1 week on Friday from 2026-01-02 for 1 occurrence',
    ],
  ])('%#: %s', (xml, text) => {
    const recurrence = parsed(xml);
    expect(recurrence).toBeDefined();
    expect(formatRecurrence(recurrence as Recurrence)).toBe(text);
  });

  it('gives nothing for a Recurrence without pattern or range', () => {
    expect(parsed(from('2026-01-01'))).toBeUndefined();
    expect(parsed('<t:DailyRecurrence><t:Interval>1</t:Interval></t:DailyRecurrence>')).toBeUndefined();
  });
});
