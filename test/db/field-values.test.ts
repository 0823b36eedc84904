import { describe, expect, it } from 'vitest';
import { decodeFields, parseTimestamp, procedureArguments, userRegistration } from '../../src/db/field-values.js';
import { itemType, itemTypes } from '../../src/items/index.js';

describe('field values', () => {
  const task = itemType('task');

  it('decodes an outbox payload keyed by column into typed fields keyed by name', () => {
    const payload = JSON.stringify({
      exh_item_id: null,
      exh_user: 'ann@example.com',
      exh_subject: '',
      exh_due: '2024-06-01T10:00:00+02:00',
      exh_reminder_set: 1,
      exh_percent_complete: '50',
      exh_unknown_column: 'ignored',
    });
    expect(decodeFields(task, payload)).toEqual({
      item_id: null,
      user: 'ann@example.com',
      subject: '',
      due: new Date('2024-06-01T08:00:00Z'),
      reminder_set: true,
      percent_complete: 50,
    });
  });

  it('reads DB2 timestamps, which carry no offset, as UTC', () => {
    expect(parseTimestamp('2024-06-01-10.15.30.123456')).toEqual(new Date('2024-06-01T10:15:30.123Z'));
    expect(parseTimestamp('2024-06-01 10:15:30')).toEqual(new Date('2024-06-01T10:15:30Z'));
    expect(() => parseTimestamp('soon')).toThrow(/Not a timestamp/);
  });

  it("passes a change's fields in the procedure's order with the batch's user", () => {
    const args = procedureArguments(task, 'chg', { subject: 'S', item_id: 'I', due: null }, 'ann@example.com');
    expect(args.map((a) => [a.parameter, a.value])).toEqual([
      ['exh_item_id', 'I'],
      ['exh_user', 'ann@example.com'],
      ['exh_subject', 'S'],
      ['exh_due', null],
    ]);
    expect(procedureArguments(task, 'del', { item_id: 'I', subject: 'S' }, 'a').map((a) => a.parameter)).toEqual([
      'exh_item_id',
      'exh_user',
    ]);
  });

  it('refuses fields the type does not have and a user other than the batch', () => {
    expect(() => procedureArguments(task, 'add', { colour: 'red' }, 'a')).toThrow(/no field "colour"/);
    expect(() => procedureArguments(task, 'add', { user: 'b' }, 'a')).toThrow(/carries user "b"/);
  });

  it('reads exh_get_users rows of every dialect (DB2 upper case, BIT/SMALLINT flags)', () => {
    const row = {
      EXH_USER: 'ann@example.com',
      EXH_WATERMARK_CALENDAR: 'w',
      EXH_WATERMARK_CONTACT: null,
      SYNC_CALENDAR: 1,
      SYNC_CONTACT: 0,
      SYNC_EMAIL: true,
      SYNC_TASK: null,
    };
    expect(userRegistration(row, itemTypes)).toEqual({
      user: 'ann@example.com',
      watermarks: { calendar: 'w', contact: null, email: null, task: null },
      sync: { calendar: true, contact: false, email: true, task: false },
    });
  });

  it('reads the optional exh_backend of exh_get_users as given, trimmed; NULL, empty or missing as none', () => {
    const base = { exh_user: 'ann@example.com' };
    expect(userRegistration({ ...base, EXH_BACKEND: ' Graph ' }, itemTypes).backend).toBe('Graph');
    expect(userRegistration({ ...base, exh_backend: 'ews' }, itemTypes).backend).toBe('ews');
    // Anything else is kept for the routing to report (src/exchange/routing.ts), not dropped silently here.
    expect(userRegistration({ ...base, exh_backend: 'cloud' }, itemTypes).backend).toBe('cloud');
    expect(userRegistration({ ...base, exh_backend: null }, itemTypes)).not.toHaveProperty('backend');
    expect(userRegistration({ ...base, exh_backend: '  ' }, itemTypes)).not.toHaveProperty('backend');
    expect(userRegistration(base, itemTypes)).not.toHaveProperty('backend');
  });
});
