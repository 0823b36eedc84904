import { describe, expect, it } from 'vitest';
import {
  fromDateTimeTimeZone,
  iso,
  knownZone,
  localTime,
  nearestDate,
  put,
  toInteger,
} from '../../../../src/exchange/graph/map/values.js';

describe('value rules', () => {
  it('reads Graph instants with or without a zone as ISO UTC', () => {
    expect(iso('2026-01-05T09:00:00.1234567')).toBe('2026-01-05T09:00:00.123Z');
    expect(iso('2026-01-05T10:00:00+01:00')).toBe('2026-01-05T09:00:00.000Z');
    expect(iso('')).toBeNull();
    expect(iso('garbage')).toBeNull();
  });

  it('converts a local time in a Windows or IANA zone to UTC, across DST', () => {
    expect(fromDateTimeTimeZone({ dateTime: '2026-07-01T09:00:00', timeZone: 'W. Europe Standard Time' })).toBe(
      '2026-07-01T07:00:00.000Z',
    );
    expect(fromDateTimeTimeZone({ dateTime: '2026-01-01T09:00:00', timeZone: 'Europe/Amsterdam' })).toBe(
      '2026-01-01T08:00:00.000Z',
    );
    expect(fromDateTimeTimeZone({ dateTime: '2026-01-01T09:00:00', timeZone: 'tzone://Microsoft/Utc' })).toBe(
      '2026-01-01T09:00:00.000Z',
    );
    expect(localTime('2026-07-01T07:00:00Z', 'W. Europe Standard Time')).toBe('2026-07-01T09:00:00');
    expect(knownZone('Pacific Standard Time')).toBe(true);
    expect(knownZone('Nowhere Standard Time')).toBe(false);
  });

  it('takes a birthday at any hour near midnight for its day', () => {
    expect(nearestDate('1980-05-16T22:00:00Z')).toBe('1980-05-17');
    expect(nearestDate('1980-05-17T00:00:00')).toBe('1980-05-17');
    expect(nearestDate(null)).toBeNull();
  });

  it('puts NULL nowhere, an empty value as cleared, a value rendered', () => {
    const json: Record<string, unknown> = {};
    put(json, 'a', { reminderMinutes: null }, {}, 'reminderMinutes', toInteger);
    put(json, 'b', { subject: '' }, {}, 'subject', String, []);
    put(json, 'c', { reminderMinutes: '7.6' }, {}, 'reminderMinutes', toInteger);
    expect(json).toEqual({ b: [], c: 8 });
    expect(() =>
      put(json, 'd', { reminderMinutes: 'x' }, { reminderMinutes: 'exh_reminder' }, 'reminderMinutes', toInteger),
    ).toThrow('exh_reminder: "x" is not a number');
  });
});
