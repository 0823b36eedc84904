import { describe, expect, it } from 'vitest';
import { failedObject, literal, pageScripts, pageStatements } from '../../../src/db/adapters/pg-page.js';
import { calendar } from '../../../src/items/calendar.js';

describe('pg-page: a page as one simple-protocol script', () => {
  it('quotes every value as a literal of type unknown, doubling quotes and escaping backslashes with E', () => {
    expect(literal(null, 'p')).toBe('NULL');
    expect(literal("O'Brien", 'p')).toBe("'O''Brien'");
    expect(literal('C:\\temp\\', 'p')).toBe(" E'C:\\\\temp\\\\'");
    expect(literal("\\'; DROP TABLE x; --", 'p')).toBe(" E'\\\\''; DROP TABLE x; --'");
    expect(literal('$$ body $$', 'p')).toBe("'$$ body $$'");
    expect(literal(42, 'p')).toBe("'42'");
    expect(literal(false, 'p')).toBe("'false'");
    expect(literal(new Date('2026-03-01T10:20:30.456Z'), 'p')).toBe("'2026-03-01T10:20:30.456Z'");
    // Refused by the server, as pg's own rendering of an invalid date was.
    expect(literal(new Date('nonsense'), 'p')).toBe("'invalid date'");
  });

  it('refuses a NUL character as the procedure failing, before anything is sent', () => {
    expect(() => literal('a\0b', 'exh_from_exh_add_calendar')).toThrow(
      expect.objectContaining({ code: 'EXH_DB_PROCEDURE_FAILED', message: expect.stringContaining('NUL') }),
    );
  });

  it('keeps the order of the one-call-at-a-time adapter: settings, renames, changes with versions, meetings, watermark', () => {
    const statements = pageStatements(calendar, {
      user: 'Ann@Example.com',
      itemType: 'calendar',
      renames: [{ from: 'old', to: 'new' }],
      changes: [
        { action: 'add', fields: { item_id: 'A', subject: 's' }, changeKey: 'ck' },
        { action: 'del', fields: { item_id: 'B' }, changeKey: null },
        { action: 'chg', fields: { item_id: 'C' } },
      ],
      meetings: [{ uid: 'u', appItemId: 'app' }],
      watermark: 'w',
    });
    expect(statements.map((s) => s.object)).toEqual([
      'exh_watermark',
      'exh_watermark',
      'exh_from_exh_new_id_calendar',
      'exh_item_version',
      'exh_from_exh_add_calendar',
      'exh_item_version',
      'exh_from_exh_del_calendar',
      'exh_item_version',
      'exh_from_exh_chg_calendar',
      'exh_meeting',
      'exh_watermark',
    ]);
    expect(statements[1]?.text).toBe("SELECT set_config('plan_cache_mode', 'force_custom_plan', true)");
    expect(statements[4]?.text).toBe(
      "SELECT exh_from_exh_add_calendar(exh_item_id => 'A', exh_user => 'Ann@Example.com', exh_subject => 's')",
    );
    expect(statements[5]?.text).toContain("VALUES ('A', 'ann@example.com', 'calendar', 'ck', NULL::bigint)");
    expect(statements[7]?.text).toBe("DELETE FROM exh_item_version WHERE exh_item_id = 'B'");
  });

  it('splits a page beyond the limits into scripts, in order', () => {
    const statements = Array.from({ length: 7 }, (_, i) => ({ text: `SELECT ${i}`, object: `o${i}` }));
    const byCount = pageScripts(statements, { statements: 3, bytes: 1_000 });
    expect(byCount.map((s) => s.text)).toEqual([
      'SELECT 0;\nSELECT 1;\nSELECT 2',
      'SELECT 3;\nSELECT 4;\nSELECT 5',
      'SELECT 6',
    ]);
    const bySize = pageScripts(statements, { statements: 100, bytes: 20 });
    expect(bySize.map((s) => s.statements.length)).toEqual([2, 2, 2, 1]);
    expect(pageScripts(statements)).toHaveLength(1);
  });

  it("names the failed procedure from the server's call stack, the error's position, or the constraint's table", () => {
    const [script] = pageScripts([
      { text: "SELECT '😀😀'", object: 'first' },
      { text: "SELECT exh_from_exh_add_calendar(exh_start => 'x')", object: 'exh_from_exh_add_calendar' },
      { text: 'INSERT INTO exh_item_version VALUES (1)', object: 'exh_item_version' },
    ]);
    if (!script) throw new Error('no script');
    const where =
      'PL/pgSQL function refuse_poison() line 3 at RAISE\nSQL statement "INSERT INTO calendar_item …"\n' +
      'PL/pgSQL function public.exh_from_exh_add_calendar(text,text) line 5 at SQL statement';
    expect(failedObject({ where }, script)).toBe('exh_from_exh_add_calendar');
    // Positions count characters as the server does: the emoji are one each, not two UTF-16 units.
    expect(failedObject({ position: '12' }, script)).toBe('first');
    expect(failedObject({ position: '14' }, script)).toBe('exh_from_exh_add_calendar');
    expect(failedObject({ position: '65' }, script)).toBe('exh_from_exh_add_calendar');
    expect(failedObject({ position: '66' }, script)).toBe('exh_item_version');
    expect(failedObject({ table: 'exh_item_version' }, script)).toBe('exh_item_version');
    expect(failedObject(new Error('?'), script)).toBe('first or exh_from_exh_add_calendar or exh_item_version');
  });
});
