import { describe, expect, it } from 'vitest';
import { failedObject, firstError, pageBatches } from '../../../src/db/adapters/sqlserver-page.js';
import { calendar } from '../../../src/items/calendar.js';
import type { ItemChange } from '../../../src/ports/database.port.js';

const user = 'Ann@Example.com';
const changes = (n: number): ItemChange[] =>
  Array.from({ length: n }, (_, i) => ({
    action: 'add' as const,
    fields: { item_id: `A${i}`, subject: `it's ${i}`, start: new Date(Date.UTC(2026, 0, 1)), all_day: false },
    changeKey: `ck${i}`,
  }));

describe('sqlserver-page: a page as T-SQL batches', () => {
  it('puts every EXEC, change key, meeting and the watermark of a page in one batch with typed parameters', () => {
    const batches = pageBatches(calendar, {
      user,
      itemType: 'calendar',
      renames: [{ from: 'old', to: 'new' }],
      changes: [...changes(2), { action: 'del', fields: { item_id: 'D' }, changeKey: null }],
      meetings: [{ uid: 'UID-1', appItemId: 'app-1' }],
      watermark: 'w',
    });
    expect(batches).toHaveLength(1);
    const [batch] = batches;
    const lines = batch?.text.split('\n') ?? [];
    expect(lines[1]).toBe("EXEC sp_set_session_context @key = N'exh.applying', @value = @exh_transaction;");
    expect(lines[2]).toBe(
      'EXEC exh_from_exh_new_id_calendar @exh_user = @exh_page_user, @exh_item_id = @p0, @exh_new_item_id = @p1;',
    );
    expect(lines[4]).toMatch(
      /^EXEC @exh_rc = exh_from_exh_add_calendar @exh_item_id = @p3, @exh_user = @exh_page_user, @exh_subject = @p4, @exh_start = @p5, @exh_all_day = @p6; IF @exh_rc <> 0 BEGIN .*THROW 50000, @exh_message, 1; END;$/,
    );
    expect(lines.at(-1)).toBe("EXEC sp_set_session_context @key = N'exh.applying', @value = NULL;");
    expect([...(batch?.objects ?? [])]).toEqual([
      [3, 'exh_from_exh_new_id_calendar'],
      [4, 'exh_item_version'],
      [5, 'exh_from_exh_add_calendar'],
      [6, 'exh_item_version'],
      [7, 'exh_from_exh_add_calendar'],
      [8, 'exh_item_version'],
      [9, 'exh_from_exh_del_calendar'],
      [10, 'exh_item_version'],
      [11, 'exh_meeting'],
      [12, 'exh_watermark'],
    ]);
    // Values travel as parameters, never in the text.
    expect(batch?.text).not.toContain("it's");
    expect(batch?.inputs.slice(0, 3)).toEqual([
      { name: 'exh_page_user', kind: 'user', value: user },
      { name: 'exh_page_user_lower', kind: 'user', value: 'ann@example.com' },
      { name: 'exh_page_item_type', kind: 'code', value: 'calendar' },
    ]);
    expect(batch?.inputs.find((i) => i.name === 'p4')).toEqual({ name: 'p4', kind: 'text', value: "it's 0" });
    expect(batch?.inputs.find((i) => i.name === 'p9')).toEqual({ name: 'p9', kind: 'bigint', value: null });
    // Every parameter the text names is given, and every one given is named.
    const named = new Set(batch?.text.match(/@p\d+\b/g));
    expect(named).toEqual(new Set(batch?.inputs.filter((i) => i.name.startsWith('p')).map((i) => `@${i.name}`)));
  });

  it('splits a page beyond 2,000 parameters into batches, in order, clearing the flag only in the last', () => {
    const batches = pageBatches(calendar, { user, itemType: 'calendar', changes: changes(512), watermark: 'w' });
    // 512 changes × (4 parameters for the call + 3 for the change key) = 3,584 parameters.
    expect(batches).toHaveLength(2);
    for (const batch of batches) expect(batch.inputs.length).toBeLessThanOrEqual(2_000);
    expect(batches.map((b) => b.text.includes('@value = NULL'))).toEqual([false, true]);
    expect(batches.map((b) => b.text.includes('@value = @exh_transaction'))).toEqual([true, true]);
    const calls = batches.flatMap((b) => b.text.match(/EXEC @exh_rc = \S+ @exh_item_id = @p\d+/g) ?? []);
    expect(calls).toHaveLength(512);
    const ids = batches.flatMap((b) =>
      [...b.text.matchAll(/EXEC @exh_rc = \S+ @exh_item_id = (@p\d+)/g)].map(
        (m) => b.inputs.find((i) => `@${i.name}` === m[1])?.value,
      ),
    );
    expect(ids).toEqual(changes(512).map((c) => c.fields.item_id));
    const small = pageBatches(
      calendar,
      { user, itemType: 'calendar', changes: changes(10) },
      { parameters: 20, statements: 100 },
    );
    expect(small.length).toBeGreaterThan(3);
    for (const batch of small) expect(batch.inputs.length).toBeLessThanOrEqual(20);
  });

  it("names what failed: the first of mssql's errors, on the statement's line", () => {
    const [batch] = pageBatches(calendar, { user, itemType: 'calendar', changes: changes(2), watermark: 'w' });
    const first = Object.assign(new Error('conversion failed'), { lineNumber: 5 });
    const last = Object.assign(new Error('later'), { lineNumber: 7, precedingErrors: [first] });
    expect(firstError(last)).toBe(first);
    expect(firstError(first)).toBe(first);
    expect(failedObject(first, batch)).toBe('exh_from_exh_add_calendar');
    expect(failedObject({ lineNumber: 6 }, batch)).toBe('exh_item_version');
    expect(failedObject({ lineNumber: 1 }, batch)).toBe('exh_watermark');
    expect(failedObject(new Error('no line'), batch)).toBe('exh_watermark');
    const invalid = new Error("Validation failed for parameter 'p7'. Invalid date.");
    expect(failedObject(invalid, batch)).toBe('exh_from_exh_add_calendar');
  });
});
